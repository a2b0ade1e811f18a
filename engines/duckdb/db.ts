import { AsyncLocalStorage } from 'async_hooks';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { BqxError } from '../../core/errors';
import { acquireDuckDbFile, type CatalogCache, type SharedInstance } from './open';

export type Row = Record<string, unknown>;

const CHECKPOINT_THRESHOLD = '512MB';

/**
 * One connection, used by one operation at a time: DuckDB transactions are per connection, so
 * interleaved async callers (a lock renewal during a step) must not share an open transaction.
 */
export class Db {
  private queue: Promise<unknown> = Promise.resolve();
  /** The open transaction of `atomically`, for every call made from inside it. */
  private readonly inside = new AsyncLocalStorage<Queries>();

  constructor(
    readonly database: string,
    private readonly file: SharedInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  get catalog(): CatalogCache {
    return this.file.catalog;
  }

  /** Whether the file is open read-only (a read-only request may share a read-write instance: then false). */
  get readOnly(): boolean {
    return this.file.readOnly;
  }

  static async open(database: string, readOnly = false): Promise<Db> {
    const file = await acquireDuckDbFile(database, readOnly);
    try {
      const conn = await file.instance.connect();
      // DuckDB checkpoints whenever the WAL passes 16 MB, and a checkpoint rewrites the catalogue of
      // every table (thousands here): a run of thousands of small transactions paid for several.
      // The WAL is as durable as the file; it is checkpointed when the last engine closes.
      if (!readOnly) await conn.run(`SET checkpoint_threshold = '${CHECKPOINT_THRESHOLD}'`);
      return new Db(database, file, conn);
    } catch (e) {
      file.release();
      throw e;
    }
  }

  /** Runs `fn` with exclusive use of the connection (inside `atomically`: in its transaction). */
  exclusive<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    const open = this.inside.getStore();
    if (open) return fn(open);
    const next = this.queue.then(() => fn(this.queries));
    this.queue = next.catch(() => undefined);
    return next;
  }

  all(sql: string, params?: DuckDBValue[]): Promise<Row[]> {
    return this.exclusive((q) => q.all(sql, params));
  }

  /** Runs statements in one transaction; rolls back on the first failure. Inside `atomically`, part of its transaction. */
  transaction<T>(fn: (q: Queries) => Promise<T>): Promise<T> {
    const open = this.inside.getStore();
    if (open) return fn(open);
    return this.exclusive(async (q) => {
      await q.exec('BEGIN TRANSACTION');
      try {
        const out = await fn(q);
        await q.exec('COMMIT');
        return out;
      } catch (e) {
        await q.exec('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /**
   * One transaction around everything `fn` does on this connection (its reads, its steps' own
   * transactions), then `beforeCommit`; a throw anywhere rolls all of it back.
   */
  atomically<T>(fn: () => Promise<T>, beforeCommit: (q: Queries) => Promise<void>): Promise<T> {
    return this.exclusive(async (q) => {
      await q.exec('BEGIN TRANSACTION');
      try {
        const out = await this.inside.run(q, fn);
        await beforeCommit(q);
        await q.exec('COMMIT');
        return out;
      } catch (e) {
        await q.exec('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /** Inside `atomically`. */
  get inTransaction(): boolean {
    return this.inside.getStore() !== undefined;
  }

  private readonly queries: Queries = {
    all: async (sql, params) => {
      try {
        const reader = await this.conn.runAndReadAll(sql, params);
        return reader.getRowObjectsJS() as Row[];
      } catch (e) {
        throw queryError(this.database, sql, e);
      }
    },
    exec: async (sql, params) => {
      try {
        await this.conn.run(sql, params);
      } catch (e) {
        throw queryError(this.database, sql, e);
      }
    },
    append: async (schema, tableName, types, rows) => {
      const what = `append to ${schema}.${tableName}`;
      try {
        const appender = await this.conn.createAppender(tableName, schema);
        try {
          for (const row of rows) {
            row.forEach((v, i) => {
              if (v === null) appender.appendNull();
              else if (types[i] === 'BIGINT') appender.appendBigInt(BigInt(v));
              else appender.appendVarchar(String(v));
            });
            appender.endRow();
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
      } catch (e) {
        throw queryError(this.database, what, e);
      }
    },
  };

  private closed = false;

  /** Idempotent; waits for queued work; the file closes when the process's last engine on it closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.conn.closeSync();
    this.file.release();
  }
}

export interface Queries {
  all(sql: string, params?: DuckDBValue[]): Promise<Row[]>;
  exec(sql: string, params?: DuckDBValue[]): Promise<void>;
  /**
   * Appends rows through DuckDB's appender, inside the connection's open transaction (a rollback
   * removes them): several times cheaper than an INSERT whose values are parsed or bound.
   */
  append(schema: string, table: string, types: readonly ('VARCHAR' | 'BIGINT')[], rows: readonly (readonly (string | number | null)[])[]): Promise<void>;
}

/** What a DuckDB failure means for the person running the command. */
function classify(duckdbMessage: string): { code: string; hint: string; kind: 'FAILURE' | 'UNAVAILABLE' } {
  if (/No space left on device|ENOSPC/i.test(duckdbMessage)) {
    return { code: 'DISK_FULL', hint: 'the disk holding the warehouse (and its .wal file) is full: free space, then re-run the same command; the failed statement changed nothing', kind: 'UNAVAILABLE' };
  }
  if (/Permission denied|EACCES|read-only|Cannot open database .* in read-only mode/i.test(duckdbMessage)) {
    return { code: 'WAREHOUSE_PERMISSION_DENIED', hint: 'this user may not write the warehouse file or its directory: fix the permissions, then re-run', kind: 'UNAVAILABLE' };
  }
  return { code: 'DUCKDB_ERROR', hint: 'see the statement and DuckDB message above; the warehouse was not changed by the failed statement', kind: 'FAILURE' };
}

export class DuckDbQueryError extends BqxError {
  constructor(
    message: string,
    readonly sql: string,
    readonly duckdbMessage: string,
  ) {
    const c = classify(duckdbMessage);
    super(c.code, message, c.hint, c.kind);
  }
}

function queryError(database: string, sql: string, e: unknown): Error {
  if (e instanceof BqxError) return e;
  const msg = ((e as Error)?.message ?? String(e)).trim();
  const short = sql.length > 300 ? `${sql.slice(0, 300)}…` : sql;
  return new DuckDbQueryError(`DuckDB (${database}): ${msg}\n  statement: ${short}`, sql, msg);
}

export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * Whether a statement binds: false when DuckDB reports a missing catalog entry (a table or schema
 * that does not exist), any other failure thrown. A statement like `SELECT 1 FROM t LIMIT 0` asks
 * whether `t` exists by a catalog lookup instead of listing the whole catalog.
 */
export async function bindsOrMissing(db: Db, sql: string): Promise<boolean> {
  try {
    await db.all(sql);
    return true;
  } catch (e) {
    if (e instanceof DuckDbQueryError && /Catalog Error/i.test(e.duckdbMessage)) return false;
    throw e;
  }
}
