/**
 * The embedded engine serves a dataset's listing again, without reading the catalogue, until this
 * process writes something the listing depends on (DuckDB shuts every other writer out while it
 * holds the file). Each test makes a change between two reads and checks the second read shows it:
 * a stale listing would fail them.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import type { TableInfo } from '../../core/catalogue';
import type { Engine } from '../../core/ports/engine';
import { Db } from '../../engines/duckdb/db';
import { CatalogueVersions, writtenBy } from '../../engines/duckdb/versions';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { open, seedSmall, tempDir } from './support';

const DS = FEATURES_DATASET;
const RUNNER = 'bqx_ml_v3_migration';

let tmp: ReturnType<typeof tempDir>;
let database: string;
let engine: Engine;
/** A second connection of this process to the same file, for statements no engine method issues. */
let raw: Db;

beforeAll(async () => {
  tmp = tempDir('listing');
  ({ database } = await seedSmall(tmp.dir));
  engine = await open(database);
  raw = await Db.open(database);
  await engine.ledger.init();
});
afterAll(async () => {
  await raw?.close();
  await engine?.close();
  tmp.cleanup();
});

const byName = (tables: readonly TableInfo[], name: string) => tables.find((t) => t.name === name);
const run = (e: Engine, step: Parameters<Engine['run']>[0]) => e.run(step, { jobId: `listing-${Math.random().toString(36).slice(2)}` });

/** DuckDB queries made while `fn` runs. */
async function queriesDuring<T>(fn: () => Promise<T>): Promise<{ value: T; queries: number }> {
  // Every statement, read or write, goes through `run` (reads take their rows from its answer).
  const read = jest.spyOn(DuckDBConnection.prototype, 'run');
  try {
    const value = await fn();
    return { value, queries: read.mock.calls.length };
  } finally {
    read.mockRestore();
  }
}

test('a second listing with nothing written in between is served without a query, equal to the first', async () => {
  const first = await engine.listTables();
  const { value: second, queries } = await queriesDuring(() => engine.listTables());
  expect(queries).toBe(0);
  expect(second).toEqual(first);
  expect(first.length).toBeGreaterThan(400);
});

test('callers asking side by side for a listing of the same state share one read of it', async () => {
  await raw.all(`CREATE TABLE "${DS}"."listing_side_by_side" (x BIGINT)`);
  const read = jest.spyOn(DuckDBConnection.prototype, 'run');
  try {
    const [a, b] = await Promise.all([engine.listTables(), engine.listTables()]);
    const listings = read.mock.calls.filter((c) => /FROM duckdb_tables\(\)/.test(String(c[0])));
    expect(listings.length).toBe(1);
    expect(b).toEqual(a);
    expect(byName(a, 'listing_side_by_side')?.kind).toBe('TABLE');
  } finally {
    read.mockRestore();
  }
  // A write between two calls is not hidden by the sharing: the second call reads again.
  await raw.all(`DROP TABLE "${DS}"."listing_side_by_side"`);
  expect(byName(await engine.listTables(), 'listing_side_by_side')).toBeUndefined();
});

test('a listing is frozen: a caller cannot change what the next caller reads', async () => {
  const [t] = await engine.listTables();
  expect(() => ((t as { rowCount: number }).rowCount = -1)).toThrow(TypeError);
  expect(() => (t.columns as unknown as unknown[]).push({ name: 'x', type: 'INT64' })).toThrow(TypeError);
  const list = await engine.listTables();
  list.pop(); // the array itself is the caller's
  expect((await engine.listTables()).length).toBe(list.length + 1);
});

test("an engine step (rename) is in the next listing, and the kinds cache answers from it", async () => {
  await engine.listTables();
  await run(engine, { kind: 'RENAME_TABLE', from: 'tmp_gbpusd', to: 'tmp_gbpusd_renamed' });
  const after = await engine.listTables();
  expect(byName(after, 'tmp_gbpusd')).toBeUndefined();
  expect(byName(after, 'tmp_gbpusd_renamed')?.kind).toBe('TABLE');
  expect(await engine.getTable('tmp_gbpusd')).toBeNull();
});

