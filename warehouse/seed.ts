/**
 * Builds the local warehouse: a DuckDB file holding the catalogue (warehouse/catalogue.ts) as
 * schemas and tables with deterministic synthetic rows (warehouse/content.ts), plus the
 * BigQuery-like partition/cluster/dataset metadata DuckDB has no place for (`_bqx_catalog`).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'fs';
import * as path from 'path';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampValue,
  TIMESTAMP,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { Column, ColumnType } from '../core/catalogue';
import { BqxError } from '../core/errors';
import { failpoint } from '../core/failpoints';
import { assertColumnName } from '../core/identifiers';
import { CATALOG_DDL, CATALOG_SCHEMA, DATASET_OPTIONS, TABLE_OPTIONS, ident, listLiteral, literal, table } from '../engines/duckdb/sql';
import { realSizesSql } from './real-sizes';
import { duckDbType } from '../engines/duckdb/types';
import { busyInThisProcess, openDuckDbFile, openInThisProcess } from '../engines/duckdb/open';
import { buildCatalogue, FEATURES_DATASET, OTHER_DATASETS, type Scale } from './catalogue';
import { generateColumns, type CellValue } from './content';
import { otherDatasetTables, SCRATCH_EXPIRATION_MS, type SeedTable } from './other-datasets';

export interface SeedOptions {
  readonly database: string;
  readonly scale: Scale;
  readonly force?: boolean;
  /** Rows per table (catalogue default: 24). */
  readonly rows?: number;
  /** Aborted (a signal): the seed stops after the current transaction and removes its temporary files. */
  readonly signal?: AbortSignal;
}

export interface SeedStats {
  readonly database: string;
  readonly scale: Scale;
  /** Tables of the features dataset. */
  readonly featureTables: number;
  /** Tables in every dataset. */
  readonly tables: number;
  readonly datasets: number;
  readonly rows: number;
  readonly seconds: number;
  readonly bytes: number;
}

/** 16 KiB blocks: thousands of tiny tables take ~1/10 of the space the 256 KiB default needs. */
const BLOCK_SIZE = 16384;
/** Storage format v1.2+ packs small column segments far better than the v1.0 default ATTACH writes. */
const STORAGE_VERSION = 'v1.4.0';
const LOCATION = 'us-central1';
const DDL_BATCH = 200;
/**
 * Tables created and filled per transaction. The full catalogue (5,876 tables in all datasets) is
 * one transaction, as it always was; the scaled ones commit every this many tables, each part's
 * tables created in the transaction that fills them (appending to a table created in an earlier,
 * committed transaction costs several times more). For the 58,229 tables of `10x`: 460 s of CPU
 * and a 6.1 GB peak as one transaction, 340 s and 5.7 GB this way (236 s wall on a quiet machine);
 * still super-linear, in DuckDB's commits. Nothing is lost to atomicity: the seed writes a
 * temporary file and renames it only when complete.
 */
const TABLES_PER_TRANSACTION = 6000;
/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

function allTables(scale: Scale, rows: number | undefined): SeedTable[] {
  const features: SeedTable[] = buildCatalogue({ scale, rows }).map((t) => ({
    dataset: FEATURES_DATASET,
    name: t.name,
    columns: t.columns,
    partitionBy: t.partitionBy,
    clusterBy: t.clusterBy,
    content: t.content,
  }));
  return [...features, ...otherDatasetTables(scale, rows ?? 24)];
}

function createTableSql(t: SeedTable): string {
  const cols = t.columns.map((c) => `${ident(assertColumnName(c.name, `seed ${t.name}`))} ${duckDbType(c.type)}`).join(', ');
  return `CREATE TABLE ${table(t.dataset, t.name, 'seed table')} (${cols});`;
}

const CHUNK_TYPES: Record<ColumnType, DuckDBType> = {
  TIMESTAMP,
  DATE: VARCHAR,
  STRING: VARCHAR,
  FLOAT64: DOUBLE,
  INT64: BIGINT,
  BOOL: BOOLEAN,
  NUMERIC: DOUBLE,
  BYTES: VARCHAR,
  JSON: VARCHAR,
  OTHER: VARCHAR,
};

// Bound once, like content.ts does with Math: global lookups are slow in jest's sandbox.
const toBigInt = BigInt;

function toDuckValue(type: ColumnType, v: CellValue): DuckDBValue {
  if (v === null) return null;
  switch (type) {
    case 'TIMESTAMP':
      return new DuckDBTimestampValue(toBigInt(v as number) * 1000n);
    case 'INT64':
      return toBigInt(v as number);
    default:
      return v;
  }
}

/** Appends whole columns through data chunks: far fewer native calls than value-by-value appends. */
async function fillTable(conn: DuckDBConnection, t: SeedTable): Promise<number> {
  const n = t.content.rows;
  if (n === 0) return 0;
  const data = generateColumns({ tableName: t.name, content: t.content }, t.columns);
  const cols: readonly Column[] = t.columns;
  const types = cols.map((c) => CHUNK_TYPES[c.type]);
  const appender = await conn.createAppender(t.name, t.dataset);
  for (let from = 0; from < n; from += CHUNK_ROWS) {
    const count = Math.min(CHUNK_ROWS, n - from);
    const chunk = DuckDBDataChunk.create(types, count);
    chunk.setColumns(cols.map((c, k) => data[k].slice(from, from + count).map((v) => toDuckValue(c.type, v))));
    appender.appendDataChunk(chunk);
  }
  appender.closeSync();
  return n;
}

