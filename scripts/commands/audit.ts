import type { Command } from 'commander';
import { runAuditVerb } from '../../app/audit';
import type { Finish } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerAudit(program: Command, finish: Finish): void {
  const cmd = program
    .command('audit')
    .description(
      'Audit names against M008: table names of the warehouse catalogue (every page), or with --columns every column of every table ' +
        '(per table and per distinct name; reports only, renames nothing); --names audits a list instead of the warehouse.',
    )
    .option('--columns', 'judge column names ({feature_type}_{metric}_{window} with a window of the set, reserved columns, targets, the policy’s documented exceptions); lists departures from the team’s recorded decision and a compliant name for each PATTERN_VIOLATION')
    .option('--names <file>', 'audit the names in FILE (one per line, - for stdin) instead of a warehouse; a pre-commit lint')
    .option('--fail-on-violation', `exit ${EXIT.VIOLATIONS} when any name violates M008`);
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), '{summary, tables}, or with --columns {columns, names, summary, departures, unusedExceptions}').action(async (opts) => {
    const r = await runAuditVerb({ engine: engineOptions(opts), policyFile: opts.policy, namesFile: opts.names, columns: Boolean(opts.columns) });
    emit(Boolean(opts.json), r.json, r.text);
    finish(opts.failOnViolation && r.violations > 0 ? 'VIOLATIONS' : 'OK');
  });
}
