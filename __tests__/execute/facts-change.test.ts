import { applyPlan } from '../../core/execute/apply';
import { rollbackPlan } from '../../core/execute/rollback';
import { isActionable, type Plan } from '../../core/plan/types';
import type { LedgerRecord } from '../../core/ledger/types';
import type { Engine } from '../../core/ports/engine';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { fingerprintWarehouse, freshWarehouse, openAt, policy, removeTempDirs, sqlOnFile, exitOf } from './support';

// The executor carries out the plan's decisions and refuses when the warehouse contradicts them.

afterAll(() => removeTempDirs());

const actionable = (plan: Plan) => plan.operations.filter((o) => isActionable(o.action));

async function withEngine<T>(database: string, f: (e: Engine) => Promise<T>): Promise<T> {
  const e = await openAt(database);
  try {
    return await f(e);
  } finally {
    await e.close();
  }
}

test('a dataset with a default table expiration: real apply refused, paper shows the gate failing', async () => {
  const { database, plan } = await freshWarehouse();
  await sqlOnFile(database, [`UPDATE "_bqx_catalog"."dataset_options" SET default_table_expiration_ms = 86400000 WHERE dataset = '${FEATURES_DATASET}'`]);
  await withEngine(database, async (engine) => {
    const before = await fingerprintWarehouse(engine);
    await expect(applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash })).rejects.toMatchObject({ code: 'DATASET_EXPIRATION', kind: 'REFUSED' });
    const paper = await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash });
    expect(paper.summary.byReason['PAPER/DATASET_EXPIRATION']).toBe(actionable(plan).length);
    expect(await fingerprintWarehouse(engine)).toEqual(before);
  });
});

test('rows added to a source between plan and apply: refused before anything, rejected per operation on resume', async () => {
  const { database, plan } = await freshWarehouse();
  const ops = actionable(plan);
  const [first, later] = [ops[0], ops[5]];
  const addRow = (db: string, t: string) => sqlOnFile(db, [`INSERT INTO "${FEATURES_DATASET}"."${t}" SELECT * FROM "${FEATURES_DATASET}"."${t}" LIMIT 1`]);

  await addRow(database, first.sources[0]);
  await withEngine(database, async (engine) => {
    const e = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash }).catch((x) => x);
    expect(e).toMatchObject({ code: 'CATALOGUE_CHANGED', kind: 'REFUSED' });
    expect(e.message).toContain(`${first.sources[0]}: schema or row count changed (now 25 rows`);
    expect((await engine.ledger.records(plan.planHash)).filter((r) => r.state === 'STARTED')).toEqual([]);
  });

  // Once part of the plan is applied, the per-operation gate takes over the job.
  const other = (await freshWarehouse()).database;
  await withEngine(other, async (engine) => {
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: 3 });
    expect(r.summary.byOutcome.APPLIED).toBe(3);
    expect(r.summary.byReason['SKIPPED/NOT_IN_THIS_RUN']).toBe(ops.length - 3);
  });
  await addRow(other, later.sources[0]);
  await withEngine(other, async (engine) => {
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: 4 });
    expect(r.summary.byOutcome.SKIPPED_ALREADY_APPLIED).toBe(3);
    const rejected = r.summary.results.filter((x) => x.outcome === 'REJECTED');
    expect(rejected.map((x) => [x.operationId, x.reason])).toEqual([[later.id, 'SOURCE_CHANGED']]);
    // One of the four operations of this run's batch refused: at least 10% of a batch failing halts.
    expect(exitOf(r.summary)).toBe(4);
    expect(r.summary.status).toBe('HALTED');
    expect(r.summary.halt?.why).toContain('1 of 4 operations failed');
    expect(await engine.getTable(later.sources[0])).toMatchObject({ kind: 'TABLE', rowCount: 25 });
    expect(await engine.getTable(later.target!)).toBeNull();
  });
});

/**
 * The real engine whose ledger starts refusing writes after `limit` appends (fault injection).
 * `stepwise` hides Engine.atomically: the executor then commits step by step, as it does on
 * BigQuery, and an interrupted operation is left half done for the next run to resume.
 */
