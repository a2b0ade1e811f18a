import type { Command } from 'commander';
import { formatOffenders, runAuditVerb } from '../../app/audit';
import { planFor } from '../../app/extraction';
import { structuredLogging } from '../../app/report/runner-log';
import type { Finish } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

/** A warehouse can hold thousands of offenders: stderr names the first ones, --json has them all. */
const OFFENDERS_OF_A_WAREHOUSE = 50;

export function registerAudit(program: Command, finish: Finish): void {
  const cmd = program
    .command('audit')
    .description(
      'Audit names against M008: table names of the warehouse catalogue (every page), or with --columns every column of every table ' +
        '(per table and per distinct name; reports only, renames nothing); --names audits a list instead of the warehouse.',
    )
    .option('--columns', 'judge column names ({feature_type}_{metric}_{window}, reserved columns, targets, the policy’s documented exceptions)')
    .option('--names <file>', 'audit the names in FILE (one per line, - for stdin) instead of a warehouse; a pre-commit lint')
    .option('--fail-on-violation', `exit ${EXIT.VIOLATIONS} when any name violates M008, naming the offending names on stderr`);
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), '{summary, tables}, or with --columns {columns, names, summary}').action(async (opts) => {
    const engine = engineOptions(opts);
    // In the runner's Cloud Run job (the scheduled audit), every violation is also a structured log line.
    const complianceLog = structuredLogging() && opts.names === undefined ? { plan: process.env.BQX_PLAN_FILE ? planFor(process.env.BQX_PLAN_FILE, engine) : null } : undefined;
    const r = await runAuditVerb({ engine, policyFile: opts.policy, namesFile: opts.names, columns: Boolean(opts.columns), complianceLog });
    emit(Boolean(opts.json), r.json, r.text);
    if (opts.failOnViolation && r.violations > 0) {
      process.stderr.write(`bqx audit: ${formatOffenders(r.offenders, opts.names === undefined ? OFFENDERS_OF_A_WAREHOUSE : Infinity)}\n`);
      finish('VIOLATIONS');
    } else finish('OK');
  });
}
