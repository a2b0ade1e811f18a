import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Engine } from '../../core/ports/engine';
import { open, tempDir } from './support';

// A hand-built file (no seed, no _bqx_catalog): physical order, duplicates and single changes.
let tmp: ReturnType<typeof tempDir>;
let engine: Engine;

beforeAll(async () => {
  tmp = tempDir('fingerprint');
  const database = path.join(tmp.dir, 'fp.duckdb');
  const inst = await DuckDBInstance.create(database);
  const c = await inst.connect();
  const base = `SELECT TIMESTAMP '2025-11-20' + to_minutes(i::BIGINT) AS interval_time, 'eurusd' AS pair, (i * 1.5)::DOUBLE AS v, i % 3 = 0 AS flag, NULL::VARCHAR AS note FROM range(50) r(i)`;
  await c.run(`CREATE SCHEMA bqx_ml_v3_features_v2`);
  await c.run(`CREATE TABLE bqx_ml_v3_features_v2.sorted AS ${base} ORDER BY interval_time`);
  await c.run(`CREATE TABLE bqx_ml_v3_features_v2.reversed AS ${base} ORDER BY interval_time DESC`);
  await c.run(`CREATE TABLE bqx_ml_v3_features_v2.duplicated AS (${base}) UNION ALL (SELECT * FROM (${base}) WHERE v = 3)`);
  await c.run(`CREATE TABLE bqx_ml_v3_features_v2.dropped_one AS SELECT * FROM (${base}) WHERE v <> 3`);
  await c.run(`CREATE TABLE bqx_ml_v3_features_v2.changed AS SELECT interval_time, pair, CASE WHEN v = 3 THEN 3.0000001::DOUBLE ELSE v END AS v, flag, note FROM (${base})`);
  await c.run(`CREATE TABLE bqx_ml_v3_features_v2.renamed_col AS SELECT interval_time, pair, v AS w, flag, note FROM (${base})`);
  c.closeSync();
  inst.closeSync();
  engine = await open(database);
});
afterAll(async () => {
  await engine?.close();
  tmp.cleanup();
});

test('order-independent multiset hash over names and values', async () => {
  const sorted = await engine.contentFingerprint('sorted');
  expect(sorted.rows).toBe(50);
  expect(await engine.contentFingerprint('reversed')).toEqual(sorted);
  const others = await Promise.all(['duplicated', 'dropped_one', 'changed', 'renamed_col'].map((t) => engine.contentFingerprint(t)));
  expect(others.map((f) => f.rows)).toEqual([51, 49, 50, 50]);
  for (const f of others) expect(f.hash).not.toBe(sorted.hash);
});

test('stable sample order and reads on a file without _bqx_catalog', async () => {
  expect(await engine.sampleNumeric('reversed', 'v', 3)).toEqual([0, 1.5, 3]);
  const info = (await engine.getTable('sorted'))!;
  expect(info.columns).toEqual([
    { name: 'interval_time', type: 'TIMESTAMP' },
    { name: 'pair', type: 'STRING' },
    { name: 'v', type: 'FLOAT64' },
    { name: 'flag', type: 'BOOL' },
    { name: 'note', type: 'STRING' },
  ]);
  expect([info.partitionBy, info.clusterBy, info.rowCount]).toEqual([null, [], 50]);
  expect(await engine.nullCounts('sorted', ['note', 'v'])).toEqual({ note: 50, v: 0 });
  expect(await engine.keyStats('duplicated', 'interval_time')).toEqual({ rows: 51, distinctKeys: 50, nullKeys: 0 });
  expect(await engine.mismatchedRows('sorted', 'changed', 'interval_time', [{ targetColumn: 'v', sourceColumn: 'v' }], null)).toBe(1);
  expect(await engine.mismatchedRows('dropped_one', 'sorted', 'interval_time', [{ targetColumn: 'v', sourceColumn: 'v' }], null)).toBe(1);
  expect(await engine.columnsAgreeOnKey('sorted', 'changed', 'interval_time', ['v', 'note'])).toEqual({ v: false, note: true });
});

test('steps work on a file built without the seed (its metadata schema is created on first use)', async () => {
  await engine.run({ kind: 'RENAME_TABLE', from: 'sorted', to: 'sorted_renamed' }, { jobId: 'j-1' });
  const info = (await engine.getTable('sorted_renamed'))!;
  expect([info.rowCount, info.partitionBy, info.clusterBy]).toEqual([50, null, []]);
  expect(await engine.getTable('sorted')).toBeNull();
});
