/**
 * The embedded engine's catalogue cache: the first look at a dataset reads its whole listing, so a
 * verb that looks up every table before (or without) listing them (verify, rollback in a fresh
 * process) makes no query per name. Before, each lookup of a fresh process cost a column read, an
 * options read and a count: 9,256 queries for a verify of Phase 4C.
 */
import { DuckDBConnection } from '@duckdb/node-api';
import { copyFileSync } from 'fs';
import * as path from 'path';
import type { Engine } from '../../core/ports/engine';
import { open, seedSmall, tempDir } from './support';

let tmp: ReturnType<typeof tempDir>;
let database: string;
let names: string[];
let expected: Awaited<ReturnType<Engine['listTables']>>;

beforeAll(async () => {
  tmp = tempDir('catcache');
  database = (await seedSmall(tmp.dir)).database;
  // The names and what a listing says of them, read through a copy (its own process-wide cache).
  const copy = path.join(tmp.dir, 'copy.duckdb');
  copyFileSync(database, copy);
  const lister = await open(copy);
  expected = await lister.listTables();
  await lister.close();
  names = expected.map((t) => t.name);
});
afterAll(() => tmp.cleanup());

test('a fresh engine describes every table and view of the dataset from one listing: no query per name', async () => {
  const e = await open(database);
  const run = jest.spyOn(DuckDBConnection.prototype, 'run');
  try {
    const described = [];
    for (const n of names) described.push(await e.getTable(n));
    expect(names.length).toBeGreaterThan(400);
    // The schema check, the listing (tables with options) and the columns; no statement per name.
    expect(run.mock.calls.length).toBeLessThanOrEqual(4);
    expect(described).toEqual(expected);
    expect(await e.getTable('no_such_table')).toBeNull();
    expect(run.mock.calls.length).toBeLessThanOrEqual(4);
  } finally {
    run.mockRestore();
    await e.close();
  }
});
