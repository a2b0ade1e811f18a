import type { TableInfo } from '../catalogue';
import { EXIT } from '../errors';
import type { RunRecord } from '../ledger/types';
import { validatePlan } from '../plan/load';
import type { Plan } from '../plan/types';
import { compactSummary, finishSummary, newSummary, recordChecks } from '../report/summary';
import type { Engine } from '../../engines/engine';
import { ACTIONABLE, appendRun, checkPlanDataset, guarded, type RunResult } from './run-common';
import { historyOf, readHistory } from './history';
import { newRunId } from './ids';
import { viewsByOperation } from './steps';
import { scoreChecks, validateOperation } from './validate';

/** Re-runs every post-apply check for the operations the ledger says are applied. Read-only. */
export async function verifyPlan(engine: Engine, planInput: Plan | unknown, opts: { planSource?: string; now?: () => Date }): Promise<RunResult> {
  const planSource = opts.planSource ?? 'plan';
  const plan = validatePlan(planInput, planSource);
  checkPlanDataset(plan, engine, planSource);
  const clock = opts.now ?? (() => new Date());
  const runId = newRunId(clock());
  const summary = newSummary({ runId, planHash: plan.planHash, mode: 'verify', engine: engine.kind, dataset: engine.where.dataset, startedAt: clock() });
  await guarded(() => engine.ledger.init());
  const run = (event: 'START' | 'END', status: string | null, s: string | null): RunRecord => ({ runId, planHash: plan.planHash, mode: 'verify', event, status, summary: s, at: clock().toISOString() });
  await appendRun(engine.ledger, run('START', null, null));
  const history = await readHistory(engine.ledger, plan.planHash);
  const views = viewsByOperation(plan);
  const none = new Map<string, TableInfo>();
  const applied = plan.operations.filter((o) => ACTIONABLE.has(o.action) && historyOf(history, o.id).applied).sort((a, b) => a.seq - b.seq);
  const byBatch = new Map<number, typeof applied>();
  for (const op of applied) byBatch.set(op.batch, [...(byBatch.get(op.batch) ?? []), op]);
  for (const [batch, ops] of [...byBatch.entries()].sort((a, b) => a[0] - b[0])) {
    const checks = [];
    for (const op of ops) checks.push(...(await validateOperation(engine, op, views.get(op.id) ?? [], none)));
    recordChecks(summary, scoreChecks(batch, checks, (c) => c.kind === 'rows' || c.kind === 'coverage'), checks);
  }
  summary.operations = applied.length;
  summary.status = summary.validation.failures.length ? 'HALTED' : 'OK';
  if (!applied.length) summary.warnings.push('the ledger records no applied operation of this plan: nothing to verify');
  finishSummary(summary, clock());
  await appendRun(engine.ledger, run('END', summary.status, compactSummary(summary)));
  return { summary, exitCode: summary.validation.failures.length ? EXIT.HALTED : EXIT.OK };
}
