import type { Command } from 'commander';
import { DEFAULT_USAGE_DAYS, formatRetire, formatUsage, readAsReader, runRetire, runUsage } from '../../app/retirement';
import { BqxError } from '../../core/errors';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, parseNonNegative, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

function positiveDays(value: string | undefined, flag: string): number | undefined {
  const n = parseNonNegative(value, flag, true);
  if (n === 0) throw new BqxError('BAD_OPTION', `${flag} 0 is not a window`, `pass a number of days, e.g. ${flag} ${DEFAULT_USAGE_DAYS}`);
  return n;
}

/** `bqx usage` and `bqx retire`: the end of the compatibility views' grace period. */
export function registerRetirement(program: Command, finish: Finish): void {
  const usage = program
    .command('usage')
    .description(
      "Who still reads the plan's compatibility views: per view, the jobs that read it in the last N days, their principals and labels, " +
        'the last read and the new name to use. BigQuery: the region\'s INFORMATION_SCHEMA.JOBS_BY_PROJECT (needs bigquery.jobs.listAll); ' +
        'duckdb: the query log of `bqx warehouse read`. Reads of a new name do not count; the runner\'s own jobs are left out. Changes nothing.',
    )
    .requiredOption('--plan <file>', 'the migration plan whose views are measured')
    .option('--days <n>', `window of job history, in days (default ${DEFAULT_USAGE_DAYS})`);
  withJsonOption(withEngineOptions(usage), '{views: [{view, newName, jobs, lastRead, readers}], …}').action(async (opts) => {
    const report = await runUsage({ engine: engineOptions(opts), planFile: opts.plan, days: positiveDays(opts.days, '--days') });
    emit(Boolean(opts.json), report, () => formatUsage(report));
    finish('OK');
  });

  const retire = program
    .command('retire')
    .description(
      'Write the retirement plan of a migration plan\'s compatibility views: RETIRE_VIEW (a DROP VIEW) for each view whose grace period has ended ' +
        'and that nobody read for N days; KEEP for the others, each still-read view with its readers and last read. Apply it like any plan ' +
        '(bqx apply FILE --approve HASH: gates, ledger); bqx rollback FILE recreates the views. Changes nothing.',
    )
    .requiredOption('--plan <file>', 'the migration plan whose views are retired')
    .requiredOption('--out <file>', 'where to write the retirement plan JSON')
    .option('--unread-days <n>', `a view read in this many days is kept (default ${DEFAULT_USAGE_DAYS})`);
  withJsonOption(withPolicyOption(withEngineOptions(retire)), 'the retirement plan summary').action(async (opts) => {
    const { plan, out, usage: report } = await runRetire({ engine: engineOptions(opts), planFile: opts.plan, out: opts.out, policyFile: opts.policy, unreadDays: positiveDays(opts.unreadDays, '--unread-days') });
    emit(Boolean(opts.json), { planHash: plan.planHash, out, summary: plan.summary, retirement: plan.retirement, read: report.read, unread: report.unread }, () => formatRetire(plan, out));
    finish('OK');
  });
}

function collectLabel(value: string, previous: Record<string, string>): Record<string, string> {
  const m = /^([a-z][a-z0-9_-]{0,62})=([a-z0-9_-]{0,63})$/.exec(value);
  if (!m) throw new BqxError('BAD_OPTION', `--label ${value} is not key=value with BigQuery's label characters`, 'e.g. --label team=research (lowercase letters, digits, _ and -)');
  return { ...previous, [m[1]]: m[2] };
}

/** `bqx warehouse read`: how the rehearsal's readers read the embedded warehouse (logged for `bqx usage`). */
export function registerWarehouseRead(warehouse: Command, finish: Finish): void {
  const read = warehouse
    .command('read')
    .description(
      "Run a reader's SELECT on the local warehouse and log it (job id, principal, labels, the dataset's tables and views it names) in the " +
        "runner dataset's query log, which `bqx usage` and `bqx retire` read. Only reads made this way are logged.",
    )
    .requiredOption('--sql <select>', 'one SELECT, naming tables and views with their dataset (dataset.view)')
    .requiredOption('--as <principal>', 'who reads (an e-mail or service account)')
    .option('--label <key=value>', 'a job label (repeatable)', collectLabel, {} as Record<string, string>);
  withJsonOption(withEngineOptions(read), '{jobId, rows}').action(async (opts) => {
    const out = await readAsReader(engineOptions(opts), String(opts.sql), { principal: String(opts.as), labels: opts.label });
    emit(Boolean(opts.json), out, () => `${out.jobId}: ${out.rows} rows`);
    finish('OK');
  });
}
