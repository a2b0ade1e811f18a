import { AsyncLocalStorage } from 'async_hooks';
import { existsSync, statSync } from 'fs';
import { JSDuckDBValueConverter, type DuckDBConnection, type DuckDBMaterializedResult, type DuckDBValue } from '@duckdb/node-api';
import { BqxError } from '../../core/errors';
import { acquireDuckDbFile, type CatalogCache, type SharedInstance } from './open';
import { writtenBy, type CatalogueVersions, type Dependency, type Written } from './versions';

export type Row = Record<string, unknown>;

export const CHECKPOINT_THRESHOLD = '512MB';

/**
 * When the last engine closes a file it opened for writing, it checkpoints (writes the WAL into the
 * file) only if this process committed a change to the catalogue (a step's CREATE, ALTER or DROP:
 * replaying those at every later open costs, e.g. 3.5 s of CPU and 160 MB after a full apply) or
 * the WAL has reached this size. A run that only appended ledger rows (a paper run: ~1 MB of WAL
 * at 5,817 tables) leaves its WAL for the next open, whose replay of appended rows is not
 * measurable, and skips the checkpoint, which rewrites the metadata of every table (0.4 s at
 * 5,817 tables, 10 s at ten times that). Every commit is in the WAL before it returns, so nothing
 * committed is lost either way. Appends of successive runs accumulate until a close finds the WAL
 * this large or a run changes the catalogue.
 */
export const CHECKPOINT_AT_CLOSE_BYTES = 64 * 2 ** 20;

/** A statement that changes the catalogue (not a `CREATE … IF NOT EXISTS`, which the ledger issues on every run). */
const CATALOGUE_CHANGE = /^\s*(CREATE|ALTER|DROP|COMMENT|TRUNCATE|UPDATE|DELETE)\b/i;
const IF_NOT_EXISTS = /^\s*CREATE\s+(SCHEMA|TABLE)\s+IF\s+NOT\s+EXISTS\b/i;

