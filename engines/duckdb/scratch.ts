import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * Runs `fn` on a throw-away copy of the warehouse file (and its WAL), removed afterwards. A
 * read-only engine rehearses statements here: DuckDB refuses DDL on a file opened read-only even
 * inside a transaction that is rolled back, and a read verb (readiness) must not open the
 * warehouse for writing. The copy keeps the file's name, so its default catalogue is the same.
 */
export async function onScratchCopy<T>(database: string, fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bqx-rehearsal-'));
  try {
    const copy = path.join(dir, path.basename(database));
    copyFileSync(database, copy);
    if (existsSync(`${database}.wal`)) copyFileSync(`${database}.wal`, `${copy}.wal`);
    const instance = await DuckDBInstance.create(copy);
    try {
      const conn = await instance.connect();
      try {
        return await fn(conn);
      } finally {
        conn.closeSync();
      }
    } finally {
      instance.closeSync();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
