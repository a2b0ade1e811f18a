import type { LedgerStore, RunRecord } from '../ledger/types';
import type { Plan } from '../plan/types';
import type { Finding } from './preflight';
import type { PreRun } from './run-shell';

/** The newest apply run of each plan this ledger knows, newest first. */
export function appliedPlans(runs: readonly RunRecord[]): { planHash: string; at: string }[] {
  const newest = new Map<string, string>();
  for (const r of runs) if (r.mode === 'apply' && r.event === 'START' && (newest.get(r.planHash) ?? '') < r.at) newest.set(r.planHash, r.at);
  return [...newest.entries()].map(([planHash, at]) => ({ planHash, at })).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

/**
 * Every ledger record belongs to a plan hash, and a verb acts only on the records of the plan it is
 * given. A plan never applied here, on a warehouse where another plan was, is refused before any
 * change: its operations share ids with the other plan's (ids come from what they do), so acting
 * on the warehouse for it would undo or judge the other plan's work.
 */
export async function checkAppliedHere(store: LedgerStore, plan: Plan, planSource: string, verb: string): Promise<Finding | null> {
  const applied = appliedPlans(await store.runs());
  if (!applied.length || applied.some((a) => a.planHash === plan.planHash)) return null;
  const other = applied[0];
  return {
    code: 'PLAN_NOT_APPLIED_HERE',
    message:
      `plan ${planSource} (hash ${plan.planHash.slice(0, 12)}…) was never applied to this warehouse; the plan applied here is ${other.planHash} (last apply started ${other.at})` +
      (applied.length > 1 ? ` (${applied.length} plans in all)` : '') +
      `; ${verb} acts only on the records of the plan it is given`,
    hint: `${verb} the plan that was applied: bqx ${verb} <the plan file whose planHash is ${other.planHash}>${verb === 'rollback' ? ` --approve ${other.planHash}` : ''}`,
    kind: 'REFUSED',
  };
}

/** A run's preflight that refuses a plan never applied here (see checkAppliedHere). */
export function refuseUnlessAppliedHere(verb: string): (pre: PreRun) => Promise<void> {
  return async (pre) => {
    const f = await checkAppliedHere(pre.engine.ledger, pre.plan, pre.planSource, verb);
    if (f) await pre.refuse(f);
  };
}
