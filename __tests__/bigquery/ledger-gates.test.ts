/**
 * Ledger, lock, and the BigQuery facts the executor's gates refuse on (streaming buffer, external
 * tables, default expiration), through the official client against the REST double.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import type { LedgerRecord, LockEvent } from '../../core/ledger/types';
import { openBigQueryEngine } from '../../engines/bigquery/engine';
import { MAX_INSERTS_IN_FLIGHT, MAX_ROWS_PER_INSERT, WRITE_BEHIND_MS } from '../../engines/bigquery/ledger';
import { renameLossFindings, type RenameLossFinding } from '../../engines/bigquery/rename-loss';
import { evaluateGates, firstFailure } from '../../core/execute/gates';
import { checkExpiration } from '../../core/execute/preflight';
import { TrackedState } from '../../core/execute/warehouse-state';
import { tableStateHash } from '../../core/catalogue';
import type { PlanOperation } from '../../core/plan/types';
import { bytesToUsd, TIB } from '../../core/cost';
import { loadPolicy } from '../../core/policy';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { openHarness, Harness } from './support/open';
import { LOCATION, PROJECT, RUNNER_DATASET } from '../../testing/bigquery/warehouse';

function seed(d: BigQueryDouble): void {
  d.addDataset(FEATURES_DATASET);
  const cols = [
    { name: 'interval_time', type: 'TIMESTAMP' },
    { name: 'x', type: 'FLOAT' },
  ];
  d.addTable({ dataset: FEATURES_DATASET, name: 'plain', columns: cols, numRows: 5, numBytes: 1 << 20 });
  d.addTable({ dataset: FEATURES_DATASET, name: 'streaming', columns: cols, streamingRows: 120 });
  d.addTable({ dataset: FEATURES_DATASET, name: 'ext', columns: cols, type: 'EXTERNAL' });
  d.addTable({ dataset: FEATURES_DATASET, name: 'indexed', columns: cols, searchIndexes: 2 });
  d.addTable({ dataset: FEATURES_DATASET, name: 'tagged', columns: [{ name: 'interval_time', type: 'TIMESTAMP' }, { name: 'x', type: 'FLOAT', policyTags: ['projects/p/locations/us/taxonomies/1/policyTags/2'] }] });
}

const record = (i: number, planHash = 'plan_a'): LedgerRecord => ({
  runId: 'run_1',
  planHash,
  operationId: `op_${i}`,
  seq: i,
  action: 'RENAME',
  state: 'APPLIED',
  reason: 'OK',
  detail: i % 2 ? null : `detail ${i}`,
  attempt: 1,
  bytes: 0,
  rows: null,
  jobId: `job_${i}`,
  at: `2026-11-21T08:00:${String(i % 60).padStart(2, '0')}.000Z`,
});

const lockEvent = (seq: number, runId: string): LockEvent => ({
  lockName: 'bqx_ml_v3_features_v2',
  seq,
  event: 'ACQUIRE',
  runId,
  holder: `host:${runId}`,
  expiresAt: '2026-11-21T08:02:00.000Z',
  detail: null,
  at: '2026-11-21T08:00:00.000Z',
});

describe('BigQuery ledger and lock', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness(seed);
    await h.engine.ledger.init();
  });
  afterEach(() => h.close());

  test('init creates the runner dataset and its three tables, and can run again', async () => {
    expect(h.double.datasets.has(RUNNER_DATASET)).toBe(true);
    for (const t of ['ledger', 'runs', 'lock_events']) expect(h.double.table(RUNNER_DATASET, t)).toBeDefined();
    await h.engine.ledger.init();
    expect(h.double.table(RUNNER_DATASET, 'ledger')!.rows).toEqual([]);
  });

  test('init in stages: the lock may be claimed once its own table exists, while the ledger and runs tables are still being created', async () => {
    await h.close();
    // The lock table's CREATE is quick, the other two slow.
    h = await openHarness((d) => d.addDataset(FEATURES_DATASET), { speedup: 5, double: { latency: (kind, sql) => (kind === 'ddl' && !sql.includes('lock_events') ? 3_000 : 0) } });
    const { lockReady, done } = h.engine.ledger.initStaged();
    await lockReady;
    expect(h.double.table(RUNNER_DATASET, 'lock_events')).toBeDefined();
    expect(await h.engine.ledger.appendLockIf(lockEvent(1, 'run_a'))).toBe(true);
    // The claim landed before the other tables existed.
    expect(h.double.table(RUNNER_DATASET, 'runs')).toBeUndefined();
    await done;
    for (const t of ['ledger', 'runs']) expect(h.double.table(RUNNER_DATASET, t)).toBeDefined();
    expect((await h.engine.ledger.lockEvents('bqx_ml_v3_features_v2')).map((e) => e.runId)).toEqual(['run_a']);
    // Again on a runner dataset that has every table: nothing is created.
    const creates = [...h.double.jobs.values()].filter((j) => j.labels.bqx_kind === 'ledger_init').length;
    const again = h.engine.ledger.initStaged();
    await Promise.all([again.lockReady, again.done]);
    expect([...h.double.jobs.values()].filter((j) => j.labels.bqx_kind === 'ledger_init').length).toBe(creates);
  });

  test('concurrent appends are coalesced into few INSERT jobs and read back complete, filtered by plan', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => h.engine.ledger.append([record(i + 1, i < 30 ? 'plan_a' : 'plan_b')])));
    await h.engine.ledger.flush();
    expect(h.engine.ledger.insertSizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(h.engine.ledger.insertSizes.length).toBeLessThan(10);
    const a = await h.engine.ledger.records('plan_a');
    expect(a).toHaveLength(30);
    expect(a.find((r) => r.operationId === 'op_2')).toEqual(record(2));
    expect(a.find((r) => r.operationId === 'op_1')!.detail).toBeNull();
    expect(await h.engine.ledger.records()).toHaveLength(40);
  });

  test('write-behind rows wait for a reason to be sent: a flush, MAX_ROWS_PER_INSERT of them, or WRITE_BEHIND_MS of waiting', async () => {
    // Simulated time 5x the wall clock: a busy machine cannot make WRITE_BEHIND_MS pass unseen.
    await h.close();
    h = await openHarness(seed, { speedup: 5 });
    await h.engine.ledger.init();
    const rows = () => h.double.table(RUNNER_DATASET, 'ledger')!.rows!.length;
    await h.engine.ledger.append([record(1), record(2)]);
    await h.engine.ledger.append([record(3)]);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.engine.ledger.insertSizes).toEqual([]);
    expect(rows()).toBe(0);
    await h.engine.ledger.flush();
    expect(h.engine.ledger.insertSizes).toEqual([3]);
    expect(rows()).toBe(3);
    // The oldest waiting row is older than WRITE_BEHIND_MS: the next append sends what waits.
    await h.engine.ledger.append([record(4)]);
    await h.clock.sleep(WRITE_BEHIND_MS + 100);
    expect(h.engine.ledger.insertSizes).toEqual([3]);
    await h.engine.ledger.append([record(5)]);
    // A full INSERT's worth goes without anyone waiting.
    await h.engine.ledger.append(Array.from({ length: MAX_ROWS_PER_INSERT }, (_, i) => record(100 + i)));
    for (let i = 0; i < 200 && rows() < 2 + 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(h.engine.ledger.insertSizes.slice(0, 2)).toEqual([3, 2]);
    await h.engine.ledger.flush();
    expect(h.engine.ledger.insertSizes.reduce((a, b) => a + b, 0)).toBe(5 + MAX_ROWS_PER_INSERT);
    expect(rows()).toBe(5 + MAX_ROWS_PER_INSERT);
  });

  test('a settle while an INSERT is in flight sends the next one at once; a third waits for one of the two', async () => {
    await h.close();
    h = await openHarness(seed, { speedup: 5, double: { latency: (kind) => (kind === 'dml' ? 2_000 : 0) } });
    await h.engine.ledger.init();
    const settled: number[] = [];
    const settle = (i: number) => h.engine.ledger.settle().then(() => void settled.push(i));
    await h.engine.ledger.append([record(1)]);
    const first = settle(1);
    await h.engine.ledger.append([record(2)]);
    const second = settle(2);
    await h.engine.ledger.append([record(3)]);
    const third = settle(3);
    await Promise.all([first, second, third]);
    expect(MAX_INSERTS_IN_FLIGHT).toBe(2);
    const [a, b, c] = [...h.double.jobs.values()].filter((j) => j.labels.bqx_kind === 'ledger_append');
    expect(h.engine.ledger.insertSizes).toEqual([1, 1, 1]);
    expect(b.startedAt!).toBeLessThan(a.endedAt!);
    expect(c.startedAt!).toBeGreaterThanOrEqual(Math.min(a.endedAt!, b.endedAt!));
    // Each settle waited for every row appended before it, not only its own.
    expect(settled).toEqual([1, 2, 3]);
    expect(h.double.table(RUNNER_DATASET, 'ledger')!.rows).toHaveLength(3);
  });

  test('an INSERT whose answer is lost is found by its job id: the rows land once', async () => {
    h.double.inject({ kind: 'unknownOutcome', match: (sql) => sql.includes('.ledger` (`run_id`') });
    await h.engine.ledger.append([record(1), record(2)]);
    await h.engine.ledger.flush();
    expect(h.engine.jobs.stats.unknownOutcomes).toBe(1);
    expect(h.double.table(RUNNER_DATASET, 'ledger')!.rows).toHaveLength(2);
  });

  test('a ledger write that fails is thrown by the next flush and append: the run cannot go on unrecorded', async () => {
    h.double.inject({ kind: 'permanent', match: (sql) => sql.includes('.ledger` (`run_id`') });
    await h.engine.ledger.append([record(1)]);
    await expect(h.engine.ledger.flush()).rejects.toThrow(/injected permanent failure/);
    await expect(h.engine.ledger.append([record(2)])).rejects.toThrow(/injected permanent failure/);
    expect(h.double.table(RUNNER_DATASET, 'ledger')!.rows).toHaveLength(0);
    // Closing the engine reports the lost write too (and still releases everything).
    await expect(h.close()).rejects.toThrow(/injected permanent failure/);
    h = await openHarness(seed);
  });

  test('a read of an unchanged ledger or lock table is answered again without a job; any write since, ours or another runner\'s, and it is read again', async () => {
    const readJobs = (kind: string) => [...h.double.jobs.values()].filter((j) => j.labels?.bqx_kind === kind).length;
    await h.engine.ledger.append([record(1), record(2)]);
    await h.engine.ledger.flush();
    expect(await h.engine.ledger.records('plan_a')).toHaveLength(2);
    expect(await h.engine.ledger.records('plan_a')).toHaveLength(2);
    expect(readJobs('ledger_read')).toBe(1);
    // Another filter is another read.
    expect(await h.engine.ledger.records('plan_b')).toHaveLength(0);
    expect(readJobs('ledger_read')).toBe(2);
    await h.engine.ledger.append([record(3)]);
    expect(await h.engine.ledger.records('plan_a')).toHaveLength(3);
    expect(readJobs('ledger_read')).toBe(3);
    // Another runner's write, unknown to this engine, moves the table's lastModifiedTime.
    const other = await openBigQueryEngine(
      { engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: h.double.endpoint },
      { clock: h.clock },
    );
    await other.ledger.append([record(4)]);
    await other.close();
    expect((await h.engine.ledger.records('plan_a')).map((r) => r.operationId)).toEqual(['op_1', 'op_2', 'op_3', 'op_4']);
    expect(readJobs('ledger_read')).toBe(4);
    // The lock table: while its metadata counts no rows it is read as empty without a job (the
    // probe's and the acquire's reads); a claim (a write) is read back.
    expect(await h.engine.ledger.lockEvents('bqx_ml_v3_features_v2')).toEqual([]);
    expect(await h.engine.ledger.lockEvents('bqx_ml_v3_features_v2')).toEqual([]);
    expect(readJobs('lock_events_read')).toBe(0);
    expect(await other.ledger.appendLockIf(lockEvent(1, 'run_b'))).toBe(true);
    expect((await h.engine.ledger.lockEvents('bqx_ml_v3_features_v2')).map((e) => e.runId)).toEqual(['run_b']);
    expect((await h.engine.ledger.lockEvents('bqx_ml_v3_features_v2')).map((e) => e.runId)).toEqual(['run_b']);
    expect(readJobs('lock_events_read')).toBe(1);
  });

  test('run records round-trip', async () => {
    await h.engine.ledger.appendRun({ runId: 'run_1', planHash: 'plan_a', mode: 'apply', event: 'START', status: null, summary: null, at: '2026-11-21T08:00:00.000Z' });
    await h.engine.ledger.appendRun({ runId: 'run_1', planHash: 'plan_a', mode: 'apply', event: 'END', status: 'OK', summary: '{"n":1}', at: '2026-11-21T08:05:00.000Z' });
    const runs = await h.engine.ledger.runs('plan_a');
    expect(runs.map((r) => r.event)).toEqual(['START', 'END']);
    expect(runs[1].summary).toBe('{"n":1}');
  });

  test('appendLockIf: the next seq wins once; a stale or repeated seq loses', async () => {
    expect(await h.engine.ledger.appendLockIf(lockEvent(1, 'run_a'))).toBe(true);
    expect(await h.engine.ledger.appendLockIf(lockEvent(1, 'run_b'))).toBe(false);
    expect(await h.engine.ledger.appendLockIf(lockEvent(3, 'run_b'))).toBe(false);
    expect(await h.engine.ledger.appendLockIf(lockEvent(2, 'run_b'))).toBe(true);
    const events = await h.engine.ledger.lockEvents('bqx_ml_v3_features_v2');
    expect(events.map((e) => [e.seq, e.runId])).toEqual([
      [1, 'run_a'],
      [2, 'run_b'],
    ]);
  });

  test('two runners racing for the same seq from two engines: exactly one wins', async () => {
    const other = await openBigQueryEngine(
      { engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: h.double.endpoint },
      { clock: h.clock },
    );
    const results = await Promise.all([h.engine.ledger.appendLockIf(lockEvent(1, 'run_a')), other.ledger.appendLockIf(lockEvent(1, 'run_b'))]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(h.double.table(RUNNER_DATASET, 'lock_events')!.rows).toHaveLength(1);
    await other.close();
  });

  test('a lost answer on the winning claim is recognised as our own win', async () => {
    h.double.inject({ kind: 'unknownOutcome', match: (sql) => sql.includes('lock_events` (`lock_name`') });
    expect(await h.engine.ledger.appendLockIf(lockEvent(1, 'run_a'))).toBe(true);
    expect(h.engine.jobs.stats.unknownOutcomes).toBe(1);
    expect(h.double.table(RUNNER_DATASET, 'lock_events')!.rows).toHaveLength(1);
  });
});

describe('BigQuery-only gates', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await openHarness((d) => {
      seed(d);
      d.addDataset('bqx_ml_v3_temp', { defaultTableExpirationMs: 86_400_000 });
    });
  });
  afterEach(() => h.close());

  /** The executor's gate verdict for renaming `source` as the plan saw it (state hash from the double's table). */
  async function renameVerdict(source: string) {
    const state = new TrackedState(h.engine, await h.engine.listTables());
    await state.refresh([source, `${source}_renamed`]);
    const now = await h.engine.getTable(source);
    const op: PlanOperation = {
      id: 'op_0000000000000001', seq: 1, batch: 0, action: 'RENAME', reason: 'CANONICAL_FREE', family: 'x', sources: [source], target: `${source}_renamed`,
      variant: null, destructive: false, sourceState: { [source]: now ? tableStateHash(now) : 'absent' }, estimatedBytes: 0,
    };
    const gates = await evaluateGates(op, { state, views: [], datasetExpirationMs: null, costUsd: 0, committedUsd: 0, budgetUsd: 1, approved: false, evaluateAll: false });
    return firstFailure(gates);
  }

  test('a streaming buffer and a missing source refuse a rename at the executor\'s gates; a clean table passes', async () => {
    expect((await h.engine.getTable('streaming'))!.streamingBuffer).toBe(true);
    expect((await h.engine.getTable('plain'))!.streamingBuffer).toBe(false);
    expect(await renameVerdict('plain')).toBeNull();
    expect(await renameVerdict('streaming')).toMatchObject({ gate: 'STREAMING_BUFFER', reason: 'STREAMING_BUFFER' });
    expect(await renameVerdict('gone')).toMatchObject({ gate: 'SOURCE_EXISTS', reason: 'SOURCE_MISSING' });
  });

  test('a default table expiration refuses the run; none passes', async () => {
    expect((await h.engine.datasetInfo()).defaultTableExpirationMs).toBeNull();
    expect(checkExpiration((await h.engine.datasetInfo()).defaultTableExpirationMs, FEATURES_DATASET, 1)).toBeNull();
    const temp = await h.engine.datasetInfo('bqx_ml_v3_temp');
    expect(temp.defaultTableExpirationMs).toBe(86_400_000);
    expect(checkExpiration(temp.defaultTableExpirationMs, 'bqx_ml_v3_temp', 1)).toMatchObject({ code: 'DATASET_EXPIRATION', kind: 'REFUSED' });
  });

  test('external tables cannot be renamed: the source gate refuses them', async () => {
    expect((await h.engine.getTable('ext'))!.kind).toBe('EXTERNAL');
    expect(await renameVerdict('ext')).toMatchObject({ gate: 'SOURCE_EXISTS', reason: 'SOURCE_MISSING', detail: expect.stringContaining('is a EXTERNAL, not a table') });
  });

  test('search indexes and policy tags a rename would drop are warned about', async () => {
    const f: RenameLossFinding[] = await renameLossFindings(h.engine.jobs, h.engine.catalog, { project: PROJECT, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET }, ['plain', 'indexed', 'tagged']);
    expect(f.map((x) => [x.code, x.subject, x.severity])).toEqual([
      ['SEARCH_INDEX_DROPPED', `${FEATURES_DATASET}.indexed`, 'warning'],
      ['POLICY_TAGS_DROPPED', `${FEATURES_DATASET}.tagged`, 'warning'],
    ]);
  });

  test("cost: bytes to dollars at the policy's $6.25/TiB; a CTAS is estimated by dry run, renames are free", async () => {
    expect(bytesToUsd(TIB, loadPolicy().doc.execution.pricePerTiBUsd)).toBe(6.25);
    expect(bytesToUsd(TIB / 2, 5)).toBe(2.5);
    expect(await h.engine.estimateBytes({ kind: 'RENAME_TABLE', from: 'plain', to: 'p2' })).toBe(0);
    h.double.addTable({ dataset: FEATURES_DATASET, name: 'a_45', columns: [{ name: 'interval_time', type: 'TIMESTAMP' }, { name: 'v_45', type: 'FLOAT' }], numBytes: 300 });
    h.double.addTable({ dataset: FEATURES_DATASET, name: 'a_90', columns: [{ name: 'interval_time', type: 'TIMESTAMP' }, { name: 'v_90', type: 'FLOAT' }], numBytes: 500 });
    const bytes = await h.engine.estimateBytes({
      kind: 'CONSOLIDATE',
      target: 'a',
      spec: {
        key: 'interval_time',
        windows: [
          { window: 45, source: 'a_45', copies: [], presenceColumn: 'a_present_45' },
          { window: 90, source: 'a_90', copies: [], presenceColumn: 'a_present_90' },
        ],
        columns: [
          { name: 'interval_time', type: 'TIMESTAMP', from: [{ window: 45, column: 'interval_time' }, { window: 90, column: 'interval_time' }] },
          { name: 'v_45', type: 'FLOAT64', from: [{ window: 45, column: 'v_45' }] },
          { name: 'v_90', type: 'FLOAT64', from: [{ window: 90, column: 'v_90' }] },
        ],
        partitionBy: 'interval_time',
        clusterBy: [],
      },
    });
    expect(bytes).toBe(800);
    expect(h.double.counters.dryRuns).toBe(1);
    expect(h.double.counters.inserts).toBe(0);
  });

  test('a read above the byte cap is refused before any job runs (a fingerprint reads the table\'s logical bytes, from tables.get)', async () => {
    const small = await openBigQueryEngine(
      { engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: h.double.endpoint },
      { clock: h.clock, readByteCap: 1000 },
    );
    await expect(small.contentFingerprint('plain')).rejects.toThrow(/fingerprint would read 1048576 bytes, above the cap of 1000/);
    expect(h.double.counters.inserts).toBe(0);
    const fp = await h.engine.contentFingerprint('plain');
    expect(fp.rows).toBe(5);
    await small.close();
  });
});
