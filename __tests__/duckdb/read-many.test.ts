import { DuckDBInstance } from '@duckdb/node-api';
import type { Engine } from '../../core/ports/engine';
import { structFields } from '../../engines/duckdb/types';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { open, seedSmall, tempDir } from './support';

// Bulk validation reads (one UNION ALL per chunk) must answer exactly what the single reads answer,
// errors included, whatever the names and columns look like.

let tmp: ReturnType<typeof tempDir>;
let engine: Engine;
let some: string[];
const ds = `"${FEATURES_DATASET}"`;

beforeAll(async () => {
  tmp = tempDir('readmany');
  const { database } = await seedSmall(tmp.dir);
  const instance = await DuckDBInstance.create(database);
  const c = await instance.connect();
  for (const sql of [
    `CREATE TABLE ${ds}."odd_cols" ("we ird, col" DECIMAL(18,3), "Upper" INTEGER, "q""uote" VARCHAR, s STRUCT(x INTEGER, y VARCHAR), d DATE)`,
    `INSERT INTO ${ds}."odd_cols" VALUES (1.5, 2, 'a', {'x': 1, 'y': 'b'}, DATE '2026-01-01')`,
    `CREATE VIEW ${ds}."odd_view" AS SELECT * FROM ${ds}."odd_cols"`,
    `CREATE VIEW ${ds}."empty_view" AS SELECT * FROM ${ds}."odd_cols" WHERE false`,
    // A column named like the probe's row alias shadows it: the view must still be answered right.
    `CREATE TABLE ${ds}."shadow" ("__bqx_probe_row" STRUCT(a INTEGER), b INTEGER)`,
    `CREATE VIEW ${ds}."shadow_view" AS SELECT * FROM ${ds}."shadow"`,
    `CREATE TABLE ${ds}."doomed" (a INTEGER)`,
    `CREATE VIEW ${ds}."broken_view" AS SELECT a FROM ${ds}."doomed"`,
    `DROP TABLE ${ds}."doomed"`,
  ])
    await c.run(sql);
  c.closeSync();
  instance.closeSync();
  engine = await open(database);
  some = (await engine.listTables()).filter((t) => t.kind === 'TABLE').slice(0, 250).map((t) => t.name);
});
afterAll(async () => {
  await engine?.close();
  tmp.cleanup();
});

const single = async <T>(f: () => Promise<T>): Promise<T | string> => f().catch((e: Error) => `error: ${e.message}`);
const asText = <T>(v: T | Error): T | string => (v instanceof Error ? `error: ${v.message}` : v);

test('row counts, fingerprints and probes in bulk equal the single reads, errors included', async () => {
  const views = ['odd_view', 'empty_view', 'shadow_view', 'broken_view', 'missing_name'];
  // More than one chunk (200), with a failing name in the second one.
  const tables = [...some, 'odd_cols', 'missing_name'];
  const bulk = await engine.readMany!({ rowCounts: tables, fingerprints: tables, probes: [...some.slice(0, 210), ...views] });
  for (const n of tables) {
    expect({ n, v: asText(bulk.rowCounts.get(n)!) }).toEqual({ n, v: await single(() => engine.rowCount(n)) });
    expect({ n, v: asText(bulk.fingerprints.get(n)!) }).toEqual({ n, v: await single(() => engine.contentFingerprint(n)) });
  }
  for (const n of [...some.slice(0, 210), ...views]) expect({ n, v: asText(bulk.probes.get(n)!) }).toEqual({ n, v: await single(() => engine.probe(n)) });
  // What the single probe answers for the odd names (so the equality above is not of two empty answers).
  expect(await engine.probe('odd_view')).toEqual({
    rows: 1,
    columns: [
      { name: 'we ird, col', type: 'NUMERIC' },
      { name: 'Upper', type: 'INT64' },
      { name: 'q"uote', type: 'STRING' },
      { name: 's', type: 'OTHER' },
      { name: 'd', type: 'DATE' },
    ],
  });
  expect(await engine.probe('empty_view')).toMatchObject({ rows: 0 });
  expect(bulk.probes.get('broken_view')).toBeInstanceOf(Error);
});

test('struct type text parses into fields, and refuses what it cannot read', () => {
  expect(structFields('STRUCT(a INTEGER, "we ird, col" DECIMAL(18,3), "q""uote" VARCHAR, s STRUCT(x INTEGER, y VARCHAR))')).toEqual([
    { name: 'a', type: 'INTEGER' },
    { name: 'we ird, col', type: 'DECIMAL(18,3)' },
    { name: 'q"uote', type: 'VARCHAR' },
    { name: 's', type: 'STRUCT(x INTEGER, y VARCHAR)' },
  ]);
  expect(structFields('INTEGER')).toBeNull();
  expect(structFields('STRUCT()')).toBeNull();
  expect(structFields('STRUCT("unterminated INTEGER)')).toBeNull();
});
