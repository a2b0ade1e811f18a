/**
 * The engine on the official @google-cloud/bigquery client, pointed at the local REST double:
 * pagination to the end, exactly-once jobs under injected faults, clear permanent errors,
 * per-table metadata pacing and adaptive concurrency.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { FEATURES_DATASET } from '../../warehouse/catalogue';
import type { Step } from '../../core/ports/engine';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { openHarness, Harness } from './support/open';
import { seedDouble } from '../../testing/bigquery/warehouse';

const rename = (from: string, to: string): Step => ({ kind: 'RENAME_TABLE', from, to });

function smallDataset(d: BigQueryDouble, n = 6): void {
  d.addDataset(FEATURES_DATASET);
  for (let i = 0; i < n; i++) {
    d.addTable({ dataset: FEATURES_DATASET, name: `t${i}`, columns: [{ name: 'interval_time', type: 'TIMESTAMP' }, { name: 'x', type: 'FLOAT' }], numRows: 10, numBytes: 1000 });
  }
}

/** How many statements of the given prefix the double applied, per job id. */
function appliedCount(d: BigQueryDouble, prefix: string): number {
  return d.applied.filter((a) => a.sql.startsWith(prefix)).length;
}

describe('BigQuery engine against the REST double', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  test('a listing split over 117 pages of 50 is read to the end: 5,817 tables with schemas and sizes', async () => {
    h = await openHarness((d) => seedDouble(d, 'full'), { double: { maxPageSize: 50 } });
    const tables = await h.engine.listTables();
    expect(tables).toHaveLength(5817);
    expect(h.double.counters.listPages).toBe(117);
    expect(new Set(tables.map((t) => t.name)).size).toBe(5817);
    const lag = tables.find((t) => t.name === 'lag_bqx_eurusd_w45')!;
    expect(lag.columns.map((c) => c.name)).toContain('bqx_lag_45');
    expect(lag.columns.find((c) => c.name === 'interval_time')!.type).toBe('TIMESTAMP');
    expect(lag.partitionBy).toBe('interval_time');
    expect(lag.clusterBy).toEqual(['pair']);
    expect(lag.bytes).toBe(204_000_000);
    expect(lag.rowCount).toBe(24);
  });

  test('a dataset with a default expiration and one without are told apart', async () => {
    h = await openHarness((d) => {
      smallDataset(d);
      d.addDataset('bqx_ml_v3_temp', { defaultTableExpirationMs: 7 * 86_400_000 });
    });
    expect(await h.engine.datasetInfo()).toEqual({ name: FEATURES_DATASET, exists: true, location: 'us-central1', defaultTableExpirationMs: null });
    expect((await h.engine.datasetInfo('bqx_ml_v3_temp')).defaultTableExpirationMs).toBe(7 * 86_400_000);
    expect((await h.engine.datasetInfo('nope')).exists).toBe(false);
  });

  test('rename applies once and the catalogue follows it', async () => {
    h = await openHarness((d) => smallDataset(d));
    const res = await h.engine.run(rename('t0', 'u0'), { jobId: 'op_1_s0' });
    expect(res.jobId).toBe('op_1_s0');
    expect(h.double.table(FEATURES_DATASET, 't0')).toBeUndefined();
    expect(h.double.table(FEATURES_DATASET, 'u0')?.numRows).toBe(10);
    expect(h.double.runsByJobId.get('op_1_s0')).toBe(1);
  });

  test('rateLimitExceeded and 5xx on jobs.insert are retried with backoff; the DDL runs once', async () => {
    h = await openHarness((d) => smallDataset(d));
    h.double.inject({ kind: 'rateLimitExceeded', times: 3 });
    h.double.inject({ kind: 'serverError', times: 2 });
    await h.engine.run(rename('t0', 'u0'), { jobId: 'op_rl' });
    expect(h.double.counters.rejectedRateLimit).toBe(3);
    expect(h.double.counters.serverErrors).toBe(2);
    expect(appliedCount(h.double, 'ALTER TABLE')).toBe(1);
    expect(h.engine.jobs.stats.submissions).toBe(6);
    expect(h.double.runsByJobId.get('op_rl')).toBe(1);
  });

  test('an unknown outcome (job created, 503 answered) is looked up, not resubmitted: applied once', async () => {
    h = await openHarness((d) => smallDataset(d));
    h.double.inject({ kind: 'unknownOutcome', match: (sql) => sql.startsWith('ALTER TABLE') });
    const res = await h.engine.run(rename('t1', 'u1'), { jobId: 'op_unknown' });
    expect(res.jobId).toBe('op_unknown');
    expect(appliedCount(h.double, 'ALTER TABLE')).toBe(1);
    expect(h.double.runsByJobId.get('op_unknown')).toBe(1);
    expect(h.engine.jobs.stats.unknownOutcomes).toBe(1);
    expect(h.double.table(FEATURES_DATASET, 'u1')).toBeDefined();
  });

  test('a dropped connection after the job was created is looked up too: applied once', async () => {
    h = await openHarness((d) => smallDataset(d));
    h.double.inject({ kind: 'droppedConnection', match: (sql) => sql.startsWith('DROP TABLE') });
    await h.engine.run({ kind: 'DROP_TABLE', name: 't2' }, { jobId: 'op_drop' });
    expect(appliedCount(h.double, 'DROP TABLE')).toBe(1);
    expect(h.double.runsByJobId.get('op_drop')).toBe(1);
    expect(h.double.table(FEATURES_DATASET, 't2')).toBeUndefined();
  });

  test('a resubmit of an id that already ran (crash and resume) waits for that job: duplicate, not a second run', async () => {
    h = await openHarness((d) => smallDataset(d));
    await h.engine.run(rename('t3', 'u3'), { jobId: 'op_resume' });
    const again = await h.engine.run(rename('t3', 'u3'), { jobId: 'op_resume' });
    expect(again.jobId).toBe('op_resume');
    expect(h.engine.jobs.stats.duplicates).toBe(1);
    expect(appliedCount(h.double, 'ALTER TABLE')).toBe(1);
  });

  test('jobRateLimitExceeded is retried under a new job id; the DDL runs once', async () => {
    h = await openHarness((d) => smallDataset(d));
    h.double.inject({ kind: 'jobRateLimitExceeded', times: 2 });
    const res = await h.engine.run(rename('t4', 'u4'), { jobId: 'op_jrl' });
    expect(res.jobId).toBe('op_jrl_r2');
    expect(h.double.runsByJobId.get('op_jrl')).toBeUndefined();
    expect(h.double.runsByJobId.get('op_jrl_r2')).toBe(1);
    expect(appliedCount(h.double, 'ALTER TABLE')).toBe(1);
  });

  test('a job that fails with backendError is retried under a new id (the failed one changed nothing)', async () => {
    h = await openHarness((d) => smallDataset(d));
    h.double.inject({ kind: 'jobBackendError' });
    const res = await h.engine.run(rename('t5', 'u5'), { jobId: 'op_be' });
    expect(res.jobId).toBe('op_be_r1');
    expect(appliedCount(h.double, 'ALTER TABLE')).toBe(1);
    expect(h.double.table(FEATURES_DATASET, 'u5')).toBeDefined();
  });

  test('a permanent error stops at once with the reason and the job id, nothing applied', async () => {
    h = await openHarness((d) => smallDataset(d));
    h.double.inject({ kind: 'permanent' });
    await expect(h.engine.run(rename('t0', 'u0'), { jobId: 'op_perm' })).rejects.toThrow(/op_perm failed: invalidQuery/);
    expect(h.engine.jobs.stats.submissions).toBe(1);
    expect(h.double.applied).toHaveLength(0);
  });

  test('a job failing permanently when it runs (missing source) is reported with BigQuery\'s message', async () => {
    h = await openHarness((d) => smallDataset(d));
    const err = await h.engine.run(rename('missing', 'u0'), { jobId: 'op_nf' }).catch((e) => e);
    expect(err.code).toBe('BIGQUERY_JOB_FAILED');
    expect(err.message).toMatch(/notFound: Not found: Table bqx-ml:bqx_ml_v3_features_v2.missing/);
    expect(h.double.runsByJobId.get('op_nf')).toBe(1);
  });

  test('metadata pacing: 12 DDL on one table never exceed 5 per 10 s of simulated time, none rejected', async () => {
    h = await openHarness((d) => smallDataset(d), { speedup: 100, double: { tableUpdateLimit: { limit: 5, windowMs: 10_000 } } });
    const e = h.engine;
    const steps: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      steps.push(e.run({ kind: 'CREATE_VIEW', name: 'v0', target: 't0', columns: [{ name: 'x', column: 'x' }], filter: null }, { jobId: `op_view_${i}` }));
    }
    await Promise.all(steps);
    expect(appliedCount(h.double, 'CREATE OR REPLACE VIEW')).toBe(12);
    expect(h.double.counters.metadataLimitHits).toBe(0);
    expect(h.double.maxUpdatesInWindow(10_000).count).toBeLessThanOrEqual(5);
    // 12 updates at 5 per 10 s need at least two full windows.
    const times = h.double.metadataUpdates.get(`${FEATURES_DATASET}.v0`)!;
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(20_000);
  });

  test('without pacing the same load trips the double\'s per-table limit (the check can fail)', async () => {
    h = await openHarness((d) => smallDataset(d), {
      // At 10x the double's 10 s window is 1 s of real time, so the 12 submits land inside it
      // however slowly a loaded machine starts them (at 100x, 100 ms real, they missed it once at load 9).
      speedup: 10,
      double: { tableUpdateLimit: { limit: 5, windowMs: 10_000 } },
      deps: { jobs: { tableUpdatesPerWindow: 1000, maxAttempts: 30 } },
    });
    const steps: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      steps.push(h.engine.run({ kind: 'CREATE_VIEW', name: 'v0', target: 't0', columns: [{ name: 'x', column: 'x' }], filter: null }, { jobId: `op_unpaced_${i}` }));
    }
    await Promise.all(steps);
    expect(h.double.counters.metadataLimitHits).toBeGreaterThan(0);
  });

  test('adaptive concurrency halves under rate limits and grows back when they stop', async () => {
    h = await openHarness(
      (d) => {
        d.addDataset(FEATURES_DATASET);
        for (let i = 0; i < 300; i++) d.addTable({ dataset: FEATURES_DATASET, name: `s${i}`, columns: [{ name: 'x', type: 'FLOAT' }] });
      },
      {
        speedup: 50,
        // Each job runs 10 s of simulated time (200 ms real): long enough that more than 8 are in
        // flight at once however slowly this machine submits them. The default 10 attempts: a job
        // refused for the quota backs off outside its slot and then goes before every job that
        // arrived after it (jobs.ts runFairly), so no job loses every race for the freed quota.
        double: { rejectAboveConcurrent: 8, latency: () => 10_000 },
        deps: { jobs: { concurrency: { initial: 32, min: 1, max: 32 } } },
      },
    );
    const limiter = h.engine.jobs.limiter;
    const first = Array.from({ length: 120 }, (_, i) => h!.engine.run({ kind: 'DROP_TABLE', name: `s${i}` }, { jobId: `op_a_${i}` }));
    await Promise.all(first);
    // The history records changes only: the level before the first change is the initial 32.
    const levels = [32, ...limiter.history.map(([, n]) => n)];
    // Halved from 32 at least once; every decrease is a halving (no other way down).
    expect(Math.min(...levels)).toBeLessThanOrEqual(16);
    const decreases = levels.flatMap((n, i) => (i > 0 && n < levels[i - 1] ? [[levels[i - 1], n]] : []));
    expect(decreases.length).toBeGreaterThan(0);
    for (const [from, to] of decreases) expect({ from, to }).toEqual({ from, to: Math.max(1, Math.floor(from / 2)) });
    expect(h.double.counters.rejectedRateLimit).toBeGreaterThan(0);
    expect(h.double.counters.maxRunning).toBeLessThanOrEqual(8);
    // The quota goes away: concurrency climbs back to its maximum.
    (h.double.opts as { rejectAboveConcurrent?: number }).rejectAboveConcurrent = undefined;
    const second = Array.from({ length: 150 }, (_, i) => h!.engine.run({ kind: 'DROP_TABLE', name: `s${120 + i}` }, { jobId: `op_b_${i}` }));
    await Promise.all(second);
    expect(limiter.concurrency).toBe(32);
    expect(h.double.applied).toHaveLength(270);
    expect([...h.double.runsByJobId.values()].every((n) => n === 1)).toBe(true);
  });
});
