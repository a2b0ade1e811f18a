/** Decoding of BigQuery REST result rows (`{f: [{v}]}`) and building of query parameters. */

export interface FieldSchema {
  readonly name: string;
  readonly type: string;
  readonly mode?: string;
  readonly fields?: readonly FieldSchema[];
  readonly policyTags?: { readonly names?: readonly string[] };
}

export interface RestRow {
  readonly f: readonly { readonly v: unknown }[];
}

export type Row = Record<string, unknown>;

function decodeValue(field: FieldSchema, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (field.mode === 'REPEATED') {
    return (v as { v: unknown }[]).map((item) => decodeValue({ ...field, mode: 'NULLABLE' }, item.v));
  }
  switch (field.type) {
    case 'INTEGER':
    case 'INT64': {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : String(v);
    }
    case 'FLOAT':
    case 'FLOAT64':
      return Number(v);
    case 'BOOLEAN':
    case 'BOOL':
      return v === true || v === 'true';
    case 'RECORD':
    case 'STRUCT':
      return decodeRow(field.fields ?? [], v as RestRow);
    default:
      return String(v);
  }
}

export function decodeRow(fields: readonly FieldSchema[], row: RestRow): Row {
  const out: Row = {};
  fields.forEach((field, i) => {
    out[field.name] = decodeValue(field, row.f[i]?.v);
  });
  return out;
}

/** A named GoogleSQL query parameter in the REST shape. */
export interface QueryParameter {
  readonly name: string;
  readonly parameterType: ParameterType;
  readonly parameterValue: ParameterValue;
}

export interface ParameterType {
  readonly type: string;
  readonly arrayType?: ParameterType;
  readonly structTypes?: readonly { readonly name: string; readonly type: ParameterType }[];
}

export interface ParameterValue {
  readonly value?: string | null;
  readonly arrayValues?: readonly ParameterValue[];
  readonly structValues?: Readonly<Record<string, ParameterValue>>;
}

export type ScalarType = 'STRING' | 'INT64' | 'TIMESTAMP' | 'BOOL';

export function scalarParam(name: string, type: ScalarType, value: string | number | boolean | null): QueryParameter {
  return { name, parameterType: { type }, parameterValue: { value: value === null ? null : String(value) } };
}

/** ARRAY<STRING> parameter. */
export function stringsParam(name: string, values: readonly string[]): QueryParameter {
  return { name, parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: values.map((value) => ({ value })) } };
}

/** ARRAY<STRUCT<...>> parameter: the rows of one INSERT. */
export function rowsParam(name: string, columns: readonly { name: string; type: ScalarType }[], rows: readonly Row[]): QueryParameter {
  return {
    name,
    parameterType: {
      type: 'ARRAY',
      arrayType: { type: 'STRUCT', structTypes: columns.map((c) => ({ name: c.name, type: { type: c.type } })) },
    },
    parameterValue: {
      arrayValues: rows.map((r) => ({
        structValues: Object.fromEntries(
          columns.map((c) => {
            const v = r[c.name];
            return [c.name, { value: v === null || v === undefined ? null : String(v) }];
          }),
        ),
      })),
    },
  };
}
