/**
 * A serial batch on an engine with batch transactions (Engine.atomicBatch, the embedded engine):
 * the batch commits once; an operation failing inside rolls the whole batch back, the operations
 * before it are done again, its failure is recorded as in a transaction of its own, and the
 * operations after it go on. The ledger and the warehouse end as a transaction per operation
 * leaves them. Over an in-memory engine whose transactions restore its tables and ledger; the
 * DuckDB suites (batch-transaction, atomic-operation) run it for real.
 */
import { applyPlan } from '../../core/execute/apply';
import { loadPolicy } from '../../core/policy';
import type { Plan } from '../../core/plan/types';
import type { RunSummary } from '../../core/report/summary';
import { inTransaction, operation, planOf, RunEngine, table } from './operation-fakes';

const policy = loadPolicy();

/** An engine whose transactions (per operation, per batch) put its tables and ledger back on a throw; inside a batch an operation opens none. */
class TransactionalEngine extends RunEngine {
  batches = 0;
  inBatch = false;
  /** Lock renewals appended while a transaction was open (a rolled-back renewal would lose the lease). */
  renewalsInside = 0;

  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    return this.inBatch ? fn() : inTransaction(this, fn);
  }
  async atomicBatch<T>(fn: () => Promise<T>): Promise<T> {
    this.batches++;
    this.inBatch = true;
    try {
      return await inTransaction(this, fn);
    } finally {
      this.inBatch = false;
    }
  }
}

function world(n: number): { plan: Plan; engine: TransactionalEngine } {
  const tables = Array.from({ length: n }, (_, i) => table(`t${i}`));
  const ops = tables.map((t) => operation('RENAME', [t], { target: `${t.name}_new`, batch: 1 }));
  const plan = planOf(tables, ops);
  const engine = new TransactionalEngine(tables);
  const appendLockIf = engine.ledger.appendLockIf.bind(engine.ledger);
  engine.ledger.appendLockIf = async (e) => {
    if (engine.inBatch && e.event === 'RENEW') engine.renewalsInside++;
    return appendLockIf(e);
  };
  return { plan, engine };
}

const apply = (engine: RunEngine, plan: Plan) => applyPlan(engine.asEngine(), plan, policy, { mode: 'real', approve: plan.planHash }).then((r) => r.summary);
const outcomes = (s: RunSummary) => s.results.map((r) => `${r.sources[0]} ${r.outcome} ${r.reason}`);
const ledger = (e: RunEngine) => e.ledger.written.map((r) => `${r.state} ${r.reason} ${r.detail ?? ''}`.trim());

test('a batch commits as one transaction', async () => {
  const { plan, engine } = world(3);
  const s = await apply(engine, plan);
  expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK', 't2 APPLIED OK']);
  expect(engine.batches).toBe(1);
  expect(ledger(engine).filter((r) => r.startsWith('APPLIED'))).toHaveLength(3);
  expect(engine.renewalsInside).toBe(0);
});

test('an operation failing inside: the others are done again, its failure recorded once, as in its own transaction', async () => {
  const { plan, engine } = world(4);
  const updates: string[] = [];
  engine.onRun = (step) => {
    if (step.kind === 'RENAME_TABLE' && step.from === 't1') throw new Error('quota');
  };
  const s = await applyPlan(engine.asEngine(), plan, policy, {
    mode: 'real',
    approve: plan.planHash,
    progress: { update: (d, of, label) => updates.push(`${d}/${of} ${label}`), done: () => undefined },
  }).then((r) => r.summary);
  expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 FAILED STEP_FAILED', 't2 APPLIED OK', 't3 APPLIED OK']);
  expect(s.results[1].detail).toBe('RENAME t1 -> t1_new: quota');
  // The whole batch, then what came before the failure, then what came after it.
  expect(engine.batches).toBe(3);
  expect(ledger(engine)).toEqual([
    'STARTED OK',
    'STEP_DONE RENAME_TABLE t0>t0_new',
    'APPLIED OK',
    'FAILED STEP_FAILED RENAME t1 -> t1_new: quota (rolled back: nothing of this attempt remains)',
    'STARTED OK',
    'STEP_DONE RENAME_TABLE t2>t2_new',
    'APPLIED OK',
    'STARTED OK',
    'STEP_DONE RENAME_TABLE t3>t3_new',
    'APPLIED OK',
  ]);
  expect(engine.ledger.written.every((r) => r.attempt === 1)).toBe(true);
  expect([...engine.tables.keys()].sort()).toEqual(['t0_new', 't1', 't2_new', 't3_new']);
  // Each operation is counted once, whatever was redone (the count is put back with the rollback;
  // t0's line shows again when it is redone).
  expect([...new Set(updates)]).toEqual(['1/4 APPLIED RENAME t0', '2/4 FAILED RENAME t1', '3/4 APPLIED RENAME t2', '4/4 APPLIED RENAME t3']);
  expect(s.status).toBe('HALTED');
  expect(engine.renewalsInside).toBe(0);
});

test('the cost a failed batch committed is rolled back with it', async () => {
  const tables = [table('t0'), table('t1'), table('t2')];
  const TIB = 2 ** 40;
  const ops = tables.map((t) => operation('RENAME', [t], { target: `${t.name}_new`, batch: 1, estimatedBytes: TIB }));
  const plan = planOf(tables, ops);
  const engine = new TransactionalEngine(tables);
  engine.onRun = (step) => {
    if (step.kind === 'RENAME_TABLE' && step.from === 't1') throw new Error('quota');
  };
  // $6.25 per operation against a budget of $19: the three fit once; counted again for the redone
  // t0 and the rolled-back t1, t2 would be refused at its budget gate.
  const s = await applyPlan(engine.asEngine(), plan, policy, { mode: 'real', approve: plan.planHash, budgetUsd: 19 }).then((r) => r.summary);
  expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 FAILED STEP_FAILED', 't2 APPLIED OK']);
});

test('a failure that is not an operation failure (the ledger) ends the run', async () => {
  const { plan, engine } = world(2);
  engine.ledger.failAppend = null;
  engine.ledger.flush = async () => {
    throw new Error('disk full');
  };
  await expect(apply(engine, plan)).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE' });
});

test('an engine without per-operation transactions gets no batch transaction either', async () => {
  const { plan, engine } = world(2);
  Object.assign(engine, { atomically: undefined });
  const s = await apply(engine, plan);
  expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK']);
  expect(engine.batches).toBe(0);
});

test('a paper run opens no transaction', async () => {
  const { plan, engine } = world(2);
  const s = await applyPlan(engine.asEngine(), plan, policy, { mode: 'paper' }).then((r) => r.summary);
  expect(outcomes(s)).toEqual(['t0 PAPER WOULD_APPLY', 't1 PAPER WOULD_APPLY']);
  expect(engine.batches).toBe(0);
});
