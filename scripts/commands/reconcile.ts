import type { Command } from 'commander';
import { runReconcile } from '../../app/runs';
import { DEFAULT_REPORTS_DIR } from '../../app/report/evidence';
import { formatReconcile } from '../../app/report/render';
import type { Finish } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption } from '../options';

export function registerReconcile(program: Command, finish: Finish): void {
  const cmd = program
    .command('reconcile')
    .argument('<plan>', 'plan file')
    .description(
      `List every table and view as MATCHED / DRIFT / MISSING / UNMANAGED against the plan's expected end state (exit ${EXIT.DRIFT} on anything but MATCHED; ${EXIT.REFUSED} for a plan never applied here while another was). ` +
        'Read-only: opens the warehouse read-only and writes nothing to it (its record is run-reconcile.md/json).',
    )
    .option('--reports-dir <dir>', 'directory for run-reconcile.md/json', DEFAULT_REPORTS_DIR);
  withJsonOption(withEngineOptions(cmd), '{counts, entries}').action(async (planFile: string, opts) => {
    const { result, files } = await runReconcile({ engine: engineOptions(opts), planFile, reportsDir: opts.reportsDir });
    emit(Boolean(opts.json), result, () => `${formatReconcile(result)}\n  reports: ${files.markdown}, ${files.json}`);
    finish(result.matches ? 'OK' : 'DRIFT');
  });
}
