/**
 * A backup's step starts by ensuring the runner dataset (its schema and its `dataset_options` row).
 * Once the ledger's init has committed exactly that in this process, the engine skips those two
 * statements; anything that could undo them (the schema dropped, the options row deleted) makes
 * the next backup ensure them again. A wrong skip fails these tests: the backup would have no
 * schema to land in, or the runner dataset no options row.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import type { Engine } from '../../core/ports/engine';
import { Db } from '../../engines/duckdb/db';
import { CatalogueVersions } from '../../engines/duckdb/versions';
import { open, seedSmall, tempDir } from './support';

const RUNNER = 'bqx_ml_v3_migration';
const ENSURE = `CREATE SCHEMA IF NOT EXISTS "${RUNNER}"`;

let tmp: ReturnType<typeof tempDir>;
let database: string;
let engine: Engine;
/** A second connection of this process to the same file, for statements no engine method issues. */
let raw: Db;

beforeEach(async () => {
  tmp = tempDir('runner-ensured');
  ({ database } = await seedSmall(tmp.dir));
  engine = await open(database);
  raw = await Db.open(database);
});
afterEach(async () => {
  await raw?.close();
  await engine?.close();
  tmp.cleanup();
});

/** The SQL sent to DuckDB while `fn` runs. */
async function sqlDuring(fn: () => Promise<unknown>): Promise<string> {
  const run = jest.spyOn(DuckDBConnection.prototype, 'run');
  try {
    await fn();
    return run.mock.calls.map((c) => String(c[0])).join('\n;\n');
  } finally {
    run.mockRestore();
  }
}

let n = 0;
const backup = (name: string) => engine.run({ kind: 'BACKUP_TABLE', name, backupName: `bk_ensured_${++n}` }, { jobId: `ensured-${n}` });
const optionsRows = async () => Number((await raw.all(`SELECT count(*) AS n FROM "_bqx_catalog"."dataset_options" WHERE dataset = ?`, [RUNNER]))[0].n);
const backupRows = async (name: string) => Number((await raw.all(`SELECT count(*) AS n FROM "${RUNNER}"."${name}"`))[0].n);

test('without the ledger init in this process, a backup ensures the runner dataset itself', async () => {
  const sql = await sqlDuring(() => backup('regime_eurusd_45'));
  expect(sql).toContain(ENSURE);
  expect(await optionsRows()).toBe(1);
  expect(await backupRows(`bk_ensured_${n}`)).toBe((await engine.getTable('regime_eurusd_45'))!.rowCount);
});

test('after the ledger init committed, a backup skips ensuring the runner dataset and still lands in it', async () => {
  await engine.ledger.init();
  const sql = await sqlDuring(() => backup('regime_eurusd_45'));
  expect(sql).not.toContain(ENSURE);
  expect(sql).toContain(`CREATE TABLE "${RUNNER}"."bk_ensured_${n}" AS SELECT *`);
  expect(await backupRows(`bk_ensured_${n}`)).toBe((await engine.getTable('regime_eurusd_45'))!.rowCount);
  expect(await optionsRows()).toBe(1);
  // The paper run and a replay still see the whole step.
  expect(engine.render({ kind: 'BACKUP_TABLE', name: 'regime_eurusd_45', backupName: 'bk_x' })).toContain(ENSURE);
});

test('the runner schema dropped in this process: the next backup creates it again', async () => {
  await engine.ledger.init();
  await raw.all(`DROP SCHEMA "${RUNNER}" CASCADE`);
  const sql = await sqlDuring(() => backup('regime_gbpusd_45'));
  expect(sql).toContain(ENSURE);
  expect(await backupRows(`bk_ensured_${n}`)).toBe((await engine.getTable('regime_gbpusd_45'))!.rowCount);
});

test('the runner dataset options row deleted in this process: the next backup writes it again', async () => {
  await engine.ledger.init();
  await raw.all(`DELETE FROM "_bqx_catalog"."dataset_options" WHERE dataset = ?`, [RUNNER]);
  expect(await optionsRows()).toBe(0);
  await backup('regime_gbpusd_45');
  expect(await optionsRows()).toBe(1);
});

test('statements that could undo an ensured dataset are recognised; others are not', () => {
  const undoes = [
    `DROP SCHEMA "${RUNNER}" CASCADE`,
    'drop schema x',
    'ALTER SCHEMA a RENAME TO b',
    "ATTACH 'other.duckdb' AS o",
    'DETACH o',
    `DELETE FROM "_bqx_catalog"."dataset_options" WHERE dataset = 'x'`,
    `UPDATE _bqx_catalog.dataset_options SET location = 'EU'`,
    'TRUNCATE TABLE "_bqx_catalog".dataset_options',
    `CREATE TABLE t AS SELECT 1; DROP SCHEMA "${RUNNER}" CASCADE`,
  ];
  const keeps = [
    `CREATE SCHEMA IF NOT EXISTS "${RUNNER}"`,
    `INSERT INTO "_bqx_catalog"."dataset_options" SELECT 'x', 'us-central1', NULL`,
    `DELETE FROM "_bqx_catalog"."table_options" WHERE dataset = 'x'`,
    `DROP TABLE "${RUNNER}"."bk_1"`,
    `ALTER TABLE "bqx_ml_v3_features_v2"."a" RENAME TO "b"`,
  ];
  for (const sql of undoes) {
    const v = new CatalogueVersions();
    v.noteEnsured(RUNNER);
    v.noteStatementText(sql);
    expect([sql, v.ensured(RUNNER)]).toEqual([sql, false]);
  }
  for (const sql of keeps) {
    const v = new CatalogueVersions();
    v.noteEnsured(RUNNER);
    v.noteStatementText(sql);
    expect([sql, v.ensured(RUNNER)]).toEqual([sql, true]);
  }
});
