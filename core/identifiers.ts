import { BqxError } from './errors';

/**
 * Identifier rules applied before any name reaches SQL. They are stricter than BigQuery's (which
 * also allows some Unicode in table names): the catalogue only ever uses ASCII letters, digits and
 * `_`, so anything else is refused rather than quoted.
 */
const TABLE_RE = /^[A-Za-z0-9_]{1,1024}$/;
const DATASET_RE = /^[A-Za-z0-9_]{1,1024}$/;
const PROJECT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const COLUMN_RE = /^[A-Za-z_][A-Za-z0-9_]{0,299}$/;

export const isTableName = (s: unknown): s is string => typeof s === 'string' && TABLE_RE.test(s);

/**
 * What BigQuery itself accepts as a table name (letters, marks, numbers, connectors, dashes and
 * spaces, at most 1,024 UTF-8 bytes): such names may appear in a plan as KEEP or REVIEW, never in SQL.
 */
const BIGQUERY_TABLE_RE = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]+$/u;
export const isBigQueryTableName = (s: unknown): s is string => typeof s === 'string' && BIGQUERY_TABLE_RE.test(s) && Buffer.byteLength(s, 'utf8') <= 1024;
export const isDatasetName = (s: unknown): s is string => typeof s === 'string' && DATASET_RE.test(s);
export const isProjectId = (s: unknown): s is string => typeof s === 'string' && PROJECT_RE.test(s);
export const isColumnName = (s: unknown): s is string => typeof s === 'string' && COLUMN_RE.test(s);

function describe(s: unknown): string {
  return typeof s === 'string' ? JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s) : String(s);
}

export function assertTableName(s: unknown, where: string): string {
  if (!isTableName(s)) {
    throw new BqxError('INVALID_IDENTIFIER', `${where}: ${describe(s)} is not a valid table name`, 'table names may contain only letters, digits and "_" (1-1024 characters)');
  }
  return s;
}

export function assertDatasetName(s: unknown, where: string): string {
  if (!isDatasetName(s)) {
    throw new BqxError('INVALID_IDENTIFIER', `${where}: ${describe(s)} is not a valid dataset name`, 'dataset names may contain only letters, digits and "_"');
  }
  return s;
}

export function assertProjectId(s: unknown, where: string): string {
  if (!isProjectId(s)) {
    throw new BqxError('INVALID_IDENTIFIER', `${where}: ${describe(s)} is not a valid project id`, 'project ids are 6-30 lowercase letters, digits or "-", starting with a letter');
  }
  return s;
}

export function assertColumnName(s: unknown, where: string): string {
  if (!isColumnName(s)) {
    throw new BqxError('INVALID_IDENTIFIER', `${where}: ${describe(s)} is not a valid column name`, 'column names start with a letter or "_" and contain only letters, digits and "_"');
  }
  return s;
}
