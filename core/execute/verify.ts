import type { TableInfo } from '../catalogue';
import { isActionable, type Plan } from '../plan/types';
import { recordChecks } from '../report/summary';
import type { Engine } from '../ports/engine';
import type { RunResult } from './run-common';
import { summaryEnd, withRun } from './run-shell';
import { historyOf, readHistory } from './history';
import { viewsByOperation } from './steps';
import { scoreChecks, validateOperation } from './validate';

/** Re-runs every post-apply check for the operations the ledger says are applied. Read-only. */
export async function verifyPlan(engine: Engine, planInput: Plan | unknown, opts: { planSource?: string; now?: () => Date }): Promise<RunResult> {
  return withRun(engine, planInput, { mode: 'verify', planSource: opts.planSource, now: opts.now, lock: null }, async (run) => {
    const { plan, summary } = run;
    const history = await readHistory(engine.ledger, plan.planHash);
    const views = viewsByOperation(plan);
    const none = new Map<string, TableInfo>();
    const applied = plan.operations.filter((o) => isActionable(o.action) && historyOf(history, o.id).applied).sort((a, b) => a.seq - b.seq);
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
    return summaryEnd(run, { summary });
  });
}
