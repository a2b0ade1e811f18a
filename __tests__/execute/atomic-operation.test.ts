import { applyPlan } from '../../core/execute/apply';
import { rollbackPlan } from '../../core/execute/rollback';
import { consolidatedTables, stepsFor, viewsByOperation } from '../../core/execute/steps';
import { FAILPOINTS_ENV } from '../../core/failpoints';
import { TEST_HOOKS_ENV } from '../../core/test-hooks';
import { isActionable } from '../../core/plan/types';
import type { Engine } from '../../core/ports/engine';
import { fingerprintWarehouse, freshWarehouse, openAt, policy, removeTempDirs } from './support';

// DuckDB commits an operation (its steps, reads and ledger records) as one transaction. A step that
// fails half way rolls back the steps before it too: nothing of the attempt stays but its FAILED record.
// Rollback undoes an operation the same way.

// The failpoints below are test hooks: they act only with the switch set.
beforeAll(() => {
  process.env[TEST_HOOKS_ENV] = '1';
});

afterAll(() => {
  delete process.env[FAILPOINTS_ENV];
  delete process.env[TEST_HOOKS_ENV];
  removeTempDirs();
});

async function withEngine<T>(database: string, f: (e: Engine) => Promise<T>): Promise<T> {
  const e = await openAt(database);
  try {
    return await f(e);
  } finally {
    await e.close();
  }
}

test('a step failing inside an operation rolls the whole operation back; the next run applies it from the start', async () => {
  const { database, plan } = await freshWarehouse();
  const reference = await freshWarehouse();
  const views = viewsByOperation(plan);
  const ordered = plan.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.batch - b.batch || a.seq - b.seq);
  const engineSteps = (op: (typeof ordered)[number]) => stepsFor(op, views.get(op.id) ?? [], 1).filter((s) => s.kind !== 'VALIDATE_CONSOLIDATION');
  // The first operation with at least three engine steps fails at its third: two already ran.
  const index = ordered.findIndex((op) => engineSteps(op).length >= 3);
  const victim = ordered[index];
  const stepsBefore = ordered.slice(0, index).reduce((n, op) => n + engineSteps(op).length, 0);

  await withEngine(reference.database, (e) => applyPlan(e, plan, policy, { mode: 'real', approve: plan.planHash }));
  const expected = await withEngine(reference.database, fingerprintWarehouse);

  await withEngine(database, async (engine) => {
    const before = await fingerprintWarehouse(engine);
    process.env[FAILPOINTS_ENV] = `engine.step=throw(EIO)@${stepsBefore + 3}`;
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: index + 1 }).finally(() => delete process.env[FAILPOINTS_ENV]);
    const failed = r.summary.results.find((x) => x.operationId === victim.id)!;
    expect([failed.outcome, failed.reason]).toEqual(['FAILED', 'STEP_FAILED']);
    expect(failed.detail).toContain('EIO');
    expect(r.summary.byOutcome.APPLIED).toBe(index);

    // The ledger keeps the earlier operations' records and only a FAILED record of this attempt.
    const records = await engine.ledger.records(plan.planHash);
    expect(records.filter((x) => x.operationId === victim.id).map((x) => [x.state, x.reason])).toEqual([['FAILED', 'STEP_FAILED']]);
    expect(records.find((x) => x.operationId === victim.id)!.detail).toContain('rolled back');
    expect(records.filter((x) => x.state === 'APPLIED')).toHaveLength(index);

    // Every name the operation touches is as it was before the run; no backup of it exists.
    const now = await fingerprintWarehouse(engine);
    for (const name of [...victim.sources, ...(victim.target ? [victim.target] : []), ...(views.get(victim.id) ?? []).map((v) => v.name)]) {
      expect({ name, content: now.content[name] }).toEqual({ name, content: before.content[name] });
    }
    for (const s of victim.sources) expect(await engine.getBackup(`bk_${victim.id.slice(3)}_a1_${s}`)).toBeNull();

    // The next run starts the operation over (attempt 2, nothing to resume) and ends where an uninterrupted run does.
    const again = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(again.summary.status).toBe('OK');
    expect(again.summary.results.find((x) => x.operationId === victim.id)).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
    expect(again.summary.byReason['APPLIED/RESUMED']).toBeUndefined();
    expect(await fingerprintWarehouse(engine)).toEqual(expected);
  });
});

test('a rollback step failing half way leaves that operation applied, as it was; the next rollback restores everything', async () => {
  const { database, plan } = await freshWarehouse();
  const views = viewsByOperation(plan);
  // Rollback undoes the newest operation first: its views are dropped, then its tables come back.
  const first = plan.operations.filter((o) => isActionable(o.action)).sort((a, b) => b.seq - a.seq)[0];
  const undoSteps = (views.get(first.id) ?? []).length + (first.action === 'CONSOLIDATE' ? consolidatedTables(first).length + 1 : 1);
  expect(undoSteps).toBeGreaterThan(1);

  await withEngine(database, async (engine) => {
    const before = await fingerprintWarehouse(engine);
    await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    const applied = await fingerprintWarehouse(engine);
    process.env[FAILPOINTS_ENV] = `engine.step=throw(EIO)@${undoSteps}`; // its last step
    const rb = await rollbackPlan(engine, plan, policy, { approve: plan.planHash }).finally(() => delete process.env[FAILPOINTS_ENV]);
    expect(rb.summary.status).toBe('INCOMPLETE');
    expect(rb.summary.results.filter((x) => x.outcome === 'FAILED').map((x) => [x.operationId, x.reason])).toEqual([[first.id, 'STEP_FAILED']]);
    const now = await fingerprintWarehouse(engine);
    // What its undo had done before the failing step is undone: the operation is whole.
    for (const name of [...consolidatedTables(first), ...first.sources, first.target!, ...(views.get(first.id) ?? []).map((v) => v.name)]) expect({ name, content: now.content[name] }).toEqual({ name, content: applied.content[name] });
    const records = (await engine.ledger.records(plan.planHash)).filter((x) => x.operationId === first.id && x.runId === rb.summary.runId);
    expect(records.map((x) => [x.state, x.reason])).toEqual([['FAILED', 'STEP_FAILED']]);

    const again = await rollbackPlan(engine, plan, policy, { approve: plan.planHash });
    expect(again.summary.status).toBe('OK');
    expect(again.restoredExactly).toBe(true);
    expect(await fingerprintWarehouse(engine)).toEqual(before);
  });
});