test("rows another connection of this process inserts into the dataset's table change its listed row count", async () => {
  const before = byName(await engine.listTables(), 'tmp_gbpusd_renamed')!;
  await raw.all(`INSERT INTO "${DS}"."tmp_gbpusd_renamed" SELECT * FROM "${DS}"."tmp_gbpusd_renamed" LIMIT 3`);
  const after = byName(await engine.listTables(), 'tmp_gbpusd_renamed')!;
  expect(after.rowCount).toBe(before.rowCount + 3);
});

test('a table created with IF NOT EXISTS in the dataset is listed; one in the runner dataset leaves the listing cached', async () => {
  await engine.listTables();
  await raw.all(`CREATE TABLE IF NOT EXISTS "${RUNNER}"."listing_scratch" (x BIGINT)`);
  await raw.all(`INSERT INTO "${RUNNER}"."listing_scratch" VALUES (1)`);
  expect((await queriesDuring(() => engine.listTables())).queries).toBe(0);
  await raw.all(`CREATE TABLE IF NOT EXISTS "${DS}"."listing_new" (x BIGINT)`);
  expect(byName(await engine.listTables(), 'listing_new')?.columns).toEqual([{ name: 'x', type: 'INT64' }]);
});

test('columns are listed in order, exactly, even when a name holds the separator the joined read uses', async () => {
  const odd = 'a\u001fb';
  await raw.all(`CREATE TABLE "${DS}"."listing_odd" ("z" BIGINT, "${odd}" VARCHAR, "a" DOUBLE)`);
  const t = byName(await engine.listTables(), 'listing_odd')!;
  expect(t.columns).toEqual([
    { name: 'z', type: 'INT64' },
    { name: odd, type: 'STRING' },
    { name: 'a', type: 'FLOAT64' },
  ]);
  expect(byName(await engine.listTables(), 'tmp_gbpusd_renamed')!.columns.length).toBeGreaterThan(2);
  await raw.all(`DROP TABLE "${DS}"."listing_odd"`);
  expect(byName(await engine.listTables(), 'listing_odd')).toBeUndefined();
});

test('table options written to the catalogue schema are in the next listing', async () => {
  await engine.listTables();
  await raw.all(`INSERT INTO "_bqx_catalog"."table_options" VALUES ('${DS}', 'listing_new', 'x', ['x'])`);
  const t = byName(await engine.listTables(), 'listing_new')!;
  expect([t.partitionBy, t.clusterBy]).toEqual(['x', ['x']]);
});

test('a statement the listing cannot classify (unqualified, in the default schema) counts as a change to everything', async () => {
  await engine.listTables();
  await raw.all(`CREATE TABLE IF NOT EXISTS listing_main (x BIGINT)`);
  expect((await queriesDuring(() => engine.listTables())).queries).toBeGreaterThan(0);
});

test("another connection's uncommitted change is seen once it commits, and not after it rolls back", async () => {
  await engine.listTables();
  await raw.all('BEGIN TRANSACTION');
  await raw.all(`CREATE TABLE "${DS}"."listing_uncommitted" (x BIGINT)`);
  expect(byName(await engine.listTables(), 'listing_uncommitted')).toBeUndefined();
  await raw.all('ROLLBACK');
  expect(byName(await engine.listTables(), 'listing_uncommitted')).toBeUndefined();

  await raw.all('BEGIN TRANSACTION');
  await raw.all(`CREATE TABLE "${DS}"."listing_committed" (x BIGINT)`);
  expect(byName(await engine.listTables(), 'listing_committed')).toBeUndefined(); // read, and kept, before the commit
  await raw.all('COMMIT');
  expect(byName(await engine.listTables(), 'listing_committed')).toBeDefined();
});

