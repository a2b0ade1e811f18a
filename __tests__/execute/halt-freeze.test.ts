import { applyPlan } from '../../core/execute/apply';
import { foldLock, lockNameFor, RunLock, unlock } from '../../core/execute/lock';
import { computePlanHash } from '../../core/plan/hash';
import { isActionable, type Plan } from '../../core/plan/types';
import type { Engine } from '../../core/ports/engine';
import { freshWarehouse, openAt, policy, removeTempDirs, exitOf } from './support';

let engine: Engine;
let plan: Plan;

beforeAll(async () => {
  const w = await freshWarehouse();
  engine = await openAt(w.database);
  // Two renames whose views return their columns in the wrong order (an edited plan, rehashed):
  // the first in batch 1, the second moved to a batch of its own at the end.
  const p = JSON.parse(JSON.stringify(w.plan));
  const renames = p.operations.filter((o: any) => o.action === 'RENAME' && p.views.some((v: any) => v.operationId === o.id && v.columns.length > 2));
  const [a, b] = [renames[0], renames[renames.length - 1]];
  b.batch = Math.max(...p.operations.map((o: any) => o.batch)) + 1;
  for (const op of [a, b]) {
    const v = p.views.find((x: any) => x.operationId === op.id);
    v.columns = [...v.columns].reverse();
  }
  p.planHash = computePlanHash(p);
  plan = p;
});
afterAll(async () => {
  await engine?.close();
  removeTempDirs();
});

test('a changed schema halts the batch; repeated halts freeze the runner until a person clears it', async () => {
  const first = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  expect(exitOf(first.summary)).toBe(4);
  expect(first.summary.status).toBe('HALTED');
  expect(first.summary.halt?.why).toMatch(/schema/);
  expect(first.summary.validation.failures.some((f) => /schema/.test(f.check))).toBe(true);
  expect(first.summary.byReason['SKIPPED/RUN_HALTED']).toBeGreaterThan(0);

  const second = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  expect(exitOf(second.summary)).toBe(4);
  expect(second.summary.byOutcome.SKIPPED_ALREADY_APPLIED).toBeGreaterThan(0);
  expect(second.summary.warnings.join(' ')).toContain('frozen');

  const lockName = lockNameFor(engine.where.dataset);
  expect(foldLock(await engine.ledger.lockEvents(lockName)).frozen).not.toBeNull();
  await expect(applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash })).rejects.toMatchObject({ code: 'RUNNER_FROZEN', kind: 'REFUSED' });

  const cleared = await unlock(engine.ledger, lockName, { clearFreeze: true, force: false, runId: 'run_person' });
  expect(cleared.actions.join(' ')).toContain('cleared the freeze');
  const third = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  expect(third.summary.status).toBe('OK');
  expect(third.summary.byOutcome.APPLIED ?? 0).toBe(0);
  const applied = (await engine.ledger.records(plan.planHash)).filter((r) => r.state === 'APPLIED');
  expect(applied.length).toBe(plan.operations.filter((o) => isActionable(o.action)).length);
});

test('the lease is renewed once a third of it has passed; a forced unlock makes the holder lose it', async () => {
  const lockName = 'runner:lease-test';
  let now = Date.parse('2026-11-21T09:00:00Z');
  const clock = () => new Date(now);
  const { lock } = await RunLock.acquire({ store: engine.ledger, lockName, runId: 'run_a', ttlSeconds: 120, now: clock });
  now += 30_000;
  await lock.renewIfDue();
  expect((await engine.ledger.lockEvents(lockName)).map((e) => e.event)).toEqual(['ACQUIRE']);
  now += 15_000;
  await lock.renewIfDue();
  const events = await engine.ledger.lockEvents(lockName);
  expect(events.map((e) => e.event)).toEqual(['ACQUIRE', 'RENEW']);
  expect(foldLock(events).holder?.expiresAt).toBe(new Date(now + 120_000).toISOString());
  // A person forces the lock open: the holder notices at its next renewal and stops.
  await unlock(engine.ledger, lockName, { clearFreeze: false, force: true, runId: 'run_person', now: new Date(now) });
  now += 45_000;
  await lock.renewIfDue();
  expect(lock.lost).toContain('another lock event');
  await lock.release();
  expect((await engine.ledger.lockEvents(lockName)).map((e) => e.event)).toEqual(['ACQUIRE', 'RENEW', 'RELEASE']);
});
