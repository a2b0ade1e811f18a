/**
 * Crash sweep on the BigQuery engine, like the DuckDB one: `bqx apply --engine bigquery` runs as a
 * real process against the REST double in this process, and a named failpoint SIGKILLs it right
 * after a step of each kind (CTAS, backup snapshot, drop, view, rename) or while the ledger writes
 * its pending records. A plain re-run of the same command must end exactly as an uncrashed run:
 * the same catalogue, every operation APPLIED exactly once across the runs, no catalogue statement
 * executed twice, and the lock released.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { foldLock, lockNameFor } from '../../core/execute/lock';
import { isActionable, type Plan } from '../../core/plan/types';
import { catalogueChanges, datasetState, repeated } from '../../testing/bigquery/scenario';
import { RUNNER_DATASET } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { engineOn, freshDouble, smallPlanOnDouble } from './support/fresh-double';

jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');
let work: string;
let plan: Plan;
let planFile: string;

/** `bqx apply` as a separate process; resolves with its exit code and signal. */
function apply(endpoint: string, failpoints: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const args = [BIN, 'apply', planFile, '--engine', 'bigquery', '--env', 'prod', '--api-endpoint', endpoint, '--approve', plan.planHash, '--reports-dir', path.join(work, 'reports'), '--metrics-file', path.join(work, 'reports', 'metrics.prom')];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: failpoints }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

let baseline: { state: ReturnType<typeof datasetState>; changes: string[] };
const actionable = () => plan.operations.filter((o) => isActionable(o.action));

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-bq-crash-'));
  plan = (await smallPlanOnDouble()).plan;
  planFile = path.join(work, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('uncrashed: bqx apply --engine bigquery applies the small plan in one process (exit 0)', async () => {
  const { double, endpoint } = await freshDouble();
  try {
    const r = await apply(endpoint, '');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    baseline = { state: datasetState(double, FEATURES_DATASET), changes: catalogueChanges(double, RUNNER_DATASET).sort() };
    expect(repeated(baseline.changes)).toEqual([]);
    expect(Object.values(baseline.state).filter((s) => s.startsWith('VIEW')).length).toBe(plan.views.length);
  } finally {
    await double.stop();
  }
});

// Kill points: right after a step of each kind (the first and a later one), and inside a ledger flush.
const KILLS = [
  'engine.after.consolidate=kill@1',
  'engine.after.consolidate=kill@3',
  'engine.after.backup-table=kill@1',
  'engine.after.backup-table=kill@7',
  'engine.after.drop-table=kill@1',
  'engine.after.drop-table=kill@9',
  'engine.after.create-view=kill@1',
  'engine.after.create-view=kill@20',
  'engine.after.rename-table=kill@1',
  'engine.after.rename-table=kill@15',
  'ledger.flush=kill@2',
  'ledger.flush=kill@6',
];

test.each(KILLS)('killed at %s, a plain re-run ends as the uncrashed run', async (failpoint) => {
  const { double, endpoint } = await freshDouble();
  try {
    const crashed = await apply(endpoint, failpoint);
    expect(crashed.signal).toBe('SIGKILL');
    const resumed = await apply(endpoint, '');
    expect({ code: resumed.code, stderr: resumed.stderr }).toEqual({ code: 0, stderr: '' });
    expect(datasetState(double, FEATURES_DATASET)).toEqual(baseline.state);
    const changes = catalogueChanges(double, RUNNER_DATASET);
    expect(repeated(changes)).toEqual([]);
    expect([...changes].sort()).toEqual(baseline.changes);
    const engine = await engineOn(endpoint);
    try {
      const records = await engine.ledger.records(plan.planHash);
      const applied = new Map<string, number>();
      for (const r of records) if (r.state === 'APPLIED') applied.set(r.operationId, (applied.get(r.operationId) ?? 0) + 1);
      expect(actionable().filter((o) => applied.get(o.id) !== 1).map((o) => `${o.id} applied ${applied.get(o.id) ?? 0}×`)).toEqual([]);
      expect(foldLock(await engine.ledger.lockEvents(lockNameFor(FEATURES_DATASET))).holder).toBeNull();
    } finally {
      await engine.close();
    }
  } finally {
    await double.stop();
  }
});