test("inside an operation's transaction the listing shows its own uncommitted step; after the rollback, the warehouse as before", async () => {
  const before = await engine.listTables();
  expect(byName(before, 'tmp_eurusd')).toBeDefined();
  await expect(
    engine.atomically!(async () => {
      await run(engine, { kind: 'RENAME_TABLE', from: 'tmp_eurusd', to: 'tmp_eurusd_moved' });
      const inside = await engine.listTables();
      expect(byName(inside, 'tmp_eurusd_moved')).toBeDefined();
      expect(byName(inside, 'tmp_eurusd')).toBeUndefined();
      throw new Error('operation fails after its step');
    }),
  ).rejects.toThrow('operation fails after its step');
  const after = await engine.listTables();
  expect(byName(after, 'tmp_eurusd')).toBeDefined();
  expect(byName(after, 'tmp_eurusd_moved')).toBeUndefined();
  expect(after.map((t) => t.name)).toEqual(before.map((t) => t.name));
});

test('ledger records appended (runner dataset) leave the listing cached', async () => {
  await engine.listTables();
  const at = new Date().toISOString();
  await engine.ledger.append([{ runId: 'r', planHash: 'p', operationId: 'o', seq: 1, action: 'RENAME', state: 'STARTED', reason: 'x', detail: null, attempt: 1, bytes: 0, rows: null, jobId: null, at }]);
  await engine.ledger.flush();
  expect((await queriesDuring(() => engine.listTables())).queries).toBe(0);
});

describe('what a statement writes', () => {
  test.each([
    ['SELECT count(*) FROM "a"."b"', null],
    ['  with x as (select 1) select * from x', null],
    ['PRAGMA table_info(\'"a"."b"\')', null],
    ['COMMIT', null],
    ['INSERT INTO "a"."b" VALUES (1)', { schema: 'a', table: 'b', ensure: false }],
    ['insert into a.b select 1', { schema: 'a', table: 'b', ensure: false }],
    ['UPDATE "_bqx_catalog"."table_options" SET table_name = \'x\'', { schema: '_bqx_catalog', table: 'table_options', ensure: false }],
    ['DELETE FROM "s"."t ""q"""', { schema: 's', table: 't "q"', ensure: false }],
    ['CREATE TABLE IF NOT EXISTS "a"."b" (x BIGINT)', { schema: 'a', table: 'b', ensure: true }],
    ['CREATE SCHEMA IF NOT EXISTS "a"', { schema: 'a', table: null, ensure: true }],
    ['INSERT INTO b VALUES (1)', 'everything'],
    ['CREATE TABLE "a"."b" (x BIGINT)', 'everything'],
    ['ALTER TABLE "a"."b" RENAME TO "c"', 'everything'],
    ['WITH x AS (SELECT 1) INSERT INTO "a"."b" SELECT * FROM x', 'everything'],
    ['EXPLAIN ANALYZE DELETE FROM "a"."b"', 'everything'],
    ['COPY "a"."b" FROM \'f.csv\'', 'everything'],
    ['CREATE SCHEMA IF NOT EXISTS "a"; DROP SCHEMA "b" CASCADE', 'everything'],
  ])('%s', (sql, written) => {
    expect(writtenBy(sql)).toEqual(written);
  });

  test('a stamp changes with a write to what it depends on, and only then', () => {
    const v = new CatalogueVersions();
    const deps = [{ schema: 'ds' }, { schema: '_bqx_catalog', table: 'table_options' }];
    const s0 = v.stamp(deps);
    v.bump(writtenBy('INSERT INTO "runner"."_bqx_ledger" VALUES (1)'));
    v.bump(writtenBy('CREATE TABLE IF NOT EXISTS "_bqx_catalog"."table_options" (x BIGINT)'));
    v.bump(writtenBy('CREATE SCHEMA IF NOT EXISTS "ds"'));
    v.bump(writtenBy('INSERT INTO "_bqx_catalog"."dataset_options" VALUES (1)'));
    expect(v.stamp(deps)).toBe(s0);
    v.bump(writtenBy('DELETE FROM "_bqx_catalog"."table_options"'));
    const s1 = v.stamp(deps);
    expect(s1).not.toBe(s0);
    v.bump(writtenBy('CREATE TABLE IF NOT EXISTS "DS"."new" (x BIGINT)'));
    const s2 = v.stamp(deps);
    expect(s2).not.toBe(s1);
    v.bump('everything');
    expect(v.stamp(deps)).not.toBe(s2);
  });
});
