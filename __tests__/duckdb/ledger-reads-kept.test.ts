import type { LedgerRecord, RunRecord } from '../../core/ledger/types';
import type { Engine } from '../../core/ports/engine';
import { ledgerRecord, open, seedSmall, tempDir } from './support';

// The ledger's reads are served again until this process writes the table they read: every way a
// record or a run can arrive between two reads must show in the second.

let tmp: ReturnType<typeof tempDir>;
let database: string;
let engine: Engine;

beforeAll(async () => {
  tmp = tempDir('ledger-kept');
  ({ database } = await seedSmall(tmp.dir));
  engine = await open(database);
  await engine.ledger.init();
});
afterAll(async () => {
  await engine?.close();
  tmp.cleanup();
});

let seq = 0;
const record = (over: Partial<LedgerRecord> = {}): LedgerRecord => ledgerRecord({ runId: 'run-kept', planHash: 'plan-kept', operationId: `op-${++seq}`, seq, ...over });
const run = (over: Partial<RunRecord> = {}): RunRecord => ({ runId: `run-${++seq}`, planHash: 'plan-kept', mode: 'apply', event: 'START', status: null, summary: null, at: '2026-12-07T08:00:00.000Z', ...over });
const ids = (rs: readonly LedgerRecord[]) => rs.map((r) => r.operationId);

test('a read with nothing written since answers the same, and a caller changing its copy changes no later read', async () => {
  await engine.ledger.append([record()]);
  const first = await engine.ledger.records('plan-kept');
  const second = await engine.ledger.records('plan-kept');
  expect(second).toEqual(first);
  for (const read of [first, second]) {
    (read[0] as { state: string }).state = 'APPLIED';
    read.push(record({ operationId: 'not-in-the-ledger' }));
  }
  const third = await engine.ledger.records('plan-kept');
  expect(third).toHaveLength(first.length - 1);
  expect(third[0].state).toBe('STARTED');
});

test('records appended, written by a step, or committed with an operation show in the next read', async () => {
  const before = ids(await engine.ledger.records('plan-kept'));
  const appended = record();
  await engine.ledger.append([appended]);
  expect(ids(await engine.ledger.records('plan-kept'))).toEqual([...before, appended.operationId]);

  // Pending records commit in the next step's own transaction.
  const withStep = record();
  await engine.ledger.append([withStep]);
  await engine.run({ kind: 'DROP_TABLE', name: 'tmp_gbpusd' }, { jobId: 'kept-step' });
  expect(ids(await engine.ledger.records('plan-kept'))).toContain(withStep.operationId);

  const inOperation = record();
  await engine.atomically!(async () => engine.ledger.append([inOperation]));
  expect(ids(await engine.ledger.records('plan-kept'))).toContain(inOperation.operationId);
  expect(ids(await engine.ledger.records())).toContain(inOperation.operationId);
});

test('what a rolled-back transaction wrote never shows, though a read inside it saw it', async () => {
  const undone = record();
  const undoneRun = run();
  await engine.ledger.records('plan-kept');
  await engine.ledger.runs('plan-kept');
  await expect(
    engine.atomically!(async () => {
      await engine.ledger.append([undone]);
      await engine.ledger.appendRun(undoneRun);
      expect((await engine.ledger.runs('plan-kept')).map((r) => r.runId)).toContain(undoneRun.runId);
      throw new Error('the operation fails');
    }),
  ).rejects.toThrow('the operation fails');
  expect((await engine.ledger.runs('plan-kept')).map((r) => r.runId)).not.toContain(undoneRun.runId);
  expect(ids(await engine.ledger.records('plan-kept'))).not.toContain(undone.operationId);
});

test('run records appended show in the next read, by plan and in all', async () => {
  const start = run();
  await engine.ledger.runs('plan-kept');
  await engine.ledger.runs();
  await engine.ledger.appendRun(start);
  expect((await engine.ledger.runs('plan-kept')).map((r) => r.runId)).toContain(start.runId);
  expect((await engine.ledger.runs()).map((r) => r.runId)).toContain(start.runId);
  const end = run({ runId: start.runId, event: 'END', status: 'OK' });
  await engine.ledger.appendRun(end);
  expect((await engine.ledger.runs('plan-kept')).filter((r) => r.runId === start.runId).map((r) => r.event)).toEqual(['START', 'END']);
});

test('a second engine on the same file in this process sees the first one\'s appends', async () => {
  const other = await open(database);
  try {
    const before = (await other.ledger.records('plan-kept')).length;
    await engine.ledger.append([record()]);
    await engine.ledger.flush();
    expect(await other.ledger.records('plan-kept')).toHaveLength(before + 1);
  } finally {
    await other.close();
  }
});
