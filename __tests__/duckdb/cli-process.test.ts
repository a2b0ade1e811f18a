import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as path from 'path';
import { auditNames } from '../../core/audit';
import { loadPolicy } from '../../core/policy';
import { openDuckDbEngine } from '../../engines/duckdb/engine';
import { buildCatalogue } from '../../warehouse/catalogue';
import { buildDist } from '../support/build';
import { engineOptions, open, seedSmall, tempDir } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');

function bqx(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

let tmp: ReturnType<typeof tempDir>;
let database: string;

beforeAll(async () => {
  // The CLI runs from dist/: built now, and a failed build fails the file.
  buildDist();
  tmp = tempDir('cli');
  ({ database } = await seedSmall(tmp.dir));
}, 300_000);
afterAll(() => tmp.cleanup());

describe('bqx warehouse seed', () => {
  test('builds a file, prints stats, refuses to overwrite without --force', () => {
    const db = path.join(tmp.dir, 'cli', 'seeded.duckdb');
    const first = bqx(['warehouse', 'seed', '--database', db, '--scale', 'small', '--json']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const stats = JSON.parse(first.stdout);
    expect(stats).toMatchObject({ database: db, scale: 'small', featureTables: 447 });
    expect(stats.bytes).toBeGreaterThan(0);
    expect(typeof stats.seconds).toBe('number');

    const again = bqx(['warehouse', 'seed', '--database', db, '--scale', 'small']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; refusing to overwrite/);
    expect(again.stderr).toMatch(/--force/);

    const forced = bqx(['warehouse', 'seed', '--database', db, '--scale', 'small', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/447 feature tables.*\n.*s, [\d.]+ MiB/);

    expect(bqx(['warehouse', 'seed', '--database', db, '--scale', 'huge']).code).toBe(2);
    const badRows = bqx(['warehouse', 'seed', '--database', path.join(tmp.dir, 'rows.duckdb'), '--rows', '-3']);
    expect(badRows.code).toBe(2);
    expect(badRows.stderr).toMatch(/--rows -3/);
    expect(require('fs').existsSync(path.join(tmp.dir, 'rows.duckdb'))).toBe(false);
  });
});

describe('bqx audit against the seeded warehouse', () => {
  const expected = auditNames(loadPolicy(), buildCatalogue({ scale: 'small' }).map((t) => t.name)).summary;

  test('--json has the catalogue counts', () => {
    const r = bqx(['audit', '--database', database, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(['summary', 'tables']);
    expect(out.summary.tables).toBe(447);
    expect(out.summary.nonCompliant).toBe(expected.nonCompliant);
    expect(out.summary.nonCompliantByFamily).toEqual(expected.nonCompliantByFamily);
    expect(out.tables).toHaveLength(447);
    expect(out.tables[0]).toEqual(expect.objectContaining({ name: expect.any(String), compliant: expect.any(Boolean), family: expect.any(String) }));
  });

  test('text output', () => {
    const r = bqx(['audit', '--database', database]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`non-compliant: ${expected.nonCompliant}`);
  });

  test('a missing database tells to seed and creates nothing', () => {
    const missing = path.join(tmp.dir, 'nope.duckdb');
    const r = bqx(['audit', '--database', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not exist/);
    expect(r.stderr).toMatch(/bqx warehouse seed/);
    expect(require('fs').existsSync(missing)).toBe(false);
  });
});

describe('one process per file', () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    if (holder?.pid && holder.exitCode === null) process.kill(holder.pid, 'SIGKILL');
    holder = undefined;
  });

  test("DuckDB's lock error becomes WAREHOUSE_BUSY (exit 3)", async () => {
    const script = `const { DuckDBInstance } = require('@duckdb/node-api');
      DuckDBInstance.create(${JSON.stringify(database)}).then(async (i) => { await i.connect(); process.stdout.write('ready\\n'); setInterval(() => {}, 1000); });`;
    holder = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      holder!.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
      holder!.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
    });
    const err = await openDuckDbEngine(engineOptions(database)).catch((e) => e);
    expect(err).toMatchObject({ code: 'WAREHOUSE_BUSY', kind: 'REFUSED' });
    expect(err.message).toContain(`the warehouse ${database} is in use by another process (`);
    expect(err.message).toContain(`PID ${holder.pid}`);

    const r = bqx(['audit', '--database', database]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is in use by another process/);
    expect(r.stderr).toMatch(/what to do:/);

    const reseed = bqx(['warehouse', 'seed', '--database', database, '--scale', 'small', '--force']);
    expect(reseed.code).toBe(3);
    expect(reseed.stderr).toMatch(/is in use by another process/);
  });
});

test('failpoint: BQX_FAILPOINTS=engine.after-step=kill@N kills the process right after the N-th successful step', async () => {
  const script = `const { openDuckDbEngine } = require(${JSON.stringify(path.join(ROOT, 'dist', 'engines', 'duckdb', 'engine.js'))});
    (async () => {
      const e = await openDuckDbEngine(${JSON.stringify(engineOptions(database))});
      await e.run({ kind: 'RENAME_TABLE', from: 'tmp_eurusd', to: 'tmp_eurusd_one' }, { jobId: 'j1' });
      await e.run({ kind: 'RENAME_TABLE', from: 'tmp_gbpusd', to: 'tmp_gbpusd_two' }, { jobId: 'j2' });
      process.stdout.write('survived\\n');
      await e.close();
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'engine.after-step=kill@1' } });
  expect(r.signal).toBe('SIGKILL');
  expect(r.stdout).not.toContain('survived');
  const engine = await open(database);
  try {
    expect(await engine.getTable('tmp_eurusd_one')).not.toBeNull();
    expect(await engine.getTable('tmp_eurusd')).toBeNull();
    expect(await engine.getTable('tmp_gbpusd')).not.toBeNull();
    expect((await engine.getTable('tmp_eurusd_one'))?.clusterBy).toEqual(['pair']);
  } finally {
    await engine.close();
  }
});
