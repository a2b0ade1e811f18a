/**
 * After the grace period: `bqx usage` (who still reads each compatibility view of a plan, from the
 * engine's job history) and `bqx retire` (the retirement plan: drop exactly the views nobody read
 * in the window, keep and name the readers of the others). Both change nothing in the warehouse;
 * the retirement plan is applied, approved and rolled back like any plan.
 */
import { BqxError } from '../core/errors';
import { buildRetirePlan, graceEnded, readersLine } from '../core/plan/retire';
import type { Plan } from '../core/plan/types';
import { loadPolicy } from '../core/policy';
import type { Engine, EngineOptions, Reader } from '../core/ports/engine';
import { viewUsage, type UsageReport } from '../core/usage';
import { withEngine } from './engine';
import { verbPreflight } from './runs';
import { planFor } from './extraction';
import { writePlanFile } from './plan';
import { ensureWritableFile } from './output-paths';

/** The window `bqx usage --days` and `bqx retire --unread-days` default to: a month of reads. */
export const DEFAULT_USAGE_DAYS = 30;
const DAY_MS = 86_400_000;

function migrationPlan(planFile: string, engine: EngineOptions): Plan {
  const plan = planFor(planFile, engine);
  if (plan.retirement || plan.views.length === 0) {
    throw new BqxError(
      'BAD_INPUT',
      `plan ${planFile} has no compatibility views${plan.retirement ? ' (it is a retirement plan)' : ''}`,
      'pass the migration plan whose views you measure (the file `bqx plan --out` wrote and `bqx apply` applied)',
      'BAD_INPUT',
    );
  }
  return plan;
}

/** The usage of the plan's views in the `days` days before `now`, read through the engine's job history. */
export async function measureUsage(engine: Engine, plan: Plan, days: number, now: Date): Promise<UsageReport> {
  if (!engine.jobHistory) throw new BqxError('UNSUPPORTED', `the ${engine.kind} engine keeps no job history`, 'use --engine bigquery or --engine duckdb', 'BAD_INPUT');
  const since = new Date(now.getTime() - days * DAY_MS);
  const history = await engine.jobHistory(since, plan.views.map((v) => v.name));
  return viewUsage(plan, history, { since, until: now, days });
}

export interface UsageInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly days?: number;
  readonly now?: Date;
}

export async function runUsage(input: UsageInput): Promise<UsageReport> {
  const plan = migrationPlan(input.planFile, input.engine);
  return withEngine({ ...input.engine, readOnly: true }, async (engine) => {
    // Refused before anything is read when the runner lacks what the job history needs.
    await verbPreflight(engine, 'usage', plan);
    return measureUsage(engine, plan, input.days ?? DEFAULT_USAGE_DAYS, input.now ?? new Date());
  });
}

export function formatUsage(r: UsageReport, limit = 25): string {
  const lines = [
    `Reads of the ${r.views.length} compatibility views of plan ${r.planHash.slice(0, 12)}… (${r.dataset}) from ${r.since} to ${r.until} (${r.days} days)`,
    `  source: ${r.source}; ${r.jobsSeen} job(s) read a view (the runner's own excluded)`,
    `  ${r.read} view(s) still read, ${r.unread} unread`,
  ];
  const read = r.views.filter((v) => v.jobs > 0);
  if (read.length) lines.push('', '  still read (the reader must move to the new name):');
  for (const v of read.slice(0, limit)) {
    lines.push(`    ${v.view} -> ${v.newName}: ${v.jobs} job(s), last ${v.lastRead}, grace ends ${v.graceEnd}`);
    for (const x of v.readers) lines.push(`      ${x.principal}: ${x.jobs} job(s), last ${x.lastRead}${x.labels.length ? `, labels ${x.labels.join(' ')}` : ''}`);
  }
  if (read.length > limit) lines.push(`    … ${read.length - limit} more (see --json)`);
  return lines.join('\n');
}

export interface RetireInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly out: string;
  readonly unreadDays?: number;
  readonly policyFile?: string;
  readonly now?: Date;
}

export async function runRetire(input: RetireInput): Promise<{ plan: Plan; out: string; usage: UsageReport }> {
  const policy = loadPolicy(input.policyFile);
  const base = migrationPlan(input.planFile, input.engine);
  ensureWritableFile(input.out, 'retirement plan file');
  const now = input.now ?? new Date();
  const unreadDays = input.unreadDays ?? DEFAULT_USAGE_DAYS;
  const { plan, usage } = await withEngine({ ...input.engine, readOnly: true }, async (engine) => {
    await verbPreflight(engine, 'usage', base);
    await verbPreflight(engine, 'reconcile', base);
    const usage = await measureUsage(engine, base, unreadDays, now);
    const tables = await engine.listTables();
    return { usage, plan: buildRetirePlan({ basePlan: base, tables, usage, unreadDays, now, engine: engine.kind, policyHash: policy.hash, batchSize: policy.doc.execution.batchSize }) };
  });
  return { plan, out: writePlanFile(plan, input.out), usage };
}

export function formatRetire(plan: Plan, out: string, limit = 25): string {
  const count = (reason: string) => plan.operations.filter((o) => o.reason === reason).length;
  const r = plan.retirement!;
  const lines = [
    `Retirement plan ${plan.planHash.slice(0, 16)}… of plan ${r.basePlanHash.slice(0, 12)}… (${plan.dataset}), reads since ${r.readSince}`,
    `  RETIRE_VIEW ${count('UNREAD')} (grace ended, unread for ${r.unreadDays} days)`,
    `  KEEP ${count('STILL_READ')} still read, ${count('GRACE_NOT_ENDED')} in their grace period; ${r.absent.length} view(s) of the plan absent from the warehouse`,
  ];
  const read = plan.operations.filter((o) => o.reason === 'STILL_READ');
  if (read.length) lines.push('', '  kept, still read (tell each reader the new name):');
  for (const o of read.slice(0, limit)) lines.push(`    ${o.sources[0]} -> ${o.view?.target}: ${readersLine(o.usage!)}`);
  if (read.length > limit) lines.push(`    … ${read.length - limit} more in the plan file`);
  lines.push('', `  written to ${out}`, `  review: bqx apply ${out} --dry-run; apply: bqx apply ${out} --approve ${plan.planHash}`);
  return lines.join('\n');
}

/** Views of a migration plan near the end of their grace period (within `days`) that are still read. */
export function stillReadNearGraceEnd(r: UsageReport, now: Date, days: number): UsageReport['views'] {
  const soon = new Date(now.getTime() + days * DAY_MS);
  return r.views.filter((v) => v.jobs > 0 && graceEnded({ graceEnd: v.graceEnd }, soon));
}

/** `bqx warehouse read`: a reader's SELECT through the embedded engine's query path, logged for `bqx usage`. */
export async function readAsReader(engine: EngineOptions, sql: string, reader: Reader): Promise<{ jobId: string; rows: number }> {
  if (engine.engine !== 'duckdb') {
    throw new BqxError('BAD_OPTION', '`bqx warehouse read` reads the embedded warehouse', 'on BigQuery readers run their own jobs; the JOBS view records them', 'BAD_INPUT');
  }
  return withEngine(engine, (e) => e.readAs!(sql, reader));
}
