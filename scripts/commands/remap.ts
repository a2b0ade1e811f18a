import type { Command } from 'commander';
import { formatRemap, formatRewriteReport, runRemap } from '../../app/remap';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerRemap(program: Command, finish: Finish): void {
  const cmd = program
    .command('remap')
    .description(
      'Training-column names of a pair before and after a plan ({prefix}_{column}, the prefix taken from the table name): every column the job read, ' +
        'RENAMED, MERGED or UNCHANGED. With --features, rewrites a selected-features list to the new names on stdout (merges reported on stderr) and ' +
        'refuses names it does not know, listing the nearest known ones (exit 2, nothing written); columns a consolidation adds are ADDED.',
    )
    .requiredOption('--plan <file>', 'the plan')
    .requiredOption('--pair <pair>', 'the pair, e.g. eurusd')
    .option('--features <file>', 'a selected-features list to rewrite: one name a line or a JSON array; names with the pair or ledger-style {table}_{column} accepted (- for stdin)');
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), '{pair, mappings: [{old, new, kind}], …}').action(async (opts) => {
    const o = await runRemap({ engine: engineOptions(opts), planFile: opts.plan, pair: opts.pair, policyFile: opts.policy, featuresFile: opts.features });
    if (o.kind === 'mapping') emit(Boolean(opts.json), o.remap, () => formatRemap(o.remap));
    else if (opts.json) emit(true, { pair: o.remap.pair, planHash: o.remap.planHash, features: o.rewrite.features, merged: o.rewrite.merged }, () => '');
    else {
      process.stderr.write(`${formatRewriteReport(o)}\n`);
      process.stdout.write(o.rewrite.lines.length ? `${o.rewrite.lines.join('\n')}\n` : '');
    }
    finish('OK');
  });
}
