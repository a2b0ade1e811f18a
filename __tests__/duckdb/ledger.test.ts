import type { LedgerRecord, LockEvent } from '../../core/ledger/types';
import type { Engine } from '../../core/ports/engine';
import { seedWarehouse } from '../../warehouse/seed';
import { open, seedSmall, tempDir } from './support';

let tmp: ReturnType<typeof tempDir>;
let database: string;
let engine: Engine;

beforeAll(async () => {
  tmp = tempDir('ledger');
  ({ database } = await seedSmall(tmp.dir));
  engine = await open(database);
});
afterAll(async () => {
  await engine?.close();
  tmp.cleanup();
});

const record = (over: Partial<LedgerRecord>): LedgerRecord => ({
  runId: 'run-1',
  planHash: 'plan-a',
  operationId: 'op-1',
  seq: 1,
  action: 'RENAME',
  state: 'STARTED',
  reason: 'COMPLIANT',
  detail: null,
  attempt: 1,
  bytes: 0,
  rows: null,
  jobId: null,
  at: '2026-11-21T08:00:00.000Z',
  ...over,
});

const lock = (seq: number, over: Partial<LockEvent> = {}): LockEvent => ({
  lockName: 'bqx_ml_v3_features_v2',
  seq,
  event: seq === 1 ? 'ACQUIRE' : 'RENEW',
  runId: 'run-1',
  holder: 'host:1',
  expiresAt: '2026-11-21T09:00:00.000Z',
  detail: null,
  at: '2026-11-21T08:00:00.000Z',
  ...over,
});

test('init creates the runner dataset; reads start empty; init is idempotent', async () => {
  expect((await engine.datasetInfo('bqx_ml_v3_migration')).exists).toBe(false);
  await engine.ledger.init();
  await engine.ledger.init();
  expect(await engine.datasetInfo('bqx_ml_v3_migration')).toEqual({ name: 'bqx_ml_v3_migration', exists: true, location: 'us-central1', defaultTableExpirationMs: null });
  expect(await engine.ledger.records()).toEqual([]);
  expect(await engine.ledger.runs()).toEqual([]);
  expect(await engine.ledger.lockEvents('x')).toEqual([]);
  // Bookkeeping lives outside the audited dataset.
  expect((await engine.listTables()).some((t) => t.name.startsWith('_bqx'))).toBe(false);
});

test('ledger records round-trip in append order and filter by plan', async () => {
  const recs = [
    record({}),
    record({ state: 'STEP_DONE', reason: 'RENAME_TABLE', bytes: 123456789012, rows: 24, jobId: 'job-1', detail: "it's \"quoted\"; DROP TABLE x" }),
    record({ planHash: 'plan-b', operationId: 'op-9', state: 'APPLIED', attempt: 2 }),
  ];
  await engine.ledger.append(recs.slice(0, 2));
  await engine.ledger.append(recs.slice(2));
  await engine.ledger.append([]);
  expect(await engine.ledger.records()).toEqual(recs);
  expect(await engine.ledger.records('plan-a')).toEqual(recs.slice(0, 2));
  expect(await engine.ledger.records('plan-z')).toEqual([]);
});

test('run records round-trip', async () => {
  const start = { runId: 'run-1', planHash: 'plan-a', mode: 'apply', event: 'START', status: null, summary: null, at: '2026-11-21T08:00:00.000Z' } as const;
  const end = { ...start, event: 'END', status: 'OK', summary: JSON.stringify({ applied: 3 }), at: '2026-11-21T08:01:00.000Z' } as const;
  await engine.ledger.appendRun(start);
  await engine.ledger.appendRun(end);
  await engine.ledger.appendRun({ ...start, planHash: 'plan-b', mode: 'paper' });
  expect(await engine.ledger.runs('plan-a')).toEqual([start, end]);
  expect(await engine.ledger.runs()).toHaveLength(3);
});

test('appendLockIf appends only on head + 1, and concurrent callers get exactly one winner', async () => {
  expect(await engine.ledger.appendLockIf(lock(2))).toBe(false);
  expect(await engine.ledger.appendLockIf(lock(1))).toBe(true);
  expect(await engine.ledger.appendLockIf(lock(1, { runId: 'run-2' }))).toBe(false);
  const racers = await Promise.all(['a', 'b', 'c', 'd'].map((r) => engine.ledger.appendLockIf(lock(2, { runId: r, event: 'TAKEOVER' }))));
  expect(racers.filter(Boolean)).toHaveLength(1);
  expect(await engine.ledger.appendLockIf(lock(3, { event: 'RELEASE' }))).toBe(true);
  const events = await engine.ledger.lockEvents('bqx_ml_v3_features_v2');
  expect(events.map((e) => [e.seq, e.event])).toEqual([
    [1, 'ACQUIRE'],
    [2, 'TAKEOVER'],
    [3, 'RELEASE'],
  ]);
  expect(events[1].runId).toBe(['a', 'b', 'c', 'd'][racers.indexOf(true)]);
  expect(await engine.ledger.lockEvents('another_lock')).toEqual([]);
});

test('the ledger survives closing and reopening the file', async () => {
  await engine.close();
  engine = await open(database);
  expect(await engine.ledger.records()).toHaveLength(3);
  expect((await engine.ledger.lockEvents('bqx_ml_v3_features_v2')).map((e) => e.seq)).toEqual([1, 2, 3]);
});

test('engines of one process share the file: they see each other and race fairly for the lock', async () => {
  const second = await open(database);
  try {
    expect(await second.ledger.records()).toHaveLength(3);
    const outcomes = await Promise.all([engine.ledger.appendLockIf(lock(4, { runId: 'x' })), second.ledger.appendLockIf(lock(4, { runId: 'y' }))]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect((await engine.ledger.lockEvents('bqx_ml_v3_features_v2')).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    // While an engine has the file open, a forced seed refuses to replace it.
    await expect(seedWarehouse({ database, scale: 'small', force: true })).rejects.toMatchObject({ code: 'WAREHOUSE_BUSY', kind: 'REFUSED' });
  } finally {
    await second.close();
  }
  // Closing one engine leaves the other working.
  expect(await engine.ledger.records()).toHaveLength(3);
});
