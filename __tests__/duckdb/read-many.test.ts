import { DuckDBInstance } from '@duckdb/node-api';
import { copyFileSync } from 'fs';
import * as path from 'path';
import type { Engine } from '../../core/ports/engine';
import { structFields } from '../../engines/duckdb/types';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { open, seedSmall, tempDir } from './support';

// Bulk validation reads (one UNION ALL per chunk) must answer exactly what the single reads answer,
// errors included, whatever the names and columns look like.

let tmp: ReturnType<typeof tempDir>;
let engine: Engine;
/** The same file, copied: its own process-wide catalogue, so its single reads never answer from what `engine` remembered. */
let twin: Engine;
/** A single read on the twin, its errors worded as on the original file. */
let onTwin: <T>(f: (e: Engine) => Promise<T>) => Promise<T | string>;
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
  const copy = path.join(tmp.dir, 'twin.duckdb');
  copyFileSync(database, copy);
  engine = await open(database);
  twin = await open(copy);
  onTwin = async (f) => {
    const v = await single(() => f(twin));
    return typeof v === 'string' ? v.split(copy).join(database) : v;
  };
  some = (await engine.listTables()).filter((t) => t.kind === 'TABLE').slice(0, 250).map((t) => t.name);
});
afterAll(async () => {
  await engine?.close();
  await twin?.close();
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
    expect({ n, v: asText(bulk.rowCounts.get(n)!) }).toEqual({ n, v: await onTwin((e) => e.rowCount(n)) });
    expect({ n, v: asText(bulk.fingerprints.get(n)!) }).toEqual({ n, v: await onTwin((e) => e.contentFingerprint(n)) });
  }
  for (const n of [...some.slice(0, 210), ...views]) expect({ n, v: asText(bulk.probes.get(n)!) }).toEqual({ n, v: await onTwin((e) => e.probe(n)) });
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

test('a fingerprint read once answers again only while the table is unchanged: a rename keeps it, a table restored over the name replaces it, a rolled-back operation forgets it', async () => {
  const local = tempDir('fpmemo');
  const { database } = await seedSmall(local.dir);
  let e = await open(database);
  try {
    const fpOf = new Map<string, string>();
    const tables = (await e.listTables()).filter((t) => t.kind === 'TABLE' && !t.name.startsWith('memo'));
    // Three tables with different content.
    const [t1, t2, t3] = await (async () => {
      const picked: string[] = [];
      for (const t of tables) {
        const fp = (await e.contentFingerprint(t.name)).hash;
        if ([...fpOf.values()].includes(fp)) continue;
        fpOf.set(t.name, fp);
        picked.push(t.name);
        if (picked.length === 3) return picked;
      }
      throw new Error('fewer than three distinct tables');
    })();
    const fp = async (n: string) => (await e.contentFingerprint(n)).hash;
    const bulk = async (n: string) => (e.readMany!({ rowCounts: [], fingerprints: [n], probes: [] }).then((r) => r.fingerprints.get(n) as { hash: string })).then((x) => x.hash);
    let job = 0;
    const run = (step: Parameters<Engine['run']>[0]) => e.run(step, { jobId: `memo_${++job}` });

    await run({ kind: 'RENAME_TABLE', from: t1, to: 'memo_name' });
    expect(await fp('memo_name')).toBe(fpOf.get(t1));

    await run({ kind: 'BACKUP_TABLE', name: t2, backupName: 'bk_memo_t2' });
    await run({ kind: 'DROP_TABLE', name: 'memo_name' });
    await run({ kind: 'RESTORE_TABLE', name: 'memo_name', backupName: 'bk_memo_t2' });
    expect(await fp('memo_name')).toBe(fpOf.get(t2));
    expect(await bulk('memo_name')).toBe(fpOf.get(t2));

    // Inside an operation that rolls back, the name holds t3's rows for a while.
    await expect(
      e.atomically!(async () => {
        await run({ kind: 'DROP_TABLE', name: 'memo_name' });
        await run({ kind: 'RENAME_TABLE', from: t3, to: 'memo_name' });
        expect(await fp('memo_name')).toBe(fpOf.get(t3));
        throw new Error('abandon the operation');
      }),
    ).rejects.toThrow('abandon the operation');
    expect(await fp('memo_name')).toBe(fpOf.get(t2));
    expect(await bulk('memo_name')).toBe(fpOf.get(t2));
    expect(await fp(t3)).toBe(fpOf.get(t3));

    // What a fresh process reads from the file agrees.
    await e.close();
    e = await open(database);
    expect(await fp('memo_name')).toBe(fpOf.get(t2));
    expect(await fp(t3)).toBe(fpOf.get(t3));
  } finally {
    await e.close();
    local.cleanup();
  }
});
