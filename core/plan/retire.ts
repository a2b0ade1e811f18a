/**
 * The retirement plan (`bqx retire`): after the grace period, drop exactly the compatibility views
 * nobody read in the window, keep (and name the readers of) every other. A pure function of the
 * migration plan, the catalogue as it is now and the measured usage; the executor carries it out
 * like any plan (gates, ledger, approval by hash; rollback recreates the views).
 */
import { catalogueFingerprint, tableStateHash, type TableInfo } from '../catalogue';
import { countOperations } from './counts';
import { computePlanHash, operationId } from './hash';
import { PLAN_FORMAT, type CompatibilityView, type Plan, type PlanOperation } from './types';
import type { UsageReport, ViewUsage } from '../usage';

export interface RetireInput {
  /** The migration plan whose compatibility views are retired. */
  readonly basePlan: Plan;
  /** The dataset's tables and views now. */
  readonly tables: readonly TableInfo[];
  /** Reads of the plan's views in the last `unreadDays` days. */
  readonly usage: UsageReport;
  readonly unreadDays: number;
  readonly now: Date;
  readonly engine: string;
  readonly policyHash: string;
  /** Operations per validated batch (policy execution.batchSize). */
  readonly batchSize: number;
}

/** The first day a view may be retired: the grace period covers [graceStart, graceEnd). */
export function graceEnded(view: Pick<CompatibilityView, 'graceEnd'>, now: Date): boolean {
  return now.toISOString().slice(0, 10) >= view.graceEnd;
}

function usageRecord(u: ViewUsage | undefined): NonNullable<PlanOperation['usage']> {
  return { jobs: u?.jobs ?? 0, lastRead: u?.lastRead ?? null, readers: (u?.readers ?? []).map((r) => ({ principal: r.principal, jobs: r.jobs, lastRead: r.lastRead, labels: r.labels })) };
}

export function readersLine(u: Pick<ViewUsage, 'jobs' | 'lastRead' | 'readers'>): string {
  const who = u.readers.slice(0, 5).map((r) => `${r.principal} (${r.jobs})`).join(', ');
  return `${u.jobs} job(s), last read ${u.lastRead}, by ${who}${u.readers.length > 5 ? `, … ${u.readers.length - 5} more` : ''}`;
}

export function buildRetirePlan(input: RetireInput): Plan {
  const { basePlan, usage, now } = input;
  const byName = new Map(input.tables.map((t) => [t.name, t]));
  const usageOf = new Map(usage.views.map((u) => [u.view, u]));
  const absent: string[] = [];
  const operations: PlanOperation[] = [];
  let retiring = 0;
  const views = [...basePlan.views].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const v of views) {
    const t = byName.get(v.name);
    if (t?.kind !== 'VIEW') {
      absent.push(v.name);
      continue;
    }
    const u = usageOf.get(v.name);
    const ended = graceEnded(v, now);
    const read = (u?.jobs ?? 0) > 0;
    const retire = ended && !read;
    const action = retire ? 'RETIRE_VIEW' : 'KEEP';
    const reason = retire ? 'UNREAD' : !ended ? 'GRACE_NOT_ENDED' : 'STILL_READ';
    const detail = retire
      ? `no reads since ${usage.since.slice(0, 10)}; readers use ${v.target}`
      : !ended
        ? `grace period ends ${v.graceEnd}`
        : `${readersLine(u!)}; they must read ${v.target}`;
    operations.push({
      id: operationId(action, [v.name], retire ? v.target : null),
      seq: operations.length + 1,
      batch: retire ? Math.floor(retiring++ / input.batchSize) + 1 : 0,
      action,
      reason,
      family: v.target,
      sources: [v.name],
      target: retire ? v.target : null,
      variant: null,
      destructive: retire,
      sourceState: { [v.name]: tableStateHash(t) },
      estimatedBytes: 0,
      detail,
      view: v,
      usage: usageRecord(u),
    });
  }
  const counts = countOperations(operations);
  counts.byAction.RETIRE_VIEW ??= 0;
  counts.sourcesByAction.RETIRE_VIEW ??= 0;
  const plan: Omit<Plan, 'planHash'> = {
    format: PLAN_FORMAT,
    engine: input.engine,
    project: basePlan.project,
    dataset: basePlan.dataset,
    catalogueFingerprint: catalogueFingerprint(input.tables),
    tableCount: operations.length,
    policyHash: input.policyHash,
    graceStart: basePlan.graceStart,
    graceDays: basePlan.graceDays,
    summary: { tables: operations.length, ...counts, views: 0, estimatedBytes: 0, estimatedCostUsd: 0, planningBytes: 0 },
    operations,
    views: [],
    retirement: { basePlanHash: basePlan.planHash, decidedAt: now.toISOString(), unreadDays: input.unreadDays, readSince: usage.since, usageSource: usage.source, absent },
  };
  return { ...plan, planHash: computePlanHash(plan) };
}

/** The views a retirement plan drops (what the views stack stops declaring once it is applied). */
export function retiredViews(plan: Plan): string[] {
  return plan.operations.filter((o) => o.action === 'RETIRE_VIEW').map((o) => o.sources[0]);
}