function metadataSql(tables: readonly SeedTable[], datasets: readonly string[]): string[] {
  const tableRows = tables.map(
    (t) => `(${literal(t.dataset)}, ${literal(t.name)}, ${literal(t.partitionBy)}, ${listLiteral(t.clusterBy)})`,
  );
  const datasetRows = datasets.map((d) => `(${literal(d)}, ${literal(LOCATION)}, ${SCRATCH_EXPIRATION_MS[d] ?? 'NULL'})`);
  return [
    `INSERT INTO ${TABLE_OPTIONS} VALUES ${tableRows.join(', ')};`,
    `INSERT INTO ${DATASET_OPTIONS} VALUES ${datasetRows.join(', ')};`,
    // The real feature store's size of each table, kept as metadata (warehouse/real-sizes.ts).
    ...realSizesSql(CATALOG_SCHEMA, tables.filter((t) => t.dataset === FEATURES_DATASET).map((t) => t.name), literal),
  ];
}

/**
 * Refuses to overwrite unless forced; a forced overwrite still refuses a file another process has
 * open. The old file stays until the new one is complete and renamed over it.
 */
async function prepareTarget(database: string, force: boolean): Promise<void> {
  if (existsSync(database)) {
    if (!force) {
      throw new BqxError('WAREHOUSE_EXISTS', `${database} already exists; refusing to overwrite it`, 'pass --force to replace it, or choose another --database', 'BAD_INPUT');
    }
    if (openInThisProcess(database)) throw busyInThisProcess(database);
    const probe = await openDuckDbFile(database);
    probe.closeSync();
  }
  mkdirSync(path.dirname(path.resolve(database)), { recursive: true });
}

function stopIfAborted(signal: AbortSignal | undefined, database: string): void {
  if (signal?.aborted) throw new BqxError('INTERRUPTED', `seeding ${database} stopped by ${String(signal.reason ?? 'a signal')}; its temporary file was removed`, 'run the same command again: the seed starts over', 'INTERRUPTED');
}

/** Temporary files of seeds whose process is gone (killed): never renamed, never to be. */
function removeDeadSeeds(database: string): void {
  const dir = path.dirname(path.resolve(database));
  const prefix = `${path.basename(database)}.seeding-`;
  for (const f of readdirSync(dir)) {
    const pid = Number(/^(\d+)(\.wal)?$/.exec(f.slice(prefix.length))?.[1] ?? NaN);
    if (!f.startsWith(prefix) || !Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    rmSync(path.join(dir, f), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Seeds a fresh warehouse file. Writes to a temporary file and renames it, so a crash leaves nothing half-built. */
export async function seedWarehouse(opts: SeedOptions): Promise<SeedStats> {
  const started = process.hrtime.bigint();
  const database = opts.database;
  await prepareTarget(database, Boolean(opts.force));
  const tmp = `${database}.seeding-${process.pid}`;
  removeDeadSeeds(database);
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });

  const tables = allTables(opts.scale, opts.rows);
  const datasets = [FEATURES_DATASET, ...OTHER_DATASETS];
  // Thousands of tiny statements gain nothing from parallelism; one thread spends ~30% less CPU.
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  let rows = 0;
  try {
    await conn.run(`ATTACH ${literal(tmp)} AS seed (BLOCK_SIZE ${BLOCK_SIZE}, STORAGE_VERSION ${literal(STORAGE_VERSION)})`);
    await conn.run('USE seed');
    await conn.run([...CATALOG_DDL, ...datasets.map((d) => `CREATE SCHEMA ${ident(d)}`)].map((s) => `${s};`).join('\n'));
    for (let from = 0; from < tables.length; from += TABLES_PER_TRANSACTION) {
      const part = tables.slice(from, from + TABLES_PER_TRANSACTION);
      await conn.run('BEGIN TRANSACTION');
      for (let i = 0; i < part.length; i += DDL_BATCH) {
        await conn.run(part.slice(i, i + DDL_BATCH).map(createTableSql).join('\n'));
      }
      for (const t of part) rows += await fillTable(conn, t);
      if (from + TABLES_PER_TRANSACTION >= tables.length) for (const stmt of metadataSql(tables, datasets)) await conn.run(stmt);
      await conn.run('COMMIT');
      await failpoint('seed.transaction');
      stopIfAborted(opts.signal, database);
    }
    await conn.run('USE memory');
    await conn.run('DETACH seed');
    // A signal that arrived during the last transaction: the file is complete, but the run was asked to stop.
    stopIfAborted(opts.signal, database);
  } catch (e) {
    conn.closeSync();
    instance.closeSync();
    rmSync(tmp, { force: true });
    rmSync(`${tmp}.wal`, { force: true });
    throw e;
  }
  conn.closeSync();
  instance.closeSync();
  // A stale write-ahead log of the replaced file would be replayed onto the new one.
  rmSync(`${database}.wal`, { force: true });
  renameSync(tmp, database);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    database,
    scale: opts.scale,
    featureTables: tables.filter((t) => t.dataset === FEATURES_DATASET).length,
    tables: tables.length,
    datasets: datasets.length,
    rows,
    seconds,
    bytes: statSync(database).size,
  };
}
