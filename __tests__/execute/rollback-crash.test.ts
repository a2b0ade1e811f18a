/**
 * Rollback crash sweep on DuckDB, as on BigQuery (__tests__/bigquery/rollback-crash-sweep.test.ts):
 * a plan that covers every action kind is applied, then `bqx rollback` is SIGKILLed right after
 * undo steps of every kind of every action, while an operation commits its ledger records, and
 * twice in a row; plain
 * re-runs must end at the pre-apply warehouse (content included) with every operation ROLLED_BACK
 * exactly once and the lock released.
 */
import { spawn, spawnSync } from 'child_process';
import { copyFileSync, existsSync, writeFileSync } from 'fs';
import * as path from 'path';
import { foldLock, lockNameFor } from '../../core/execute/lock';
import { isActionable, type Plan } from '../../core/plan/types';
import { coverEveryAction, killPoints, undoStepsOf, type Exit, type UndoStep } from '../support/rollback-sweep';
import { fingerprintWarehouse, openAt, pristineWarehouse, removeTempDirs, tempDir, type WarehouseFingerprint } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');

let plan: Plan;
let planFile: string;
let preApply: WarehouseFingerprint;
/** The warehouse right after the plan's apply (each case rolls back a copy). */
let applied: string;
let undoSteps: UndoStep[] = [];

function bqx(verb: 'apply' | 'rollback', db: string, failpoints = ''): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, verb, planFile, '--database', db, '--approve', plan.planHash, '--reports-dir', path.join(path.dirname(db), 'reports'), '--json'], { cwd: ROOT, env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: failpoints } });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function copyOf(file: string): string {
  const db = path.join(tempDir(), 'w.duckdb');
  copyFileSync(file, db);
  if (existsSync(`${file}.wal`)) copyFileSync(`${file}.wal`, `${db}.wal`);
  return db;
}

const EXACT = 'exit 0, pre-apply warehouse, every operation ROLLED_BACK once, lock released';

/** How a crashed-then-resumed rollback ended, in one line (EXACT when as it must be). */
async function endOf(db: string, last: Exit): Promise<string> {
  const engine = await openAt(db);
  try {
    const records = await engine.ledger.records(plan.planHash);
    const rolledBack = plan.operations.filter((o) => isActionable(o.action)).map((o) => records.filter((r) => r.operationId === o.id && r.state === 'ROLLED_BACK').length);
    const fingerprint = await fingerprintWarehouse(engine);
    const holder = foldLock(await engine.ledger.lockEvents(lockNameFor(engine.where.dataset))).holder;
    const wrong = [
      last.code === 0 && last.stderr === '' ? null : `exit ${last.code} ${last.stderr.split('\n')[0]}`,
      fingerprint.catalogue === preApply.catalogue && JSON.stringify(fingerprint.content) === JSON.stringify(preApply.content) ? null : 'not the pre-apply warehouse',
      rolledBack.every((n) => n === 1) ? null : `ROLLED_BACK ${rolledBack.join(',')}×`,
      holder === null ? null : `lock held by ${holder.runId}`,
    ].filter(Boolean);
    return wrong.length ? wrong.join('; ') : EXACT;
  } finally {
    await engine.close();
  }
}

/** Rolls back a copy of the applied warehouse once per failpoint entry (each killed), then plainly. */
async function crashedRollback(failpoints: readonly string[]): Promise<string> {
  const db = copyOf(applied);
  for (const fp of failpoints) {
    const killed = await bqx('rollback', db, fp);
    if (killed.signal !== 'SIGKILL') return `${fp} did not kill the rollback (exit ${killed.code})`;
  }
  return endOf(db, await bqx('rollback', db));
}

beforeAll(async () => {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(path.join(ROOT, 'dist', 'scripts', 'cli.js'))) throw new Error(`build failed: ${build.stdout}`);
  const p = await pristineWarehouse();
  plan = coverEveryAction(p.plan);
  planFile = path.join(tempDir(), 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const engine = await openAt(p.database);
  try {
    preApply = await fingerprintWarehouse(engine);
  } finally {
    await engine.close();
  }
  applied = copyOf(p.database);
  const r = await bqx('apply', applied);
  if (r.code !== 0) throw new Error(`apply of the sweep's plan failed: ${r.code} ${r.stderr}`);
}, 300_000);
afterAll(() => removeTempDirs());

test('uncrashed: the rollback of a plan covering every action kind restores the pre-apply warehouse', async () => {
  const db = copyOf(applied);
  const last = await bqx('rollback', db);
  expect(await endOf(db, last)).toBe(EXACT);
  undoSteps = undoStepsOf(JSON.parse(last.stdout).results);
  expect([...new Set(undoSteps.map((s) => s.kind))].sort()).toEqual(['drop-table', 'drop-view', 'rename', 'restore']);
});

test('killed after each kind of undo step of each action, while the records commit, and twice: every re-run ends at the pre-apply warehouse', async () => {
  const points = killPoints(undoSteps);
  expect(points.length).toBeGreaterThanOrEqual(6);
  const cases: [string, string[]][] = [
    ...points.map((p): [string, string[]] => [`kill after step ${p.n} (${p.kind})`, [`engine.after-step=kill@${p.n}`]]),
    // DuckDB writes an operation's records in its transaction: the flush is the commit.
    ['kill while the first operation commits its records', ['ledger.commit=kill@1']],
    ['kill while the last operation commits its records', [`ledger.commit=kill@${new Set(undoSteps.map((s) => s.operation)).size}`]],
    ['kill after a restore, then after the next step', ['engine.after.restore-table=kill@1', 'engine.after-step=kill@1']],
    ['kill after the last undo step, then while the first operation commits', [`engine.after-step=kill@${undoSteps.length}`, 'ledger.commit=kill@1']],
  ];
  const ends: string[] = [];
  for (const [what, failpoints] of cases) ends.push(`${what}: ${await crashedRollback(failpoints)}`);
  process.stdout.write(`DuckDB rollback crash sweep: ${cases.length} cases, ${points.length} kill points of ${undoSteps.length} undo steps\n${ends.join('\n')}\n`);
  expect(ends).toEqual(cases.map(([what]) => `${what}: ${EXACT}`));
}, 600_000);
