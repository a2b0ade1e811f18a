/**
 * Failure paths the first sweep did not cover, on the local engine through the real CLI: a plan
 * never applied here, read verbs on a warehouse they may not write, dataset names in another case
 * and reserved schemas, drift a re-run must not call success, a missing backup, and the exit codes
 * and hints of the corners (partial apply, --max-operations 0, a refused run's reports directory,
 * a signal after the run ended, hints that carry the engine flags).
 */
import { spawn } from 'child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { backupNameFor } from '../../core/execute/ids';
import { isActionable, type Plan } from '../../core/plan/types';
import { EXIT } from '../../scripts/exit-codes';
import { environmentDefaults } from '../../scripts/options';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { coverEveryAction } from '../support/rollback-sweep';
import { fingerprintWarehouse, openAt, pristineWarehouse, removeTempDirs, sqlOnFile, tempDir, type WarehouseFingerprint } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');
const RUNNER = environmentDefaults().runnerDataset;

interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function bqx(args: string[], opts: { env?: Record<string, string>; cwd?: string; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? tempDir(), env: { ...process.env, ...opts.env }, uid: opts.uid, gid: opts.gid });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

let plan: Plan;
let planFile: string;
/** The warehouse with the whole plan applied (each test works on a copy). */
let applied: string;

function copyOf(file: string): { db: string; dir: string } {
  const dir = tempDir();
  const db = path.join(dir, 'w.duckdb');
  copyFileSync(file, db);
  if (existsSync(`${file}.wal`)) copyFileSync(`${file}.wal`, `${db}.wal`);
  return { db, dir };
}

const evidence = (dir: string) => ['--reports-dir', path.join(dir, 'reports'), '--metrics-file', path.join(dir, 'reports', 'metrics.prom')];

async function stateOf(db: string): Promise<{ fingerprint: WarehouseFingerprint; runs: number }> {
  const engine = await openAt(db);
  try {
    return { fingerprint: await fingerprintWarehouse(engine), runs: (await engine.ledger.runs()).length };
  } finally {
    await engine.close();
  }
}

beforeAll(async () => {
  const p = await pristineWarehouse();
  plan = p.plan;
  planFile = path.join(tempDir(), 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  applied = copyOf(p.database).db;
  const r = await bqx(['apply', planFile, '--database', applied, '--approve', plan.planHash, ...evidence(path.dirname(applied))]);
  if (r.status !== 0) throw new Error(`apply failed: ${r.status} ${r.stderr}`);
}, 300_000);
afterAll(() => removeTempDirs());

test('a plan never applied here: rollback, verify and reconcile refuse it (exit 3) before any change, naming the plan that was applied', async () => {
  const { db, dir } = copyOf(applied);
  const other = coverEveryAction(plan);
  const otherFile = path.join(dir, 'other.json');
  writeFileSync(otherFile, JSON.stringify(other));
  const before = await stateOf(db);
  for (const args of [
    ['rollback', otherFile, '--approve', other.planHash, ...evidence(dir)],
    ['verify', otherFile, ...evidence(dir)],
    ['reconcile', otherFile, '--reports-dir', path.join(dir, 'reports')],
  ]) {
    const r = await bqx([...args, '--database', db]);
    expect({ verb: args[0], status: r.status }).toEqual({ verb: args[0], status: EXIT.REFUSED });
    expect(r.stderr).toContain(`was never applied to this warehouse; the plan applied here is ${plan.planHash}`);
    expect(r.stderr).toContain(`what to do: ${args[0]} the plan that was applied: bqx ${args[0]} --database ${db}`);
  }
  expect(await stateOf(db)).toEqual(before);
});

test('verify, reconcile and readiness open the warehouse read-only: they work on a file nobody may write and write nothing (not even run records)', async () => {
  const { db, dir } = copyOf(applied);
  const before = await stateOf(db);
  const out = mkdtempSync(path.join(dir, 'out-'));
  chmodSync(out, 0o777);
  const ownPlan = path.join(out, 'plan.json');
  copyFileSync(planFile, ownPlan);
  chmodSync(db, 0o444);
  chmodSync(dir, 0o555);
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  try {
    const bytes = readFileSync(db);
    const verify = await bqx(['verify', ownPlan, '--database', db, ...evidence(out)], { ...asNobody, cwd: out });
    expect({ status: verify.status, stderr: verify.stderr }).toEqual({ status: EXIT.OK, stderr: '' });
    const reconcile = await bqx(['reconcile', ownPlan, '--database', db, '--reports-dir', path.join(out, 'reports')], { ...asNobody, cwd: out });
    expect({ status: reconcile.status, stderr: reconcile.stderr }).toEqual({ status: EXIT.OK, stderr: '' });
    const readiness = await bqx(['readiness', '--plan', ownPlan, '--database', db, '--reports-dir', path.join(out, 'reports')], { ...asNobody, cwd: out });
    expect(readiness.status).not.toBe(EXIT.UNAVAILABLE);
    expect(readiness.stderr).toBe('');
    expect(readFileSync(db).equals(bytes)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'reports', 'run-verify.json'), 'utf8')).status).toBe('OK');
  } finally {
    chmodSync(dir, 0o755);
    chmodSync(db, 0o644);
  }
  expect(await stateOf(db)).toEqual(before);
  const help = await bqx(['verify', '--help']);
  expect(help.stdout).toContain(`exit ${EXIT.DRIFT} when one fails`);
  expect(help.stdout).toContain('writes nothing to it');
});

