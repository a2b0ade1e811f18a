/**
 * No retry loop is silent past a few seconds, and an endpoint the user named that refuses the
 * connection fails at once, naming it (instead of 91 s of quiet retries ending in "wait and run the
 * same command again").
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { spawnSync } from 'child_process';
import * as path from 'path';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { openBigQueryEngine, type BigQueryEngine } from '../../engines/bigquery/engine';
import { RETRY_NOTICE_AFTER_MS } from '../../engines/bigquery/jobs';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { VirtualClock } from '../../testing/bigquery/virtual-clock';
import { LOCATION, PROJECT, RUNNER_DATASET } from '../../testing/bigquery/warehouse';
import { EXIT } from '../../scripts/exit-codes';

const BIN = path.join(__dirname, '..', '..', 'bin', 'bqx.js');

test('a retry loop says on stderr what it waits for, one line per backoff step once it has waited more than 5 s', async () => {
  // Discrete-event time: simulated time moves only by the engine's backoff sleeps, so the waits
  // below are exact whatever the machine's load.
  const clock = new VirtualClock();
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock, park: (p) => clock.park(p) });
  double.addDataset(FEATURES_DATASET);
  double.addTable({ dataset: FEATURES_DATASET, name: 't0', columns: [{ name: 'interval_time', type: 'TIMESTAMP' }], numRows: 1, numBytes: 10 });
  const endpoint = await double.start();
  const notices: string[] = [];
  let engine: BigQueryEngine | null = null;
  try {
    engine = await openBigQueryEngine(
      { engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint },
      // Backoff at its ceiling (random 1): 0.5, 1, 2, 4, 8, 16 s.
      { clock, notice: (l) => notices.push(l), jobs: { backoffBaseMs: 500, backoffCapMs: 32_000, random: () => 1 } },
    );
    const rest = engine.rest as { call: BigQueryEngine['rest']['call'] };
    const call = rest.call.bind(rest);
    rest.call = (req) => clock.track(() => call(req));
    double.inject({ kind: 'serverError', times: 6 });
    await engine.run({ kind: 'RENAME_TABLE', from: 't0', to: 'u0' }, { jobId: 'op_slow' });
  } finally {
    await engine?.close();
    clock.stop();
    await double.stop();
  }
  expect(double.counters.serverErrors).toBe(6);
  // Steps 1-3 end before 3.5 s + 4 s > 5 s: quiet; steps 4, 5 and 6 are announced.
  expect(RETRY_NOTICE_AFTER_MS).toBe(5_000);
  expect(notices).toEqual([
    'bqx: waiting for BigQuery job op_slow (backendError): 3.5 s so far, retry 4 of at most 10 in 4.0 s',
    'bqx: waiting for BigQuery job op_slow (backendError): 7.5 s so far, retry 5 of at most 10 in 8.0 s',
    'bqx: waiting for BigQuery job op_slow (backendError): 15.5 s so far, retry 6 of at most 10 in 16.0 s',
  ]);
  expect(double.table(FEATURES_DATASET, 'u0')).toBeDefined();
});

test('a named endpoint that refuses the connection fails within seconds (exit 9), naming it', () => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, 'audit', '--engine', 'bigquery', '--env', 'dev', '--api-endpoint', 'http://127.0.0.1:1'], {
    encoding: 'utf8',
    env: { ...process.env, BQX_BIGQUERY_API_ENDPOINT: '' },
    timeout: 60_000,
  });
  const ms = Date.now() - t0;
  expect(r.status).toBe(EXIT.UNAVAILABLE);
  expect(ms).toBeLessThan(15_000); // 91 s of silent retries before; process start-up alone takes seconds on a loaded machine
  expect(r.stderr).toContain('nothing answers at the BigQuery API endpoint http://127.0.0.1:1 (ECONNREFUSED)');
  expect(r.stderr).toContain('correct --api-endpoint');
  expect(r.stderr).not.toContain('run the same command again');
});
