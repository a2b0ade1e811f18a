import { createHash } from 'crypto';

/** GoogleSQL type names; engines translate their own types to these. */
export type ColumnType = 'TIMESTAMP' | 'DATE' | 'STRING' | 'FLOAT64' | 'INT64' | 'BOOL' | 'NUMERIC' | 'BYTES' | 'JSON' | 'OTHER';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

export type TableKind = 'TABLE' | 'VIEW' | 'EXTERNAL' | 'SNAPSHOT' | 'MATERIALIZED_VIEW';

/** What the planner and gates know about one table or view, read from metadata (no scan). */
export interface TableInfo {
  readonly name: string;
  readonly kind: TableKind;
  readonly columns: readonly Column[];
  readonly rowCount: number;
  readonly bytes: number;
  /** Column the table is partitioned on by DATE(column), if any. */
  readonly partitionBy: string | null;
  readonly clusterBy: readonly string[];
  /** BigQuery only: rows still in the streaming buffer (a rename must wait). */
  readonly streamingBuffer?: boolean;
  /** BigQuery only: search indexes or policy tags a rename would drop. */
  readonly searchIndexes?: number;
  readonly policyTags?: number;
  /** For views: the SQL of the view. */
  readonly viewQuery?: string;
}

export interface DatasetInfo {
  readonly name: string;
  readonly exists: boolean;
  readonly location: string | null;
  /** Default table expiration in ms; null when none. */
  readonly defaultTableExpirationMs: number | null;
}

export interface CatalogueSnapshot {
  readonly engine: string;
  readonly project: string;
  readonly dataset: string;
  /** Sorted by name; tables and views. */
  readonly tables: readonly TableInfo[];
  /** Hash over every table's name, kind, schema and row count. */
  readonly fingerprint: string;
}

/**
 * Hashes of frozen table entries (a listing's entries are frozen whole, columns included): they
 * cannot change, so the planner, readiness, the gates and the executor's preflights, which hash
 * the same listing again and again in one process, hash each entry once.
 */
const frozenStateHashes = new WeakMap<object, string>();

function frozenWhole(t: Pick<TableInfo, 'columns'>): boolean {
  if (!Object.isFrozen(t) || !Object.isFrozen(t.columns)) return false;
  for (const c of t.columns) if (!Object.isFrozen(c)) return false;
  return true;
}

/** A table's state as the plan saw it: schema and row count, hashed. */
export function tableStateHash(t: Pick<TableInfo, 'name' | 'kind' | 'columns' | 'rowCount'>): string {
  const known = frozenStateHashes.get(t);
  if (known !== undefined) return known;
  const hash = computeStateHash(t);
  if (frozenWhole(t)) frozenStateHashes.set(t, hash);
  return hash;
}

function computeStateHash(t: Pick<TableInfo, 'name' | 'kind' | 'columns' | 'rowCount'>): string {
  const h = createHash('sha256');
  h.update(`${t.name}\u0000${t.kind}\u0000${t.rowCount}\u0000`);
  for (const c of t.columns) h.update(`${c.name}:${c.type};`);
  return h.digest('hex').slice(0, 32);
}

export function catalogueFingerprint(tables: readonly TableInfo[]): string {
  const h = createHash('sha256');
  for (const t of [...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    h.update(tableStateHash(t));
    h.update('\n');
  }
  return h.digest('hex');
}

export function makeSnapshot(engine: string, project: string, dataset: string, tables: readonly TableInfo[]): CatalogueSnapshot {
  const sorted = [...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { engine, project, dataset, tables: sorted, fingerprint: catalogueFingerprint(sorted) };
}
