/**
 * The ledger read history folds from leaves out what the fold skips (records of paper, verify and
 * reconcile runs; records of KEEP operations, which never start), in the engine's SQL. The fold of
 * the narrowed read must equal the fold of every record, through paper runs, an apply, re-runs and
 * a rollback; and the read must see a run record that arrives after the records it makes count.
 */
import { applyPlan } from '../../core/execute/apply';
import { foldHistory, HISTORY_RECORDS, historyOf, planMayHaveChanged, readHistory, type PlanHistory } from '../../core/execute/history';
import { rollbackPlan } from '../../core/execute/rollback';
import type { RunRecord } from '../../core/ledger/types';
import { isActionable, type Plan } from '../../core/plan/types';
import type { Engine } from '../../core/ports/engine';
import { freshWarehouse, openAt, policy, removeTempDirs } from '../execute/support';
import { ledgerRecord } from './support';

let engine: Engine;
let plan: Plan;

beforeAll(async () => {
  const w = await freshWarehouse();
  plan = w.plan;
  engine = await openAt(w.database);
});
afterAll(async () => {
  await engine?.close();
  removeTempDirs();
});

/** Every operation's folded history and the plan's "may have changed", as comparable values. */
function view(h: PlanHistory) {
  return {
    mayHaveChanged: planMayHaveChanged(h),
    touched: h.touched,
    ops: plan.operations
      .filter((o) => isActionable(o.action))
      .map((o) => {
        const x = historyOf(h, o.id);
        return { id: o.id, ...x, stepsDone: [...x.stepsDone].sort(), backups: [...x.backups].sort() };
      }),
  };
}

async function expectSameFold(): Promise<{ narrowed: number; all: number }> {
  const all = await engine.ledger.records(plan.planHash);
  const runs = await engine.ledger.runs(plan.planHash);
  const narrowed = await engine.ledger.records(plan.planHash, HISTORY_RECORDS);
  expect(view(await readHistory(engine.ledger, plan.planHash))).toEqual(view(foldHistory(all, runs)));
  expect(view(foldHistory(narrowed, runs))).toEqual(view(foldHistory(all, runs)));
  // Exactly the records the fold uses, in append order.
  const modeOf = new Map(runs.filter((r) => r.event === 'START').map((r) => [r.runId, r.mode]));
  const wanted = all.filter((r) => r.action !== 'KEEP' && ['apply', 'rollback'].includes(modeOf.get(r.runId) ?? ''));
  expect(narrowed).toEqual(wanted);
  return { narrowed: narrowed.length, all: all.length };
}

test('paper runs, an apply, two re-runs and a rollback: the narrowed read folds to the same history', async () => {
  const keeps = plan.operations.filter((o) => o.action === 'KEEP').length;
  expect(keeps).toBeGreaterThan(0);

  await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash });
  const afterPaper = await expectSameFold();
  expect(afterPaper.narrowed).toBe(0);
  expect(afterPaper.all).toBe(plan.operations.length);

  const applied = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  expect(applied.summary.status).toBe('OK');
  const afterApply = await expectSameFold();
  expect(afterApply.narrowed).toBeGreaterThan(0);

  for (let i = 0; i < 2; i++) {
    await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash });
    await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  }
  const afterReruns = await expectSameFold();
  // Each re-run pair adds a record per operation to the whole ledger, and to the narrowed read only
  // the apply's records of operations other than KEEP.
  expect(afterReruns.all - afterApply.all).toBe(2 * 2 * plan.operations.length);
  expect(afterReruns.narrowed - afterApply.narrowed).toBe(2 * (plan.operations.length - keeps));

  const rb = await rollbackPlan(engine, plan, policy, { approve: plan.planHash });
  expect(rb.restoredExactly).toBe(true);
  await expectSameFold();
});

test('records that arrive before their run record count once the run record is written', async () => {
  const runId = 'run_late_start';
  const rec = ledgerRecord({ runId, planHash: 'plan-late', operationId: 'op-late', seq: 1 });
  await engine.ledger.append([rec, { ...rec, operationId: 'op-keep', action: 'KEEP', state: 'SKIPPED', reason: 'NOTHING_TO_DO' }]);
  await engine.ledger.flush();
  expect(await engine.ledger.records('plan-late', HISTORY_RECORDS)).toEqual([]);
  const start: RunRecord = { runId, planHash: 'plan-late', mode: 'apply', event: 'START', status: null, summary: null, at: rec.at };
  await engine.ledger.appendRun(start);
  // Only the run records changed: a read kept against the ledger table alone would miss this.
  expect((await engine.ledger.records('plan-late', HISTORY_RECORDS)).map((r) => r.operationId)).toEqual(['op-late']);
  expect(historyOf(await readHistory(engine.ledger, 'plan-late'), 'op-late').open).toBe(true);
});
