/** What the rollback crash sweeps of both engines share: the plan they roll back and where they kill it. */
import { consolidatedTables, viewsByOperation } from '../../core/execute/steps';
import { computePlanHash } from '../../core/plan/hash';
import { isActionable, type Plan, type PlanOperation } from '../../core/plan/types';

/**
 * The plan cut down to one operation of each kind (every other table kept as it is): a rename with
 * its compatibility views, a dedupe with its view, and a consolidation of two or more tables with
 * its views. Its undo has every kind of undo step: DROP_VIEW, RENAME_TABLE, RESTORE_TABLE, DROP_TABLE.
 */
export function coverEveryAction(full: Plan): Plan {
  const views = viewsByOperation(full);
  // An operation that stands alone: it waits for nothing, and what it points at is there before the apply.
  const sources = new Set(full.operations.flatMap((o) => o.sources));
  const alone = (o: PlanOperation) => (o.after ?? []).length === 0 && (o.action !== 'DEDUPE' || sources.has(o.target as string));
  const pick = (action: string, more: (o: PlanOperation) => boolean) => full.operations.find((o) => o.action === action && alone(o) && (views.get(o.id) ?? []).length > 0 && more(o));
  const chosen = [pick('RENAME', () => true), pick('DEDUPE', () => true), pick('CONSOLIDATE', (o) => consolidatedTables(o).length >= 2)];
  if (chosen.some((o) => !o)) throw new Error(`the plan lacks a standalone operation of each kind: ${chosen.map((o) => o?.action).join(',')}`);
  const keep = new Set(chosen.map((o) => (o as PlanOperation).id));
  const operations = full.operations.map((o) => (keep.has(o.id) || !isActionable(o.action) ? o : { ...o, action: 'KEEP' as const, target: null, destructive: false, consolidation: undefined, twin: undefined, after: undefined }));
  const cut = { ...full, operations, views: full.views.filter((v) => keep.has(v.operationId)) } as Plan;
  return { ...cut, planHash: computePlanHash(cut) };
}

/** How a `bqx` process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface UndoStep {
  /** 1-based position in the rollback (what `engine.after-step=kill@N` counts). */
  readonly n: number;
  readonly operation: number;
  /** `drop-view`, `restore`, `drop-table`, `rename`. */
  readonly kind: string;
}

/** The undo steps of an uncrashed rollback, from its summary's per-operation details. */
export function undoStepsOf(results: readonly { detail: string | null }[]): UndoStep[] {
  const out: UndoStep[] = [];
  results.forEach((r, operation) => {
    for (const d of (r.detail ?? '').split('; ').filter(Boolean)) {
      out.push({ n: out.length + 1, operation, kind: d.split(' ').slice(0, d.startsWith('DROP') ? 2 : 1).join('-').toLowerCase() });
    }
  });
  return out;
}

/**
 * Where to kill: after the first step of each kind of each operation's undo, and after the last
 * restore before a consolidated table is dropped (the step the drop relies on).
 */
export function killPoints(steps: readonly UndoStep[]): UndoStep[] {
  const seen = new Set<string>();
  const out: UndoStep[] = [];
  for (const s of steps) {
    const next = steps[s.n];
    const key = `${s.operation}|${s.kind}`;
    if (!seen.has(key) || (s.kind === 'restore' && next?.kind === 'drop-table')) out.push(s);
    seen.add(key);
  }
  return out;
}
