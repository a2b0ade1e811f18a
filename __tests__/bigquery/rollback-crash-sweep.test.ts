/**
 * Rollback crash sweep on the BigQuery engine: a plan that covers every action kind is applied by
 * `bqx apply --engine bigquery` against the REST double, then `bqx rollback` is SIGKILLed right
 * after each of its undo steps in turn (every step kind of every action's undo), inside each of its
 * ledger flushes, and twice in a row; plain re-runs of the same rollback must end at the pre-apply
 * catalogue with every operation ROLLED_BACK exactly once and the lock released.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { foldLock, lockNameFor } from '../../core/execute/lock';
import { isActionable, type Plan } from '../../core/plan/types';
import type { BigQueryDouble } from '../../testing/bigquery/double';
import { datasetState } from '../../testing/bigquery/scenario';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { coverEveryAction, killPoints, undoStepsOf, type Exit, type UndoStep } from '../support/rollback-sweep';
import { engineOn, freshDouble, smallPlanOnDouble } from './support/fresh-double';

jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');
let work: string;
let plan: Plan;
let planFile: string;
let preApply: ReturnType<typeof datasetState>;
/** The undo steps of an uncrashed rollback, in order. */
let undoSteps: UndoStep[] = [];

function bqx(verb: 'apply' | 'rollback', endpoint: string, failpoints = ''): Promise<Exit> {
  const args = [BIN, verb, planFile, '--engine', 'bigquery', '--env', 'prod', '--api-endpoint', endpoint, '--approve', plan.planHash, '--reports-dir', path.join(work, 'reports'), '--json'];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: failpoints }, stdio: ['ignore', 'pipe', 'pipe'] });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const actionable = () => plan.operations.filter((o) => isActionable(o.action));

/** What a finished rollback must leave: the pre-apply catalogue, one ROLLED_BACK per operation, no lock. */
async function expectRolledBackOnce(double: BigQueryDouble, endpoint: string): Promise<void> {
  expect(datasetState(double, FEATURES_DATASET)).toEqual(preApply);
  const engine = await engineOn(endpoint);
  try {
    const records = await engine.ledger.records(plan.planHash);
    const rolledBack = new Map<string, number>();
    for (const r of records) if (r.state === 'ROLLED_BACK') rolledBack.set(r.operationId, (rolledBack.get(r.operationId) ?? 0) + 1);
    expect(actionable().map((o) => `${o.action} ${o.id} rolled back ${rolledBack.get(o.id) ?? 0}×`)).toEqual(actionable().map((o) => `${o.action} ${o.id} rolled back 1×`));
    expect(foldLock(await engine.ledger.lockEvents(lockNameFor(FEATURES_DATASET))).holder).toBeNull();
  } finally {
    await engine.close();
  }
}

const EXACT = 'exit 0, pre-apply catalogue, every operation ROLLED_BACK once, lock released';

/** How a crashed-then-resumed rollback ended, in one line (EXACT when as it must be). */
async function endOf(double: BigQueryDouble, endpoint: string, last: Exit): Promise<string> {
  try {
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: '' });
    await expectRolledBackOnce(double, endpoint);
    return EXACT;
  } catch (e) {
    return `exit ${last.code}: ${(e as Error).message.split('\n').filter((l) => /^\s*[-+] /.test(l)).slice(0, 6).join(' | ')}`;
  }
}

/** Applies the plan, runs the rollback once per failpoint list entry (each killed), then plainly. */
async function crashedRollback(failpoints: readonly string[]): Promise<{ double: BigQueryDouble; endpoint: string; last: Exit }> {
  const { double, endpoint } = await freshDouble();
  const applied = await bqx('apply', endpoint);
  expect({ code: applied.code, stderr: applied.stderr }).toEqual({ code: 0, stderr: '' });
  for (const fp of failpoints) {
    const killed = await bqx('rollback', endpoint, fp);
    expect({ fp, signal: killed.signal }).toEqual({ fp, signal: 'SIGKILL' });
  }
  return { double, endpoint, last: await bqx('rollback', endpoint) };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-bq-rb-crash-'));
  const made = await smallPlanOnDouble();
  plan = coverEveryAction(made.plan);
  preApply = made.preApply;
  planFile = path.join(work, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('uncrashed: the rollback of a plan covering every action kind restores the pre-apply catalogue', async () => {
  const { double, endpoint, last } = await crashedRollback([]);
  try {
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: '' });
    const summary = JSON.parse(last.stdout);
    expect({ status: summary.status, differences: summary.differences }).toEqual({ status: 'OK', differences: [] });
    undoSteps = undoStepsOf(summary.results);
    expect([...new Set(undoSteps.map((s) => s.kind))].sort()).toEqual(['drop-table', 'drop-view', 'rename', 'restore']);
    expect(undoSteps.filter((s) => s.kind === 'restore').length).toBeGreaterThanOrEqual(3);
    await expectRolledBackOnce(double, endpoint);
  } finally {
    await double.stop();
  }
});

// Killed right after the first undo step of each kind of each operation, and after the restore a drop relies on.
test('killed after each kind of undo step of each action, a plain re-run ends at the pre-apply catalogue', async () => {
  const points = killPoints(undoSteps);
  expect(new Set(points.map((p) => `${p.operation}|${p.kind}`)).size).toBeGreaterThanOrEqual(6);
  const ends: string[] = [];
  for (const p of points) {
    const { double, endpoint, last } = await crashedRollback([`engine.after-step=kill@${p.n}`]);
    try {
      ends.push(`kill after step ${p.n} (${p.kind}): ${await endOf(double, endpoint, last)}`);
    } finally {
      await double.stop();
    }
  }
  process.stdout.write(`BigQuery rollback crash sweep: ${points.length} kill points of ${undoSteps.length} undo steps\n${ends.join('\n')}\n`);
  expect(ends).toEqual(points.map((p) => `kill after step ${p.n} (${p.kind}): ${EXACT}`));
}, 600_000);

test.each([
  ['inside the first ledger flush', ['ledger.flush=kill@1']],
  ['inside the second ledger flush', ['ledger.flush=kill@2']],
  ['inside the third ledger flush', ['ledger.flush=kill@3']],
  ['twice: after a restore, then after the next step', ['engine.after.restore-table=kill@1', 'engine.after-step=kill@1']],
  ['twice: after the last restore, then inside the flush before the consolidated table is dropped', ['engine.after.restore-table=kill@3', 'ledger.flush=kill@1']],
])('killed %s, a plain re-run ends at the pre-apply catalogue', async (_what, failpoints) => {
  const { double, endpoint, last } = await crashedRollback(failpoints);
  try {
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: '' });
    await expectRolledBackOnce(double, endpoint);
  } finally {
    await double.stop();
  }
});
