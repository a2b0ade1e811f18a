import type { ColumnType } from '../../core/catalogue';

/** GoogleSQL type → the DuckDB type the local warehouse stores it as. */
export function duckDbType(t: ColumnType): string {
  switch (t) {
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    case 'DATE':
      return 'DATE';
    case 'STRING':
      return 'VARCHAR';
    case 'FLOAT64':
      return 'DOUBLE';
    case 'INT64':
      return 'BIGINT';
    case 'BOOL':
      return 'BOOLEAN';
    case 'NUMERIC':
      return 'DECIMAL(38,9)';
    case 'BYTES':
      return 'BLOB';
    case 'JSON':
    case 'OTHER':
      return 'VARCHAR';
  }
}

/** DuckDB type name (as duckdb_columns() reports it) → GoogleSQL type name. */
export function googleSqlType(duck: string): ColumnType {
  const t = duck.toUpperCase();
  if (t.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  if (t === 'DATE') return 'DATE';
  if (t === 'VARCHAR' || t.startsWith('VARCHAR(')) return 'STRING';
  if (t === 'DOUBLE' || t === 'FLOAT' || t === 'REAL') return 'FLOAT64';
  if (['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'HUGEINT', 'UBIGINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'].includes(t)) return 'INT64';
  if (t === 'BOOLEAN') return 'BOOL';
  if (t.startsWith('DECIMAL')) return 'NUMERIC';
  if (t === 'BLOB') return 'BYTES';
  if (t === 'JSON') return 'JSON';
  return 'OTHER';
}

/** Rough stored width of one value, for byte estimates (BigQuery's logical sizes). */
export function valueBytes(t: ColumnType): number {
  switch (t) {
    case 'BOOL':
      return 1;
    case 'STRING':
    case 'BYTES':
    case 'JSON':
    case 'OTHER':
      return 10;
    case 'NUMERIC':
      return 16;
    default:
      return 8;
  }
}
