import { writeFileSync } from 'fs';
import { hostname } from 'os';
import * as path from 'path';
import { applyPlan, RunRefused } from '../../core/execute/apply';
import { foldLock, lockNameFor, RunLock } from '../../core/execute/lock';
import { BqxError } from '../../core/errors';
import { computePlanHash } from '../../core/plan/hash';
import { loadPlanFile } from '../../core/plan/load';
import { isActionable, type Plan } from '../../core/plan/types';
import type { Engine } from '../../core/ports/engine';
import { fingerprintWarehouse, freshWarehouse, openAt, planFor, policy, removeTempDirs, type WarehouseFingerprint } from './support';

let engine: Engine;
let plan: Plan;
let dir: string;
let before: WarehouseFingerprint;

beforeAll(async () => {
  const w = await freshWarehouse();
  ({ plan, dir } = w);
  engine = await openAt(w.database);
  await engine.ledger.init();
  before = await fingerprintWarehouse(engine);
});
afterAll(async () => {
  await engine?.close();
  removeTempDirs();
});

/** The warehouse is exactly as seeded and no operation was started. */
async function unchanged(): Promise<void> {
  expect(await fingerprintWarehouse(engine)).toEqual(before);
  const records = await engine.ledger.records();
  expect(records.filter((r) => r.state !== 'PAPER')).toEqual([]);
}

function edited(mutate: (p: Record<string, any>) => void): Plan {
  const copy = JSON.parse(JSON.stringify(plan));
  mutate(copy);
  copy.planHash = computePlanHash(copy);
  return copy;
}

