import { tableStateHash, type TableInfo, type TableKind } from '../catalogue';
import { isActionable, type Plan } from '../plan/types';
import type { Engine } from '../ports/engine';
import { withRun } from './run-shell';
import { refuseUnlessAppliedHere } from './applied-here';
import { historyOf, readHistory } from './history';

export const RECONCILE_STATUSES = ['MATCHED', 'DRIFT', 'MISSING', 'UNMANAGED'] as const;
export type ReconcileStatus = (typeof RECONCILE_STATUSES)[number];

interface Expectation {
  readonly name: string;
  readonly kind: TableKind;
  readonly operationId: string;
  readonly phase: 'pre-apply' | 'post-apply';
  /** Returns null when `t` is as expected, else what differs. */
  readonly differs: (t: TableInfo) => string | null;
}

export interface ReconcileEntry {
  readonly name: string;
  readonly status: ReconcileStatus;
  readonly expected: string;
  readonly operationId: string | null;
  readonly detail: string | null;
}

export interface ReconcileResult {
  readonly runId: string;
  readonly planHash: string;
  /** Which expectation the plan's operations were held to. */
  readonly expectation: 'pre-apply' | 'post-apply' | 'mixed';
  readonly counts: Record<ReconcileStatus, number>;
  readonly entries: ReconcileEntry[];
  /**
   * Operations of a partly applied plan the ledger does not record as applied (rejected, failed,
   * not reached), with their last outcome: the plan's end state is not reached while any is left.
   */
  readonly notApplied: string[];
  /** Every table and view is MATCHED, and the plan is applied whole or not at all. */
  readonly matches: boolean;
}

const hashAs = (name: string, planned: string, kind: 'TABLE' | 'VIEW' = 'TABLE') => (t: TableInfo) =>
  tableStateHash({ name, kind, columns: t.columns, rowCount: t.rowCount }) === planned ? null : `schema or row count differs from the planned state of ${name} (${t.rowCount} rows, ${t.columns.length} columns)`;

/** The end state the plan implies, per operation: after it if the ledger says applied, else before. */
export function expectations(plan: Plan, applied: (opId: string) => boolean): Expectation[] {
  const out: Expectation[] = [];
  const viewsOf = new Map<string, Plan['views'][number][]>();
  for (const v of plan.views) viewsOf.set(v.operationId, [...(viewsOf.get(v.operationId) ?? []), v]);
  for (const op of plan.operations) {
    // A retirement plan's operations are about views (op.view): before it, each is there as planned.
    const kind = op.view ? 'VIEW' : 'TABLE';
    if (!isActionable(op.action) || !applied(op.id)) {
      for (const s of op.sources) out.push({ name: s, kind, operationId: op.id, phase: 'pre-apply', differs: hashAs(s, op.sourceState[s], kind) });
      continue;
    }
    // An applied retirement leaves nothing under the view's name.
    if (op.action === 'RETIRE_VIEW') continue;
    const target = op.target as string;
    if (op.action === 'RENAME') out.push({ name: target, kind: 'TABLE', operationId: op.id, phase: 'post-apply', differs: hashAs(op.sources[0], op.sourceState[op.sources[0]]) });
    else if (op.action === 'DEDUPE') out.push({ name: target, kind: 'TABLE', operationId: op.id, phase: 'post-apply', differs: () => null });
    else {
      const want = op.consolidation!.columns.map((c) => c.name);
      out.push({
        name: target,
        kind: 'TABLE',
        operationId: op.id,
        phase: 'post-apply',
        differs: (t) => {
          const have = new Set(t.columns.map((c) => c.name));
          const missing = want.filter((n) => !have.has(n));
          return missing.length ? `missing columns ${missing.slice(0, 5).join(', ')}` : null;
        },
      });
    }
    const views = viewsOf.get(op.id) ?? [];
    for (const v of views) {
      const cols = v.columns.map((c) => c.name).join(',');
      out.push({ name: v.name, kind: 'VIEW', operationId: op.id, phase: 'post-apply', differs: (t) => (t.columns.map((c) => c.name).join(',') === cols ? null : `columns ${t.columns.map((c) => c.name).join(',')} ≠ ${cols}`) });
    }
  }
  return out;
}

