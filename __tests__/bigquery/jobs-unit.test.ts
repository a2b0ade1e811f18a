/** Job ids, backoff and the pacing/AIMD primitives, on a hand-driven clock. */
import { MAX_JOB_ID_LENGTH, sanitizeJobId } from '../../engines/bigquery/jobs';
import { AdaptiveLimiter, backoffMs, Clock, CONGESTION_SIGNALS, CONGESTION_WINDOW, KeyedRateLimiter } from '../../engines/bigquery/limits';
import { openBigQueryEngine } from '../../engines/bigquery/engine';
import { makeClient } from '../../engines/bigquery/rest';
import { resolveIdentity } from '../../engines/bigquery/credentials';
import { labelProblem } from '../../engines/bigquery/labels';
import { stepJobLabels } from '../../core/ports/engine';

function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  let timers: { at: number; resolve: () => void }[] = [];
  return {
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => timers.push({ at: now + ms, resolve })),
    advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      due.forEach((t) => t.resolve());
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('job ids', () => {
  test('valid ids pass unchanged; anything else becomes [A-Za-z0-9_-] with a hash of the original', () => {
    expect(sanitizeJobId('bqx_abc_op_1_s0_a1')).toBe('bqx_abc_op_1_s0_a1');
    const a = sanitizeJobId('op:1/s0');
    const b = sanitizeJobId('op_1_s0');
    expect(a).toMatch(/^op_1_s0_[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
    const long = sanitizeJobId('x'.repeat(5000));
    expect(long.length).toBeLessThanOrEqual(MAX_JOB_ID_LENGTH - 16);
    expect(long).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sanitizeJobId('x'.repeat(5000))).toBe(long);
  });

  test('backoff grows exponentially with jitter, within [base/2, cap]', () => {
    expect(backoffMs(0, 500, 32_000, () => 1)).toBe(500);
    expect(backoffMs(3, 500, 32_000, () => 1)).toBe(4000);
    expect(backoffMs(10, 500, 32_000, () => 1)).toBe(32_000);
    expect(backoffMs(10, 500, 32_000, () => 0)).toBe(250);
  });
});

describe('per-table pacing', () => {
  test('a sixth update waits until 10 s after the first completed job', async () => {
    const clock = manualClock();
    const pacer = new KeyedRateLimiter(5, 10_000, clock);
    const releases = [];
    for (let i = 0; i < 5; i++) releases.push(await pacer.acquire('d.t'));
    let sixth = false;
    const p = pacer.acquire('d.t').then((r) => {
      sixth = true;
      return r;
    });
    clock.advance(2_000);
    releases.forEach((r) => r()); // all five complete at t = 2 s
    for (let t = 0; t < 9_500; t += 500) {
      clock.advance(500);
      await flush();
    }
    expect(sixth).toBe(false); // t = 11.5 s: the five completed at 2 s hold the window until 12 s
    for (let t = 0; t < 1_500; t += 500) {
      clock.advance(500);
      await flush();
    }
    expect(sixth).toBe(true);
    expect(pacer.granted.get('d.t')![5]).toBeGreaterThanOrEqual(12_000);
    await p;
    // Another table is not held back.
    await pacer.acquire('d.other');
  });
});

describe('per-table pacing says what it waits for', () => {
  test('a caller held past 5 s is announced on the notice sink, one line per 5 s of waiting', async () => {
    const clock = manualClock();
    const notices: string[] = [];
    const pacer = new KeyedRateLimiter(1, 20_000, clock, (l) => notices.push(l), 5_000);
    const first = await pacer.acquire('d.t');
    const second = pacer.acquire('d.t');
    // The first job runs 12 s: while it is in flight the second polls every 1.2 s.
    for (let t = 0; t < 12_000; t += 100) {
      clock.advance(100);
      await flush();
    }
    first();
    for (let t = 0; t < 21_000; t += 100) {
      clock.advance(100);
      await flush();
    }
    await second;
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(notices[0]).toMatch(/^bqx: waiting for the metadata-update quota of table d\.t \(1 updates per 20\.0 s\): \d+\.\d s so far, next look in \d+\.\d s$/);
    const waited = notices.map((l) => Number(/: ([\d.]+) s so far/.exec(l)![1]));
    for (let i = 1; i < waited.length; i++) expect(waited[i] - waited[i - 1]).toBeGreaterThanOrEqual(5);
    // Quiet while the total stays under 5 s.
    const quiet: string[] = [];
    const fast = new KeyedRateLimiter(5, 10_000, clock, (l) => quiet.push(l), 5_000);
    for (let i = 0; i < 5; i++) (await fast.acquire('d.u'))();
    expect(quiet).toEqual([]);
  });
});

describe('AIMD', () => {
  /** Refusals from the current epoch (jobs submitted after the last halving). */
  const refuse = (lim: AdaptiveLimiter, n: number) => {
    for (let i = 0; i < n; i++) lim.onRateLimited(lim.epoch);
  };

  test('halves once per congestion event (CONGESTION_SIGNALS refusals among the last CONGESTION_WINDOW outcomes), then +1 per success up to the max', () => {
    const lim = new AdaptiveLimiter({ initial: 32, min: 1, max: 40 }, manualClock());
    const e0 = lim.epoch;
    refuse(lim, CONGESTION_SIGNALS - 1);
    expect(lim.concurrency).toBe(32);
    lim.onRateLimited(e0);
    expect(lim.concurrency).toBe(16);
    for (let i = 0; i < CONGESTION_SIGNALS; i++) lim.onRateLimited(e0); // jobs of the same burst: ignored
    expect(lim.concurrency).toBe(16);
    refuse(lim, CONGESTION_SIGNALS); // jobs submitted after the halving: halve again
    expect(lim.concurrency).toBe(8);
    for (let i = 0; i < 100; i++) lim.onSuccess();
    expect(lim.concurrency).toBe(40);
    refuse(lim, 10 * CONGESTION_SIGNALS);
    expect(lim.concurrency).toBe(1);
  });

  test('refusals sparse among successes are noise: no halving; as dense as CONGESTION_SIGNALS in CONGESTION_WINDOW, a halving', () => {
    const lim = new AdaptiveLimiter({ initial: 64, min: 1, max: 64 }, manualClock());
    // One refusal per CONGESTION_WINDOW / (CONGESTION_SIGNALS - 1) outcomes: never CONGESTION_SIGNALS in a window.
    const sparse = Math.ceil(CONGESTION_WINDOW / (CONGESTION_SIGNALS - 1));
    for (let i = 0; i < 20 * CONGESTION_WINDOW; i++) {
      if (i % sparse === 0) lim.onRateLimited(lim.epoch);
      else lim.onSuccess();
    }
    expect(lim.history).toEqual([]);
    expect(lim.concurrency).toBe(64);
    // Denser: CONGESTION_SIGNALS refusals spread over one window.
    const dense = Math.floor(CONGESTION_WINDOW / CONGESTION_SIGNALS);
    for (let i = 0; i < CONGESTION_WINDOW; i++) {
      if (i % dense === 0) lim.onRateLimited(lim.epoch);
      else lim.onSuccess();
    }
    expect(lim.history.map(([, n]) => n)[0]).toBe(32);
  });
});

describe('engine options', () => {
  const base = { engine: 'bigquery' as const, project: 'bqx-ml', location: 'us-central1', dataset: 'bqx_ml_v3_features_v2', runnerDataset: 'bqx_ml_v3_migration' };
  test('bad input is refused with the option named', async () => {
    await expect(openBigQueryEngine({ ...base, project: 'Bad_Project' })).rejects.toThrow(/--project: "Bad_Project" is not a valid project id/);
    await expect(openBigQueryEngine({ ...base, runnerDataset: base.dataset })).rejects.toThrow(/--runner-dataset .* is the dataset being remediated/);
    await expect(openBigQueryEngine({ ...base, apiEndpoint: 'localhost:9050' })).rejects.toThrow(/--api-endpoint localhost:9050 is not an http\(s\) URL/);
  });
  test('the engine reports its kind, location and a high operation parallelism', async () => {
    const e = await openBigQueryEngine({ ...base, apiEndpoint: 'http://127.0.0.1:9' });
    expect(e.kind).toBe('bigquery');
    expect(e.where).toEqual({ project: 'bqx-ml', dataset: 'bqx_ml_v3_features_v2', runnerDataset: 'bqx_ml_v3_migration', location: 'us-central1' });
    // Twice the limiter's most jobs at once (64): operations spend time outside jobs.
    expect(e.maxParallelOperations).toBe(128);
  });

  test('a fixed test token replaces Application Default Credentials only when an endpoint is given, and is never sent to Google', async () => {
    const cloud = makeClient({ project: 'bqx-ml', location: 'us-central1' }) as unknown as { authClient: { cachedCredential: unknown } };
    expect(cloud.authClient.cachedCredential ?? null).toBeNull();
    type Local = { authClient: { cachedCredential: { getRequestHeaders(): Promise<Headers> } } };
    const headerOf = async (token?: string) => {
      const id = await resolveIdentity({ testEndpoint: true, accessToken: token });
      const local = makeClient({ project: 'bqx-ml', location: 'us-central1', apiEndpoint: 'http://127.0.0.1:9', authClient: id.authClient }) as unknown as Local;
      return (await local.authClient.cachedCredential.getRequestHeaders()).get('authorization');
    };
    expect(await headerOf()).toBe('Bearer offline-endpoint');
    expect(await headerOf('runner-token')).toBe('Bearer runner-token');
    process.env.BQX_BIGQUERY_ACCESS_TOKEN = 'from-env';
    try {
      expect(await headerOf()).toBe('Bearer from-env');
    } finally {
      delete process.env.BQX_BIGQUERY_ACCESS_TOKEN;
    }
    // A test endpoint without its identity, a fixed token for Google, impersonation on a test endpoint
    // without a test IAM Credentials endpoint: all refused before any request.
    expect(() => makeClient({ project: 'bqx-ml', location: 'us-central1', apiEndpoint: 'http://127.0.0.1:9' })).toThrow(/needs its auth client/);
    await expect(resolveIdentity({ testEndpoint: false, accessToken: 'runner-token' })).rejects.toThrow(/only for a test endpoint/);
    await expect(resolveIdentity({ testEndpoint: true, impersonate: 'bqx-ml-runner@bqx-ml.iam.gserviceaccount.com' })).rejects.toThrow(/needs a test IAM Credentials endpoint/);
    await expect(resolveIdentity({ testEndpoint: true, impersonate: 'someone@example.com', iamEndpoint: 'http://127.0.0.1:9' })).rejects.toThrow(/not a service account e-mail/);
    await expect(openBigQueryEngine({ ...base, accessToken: 'runner-token' })).rejects.toThrow(/only for a test endpoint/);
  });

  test('job labels: the static ones ride on every job, invalid ones are refused before any submit', async () => {
    await expect(openBigQueryEngine({ ...base, apiEndpoint: 'http://127.0.0.1:9', jobLabels: { 'BQX-Phase': 'x' } })).rejects.toThrow(/label key "BQX-Phase"/);
    await expect(openBigQueryEngine({ ...base, apiEndpoint: 'http://127.0.0.1:9', jobLabels: { 'bqx-phase': 'M008' } })).rejects.toThrow(/bqx-phase="M008"/);
    expect(labelProblem({ 'bqx-run': 'run_20261201t000000z_0a1b2c3d', 'bqx-plan': '0123456789ab', 'bqx-phase': 'm008-4c' })).toBeNull();
    expect(labelProblem({ 'bqx-run': 'run_20261201T000000Z_0a1b2c3d' })).toMatch(/value/);
    expect(labelProblem({ ['k'.repeat(64)]: 'v' })).toMatch(/key/);
    expect(labelProblem(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])))).toMatch(/65 labels/);
    expect(stepJobLabels({ planHash: 'ABCDEF0123456789', runId: 'run_20261201T000000Z_0A1B2C3D' })).toEqual({ 'bqx-plan': 'abcdef012345', 'bqx-run': 'run_20261201t000000z_0a1b2c3d' });
  });
});
