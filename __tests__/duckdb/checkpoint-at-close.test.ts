import { spawnSync } from 'child_process';
import { copyFileSync, existsSync, statSync } from 'fs';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { isActionable, type Plan } from '../../core/plan/types';
import { environmentDefaults } from '../../scripts/options';
import { buildDist } from '../support/build';
import { seedSmall, tempDir } from './support';

// What the last engine's close leaves on disk, seen by fresh processes: a paper run (ledger rows
// appended, no catalogue change) skips the checkpoint, so its rows are in the WAL and a fresh open
// replays them; an apply (catalogue changed) checkpoints, so the file alone holds the new catalogue.

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');
const RUNNER = environmentDefaults().runnerDataset;

function bqx(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rows of `sql` read by a DuckDB instance of this (test) process, read-only, then closed. */
async function read(database: string, sql: string): Promise<unknown[][]> {
  const instance = await DuckDBInstance.create(database, { access_mode: 'READ_ONLY' });
  const c = await instance.connect();
  try {
    return (await c.runAndReadAll(sql)).getRowsJS();
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const walSize = (database: string) => (existsSync(`${database}.wal`) ? statSync(`${database}.wal`).size : 0);

/** A copy of the database file alone, without its WAL: what a checkpoint wrote into the file. */
function fileAlone(database: string, dir: string, name: string): string {
  const copy = path.join(dir, name);
  copyFileSync(database, copy);
  return copy;
}

let tmp: ReturnType<typeof tempDir>;
let database: string;
let plan: Plan;
let planFile: string;

beforeAll(async () => {
  buildDist();
  tmp = tempDir('checkpoint');
  ({ database } = await seedSmall(tmp.dir));
  planFile = path.join(tmp.dir, 'plan.json');
  const planned = bqx(['plan', '--out', planFile, '--database', database, '--json']);
  expect(planned.code).toBe(0);
  plan = JSON.parse(require('fs').readFileSync(planFile, 'utf8')) as Plan;
}, 300_000);
afterAll(() => tmp.cleanup());

const evidence = () => ['--reports-dir', path.join(tmp.dir, 'reports'), '--metrics-file', path.join(tmp.dir, 'metrics.prom')];

test('a paper run leaves its ledger rows in the WAL (no checkpoint at close), and a fresh process reads them back', async () => {
  expect(walSize(database)).toBe(0);
  const paper = bqx(['apply', planFile, '--dry-run', '--approve', plan.planHash, '--database', database, ...evidence(), '--json']);
  expect(paper.stderr).not.toMatch(/Error/);
  expect(paper.code).toBe(0);
  const { runId, operations } = JSON.parse(paper.stdout) as { runId: string; operations: number };
  expect(operations).toBeGreaterThan(0);

  expect(walSize(database)).toBeGreaterThan(0);
  const ledger = `"${RUNNER}"."_bqx_ledger"`;
  const [[recorded]] = await read(database, `SELECT count(*) FROM ${ledger} WHERE run_id = '${runId}'`);
  expect(Number(recorded)).toBeGreaterThanOrEqual(operations);
  // The rows are the WAL's: the file alone does not have them yet.
  const alone = fileAlone(database, tmp.dir, 'paper-file-alone.duckdb');
  const ledgerInFile = Number((await read(alone, `SELECT count(*) FROM duckdb_tables() WHERE schema_name = '${RUNNER}' AND table_name = '_bqx_ledger'`))[0][0]) > 0;
  const rowsInFile = ledgerInFile ? Number((await read(alone, `SELECT count(*) FROM ${ledger} WHERE run_id = '${runId}'`))[0][0]) : 0;
  expect(rowsInFile).toBe(0);

  // A second paper run replays the first one's WAL, appends to it, and both runs' rows are there.
  const again = bqx(['apply', planFile, '--dry-run', '--approve', plan.planHash, '--database', database, ...evidence(), '--json']);
  expect(again.code).toBe(0);
  const second = (JSON.parse(again.stdout) as { runId: string }).runId;
  const runs = await read(database, `SELECT run_id, count(*) FROM ${ledger} WHERE run_id IN ('${runId}', '${second}') GROUP BY run_id ORDER BY run_id`);
  expect(runs.map((r) => String(r[0])).sort()).toEqual([runId, second].sort());
}, 600_000);

test('an apply checkpoints at close: the file alone holds the applied catalogue, and a fresh open sees it', async () => {
  const applied = bqx(['apply', planFile, '--approve', plan.planHash, '--database', database, ...evidence(), '--json']);
  expect(applied.code).toBe(0);
  expect((JSON.parse(applied.stdout) as { status: string }).status).toBe('OK');

  expect(walSize(database)).toBe(0);
  const renamed = plan.operations.filter((o) => isActionable(o.action) && o.action === 'RENAME');
  expect(renamed.length).toBeGreaterThan(0);
  const target = renamed[0].target!;
  const source = renamed[0].sources[0];
  const names = async (db: string) =>
    new Set((await read(db, `SELECT table_name FROM duckdb_tables() WHERE schema_name = '${plan.dataset}'`)).map((r) => String(r[0])));
  const alone = await names(fileAlone(database, tmp.dir, 'apply-file-alone.duckdb'));
  expect(alone.has(target)).toBe(true);
  expect(alone.has(source)).toBe(false);

  const verified = bqx(['verify', planFile, '--database', database, ...evidence(), '--json']);
  expect(verified.code).toBe(0);
}, 600_000);