async function refusal(p: unknown, opts: Parameters<typeof applyPlan>[3] = { mode: 'real', approve: plan.planHash }): Promise<BqxError> {
  try {
    await applyPlan(engine, p, policy, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(BqxError);
    return e as BqxError;
  }
  throw new Error('apply did not refuse');
}

test('malformed JSON', () => {
  const file = path.join(dir, 'malformed.json');
  writeFileSync(file, '{"format": "bqx-plan/v1", "operations": [');
  expect(() => loadPlanFile(file)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', kind: 'BAD_INPUT', message: expect.stringContaining(file) }));
});

test('truncated plan: cut text, and dropped operations under the old hash', async () => {
  const text = JSON.stringify(plan, null, 2);
  const file = path.join(dir, 'truncated.json');
  writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
  expect(() => loadPlanFile(file)).toThrow(expect.objectContaining({ kind: 'BAD_INPUT', message: expect.stringContaining('not valid JSON') }));
  const shorter = { ...plan, operations: plan.operations.slice(0, 10) };
  const e = await refusal(shorter);
  expect(e).toMatchObject({ code: 'PLAN_INVALID', kind: 'BAD_INPUT' });
  expect(e.message).toContain('integrity');
  await unchanged();
});

test('unknown action', async () => {
  const e = await refusal(edited((p) => (p.operations.find((o: any) => o.action === 'RENAME').action = 'TRUNCATE')));
  expect(e).toMatchObject({ code: 'PLAN_INVALID', kind: 'BAD_INPUT' });
  expect(e.message).toMatch(/action/);
  await unchanged();
});

test('injected identifiers never reach SQL', async () => {
  const evil = 'x"; DROP TABLE tmp_eurusd; --';
  const e = await refusal(edited((p) => (p.operations.find((o: any) => o.action === 'RENAME').target = evil)));
  expect(e).toMatchObject({ kind: 'BAD_INPUT' });
  expect(e.message).toContain('DROP TABLE');
  const e2 = await refusal(edited((p) => (p.views[0].columns[0].column = 'a"); DELETE FROM x; --')));
  expect(e2).toMatchObject({ kind: 'BAD_INPUT' });
  await unchanged();
});

test('missing or wrong approval for drops', async () => {
  const e = await refusal(plan, { mode: 'real', planSource: 'p.json' });
  expect(e).toBeInstanceOf(RunRefused);
  expect(e).toMatchObject({ code: 'APPROVAL_MISSING', kind: 'REFUSED' });
  expect(e.hint).toContain(`bqx apply p.json --approve ${plan.planHash}`);
  const wrong = await refusal(plan, { mode: 'real', approve: 'f'.repeat(64) });
  expect(wrong).toMatchObject({ code: 'APPROVAL_MISSING' });
  await unchanged();
});

test('over budget: refused with how many leading operations fit', async () => {
  const e = await refusal(plan, { mode: 'real', approve: plan.planHash, budgetUsd: 0 });
  expect(e).toMatchObject({ code: 'OVER_BUDGET', kind: 'REFUSED' });
  const fit = Number(/the first (\d+) fit/.exec(e.message)?.[1]);
  // Renames and views are free; a consolidation reads its sources and, on DuckDB, a backup copies.
  const firstCostly = plan.operations.filter((o) => isActionable(o.action)).findIndex((o) => o.action !== 'RENAME');
  expect(fit).toBe(firstCostly);
  if (fit > 0) expect(e.hint).toContain(`--max-operations ${fit}`);
  await unchanged();
});

test('a second runner is refused while the lock is held', async () => {
  const { lock } = await RunLock.acquire({ store: engine.ledger, lockName: lockNameFor(engine.where.dataset), runId: 'run_other', ttlSeconds: 120 });
  try {
    const e = await refusal(plan);
    expect(e).toMatchObject({ code: 'LOCK_HELD', kind: 'REFUSED' });
    expect(e.message).toContain(`${hostname()}:${process.pid}`);
    expect(e.message).toMatch(/until \d{4}-\d{2}-\d{2}T/);
  } finally {
    await lock.release();
  }
  await unchanged();
});

test('a lock left by a dead process on this host is taken over', async () => {
  const store = engine.ledger;
  const name = lockNameFor(engine.where.dataset);
  const head = foldLock(await store.lockEvents(name)).head;
  const dead = `${hostname()}:2147483600`;
  const at = new Date().toISOString();
  expect(await store.appendLockIf({ lockName: name, seq: head + 1, event: 'ACQUIRE', runId: 'run_dead', holder: dead, expiresAt: new Date(Date.now() + 600_000).toISOString(), detail: null, at })).toBe(true);
  const { summary } = await applyPlan(engine, plan, policy, { mode: 'real', maxOperations: 0 });
  expect(summary.byOutcome.APPLIED).toBeUndefined();
  const events = await store.lockEvents(name);
  const mine = events.filter((e) => e.runId === summary.runId).map((e) => e.event);
  expect(mine[0]).toBe('TAKEOVER');
  expect(mine[mine.length - 1]).toBe('RELEASE');
  expect(foldLock(events).holder).toBeNull();
  expect(await fingerprintWarehouse(engine)).toEqual(before);
});

test('a table changed between plan and apply, and a plan from another catalogue', async () => {
  const victim = plan.operations.find((o) => o.action === 'KEEP')!.sources[0];
  await engine.run({ kind: 'RENAME_TABLE', from: victim, to: `${victim}_moved` }, { jobId: 'test-change' });
  try {
    const e = await refusal(plan);
    expect(e).toMatchObject({ code: 'CATALOGUE_CHANGED', kind: 'REFUSED' });
    expect(e.message).toContain(`${victim}: gone`);
    expect(e.message).toContain(`${victim}_moved: not in the plan`);
    // A plan of this changed warehouse is a plan from another catalogue for the original one.
    const other = await planFor(engine);
    await engine.run({ kind: 'RENAME_TABLE', from: `${victim}_moved`, to: victim }, { jobId: 'test-unchange' });
    const e2 = await refusal(other);
    expect(e2).toMatchObject({ code: 'CATALOGUE_CHANGED', kind: 'REFUSED' });
    expect(e2.message).toContain(`${victim}_moved: gone`);
  } finally {
    if (!(await engine.getTable(victim))) await engine.run({ kind: 'RENAME_TABLE', from: `${victim}_moved`, to: victim }, { jobId: 'test-unchange2' });
  }
  expect(await fingerprintWarehouse(engine)).toEqual(before);
});

test('a plan for another dataset is refused', async () => {
  const e = await refusal(edited((p) => (p.dataset = 'other_dataset')));
  expect(e).toMatchObject({ code: 'PLAN_ELSEWHERE', kind: 'REFUSED' });
});
