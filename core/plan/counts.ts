import { ACTIONS, type Action, type PlanOperation, type PlanSummary } from './types';

/**
 * Operations and their sources per action, and operations per reason (sorted), as a plan's summary
 * holds them. RETIRE_VIEW is counted only when a plan has such operations, so a migration plan's
 * summary (and hash) is what it always was.
 */
export function countOperations(operations: readonly PlanOperation[]): Pick<PlanSummary, 'byAction' | 'sourcesByAction' | 'byReason'> {
  const zero = () => Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number> & { RETIRE_VIEW?: number };
  const byAction = zero();
  const sourcesByAction = zero();
  const byReason: Record<string, number> = {};
  for (const op of operations) {
    byAction[op.action] = (byAction[op.action] ?? 0) + 1;
    sourcesByAction[op.action] = (sourcesByAction[op.action] ?? 0) + op.sources.length;
    byReason[op.reason] = (byReason[op.reason] ?? 0) + 1;
  }
  return { byAction, sourcesByAction, byReason: Object.fromEntries(Object.entries(byReason).sort(([a], [b]) => (a < b ? -1 : 1))) };
}
