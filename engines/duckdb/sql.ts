import { assertColumnName, assertDatasetName, assertTableName } from '../../core/identifiers';

/**
 * SQL text helpers. Identifiers are validated (core/identifiers.ts) before they are quoted, so a
 * name with a quote or `;` never reaches DuckDB; quoting is then only for reserved words.
 */
export const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

export function literal(s: string | null): string {
  return s === null ? 'NULL' : `'${s.replace(/'/g, "''")}'`;
}

export function table(dataset: string, name: string, where = 'table'): string {
  return `${ident(assertDatasetName(dataset, `${where} dataset`))}.${ident(assertTableName(name, where))}`;
}

export function column(name: string, where = 'column'): string {
  return ident(assertColumnName(name, where));
}

/** The schema holding BigQuery-like table and dataset metadata DuckDB has no place for. */
export const CATALOG_SCHEMA = '_bqx_catalog';
export const TABLE_OPTIONS_TABLE = 'table_options';
export const TABLE_OPTIONS = `${ident(CATALOG_SCHEMA)}.${ident(TABLE_OPTIONS_TABLE)}`;
export const DATASET_OPTIONS = `${ident(CATALOG_SCHEMA)}.${ident('dataset_options')}`;

// No primary keys: DuckDB checks them eagerly, which breaks delete-then-insert in one transaction.
export const CATALOG_DDL = [
  `CREATE SCHEMA IF NOT EXISTS ${ident(CATALOG_SCHEMA)}`,
  `CREATE TABLE IF NOT EXISTS ${TABLE_OPTIONS} (dataset VARCHAR NOT NULL, table_name VARCHAR NOT NULL, partition_by VARCHAR, cluster_by VARCHAR[] NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS ${DATASET_OPTIONS} (dataset VARCHAR NOT NULL, location VARCHAR NOT NULL, default_table_expiration_ms BIGINT)`,
];

export function listLiteral(items: readonly string[]): string {
  return `[${items.map((s) => literal(s)).join(', ')}]::VARCHAR[]`;
}
