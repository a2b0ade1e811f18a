/**
 * withEngine's `meanwhile`: work that needs no engine runs while the warehouse opens; its result
 * reaches the caller's function, and when it throws the engine opened meanwhile is closed again.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { withEngine } from '../../app/engine';
import { openInThisProcess } from '../../engines/duckdb/open';
import { localEngineOptions } from '../../scripts/options';

let dir: string;
let database: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-with-engine-'));
  database = path.join(dir, 'w.duckdb');
  (await DuckDBInstance.create(database)).closeSync();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("meanwhile's result reaches the function, which runs on the open engine; the file is closed after", async () => {
  let ranBeforeOpen = false;
  const seen = await withEngine(
    localEngineOptions(database),
    async (engine, prepared) => {
      expect(openInThisProcess(database)).toBe(true);
      return { prepared, kind: engine.kind };
    },
    () => {
      ranBeforeOpen = true;
      return 'the policy';
    },
  );
  expect(ranBeforeOpen).toBe(true);
  expect(seen).toEqual({ prepared: 'the policy', kind: 'duckdb' });
  expect(openInThisProcess(database)).toBe(false);
});

test("meanwhile's error is the caller's, and the engine opened alongside is closed", async () => {
  let called = false;
  await expect(
    withEngine(
      localEngineOptions(database),
      async () => {
        called = true;
      },
      () => {
        throw new Error('policy unreadable');
      },
    ),
  ).rejects.toThrow('policy unreadable');
  expect(called).toBe(false);
  expect(openInThisProcess(database)).toBe(false);
});
