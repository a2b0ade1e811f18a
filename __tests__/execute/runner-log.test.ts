import { PassThrough } from 'stream';
import { logRunEnd, runnerLogger, structuredLogging } from '../../app/report/runner-log';
import { newSummary } from '../../core/report/summary';
import { RUNNER_HALT_FILTER } from '../../stacks/pipeline-stack';

function capture(): { stream: PassThrough; lines: () => Record<string, unknown>[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c) => chunks.push(String(c)));
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

/** Evaluates the alert's `jsonPayload.k="v" AND …` filter against one logged line. */
function matchesFilter(filter: string, line: Record<string, unknown>): boolean {
  return filter.split(' AND ').every((clause) => {
    const m = /^jsonPayload\.(\w+)="([^"]*)"$/.exec(clause.trim());
    if (!m) throw new Error(`unexpected filter clause ${clause}`);
    return line[m[1]] === m[2];
  });
}

const summary = (status: 'OK' | 'HALTED') => {
  const s = newSummary({ runId: 'run_1', planHash: 'h'.repeat(64), mode: 'apply', engine: 'bigquery', dataset: 'bqx_ml_v3_features_v2', startedAt: new Date('2026-11-21T00:00:00Z') });
  s.status = status;
  if (status === 'HALTED') s.halt = { batch: 3, why: 'rows lost or not covered' };
  return s;
};

test('a halt is logged as the JSON line the "runner halted" alert of the pipeline stack matches', () => {
  const out = capture();
  logRunEnd(summary('HALTED'), runnerLogger(out.stream), false);
  const [line] = out.lines();
  expect(line).toMatchObject({ severity: 'ERROR', component: 'bqx-runner', event: 'halted', halt: { batch: 3 } });
  expect(matchesFilter(RUNNER_HALT_FILTER, line)).toBe(true);
});

test('a successful run logs nothing locally and a run_finished line in a Cloud Run job, which the alert ignores', () => {
  expect(structuredLogging({ CLOUD_RUN_JOB: 'bqx-runner' })).toBe(true);
  expect(structuredLogging({ BQX_LOG_JSON: '1' })).toBe(true);
  expect(structuredLogging({})).toBe(false);
  const local = capture();
  logRunEnd(summary('OK'), runnerLogger(local.stream), false);
  expect(local.lines()).toEqual([]);
  const piped = capture();
  logRunEnd(summary('OK'), runnerLogger(piped.stream), true);
  const [line] = piped.lines();
  expect(line).toMatchObject({ severity: 'INFO', event: 'run_finished', status: 'OK' });
  expect(matchesFilter(RUNNER_HALT_FILTER, line)).toBe(false);
});