/** Bytes of the file's write-ahead log (0 when it has none). */
export function walBytes(database: string): number {
  const wal = `${database}.wal`;
  return existsSync(wal) ? statSync(wal).size : 0;
}

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
      // The WAL is as durable as the file; `close` decides whether the last engine checkpoints it.
      if (!file.readOnly) {
        await conn.run(`SET checkpoint_threshold = '${CHECKPOINT_THRESHOLD}'`);
        await conn.run('PRAGMA disable_checkpoint_on_shutdown');
      }
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

  /** A catalogue change inside the open transaction: it counts once the transaction commits. */
  private uncommittedChange = false;
  private inExplicitTransaction = false;
  /** What the open transaction wrote: it counts for cached reads once the transaction commits (a rollback undoes it). */
  private uncommittedWrites: Written[] = [];

  /**
   * The stamp of what a read depending on `deps` would see (CatalogueVersions), taken before the
   * read; null when this connection has a transaction open that wrote something: a read inside it
   * could see writes a rollback undoes, so it is neither served from nor kept in a cache.
   */
  readStamp(deps: readonly Dependency[]): string | null {
    if (this.inTransaction || (this.inExplicitTransaction && this.uncommittedWrites.length > 0)) return null;
    return this.file.versions.stamp(deps);
  }

  /** See `CatalogueVersions.ensured`: the runner dataset a committed ledger init created or found. */
  get versions(): CatalogueVersions {
    return this.file.versions;
  }

  /** Notes a write for cached reads: now, or at the open transaction's commit. */
  private noteWrite(written: Written): void {
    if (written === null) return;
    if (this.inExplicitTransaction) this.uncommittedWrites.push(written);
    else this.file.versions.bump(written);
  }

  /**
   * Notes what a statement did: to the catalogue (for the checkpoint at close) and what it wrote
   * (for cached reads). A statement that failed may still have written (a failed COMMIT): its
   * writes are noted as if it had succeeded, except a failed BEGIN, which opened nothing.
   */
  private noteStatement(sql: string, succeeded = true): void {
    this.file.versions.noteStatementText(sql);
    const head = sql.trimStart().slice(0, 16).toUpperCase();
    if (head.startsWith('BEGIN')) {
      if (!succeeded) return;
      this.inExplicitTransaction = true;
      this.uncommittedChange = false;
      this.uncommittedWrites = [];
    } else if (head.startsWith('COMMIT') || head.startsWith('END')) {
      if (this.uncommittedChange && succeeded) this.file.noteCatalogueChange();
      for (const w of this.uncommittedWrites) this.file.versions.bump(w);
      this.inExplicitTransaction = false;
      this.uncommittedChange = false;
      this.uncommittedWrites = [];
    } else if (head.startsWith('ROLLBACK') || head.startsWith('ABORT')) {
      if (!succeeded) for (const w of this.uncommittedWrites) this.file.versions.bump(w);
      this.inExplicitTransaction = false;
      this.uncommittedChange = false;
      this.uncommittedWrites = [];
    } else {
      if (succeeded && CATALOGUE_CHANGE.test(sql) && !IF_NOT_EXISTS.test(sql)) {
        if (this.inExplicitTransaction) this.uncommittedChange = true;
        else this.file.noteCatalogueChange();
      }
      this.noteWrite(writtenBy(sql));
    }
  }

  private readonly queries: Queries = {
    all: async (sql, params) => {
      try {
        const rows = rowsOf(await this.conn.run(sql, params));
        this.noteStatement(sql);
        return rows;
      } catch (e) {
        this.noteStatement(sql, false);
        throw queryError(this.database, sql, e);
      }
    },
    exec: async (sql, params) => {
      try {
        await this.conn.run(sql, params);
        this.noteStatement(sql);
      } catch (e) {
        this.noteStatement(sql, false);
        throw queryError(this.database, sql, e);
      }
    },
    script: async (sqls, answer = true) => {
      if (sqls.length === 1) {
        if (answer) return this.queries.all(sqls[0]);
        await this.queries.exec(sqls[0]);
        return [];
      }
      // Each statement ends on a line of its own, so a trailing line comment cannot swallow the separator.
      const sql = sqls.join('\n;\n');
      try {
        const result = await this.conn.run(sql);
        const rows = answer ? rowsOf(result) : [];
        for (const s of sqls) this.noteStatement(s);
        return rows;
      } catch (e) {
        for (const s of sqls) this.noteStatement(s, false);
        throw scriptError(this.database, sqls, e);
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
          try {
            appender.closeSync();
          } finally {
            // Noted once its rows are in (or failed half-way: some may be), as a statement is after it ran.
            this.noteWrite({ schema, table: tableName, ensure: false });
          }
        }
      } catch (e) {
        throw queryError(this.database, what, e);
      }
    },
  };

  private closed = false;

  /**
   * Idempotent; waits for queued work; the file closes when the process's last engine on it closes,
   * and that one checkpoints when the catalogue changed or the WAL is large (DuckDB's own checkpoint
   * at shutdown is off: see CHECKPOINT_AT_CLOSE_BYTES).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    try {
      if (!this.file.readOnly && this.file.lastHolder() && (this.file.catalogueChanged() || walBytes(this.database) >= CHECKPOINT_AT_CLOSE_BYTES)) {
        // A failed checkpoint loses nothing (the WAL keeps every commit; the next close retries).
        await this.conn.run('CHECKPOINT').catch(() => undefined);
      }
    } finally {
      this.conn.closeSync();
      this.file.release();
    }
  }
}

export interface Queries {
  all(sql: string, params?: DuckDBValue[]): Promise<Row[]>;
  exec(sql: string, params?: DuckDBValue[]): Promise<void>;
  /**
   * Several statements in one call (no parameters), in order; the rows are the last statement's.
   * One call instead of one per statement saves DuckDB's per-call round trip (~0.2 ms). A failure
   * names the statements, since DuckDB does not say which of them failed: callers run a script
   * inside a transaction, which the failure rolls back whole. With `answer` false the rows are not
   * read (an empty list is returned).
   */
  script(sqls: readonly string[], answer?: boolean): Promise<Row[]>;
  /**
   * Appends rows through DuckDB's appender, inside the connection's open transaction (a rollback
   * removes them): several times cheaper than an INSERT whose values are parsed or bound.
   */
  append(schema: string, table: string, types: readonly ('VARCHAR' | 'BIGINT')[], rows: readonly (readonly (string | number | null)[])[]): Promise<void>;
}

/**
 * The rows of a materialized answer (what `run` returns), read from its chunks in this thread: the
 * reader of `runAndReadAll` fetches each chunk, and the empty one after the last, by a round trip
 * to DuckDB's thread (~0.1 ms each on this warehouse's small answers). Same values, same names.
 */
function rowsOf(result: DuckDBMaterializedResult): Row[] {
  const names = result.deduplicatedColumnNames();
  const rows: Row[] = [];
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    for (let r = 0; r < chunk.rowCount; r++) {
      const row: Row = {};
      chunk.visitRowValues(r, (value, _row, column, type) => {
        row[names[column]] = JSDuckDBValueConverter(value, type, JSDuckDBValueConverter) as Row[string];
      });
      rows.push(row);
    }
  }
  return rows;
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

function scriptError(database: string, sqls: readonly string[], e: unknown): Error {
  if (e instanceof BqxError) return e;
  const msg = ((e as Error)?.message ?? String(e)).trim();
  const listed = sqls.map((s, i) => `\n  statement ${i + 1} of ${sqls.length}: ${s.length > 300 ? `${s.slice(0, 300)}…` : s}`).join('');
  return new DuckDbQueryError(`DuckDB (${database}): ${msg}${listed}`, sqls.join(';\n'), msg);
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
