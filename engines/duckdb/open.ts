import { existsSync, realpathSync } from 'fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { BqxError } from '../../core/errors';

const LOCK_RE = /Could not set lock on file|Conflicting lock is held/i;

function busy(database: string, holder: string): BqxError {
  return new BqxError(
    'WAREHOUSE_BUSY',
    `the warehouse ${database} is in use by another process (${holder})`,
    'wait for the other bqx process to finish (DuckDB allows one process per file), then retry',
    'REFUSED',
  );
}

/**
 * Opens an existing warehouse file. DuckDB lets one process write a file at a time; its lock error
 * becomes WAREHOUSE_BUSY. A missing file is an error here: reading verbs never create an empty warehouse.
 */
export async function openDuckDbFile(database: string): Promise<DuckDBInstance> {
  if (!existsSync(database)) {
    throw new BqxError(
      'WAREHOUSE_MISSING',
      `the warehouse ${database} does not exist`,
      `run \`bqx warehouse seed --database ${database}\` to build the local warehouse, or pass --database with an existing file`,
      'BAD_INPUT',
    );
  }
  try {
    return await DuckDBInstance.create(database);
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    if (LOCK_RE.test(msg)) throw busy(database, /held in (.*?\(PID \d+\))/.exec(msg)?.[1] ?? msg.trim());
    throw new BqxError('WAREHOUSE_UNREADABLE', `cannot open the warehouse ${database}: ${msg}`, 'check that the file is a DuckDB database built by `bqx warehouse seed`', 'BAD_INPUT');
  }
}

/**
 * DuckDB's file lock only keeps other processes out: two instances in one process would both
 * write the file. Engines opened in the same process therefore share one instance (each with its
 * own connection), and it closes when the last of them does.
 */
const shared = new Map<string, { instance: Promise<DuckDBInstance>; refs: number; catalog: CatalogCache }>();

export interface CatalogEntry {
  readonly kind: 'TABLE' | 'VIEW';
  readonly viewSql?: string;
  /** Filled on first use; a step that changes the object replaces the entry. */
  columns?: { name: string; type: import('../../core/catalogue').ColumnType }[];
  options?: { partitionBy: string | null; clusterBy: string[] };
}

/**
 * Which names of a dataset are tables and which views. DuckDB's catalog functions (duckdb_tables(),
 * duckdb_views()) enumerate the whole catalog: ~60-130 ms per call at 5,817 tables, far too slow
 * per operation. This process is the file's only writer (DuckDB's file lock), so the engine loads
 * a dataset's names once and keeps them true through its own DDL; any failed step drops the cache.
 */
export class CatalogCache {
  private readonly byDataset = new Map<string, Map<string, CatalogEntry>>();
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
    if (dataset === undefined) this.byDataset.clear();
    else this.byDataset.delete(dataset);
  }
}

export interface SharedInstance {
  readonly instance: DuckDBInstance;
  readonly catalog: CatalogCache;
  release(): void;
}

export async function acquireDuckDbFile(database: string): Promise<SharedInstance> {
  if (!existsSync(database)) await openDuckDbFile(database); // throws WAREHOUSE_MISSING
  const key = realpathSync(database);
  let entry = shared.get(key);
  if (!entry) {
    entry = { instance: openDuckDbFile(database), refs: 0, catalog: new CatalogCache() };
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