function failingLedger(engine: Engine, limit: number, stepwise: boolean, countFrom?: ReadonlySet<string>) {
  let appends = 0;
  let counting = countFrom === undefined;
  const state = { failed: false, runsAfterFailure: 0 };
  const ledger = new Proxy(engine.ledger, {
    get(target, key) {
      const v = Reflect.get(target, key);
      if (key !== 'append') return typeof v === 'function' ? v.bind(target) : v;
      return async (records: readonly LedgerRecord[]) => {
        counting ||= records.some((r) => countFrom!.has(r.operationId));
        if (counting && ++appends > limit) {
          state.failed = true;
          throw new Error('disk full');
        }
        return target.append(records);
      };
    },
  });
  const faulty = new Proxy(engine, {
    get(target, key) {
      if (key === 'ledger') return ledger;
      if (key === 'atomically' && stepwise) return undefined;
      if (key === 'run') return async (...a: Parameters<Engine['run']>) => (state.failed && state.runsAfterFailure++, target.run(...a));
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { faulty, state };
}

/** The operations that change something, batch by batch. */
const actionableBatches = (plan: Plan) => [...new Set(actionable(plan).map((o) => o.batch))].sort((a, b) => a - b).map((b) => actionable(plan).filter((o) => o.batch === b));

// Stepwise: the failure leaves one operation half done (3 operations touched, the third resumed).
// A transaction per batch (DuckDB's default): the ledger fails a few operations into the second
// batch, which rolls back whole with its records: only the first batch's operations stay (none
// half done, none to resume).
describe.each([
  ['stepwise (as on BigQuery)', true, { rolledBack: 3, resumed: 1 as number | undefined, fresh: 1 }],
  ['one transaction per batch (DuckDB)', false, { rolledBack: undefined, resumed: undefined, fresh: 2 }],
])('%s', (_name, stepwise, expected) => {
  const faultyFor = (engine: Engine, plan: Plan) => failingLedger(engine, 12, stepwise, stepwise ? undefined : new Set(actionableBatches(plan)[1].map((o) => o.id)));
  const rolledBack = (plan: Plan) => expected.rolledBack ?? actionableBatches(plan)[0].length;
  test('rollback of an interrupted run restores the exact pre-apply warehouse', async () => {
    const { database, plan } = await freshWarehouse();
    await withEngine(database, async (engine) => {
      const before = await fingerprintWarehouse(engine);
      const { faulty } = faultyFor(engine, plan);
      await expect(applyPlan(faulty, plan, policy, { mode: 'real', approve: plan.planHash })).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE' });
      expect(await fingerprintWarehouse(engine)).not.toEqual(before);
      const rb = await rollbackPlan(engine, plan, policy, { approve: plan.planHash });
      expect(rb.summary.byOutcome.ROLLED_BACK).toBe(rolledBack(plan));
      expect(rb.restoredExactly).toBe(true);
      expect(await fingerprintWarehouse(engine)).toEqual(before);
    });
  });

  test('if the ledger cannot be written, the run stops: no step after the failure', async () => {
    const { database, plan } = await freshWarehouse();
    await withEngine(database, async (engine) => {
      const { faulty, state } = faultyFor(engine, plan);
      await expect(applyPlan(faulty, plan, policy, { mode: 'real', approve: plan.planHash })).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE', kind: 'UNAVAILABLE' });
      expect(state.failed).toBe(true);
      expect(state.runsAfterFailure).toBe(0);
      const runs = await engine.ledger.runs(plan.planHash);
      expect(runs.map((r) => `${r.event}:${r.status}`)).toEqual(['START:null', 'END:FAILED']);
      // The next run takes the first operation the interrupted one did not finish.
      const again = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: 2 });
      expect(again.summary.status).toBe('OK');
      expect(again.summary.byReason['APPLIED/RESUMED']).toBe(expected.resumed);
      expect(again.summary.byReason['APPLIED/OK']).toBe(expected.fresh);
      expect(again.summary.byOutcome.SKIPPED_ALREADY_APPLIED).toBeGreaterThan(0);
      expect(again.summary.validation.failures).toEqual([]);
    });
  });
});