test('dataset names compare as DuckDB does (ignoring case); reserved schemas are refused (exit 2)', async () => {
  const { db, dir } = copyOf(applied);
  const sameInCapitals = await bqx(['apply', planFile, '--database', db, '--approve', plan.planHash, '--runner-dataset', FEATURES_DATASET.toUpperCase(), ...evidence(dir)]);
  expect(sameInCapitals.status).toBe(EXIT.BAD_INPUT);
  expect(sameInCapitals.stderr).toContain('is the dataset being remediated');
  for (const [flag, name] of [
    ['--runner-dataset', 'information_schema'],
    ['--runner-dataset', 'MAIN'],
    ['--dataset', 'pg_catalog'],
    ['--runner-dataset', '_bqx_catalog'],
  ]) {
    const r = await bqx(['verify', planFile, '--database', db, flag, name, ...evidence(dir)]);
    expect({ name, status: r.status, stderr: r.stderr.split('\n')[0] }).toEqual({ name, status: EXIT.BAD_INPUT, stderr: expect.stringContaining('is a reserved schema') });
  }
  expect(existsSync(path.join(dir, 'reports'))).toBe(false);
  // The ledger's dataset named in capitals is the same schema: rollback finds every backup.
  const rollback = await bqx(['rollback', planFile, '--database', db, '--approve', plan.planHash, '--runner-dataset', RUNNER.toUpperCase(), '--json', ...evidence(dir)]);
  expect({ status: rollback.status, stderr: rollback.stderr }).toEqual({ status: EXIT.OK, stderr: '' });
  expect(JSON.parse(rollback.stdout).differences).toEqual([]);
});

test('drift a re-run must not call success: a skipped operation whose outcome is gone exits 8, named; so does reconcile', async () => {
  const { db, dir } = copyOf(applied);
  const rename = plan.operations.find((o) => o.action === 'RENAME' && plan.views.some((v) => v.operationId === o.id && v.name === o.sources[0]))!;
  // Someone drops the compatibility view and renames the table back.
  await sqlOnFile(db, [`DROP VIEW ${FEATURES_DATASET}.${rename.sources[0]}`, `ALTER TABLE ${FEATURES_DATASET}.${rename.target} RENAME TO ${rename.sources[0]}`]);
  const again = await bqx(['apply', planFile, '--database', db, '--approve', plan.planHash, ...evidence(dir)]);
  expect(again.status).toBe(EXIT.DRIFT);
  expect(again.stdout).toContain(`${rename.target}: MISSING`);
  expect(again.stdout).toContain('no longer as the apply left them');
  const reconcile = await bqx(['reconcile', planFile, '--database', db, '--reports-dir', path.join(dir, 'reports')]);
  expect(reconcile.status).toBe(EXIT.DRIFT);
});

test('a backup deleted after apply: rollback exits 8 and names the missing backup on the console; a view is described as a view', async () => {
  const { db, dir } = copyOf(applied);
  const dedupe = plan.operations.find((o) => o.action === 'DEDUPE' && plan.views.some((v) => v.operationId === o.id && v.name === o.sources[0]))!;
  const table = dedupe.sources[0];
  await sqlOnFile(db, [`DROP TABLE ${RUNNER}.${backupNameFor(dedupe.id, table, 1)}`]);
  const rb = await bqx(['rollback', planFile, '--database', db, '--approve', plan.planHash, ...evidence(dir)]);
  expect(rb.status).toBe(EXIT.DRIFT);
  expect(rb.stdout).toContain(`${table} is gone and no backup of it exists`);
  expect(rb.stdout).toContain(`bk_${dedupe.id.replace(/^op_/, '')}_a<n>_${table}`);
  expect(rb.stdout).toContain(`${table}: a view now (the plan saw a table)`);
  expect(rb.stdout).not.toContain(`${table}: schema or row count changed`);
});

test('exit codes and hints: partial apply is not MATCHED, --max-operations 0 is refused, a refused run leaves no reports directory, hints carry the engine flags, a signal after the end still prints', async () => {
  const p = await pristineWarehouse();
  const { db, dir } = copyOf(p.database);
  const zero = await bqx(['apply', planFile, '--database', db, '--approve', plan.planHash, '--max-operations', '0', ...evidence(dir)]);
  expect(zero.status).toBe(EXIT.BAD_INPUT);
  expect(zero.stderr).toContain('--max-operations 0 would run nothing');
  expect(existsSync(path.join(dir, 'reports'))).toBe(false);

  const unapproved = await bqx(['apply', planFile, '--database', db, ...evidence(dir)]);
  expect(unapproved.status).toBe(EXIT.REFUSED);
  expect(unapproved.stderr).toContain(`approve it: bqx apply --database ${db} ${planFile} --approve ${plan.planHash}`);

  const partial = await bqx(['apply', planFile, '--database', db, '--approve', plan.planHash, '--max-operations', '5', ...evidence(dir)]);
  expect(partial.status).toBe(EXIT.OK);
  const reconcile = await bqx(['reconcile', planFile, '--database', db, '--reports-dir', path.join(dir, 'reports'), '--json']);
  expect(reconcile.status).toBe(EXIT.DRIFT);
  expect(JSON.parse(reconcile.stdout).notApplied).toHaveLength(plan.operations.filter((o) => isActionable(o.action)).length - 5);

  // SIGTERM right after the run's END is written: the result is still printed, the code is the run's.
  const late = await bqx(['apply', planFile, '--database', db, '--approve', plan.planHash, '--max-operations', '3', '--json', ...evidence(dir)], { env: { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'run.ended=signal(SIGTERM)' } });
  expect({ status: late.status, signal: late.signal }).toEqual({ status: EXIT.OK, signal: null });
  expect(late.stderr).toContain('SIGTERM');
  expect(JSON.parse(late.stdout).status).toBe('OK');
});
