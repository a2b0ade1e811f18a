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
export const BLOCK_SIZE = 16384;
/** Storage format v1.2+ packs small column segments far better than the v1.0 default ATTACH writes. */
export const STORAGE_VERSION = 'v1.4.0';
const LOCATION = 'us-central1';
const DDL_BATCH = 200;
/**
 * Tables created and filled per transaction. The full catalogue (5,876 tables in all datasets) is
 * one transaction, as it always was; the scaled ones commit every this many tables, each part's
 * tables created in the transaction that fills them. For the 58,229 tables of `10x`, when each
 * table was created and then appended to: 460 s of CPU and a 6.1 GB peak as one transaction, 340 s
 * and 5.7 GB this way (236 s wall on a quiet machine); still super-linear, in DuckDB's commits.
 * Nothing is lost to atomicity: the seed writes a temporary file and renames it only when complete.
 */
const TABLES_PER_TRANSACTION = 6000;
/** DuckDB's vector size: the most rows one data chunk holds. */
const CHUNK_ROWS = 2048;

/** Every table the seed writes, in every dataset, in the order it creates them. */
export function allTables(scale: Scale, rows: number | undefined): SeedTable[] {
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

function columnsSql(t: SeedTable): string {
  return t.columns.map((c) => `${ident(assertColumnName(c.name, `seed ${t.name}`))} ${duckDbType(c.type)}`).join(', ');
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

/**
 * The rows of tables that share a column list, appended as whole columns through data chunks (far
 * fewer native calls than value-by-value appends) to one temporary staging table, one table's rows
 * after another's. Returns each table's first row id there (a fresh table's row ids count its
 * appended rows from 0).
 */
async function stageRows(conn: DuckDBConnection, stage: string, shape: readonly SeedTable[]): Promise<number[]> {
  const cols: readonly Column[] = shape[0].columns;
  const types = cols.map((c) => CHUNK_TYPES[c.type]);
  const appender = await conn.createAppender(stage, 'main', 'temp');
  let pending: DuckDBValue[][] = cols.map(() => []);
  const flush = () => {
    if (pending[0].length === 0) return;
    const chunk = DuckDBDataChunk.create(types, pending[0].length);
    chunk.setColumns(pending);
    appender.appendDataChunk(chunk);
    pending = cols.map(() => []);
  };
  const firstRows: number[] = [];
  let next = 0;
  for (const t of shape) {
    firstRows.push(next);
    const n = t.content.rows;
    if (n === 0) continue;
    const data = generateColumns({ tableName: t.name, content: t.content }, t.columns);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < cols.length; k++) pending[k].push(toDuckValue(cols[k].type, data[k][i]));
      if (pending[0].length === CHUNK_ROWS) flush();
    }
    next += n;
  }
  flush();
  appender.closeSync();
  return firstRows;
}

/**
 * Creates and fills the tables of one transaction. Written per table, creating a table and then
 * appending its rows costs DuckDB about twice the CPU of creating it from its rows' range in a
 * staging table (`CREATE TABLE … AS SELECT`): most of a small table's cost is DuckDB's per-table
 * and per-column work, which the one statement does once. The staging tables are temporary
 * (in memory, never in the file) and filled before the transaction, so their row ids are committed
 * and count from 0; they are dropped once it commits.
 */
async function createFilled(conn: DuckDBConnection, part: readonly SeedTable[]): Promise<{ statements: string[]; stages: string[]; rows: number }> {
  const shapes = new Map<string, SeedTable[]>();
  for (const t of part) {
    const key = columnsSql(t);
    const same = shapes.get(key);
    if (same) same.push(t);
    else shapes.set(key, [t]);
  }
  // In the catalogue's order, as the tables were always created.
  const statementOf = new Map<SeedTable, string>();
  const stages: string[] = [];
  let rows = 0;
  for (const [cols, shape] of shapes) {
    const stageName = `seed_stage_${stages.length}`;
    const stage = `temp.main.${ident(stageName)}`;
    stages.push(stage);
    await conn.run(`CREATE TEMP TABLE ${ident(stageName)} (${cols})`);
    const firstRows = await stageRows(conn, stageName, shape);
    shape.forEach((t, j) => {
      const n = t.content.rows;
      const name = table(t.dataset, t.name, 'seed table');
      statementOf.set(t, n === 0 ? `CREATE TABLE ${name} (${cols});` : `CREATE TABLE ${name} AS SELECT * FROM ${stage} WHERE rowid BETWEEN ${firstRows[j]} AND ${firstRows[j] + n - 1};`);
      rows += n;
    });
  }
  return { statements: part.map((t) => statementOf.get(t) as string), stages, rows };
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
      const filled = await createFilled(conn, part);
      await conn.run('BEGIN TRANSACTION');
      for (let i = 0; i < filled.statements.length; i += DDL_BATCH) {
        await conn.run(filled.statements.slice(i, i + DDL_BATCH).join('\n'));
      }
      rows += filled.rows;
      if (from + TABLES_PER_TRANSACTION >= tables.length) for (const stmt of metadataSql(tables, datasets)) await conn.run(stmt);
      await conn.run('COMMIT');
      await conn.run(filled.stages.map((stage) => `DROP TABLE ${stage};`).join('\n'));
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
