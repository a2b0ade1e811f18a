import { spawnSync } from 'child_process';
import { writeFileSync } from 'fs';
import * as path from 'path';
import { applyPlan } from '../../core/execute/apply';
import { batchesOf } from '../../core/execute/batch';
import { stepsFor, viewsByOperation } from '../../core/execute/steps';
import { FAILPOINTS_ENV } from '../../core/failpoints';
import type { LedgerRecord } from '../../core/ledger/types';
import { isActionable, type Plan, type PlanOperation } from '../../core/plan/types';
import { TEST_HOOKS_ENV } from '../../core/test-hooks';
import { buildDist } from '../support/build';
import { fingerprintWarehouse, freshWarehouse, policy, removeTempDirs, withEngine, type WarehouseFingerprint } from './support';

// The embedded engine commits a batch's operations and their ledger records as one transaction.
// A process killed inside a batch leaves nothing of that batch (no change, no record), and the
// next run does it again; an operation failing inside a batch leaves the ledger and the warehouse
// as a transaction per operation leaves them.

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'bqx.js');

afterAll(() => {
  delete process.env[FAILPOINTS_ENV];
  delete process.env[TEST_HOOKS_ENV];
  removeTempDirs();
});

/** Engine steps of an operation on a first attempt (the consolidation check runs no statement of its own). */
function engineSteps(plan: Plan, op: PlanOperation): number {
  return stepsFor(op, viewsByOperation(plan).get(op.id) ?? [], 1).filter((s) => s.kind !== 'VALIDATE_CONSOLIDATION').length;
}

/** The batches that change something, with their operations in the order they run. */
function actionableBatches(plan: Plan): PlanOperation[][] {
  return batchesOf(plan)
    .map(([, ops]) => ops.filter((o) => isActionable(o.action)))
    .filter((ops) => ops.length > 0);
}

let reference: WarehouseFingerprint;

beforeAll(async () => {
  buildDist();
  const { database, plan } = await freshWarehouse();
  await withEngine(database, (e) => applyPlan(e, plan, policy, { mode: 'real', approve: plan.planHash }));
  reference = await withEngine(database, fingerprintWarehouse);
});

test('killed inside a batch: nothing of that batch is applied or recorded, the batches before it are; the next run ends where an uninterrupted one does', async () => {
  const { database, plan, dir } = await freshWarehouse();
  const batches = actionableBatches(plan);
  expect(batches.length).toBeGreaterThanOrEqual(2);
  const [done, killed] = batches.slice(-2);
  const stepsBefore = batches.slice(0, -1).flat().reduce((n, op) => n + engineSteps(plan, op), 0);
  const killedSteps = killed.reduce((n, op) => n + engineSteps(plan, op), 0);
  expect(killedSteps).toBeGreaterThan(4);
  // Half of the last batch's steps ran (and their operations finished) when the process dies.
  const planFile = path.join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const args = ['apply', planFile, '--database', database, '--approve', plan.planHash, '--json'];
  const run = (failpoints: string) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: failpoints } });
  const kill = run(`engine.after-step=kill@${stepsBefore + Math.floor(killedSteps / 2)}`);
  expect(kill.signal).toBe('SIGKILL');

  // What the batch changed went with the process; the stopped apply equals one told to stop before the batch.
  const stoppedBefore = await freshWarehouse();
  await withEngine(stoppedBefore.database, (e) => applyPlan(e, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: batches.slice(0, -1).flat().length }));
  const expectedAfterKill = await withEngine(stoppedBefore.database, fingerprintWarehouse);
  const afterKill = await withEngine(database, async (e) => ({ fingerprint: await fingerprintWarehouse(e), records: await e.ledger.records(plan.planHash) }));
  expect(afterKill.fingerprint).toEqual(expectedAfterKill);
  const recordsOf = (ops: PlanOperation[], records: LedgerRecord[]) => records.filter((r) => ops.some((o) => o.id === r.operationId));
  expect(recordsOf(killed, afterKill.records)).toEqual([]);
  expect(recordsOf(done, afterKill.records).filter((r) => r.state === 'APPLIED').map((r) => r.operationId).sort()).toEqual(done.map((o) => o.id).sort());

  // The next run does the lost batch from the start (nothing to resume) and ends as an uninterrupted run.
  const again = run('');
  expect(again.status).toBe(0);
  const end = await withEngine(database, async (e) => ({ fingerprint: await fingerprintWarehouse(e), records: await e.ledger.records(plan.planHash) }));
  expect(end.fingerprint).toEqual(reference);
  const killedRecords = recordsOf(killed, end.records);
  expect(killedRecords.filter((r) => r.state === 'APPLIED').map((r) => [r.operationId, r.reason, r.attempt]).sort()).toEqual(killed.map((o) => [o.id, 'OK', 1]).sort());
  expect(killedRecords.filter((r) => r.reason === 'RESUMED')).toEqual([]);
});

test('a step failing in the middle of a batch: the operations before it stay applied once, it is recorded FAILED alone, the ones after it are applied', async () => {
  const { database, plan } = await freshWarehouse();
  const batch = actionableBatches(plan).find((ops) => ops.length >= 10)!;
  const k = Math.floor(batch.length / 2) + batch.slice(Math.floor(batch.length / 2)).findIndex((op) => engineSteps(plan, op) >= 2);
  const victim = batch[k];
  const ordered = actionableBatches(plan).flat();
  const stepsBefore = ordered.slice(0, ordered.indexOf(victim)).reduce((n, op) => n + engineSteps(plan, op), 0);

  await withEngine(database, async (engine) => {
    // Its second step fails: its first already ran inside the batch's transaction.
    process.env[TEST_HOOKS_ENV] = '1';
    process.env[FAILPOINTS_ENV] = `engine.step=throw(EIO)@${stepsBefore + 2}`;
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash }).finally(() => delete process.env[FAILPOINTS_ENV]);
    const outcome = (op: PlanOperation) => r.summary.results.find((x) => x.operationId === op.id)?.outcome;
    expect(batch.slice(0, k).map(outcome)).toEqual(batch.slice(0, k).map(() => 'APPLIED'));
    expect(r.summary.results.find((x) => x.operationId === victim.id)).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED' });
    expect(batch.slice(k + 1).map(outcome)).toEqual(batch.slice(k + 1).map(() => 'APPLIED'));

    // The first try of the batch rolled back with the failure left no record: each operation
    // before it started once and was applied once, by its first attempt; the victim has only its FAILED record.
    const records = await engine.ledger.records(plan.planHash);
    for (const op of batch.filter((o) => o !== victim)) {
      const own = records.filter((x) => x.operationId === op.id);
      expect({ op: op.id, states: own.filter((x) => x.state === 'STARTED' || x.state === 'APPLIED').map((x) => [x.state, x.attempt]) }).toEqual({
        op: op.id,
        states: [
          ['STARTED', 1],
          ['APPLIED', 1],
        ],
      });
    }
    const failed = records.filter((x) => x.operationId === victim.id);
    expect(failed.map((x) => [x.state, x.reason, x.attempt])).toEqual([['FAILED', 'STEP_FAILED', 1]]);
    expect(failed[0].detail).toContain('EIO');
    expect(failed[0].detail).toContain('rolled back');

    // The next run applies the victim from the start and ends where an uninterrupted run does.
    const again = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(again.summary.status).toBe('OK');
    expect(again.summary.results.find((x) => x.operationId === victim.id)).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
    expect(await fingerprintWarehouse(engine)).toEqual(reference);
  });
});
