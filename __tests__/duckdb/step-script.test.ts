import { DuckDBInstance } from '@duckdb/node-api';
import type { Engine } from '../../core/ports/engine';
import { open, seedSmall, tempDir } from './support';

// A step's statements go to DuckDB as one call: a statement that fails after others succeeded must
// still leave nothing of the step behind, and the error must list the statements it ran.

let tmp: ReturnType<typeof tempDir>;
let database: string;

beforeAll(async () => {
  tmp = tempDir('step-script');
  ({ database } = await seedSmall(tmp.dir));
  // The options table refuses one name, so a rename's third statement (the options row's UPDATE)
  // fails after its first (the ALTER TABLE) succeeded.
  const instance = await DuckDBInstance.create(database);
  const conn = await instance.connect();
  for (const sql of [
    `CREATE TABLE "_bqx_catalog".refusing (dataset VARCHAR NOT NULL, table_name VARCHAR NOT NULL CHECK (table_name <> 'refused_name'), partition_by VARCHAR, cluster_by VARCHAR[] NOT NULL)`,
    `INSERT INTO "_bqx_catalog".refusing SELECT * FROM "_bqx_catalog".table_options`,
    `DROP TABLE "_bqx_catalog".table_options`,
    `ALTER TABLE "_bqx_catalog".refusing RENAME TO table_options`,
    'CHECKPOINT',
  ])
    await conn.run(sql);
  conn.closeSync();
  instance.closeSync();
});
afterAll(() => tmp.cleanup());

async function withEngine<T>(fn: (e: Engine) => Promise<T>): Promise<T> {
  const engine = await open(database);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

test('a step whose last statement fails leaves its earlier statements undone, and its error lists them', async () => {
  await withEngine(async (engine) => {
    const before = (await engine.getTable('regime_eurusd_45'))!;
    expect(before.partitionBy).toBe('interval_time'); // it has an options row for the UPDATE to move
    const failed = await engine.run({ kind: 'RENAME_TABLE', from: 'regime_eurusd_45', to: 'refused_name' }, { jobId: 'script-fail' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(failed).toBeInstanceOf(Error);
    expect(failed!.message).toMatch(/CHECK constraint/i);
    expect(failed!.message).toContain('statement 1 of 3: ALTER TABLE "bqx_ml_v3_features_v2"."regime_eurusd_45" RENAME TO "refused_name"');
    expect(failed!.message).toContain('statement 3 of 3: UPDATE "_bqx_catalog"."table_options"');
    expect(await engine.getTable('refused_name')).toBeNull();
    expect(await engine.getTable('regime_eurusd_45')).toMatchObject({ kind: 'TABLE', columns: before.columns, rowCount: before.rowCount, partitionBy: 'interval_time' });
  });
  // And in the file, read by a fresh engine (no cache of this process's).
  await withEngine(async (engine) => {
    expect(await engine.getTable('refused_name')).toBeNull();
    expect((await engine.getTable('regime_eurusd_45'))?.kind).toBe('TABLE');
  });
});

test('a step of several statements, each a separate call before, still does all of them', async () => {
  await withEngine(async (engine) => {
    const rows = (await engine.getTable('regime_gbpusd_45'))!.rowCount;
    const backup = await engine.run({ kind: 'BACKUP_TABLE', name: 'regime_gbpusd_45', backupName: 'bk_script_regime_gbpusd_45' }, { jobId: 'script-backup' });
    expect(backup.rowsAffected).toBe(rows);
    await engine.run({ kind: 'RENAME_TABLE', from: 'regime_gbpusd_45', to: 'regime_idx_gbpusd_script' }, { jobId: 'script-rename' });
    expect(await engine.getTable('regime_gbpusd_45')).toBeNull();
    expect(await engine.getTable('regime_idx_gbpusd_script')).toMatchObject({ rowCount: rows, partitionBy: 'interval_time', clusterBy: ['pair'] });
  });
});
