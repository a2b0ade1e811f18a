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

/**
 * The fields of a DuckDB `STRUCT(...)` type string, as `typeof(row)` prints it:
 * `STRUCT(a INTEGER, "odd, name" DECIMAL(18,3), s STRUCT(x INTEGER))` → [a INTEGER], [odd, name
 * DECIMAL(18,3)], [s STRUCT(x INTEGER)]. Null when the text is not such a type (the caller then
 * asks DuckDB column by column).
 */
export function structFields(text: string): { name: string; type: string }[] | null {
  if (!text.startsWith('STRUCT(') || !text.endsWith(')')) return null;
  const body = text.slice('STRUCT('.length, -1);
  const fields: { name: string; type: string }[] = [];
  let i = 0;
  while (i < body.length) {
    let name = '';
    if (body[i] === '"') {
      i++;
      for (;;) {
        if (i >= body.length) return null;
        if (body[i] === '"' && body[i + 1] === '"') (name += '"'), (i += 2);
        else if (body[i] === '"') break;
        else name += body[i++];
      }
      i++;
    } else {
      while (i < body.length && body[i] !== ' ') name += body[i++];
    }
    if (body[i] !== ' ' || !name) return null;
    i++;
    let depth = 0;
    let type = '';
    for (; i < body.length; i++) {
      const ch = body[i];
      if (ch === '"') return null; // a quoted name inside a nested type: not worth parsing here
      if (ch === '(') depth++;
      if (ch === ')') depth--;
      if (ch === ',' && depth === 0) break;
      type += ch;
    }
    if (!type || depth !== 0) return null;
    fields.push({ name, type });
    if (body[i] === ',') i += body[i + 1] === ' ' ? 2 : 1;
  }
  return fields.length ? fields : null;
}
