import type { Command } from 'commander';
import { writeAppliedViews } from '../../app/views-applied';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption } from '../options';

/** `bqx views applied`: the views handoff from the runner to Terraform (app/views-applied.ts). */
export function registerViews(program: Command, finish: Finish): void {
  const views = program.command('views').description('The compatibility views handoff from the runner to the views stacks.');
  const applied = views
    .command('applied')
    .description(
      'Write the plan\'s compatibility views the runner has created (applied in the ledger and present in the warehouse) to FILE; ' +
        '`bqx synth --applied FILE` (or the environment\'s views.appliedFile) declares a Terraform import block for exactly those. Read-only.',
    )
    .requiredOption('--plan <file>', 'the applied plan')
    .requiredOption('--out <file>', 'the handoff file to write (e.g. plans/phase-4c.views-applied.json)');
  withJsonOption(withEngineOptions(applied), 'the handoff file').action(async (opts) => {
    const set = await writeAppliedViews({ engine: engineOptions(opts), planFile: opts.plan, out: opts.out });
    emit(Boolean(opts.json), set, () => `${set.views.length} view(s) of plan ${set.planHash} created by the runner in ${set.project}.${set.dataset} -> ${opts.out}`);
    finish('OK');
  });
}