/** Every table and view of a listing against the plan's expected end state. */
export function compareWithPlan(plan: Plan, applied: (opId: string) => boolean, listing: readonly TableInfo[]): { entries: ReconcileEntry[]; counts: Record<ReconcileStatus, number>; expectation: ReconcileResult['expectation'] } {
  const exp = expectations(plan, applied);
  const tables = new Map(listing.map((t) => [t.name, t]));
  const entries: ReconcileEntry[] = [];
  const seen = new Set<string>();
  for (const e of exp) {
    seen.add(e.name);
    const t = tables.get(e.name);
    const expected = `${e.kind} (${e.phase})`;
    if (!t) entries.push({ name: e.name, status: 'MISSING', expected, operationId: e.operationId, detail: null });
    else if (t.kind !== e.kind) entries.push({ name: e.name, status: 'DRIFT', expected, operationId: e.operationId, detail: `is a ${t.kind}` });
    else {
      const d = e.differs(t);
      entries.push({ name: e.name, status: d ? 'DRIFT' : 'MATCHED', expected, operationId: e.operationId, detail: d });
    }
  }
  // A retirement plan is about the migration plan's views: the dataset's tables are outside it.
  const outside = (t: TableInfo) => plan.retirement !== undefined && t.kind === 'TABLE';
  for (const t of tables.values()) if (!seen.has(t.name) && !outside(t)) entries.push({ name: t.name, status: 'UNMANAGED', expected: 'absent', operationId: null, detail: `${t.kind} not in the plan's end state` });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const counts = { MATCHED: 0, DRIFT: 0, MISSING: 0, UNMANAGED: 0 } as Record<ReconcileStatus, number>;
  entries.forEach((e) => (counts[e.status] += 1));
  const actionable = new Set(plan.operations.filter((o) => isActionable(o.action)).map((o) => o.id));
  const phases = new Set(exp.filter((e) => actionable.has(e.operationId)).map((e) => e.phase));
  const expectation = phases.size === 2 ? 'mixed' : phases.has('post-apply') ? 'post-apply' : 'pre-apply';
  return { entries, counts, expectation };
}

/** One line per table that is not as the plan expects it, for messages and summaries. */
export function describeMismatch(e: ReconcileEntry): string {
  return `${e.name}: ${e.status} (expected ${e.expected}${e.detail ? `; ${e.detail}` : ''})`;
}

/** Every table and view of the dataset against the plan's expected end state. Read-only. */
export async function reconcilePlan(engine: Engine, planInput: Plan | unknown, opts: { planSource?: string; now?: () => Date }): Promise<ReconcileResult> {
  return withRun(engine, planInput, { mode: 'reconcile', planSource: opts.planSource, now: opts.now, lock: null, readOnly: true }, {
    preflight: refuseUnlessAppliedHere('reconcile'),
    body: async (run) => {
      const { plan, runId } = run;
      const history = await readHistory(engine.ledger, plan.planHash);
      const { entries, counts, expectation } = compareWithPlan(plan, (id) => historyOf(history, id).applied, await engine.listTables());
      const notApplied =
        expectation === 'mixed'
          ? plan.operations.filter((o) => isActionable(o.action) && !historyOf(history, o.id).applied).map((o) => `${o.action} ${o.sources.join(', ')} (${historyOf(history, o.id).lastOutcome ?? 'not run'})`)
          : [];
      const matches = !(counts.DRIFT || counts.MISSING || counts.UNMANAGED) && notApplied.length === 0;
      const value: ReconcileResult = { runId, planHash: plan.planHash, expectation, counts, entries, notApplied, matches };
      return { value, status: matches ? 'OK' : 'DRIFT', record: JSON.stringify({ expectation, counts }) };
    },
  });
}
