import type { Command } from 'commander';
import { formatScan, runScan } from '../../app/scan';
import type { Finish } from '../exit-codes';
import { emit, withJsonOption, withPolicyOption } from '../options';

export function registerScan(program: Command, finish: Finish): void {
  const cmd = program
    .command('scan <dir>')
    .description(
      'Code scan of the team’s repository (Python, shell, SQL, Dockerfiles, Cloud Build files): every place a feature-dataset table is written, read or ' +
        'discovered by pattern, built names expanded with the values the code gives (else the catalogue’s token sets), judged against M008 and the plan: ' +
        'WRITES_RETIRED_NAME, WRITES_NONCOMPLIANT, READS_RETIRED_NAME (with the grace-period end), DISCOVERY_READS_VIEWS, READS_UNKNOWN_NAME, OK. ' +
        'Each script READY / PARTIAL / BLOCKED, the directive’s required Phase 4C scripts PRESENT or MISSING. Reads files only; exit 0.',
    )
    .option('--plan <file>', 'the plan the code is judged against (retired names, grace-period end); without it every non-compliant name of the full catalogue counts as retired');
  withJsonOption(withPolicyOption(cmd), '{scripts: [{path, kind, category, status, references: [{line, direction, template, names, findings}]}], summary}').action((dir: string, opts) => {
    const scan = runScan({ dir, planFile: opts.plan, policyFile: opts.policy });
    emit(Boolean(opts.json), scan, () => formatScan(scan));
    finish('OK');
  });
}
