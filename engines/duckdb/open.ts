import { closeSync, existsSync, openSync, readSync, realpathSync } from 'fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { BqxError } from '../../core/errors';
import type { TableInfo } from '../../core/catalogue';
import { CatalogueVersions } from './versions';

const LOCK_RE = /Could not set lock on file|Conflicting lock is held/i;

function busy(database: string, holder: string): BqxError {
  return new BqxError(
    'WAREHOUSE_BUSY',
    `the warehouse ${database} is in use by another process (${holder})`,
    'wait for the other bqx process to finish (DuckDB allows one process per file), then retry',
    'REFUSED',
  );
}

/** Bytes 8–11 of every DuckDB database file. */
const MAGIC = Buffer.from('DUCK', 'ascii');

/** Why a file cannot be the warehouse, read from its header, or null when it looks like DuckDB's. */
function notADatabase(database: string): string | null {
  let fd: number | null = null;
  try {
    fd = openSync(database, 'r');
    const head = Buffer.alloc(12);
    const n = readSync(fd, head, 0, 12, 0);
    if (n === 0) return 'it is empty';
    if (n < 12 || !head.subarray(8, 12).equals(MAGIC)) return 'it is not a DuckDB database (no DuckDB header)';
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') return 'it is a directory';
    throw e;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function openError(database: string, e: unknown): BqxError {
  const code = (e as NodeJS.ErrnoException).code;
  const msg = ((e as Error)?.message ?? String(e)).trim();
  if (code === 'EACCES' || code === 'EPERM' || /Permission denied/i.test(msg)) {
    return new BqxError('WAREHOUSE_PERMISSION_DENIED', `cannot open the warehouse ${database}: permission denied`, `give this user read (and, for verbs that change it, write) access to ${database} and its directory`, 'UNAVAILABLE');
  }
  if (code === 'ENOSPC' || /No space left on device/i.test(msg)) {
    return new BqxError('DISK_FULL', `cannot open the warehouse ${database}: no space left on the device`, 'free space on the disk holding the warehouse and its .wal file, then re-run', 'UNAVAILABLE');
  }
  return new BqxError('WAREHOUSE_UNREADABLE', `cannot open the warehouse ${database}: ${msg}`, 'check that the file is a DuckDB database built by `bqx warehouse seed`', 'BAD_INPUT');
}

/**
 * The warehouse's tables are small (tens of rows) and the tool sends one statement at a time, so a
 * second DuckDB thread only adds hand-offs: with one, a full Phase 4C apply takes ~18% less CPU
 * and its close-time checkpoint ~33% less (`node dist/bench/floor.js` prints both settings' replay).
 */
export const ENGINE_THREADS = '1';

/**
 * Opens an existing warehouse file. DuckDB lets one process write a file at a time; its lock error
 * becomes WAREHOUSE_BUSY. A missing file is an error here: reading verbs never create an empty
 * warehouse; a file that is not a DuckDB database (a JSON or CSV passed by mistake, which DuckDB
 * would otherwise open as an empty database) is refused by its header.
 */
export async function openDuckDbFile(database: string, readOnly = false): Promise<DuckDBInstance> {
  if (!existsSync(database)) {
    throw new BqxError(
      'WAREHOUSE_MISSING',
      `the warehouse ${database} does not exist`,
      `run \`bqx warehouse seed --database ${database}\` to build the local warehouse, or pass --database with an existing file`,
      'BAD_INPUT',
    );
  }
  let why: string | null;
  try {
    why = notADatabase(database);
  } catch (e) {
    throw openError(database, e);
  }
  if (why) throw new BqxError('WAREHOUSE_NOT_DUCKDB', `--database ${database} cannot be the warehouse: ${why}`, 'pass the DuckDB file built by `bqx warehouse seed` (default .bqx/warehouse.duckdb)', 'BAD_INPUT');
  try {
    return await DuckDBInstance.create(database, { threads: ENGINE_THREADS, ...(readOnly ? { access_mode: 'READ_ONLY' } : {}) });
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    if (LOCK_RE.test(msg)) throw busy(database, /held in (.*?\(PID \d+\))/.exec(msg)?.[1] ?? msg.trim());
    throw openError(database, e);
  }
}

/**
 * DuckDB's file lock only keeps other processes out: two instances in one process would both
 * write the file. Engines opened in the same process therefore share one instance (each with its
 * own connection), and it closes when the last of them does.
 */
const shared = new Map<string, { instance: Promise<DuckDBInstance>; refs: number; catalog: CatalogCache; versions: CatalogueVersions; readOnly: boolean; changed: boolean }>();

export interface CatalogEntry {
  readonly kind: 'TABLE' | 'VIEW';
  readonly viewSql?: string;
  /** Filled on first use; a step that changes the object replaces the entry. */
  columns?: { name: string; type: import('../../core/catalogue').ColumnType }[];
  options?: { partitionBy: string | null; clusterBy: string[] };
  /**
   * Rows, from DuckDB's own table statistics (`duckdb_tables().estimated_size`, exact for tables
   * that are only ever created, renamed and dropped, as here) or counted after this engine's CTAS,
   * clone or restore. Validation counts rows itself (`rowCount`, `probe`); this serves metadata.
   */
  rowCount?: number;
  /**
   * The content fingerprint read while this entry held. Only this engine writes the file, and every
   * step that changes a table's content replaces its entry (a rename moves it: same rows, same
   * columns), so the gate's read of a table answers the validation's read of it after the batch.
   */
  fingerprint?: import('../../core/ports/engine').ContentFingerprint;
}

const listingKey = (dataset: string): string => `listing:${dataset}`;

/**
 * Which names of a dataset are tables and which views. DuckDB's catalog functions (duckdb_tables(),
 * duckdb_views()) enumerate the whole catalog: ~60-130 ms per call at 5,817 tables, far too slow
 * per operation. This process is the file's only writer (DuckDB's file lock), so the engine loads
 * a dataset's names once and keeps them true through its own DDL; any failed step drops the cache.
 */
export class CatalogCache {
  private readonly byDataset = new Map<string, Map<string, CatalogEntry>>();
  /** Reads kept with the stamp of what they depend on (CatalogueVersions), taken before each was read: whole listings, the ledger's rows by plan. */
  private readonly reads = new Map<string, { readonly stamp: string; readonly value: unknown }>();
  /** The dataset's listing read when the counters stood at `stamp`, or undefined. */
  listing(dataset: string, stamp: string): readonly TableInfo[] | undefined {
    return this.read(listingKey(dataset), stamp) as readonly TableInfo[] | undefined;
  }
  setListing(dataset: string, stamp: string, tables: readonly TableInfo[]): void {
    this.setRead(listingKey(dataset), stamp, tables);
  }
  /** The value read under `key` when the counters stood at `stamp`, or undefined. */
  read(key: string, stamp: string): unknown {
    const r = this.reads.get(key);
    return r && r.stamp === stamp ? r.value : undefined;
  }
  setRead(key: string, stamp: string, value: unknown): void {
    this.reads.set(key, { stamp, value });
  }
  get(dataset: string): Map<string, CatalogEntry> | undefined {
    return this.byDataset.get(dataset);
  }
  set(dataset: string, entries: Map<string, CatalogEntry>): void {
    this.byDataset.set(dataset, entries);
  }
  move(dataset: string, from: string, to: string): void {
    const m = this.byDataset.get(dataset);
    const e = m?.get(from);
    if (!m) return;
    m.delete(from);
    m.set(to, e ?? { kind: 'TABLE' });
  }
  put(dataset: string, name: string, entry: CatalogEntry | null): void {
    const m = this.byDataset.get(dataset);
    if (!m) return;
    if (entry) m.set(name, entry);
    else m.delete(name);
  }
  invalidate(dataset?: string): void {
    if (dataset === undefined) {
      this.byDataset.clear();
      this.reads.clear();
    } else {
      this.byDataset.delete(dataset);
      this.reads.delete(listingKey(dataset));
    }
  }
}

export interface SharedInstance {
  readonly instance: DuckDBInstance;
  readonly catalog: CatalogCache;
  /** What this process wrote to the file (cached reads are checked against it). */
  readonly versions: CatalogueVersions;
  /** The instance's own access mode. */
  readonly readOnly: boolean;
  /** Whether this holder is the last one: its release closes the instance. */
  lastHolder(): boolean;
  /** A connection of this process committed a change to the catalogue (the close then checkpoints). */
  noteCatalogueChange(): void;
  catalogueChanged(): boolean;
  release(): void;
}

/** A read-only request shares a read-write instance already open in this process; not the other way round. */
export async function acquireDuckDbFile(database: string, readOnly = false): Promise<SharedInstance> {
  if (!existsSync(database)) await openDuckDbFile(database); // throws WAREHOUSE_MISSING
  const key = realpathSync(database);
  let entry = shared.get(key);
  if (entry && entry.readOnly && !readOnly) {
    throw new BqxError('WAREHOUSE_BUSY', `the warehouse ${database} is open read-only in this process`, 'close the read-only engine before opening it to change it', 'REFUSED');
  }
  if (!entry) {
    entry = { instance: openDuckDbFile(database, readOnly), refs: 0, catalog: new CatalogCache(), versions: new CatalogueVersions(), readOnly, changed: false };
    shared.set(key, entry);
    entry.instance.catch(() => shared.delete(key));
  }
  entry.refs++;
  const held = entry;
  let instance: DuckDBInstance;
  try {
    instance = await held.instance;
  } catch (e) {
    held.refs--;
    throw e;
  }
  let released = false;
  return {
    instance,
    catalog: held.catalog,
    versions: held.versions,
    readOnly: held.readOnly,
    lastHolder: () => !released && held.refs === 1,
    noteCatalogueChange: () => {
      held.changed = true;
    },
    catalogueChanged: () => held.changed,
    release: () => {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs === 0) {
        shared.delete(key);
        instance.closeSync();
      }
    },
  };
}

/** True when an engine of this process has the file open (a seed must not replace it). */
export function openInThisProcess(database: string): boolean {
  return existsSync(database) && shared.has(realpathSync(database));
}

export function busyInThisProcess(database: string): BqxError {
  return new BqxError(
    'WAREHOUSE_BUSY',
    `the warehouse ${database} is in use by this process (an engine still has it open)`,
    'close the engine before replacing the warehouse',
    'REFUSED',
  );
}
