/**
 * GoogleSQL for every step and every read, exactly as the engine runs it. Every identifier is
 * validated (core/identifiers.ts) before it is placed in backticks; nothing else is interpolated.
 */
import { BqxError } from '../../core/errors';
import { assertColumnName, assertDatasetName, assertProjectId, assertTableName } from '../../core/identifiers';
import type { ConsolidationSpec } from '../../core/plan/types';
import type { Step } from '../../core/ports/engine';

export interface SqlLocation {
  readonly project: string;
  readonly dataset: string;
  readonly runnerDataset: string;
}

/** Backtick-quoted `project.dataset.table`, every part validated. */
export function qualified(loc: SqlLocation, table: string, dataset: string = loc.dataset): string {
  assertProjectId(loc.project, 'project');
  assertDatasetName(dataset, 'dataset');
  assertTableName(table, 'table');
  return `\`${loc.project}.${dataset}.${table}\``;
}

export function col(name: string, where = 'column'): string {
  return `\`${assertColumnName(name, where)}\``;
}

/** Backups live in the runner's dataset; the snapshot expires by itself after `backupDays`. */
export interface RenderOptions {
  readonly backupExpiresAt: (now: Date) => Date;
  readonly now: () => Date;
}

function timestampLiteral(d: Date): string {
  return `TIMESTAMP '${d.toISOString().replace('T', ' ').replace('Z', '+00')}'`;
}

/**
 * What a step reads, creates and removes, as `dataset.table` (a rehearsal defers a statement that
 * reads what an earlier step creates, or creates a name an earlier step frees).
 */
export function stepNames(loc: SqlLocation, step: Step): { reads: string[]; creates: string[]; removes: string[] } {
  const f = (n: string) => `${loc.dataset}.${n}`;
  const r = (n: string) => `${loc.runnerDataset}.${n}`;
  switch (step.kind) {
    case 'RENAME_TABLE':
      return { reads: [f(step.from)], creates: [f(step.to)], removes: [f(step.from)] };
    case 'DROP_TABLE':
    case 'DROP_VIEW':
      return { reads: [f(step.name)], creates: [], removes: [f(step.name)] };
    case 'BACKUP_TABLE':
      return { reads: [f(step.name)], creates: [r(step.backupName)], removes: [] };
    case 'RESTORE_TABLE':
      return { reads: [r(step.backupName)], creates: [f(step.name)], removes: [] };
    case 'CONSOLIDATE':
      return { reads: step.spec.windows.map((w) => f(w.source)), creates: [f(step.target)], removes: [] };
    case 'CREATE_VIEW':
      return { reads: [f(step.target)], creates: [f(step.name)], removes: [] };
  }
}

export function renderStep(loc: SqlLocation, step: Step, opts: RenderOptions): string[] {
  switch (step.kind) {
    case 'RENAME_TABLE':
      // RENAME TO takes a bare table name: the table stays in its dataset.
      return [`ALTER TABLE ${qualified(loc, step.from)} RENAME TO \`${assertTableName(step.to, 'rename target')}\``];
    case 'DROP_TABLE':
      return [`DROP TABLE ${qualified(loc, step.name)}`];
    case 'BACKUP_TABLE':
      // A snapshot is free (no bytes read, storage billed only for data that later diverges)
      // and read-only, which is what a backup should be.
      return [
        `CREATE SNAPSHOT TABLE ${qualified(loc, step.backupName, loc.runnerDataset)} CLONE ${qualified(loc, step.name)} OPTIONS (expiration_timestamp = ${timestampLiteral(opts.backupExpiresAt(opts.now()))})`,
      ];
    case 'RESTORE_TABLE':
      // A writable clone of the snapshot under the original name (free, like the snapshot).
      return [`CREATE TABLE ${qualified(loc, step.name)} CLONE ${qualified(loc, step.backupName, loc.runnerDataset)}`];
    case 'CONSOLIDATE':
      return [renderConsolidation(loc, step.target, step.spec)];
    case 'CREATE_VIEW': {
      if (step.columns.length === 0) throw new BqxError('BAD_STEP', `view ${step.name}: no columns`, 'a compatibility view returns the old table\'s columns');
      const select = step.columns
        .map((c) => (c.column === c.name ? col(c.column, `view ${step.name}`) : `${col(c.column, `view ${step.name}`)} AS ${col(c.name, `view ${step.name}`)}`))
        .join(', ');
      const where = step.filter ? ` WHERE ${col(step.filter, `view ${step.name} filter`)}` : '';
      return [`CREATE OR REPLACE VIEW ${qualified(loc, step.name)} AS SELECT ${select} FROM ${qualified(loc, step.target)}${where}`];
    }
    case 'DROP_VIEW':
      return [`DROP VIEW ${qualified(loc, step.name)}`];
  }
}

const windowAlias = (w: number): string => {
  if (!Number.isInteger(w) || w <= 0) throw new BqxError('BAD_STEP', `consolidation window ${String(w)} is not a positive integer`, 'windows are minutes such as 45 or 90');
  return `w${w}`;
};

/**
 * One wide table: FULL OUTER JOIN of the windows on the key (no row of any window lost), the key
 * and every column with several sources COALESCEd in window order, one BOOL presence column per
 * window. Partitioning and clustering as the spec says (the sources').
 */
export function renderConsolidation(loc: SqlLocation, target: string, spec: ConsolidationSpec): string {
  const where = `consolidation ${target}`;
  if (spec.windows.length < 2) throw new BqxError('BAD_STEP', `${where}: needs at least two windows`, 'a consolidation joins several window tables');
  const windows = spec.windows.map((w) => ({ ...w, alias: windowAlias(w.window) }));
  const aliasOf = new Map(windows.map((w) => [w.window, w.alias]));
  if (aliasOf.size !== windows.length) throw new BqxError('BAD_STEP', `${where}: a window appears twice`, 'each window joins once');
  const key = col(spec.key, `${where} key`);
  const keyOf = (alias: string) => `${alias}.${key}`;
  const ref = (window: number, column: string): string => {
    const alias = aliasOf.get(window);
    if (!alias) throw new BqxError('BAD_STEP', `${where}: column source names window ${window}, which is not joined`, 'every column source must name one of the windows');
    return `${alias}.${col(column, where)}`;
  };
  const presenceByName = new Map(windows.map((w) => [w.presenceColumn, w]));
  const select: string[] = [];
  const emitted = new Set<string>();
  const keyListed = spec.columns.some((c) => c.name === spec.key);
  if (!keyListed) {
    select.push(`COALESCE(${windows.map((w) => keyOf(w.alias)).join(', ')}) AS ${key}`);
    emitted.add(spec.key);
  }
  for (const c of spec.columns) {
    const out = col(c.name, where);
    const presence = presenceByName.get(c.name);
    if (presence && c.from.length === 0) {
      select.push(`${keyOf(presence.alias)} IS NOT NULL AS ${out}`);
    } else if (c.name === spec.key) {
      // The key comes from whichever window has the row.
      select.push(`COALESCE(${windows.map((w) => keyOf(w.alias)).join(', ')}) AS ${out}`);
    } else if (c.from.length === 1) {
      select.push(`${ref(c.from[0].window, c.from[0].column)} AS ${out}`);
    } else if (c.from.length > 1) {
      select.push(`COALESCE(${c.from.map((f) => ref(f.window, f.column)).join(', ')}) AS ${out}`);
    } else {
      throw new BqxError('BAD_STEP', `${where}: column ${c.name} has no source`, 'every consolidated column names at least one window column');
    }
    emitted.add(c.name);
  }
  for (const w of windows) {
    if (!emitted.has(w.presenceColumn)) select.push(`${keyOf(w.alias)} IS NOT NULL AS ${col(w.presenceColumn, where)}`);
  }
  const [first, ...rest] = windows;
  let from = `${qualified(loc, first.source)} AS ${first.alias}`;
  const joined = [first.alias];
  for (const w of rest) {
    const left = joined.length === 1 ? keyOf(joined[0]) : `COALESCE(${joined.map(keyOf).join(', ')})`;
    from += `\nFULL OUTER JOIN ${qualified(loc, w.source)} AS ${w.alias} ON ${left} = ${keyOf(w.alias)}`;
    joined.push(w.alias);
  }
  const partition = spec.partitionBy ? `\nPARTITION BY DATE(${col(spec.partitionBy, `${where} partition`)})` : '';
  const cluster = spec.clusterBy.length > 0 ? `\nCLUSTER BY ${spec.clusterBy.map((c) => col(c, `${where} cluster`)).join(', ')}` : '';
  return `CREATE TABLE ${qualified(loc, target)}${partition}${cluster}\nAS SELECT\n  ${select.join(',\n  ')}\nFROM ${from}`;
}

/** Tables whose metadata a step updates (`dataset.table`), for per-table pacing. */
export function metadataKeys(loc: SqlLocation, step: Step): string[] {
  const d = (t: string) => `${loc.dataset}.${t}`;
  const r = (t: string) => `${loc.runnerDataset}.${t}`;
  switch (step.kind) {
    case 'RENAME_TABLE':
      return [d(step.from), d(step.to)];
    case 'DROP_TABLE':
    case 'DROP_VIEW':
    case 'CREATE_VIEW':
      return [d(step.name)];
    case 'BACKUP_TABLE':
      return [r(step.backupName)];
    case 'RESTORE_TABLE':
      return [d(step.name)];
    case 'CONSOLIDATE':
      return [d(step.target)];
  }
}

/** Statements that read table data (billed) and so get a dry run; the others are free. */
export function readsData(step: Step): boolean {
  return step.kind === 'CONSOLIDATE';
}

// ---- reads -------------------------------------------------------------------------------------

/** Order-independent multiset hash: XOR and SUM of per-row fingerprints, with the row count. */
export function fingerprintSql(loc: SqlLocation, table: string): string {
  return (
    `SELECT COUNT(*) AS row_count, ` +
    `FORMAT('%d:%s', IFNULL(BIT_XOR(fp), 0), CAST(IFNULL(SUM(CAST(fp AS NUMERIC)), 0) AS STRING)) AS content_hash ` +
    `FROM (SELECT FARM_FINGERPRINT(TO_JSON_STRING(t)) AS fp FROM ${qualified(loc, table)} AS t)`
  );
}

export function sampleSql(loc: SqlLocation, table: string, column: string, limit: number, orderBy: string | null): string {
  if (!Number.isInteger(limit) || limit <= 0 || limit > 1_000_000) throw new BqxError('BAD_INPUT', `sample limit ${limit} is out of range`, 'use 1..1000000');
  const c = col(column, `sample ${table}`);
  const order = orderBy ? `${col(orderBy, 'sample order')}, ${c}` : c;
  return `SELECT CAST(${c} AS FLOAT64) AS v FROM ${qualified(loc, table)} WHERE ${c} IS NOT NULL ORDER BY ${order} LIMIT ${limit}`;
}

export function keyStatsSql(loc: SqlLocation, table: string, key: string): string {
  const k = col(key, 'key');
  return `SELECT COUNT(*) AS row_count, COUNT(DISTINCT ${k}) AS distinct_keys, COUNTIF(${k} IS NULL) AS null_keys FROM ${qualified(loc, table)}`;
}

export function rowCountSql(loc: SqlLocation, table: string): string {
  return `SELECT COUNT(*) AS row_count FROM ${qualified(loc, table)}`;
}

export function nullCountsSql(loc: SqlLocation, table: string, columns: readonly string[], filter: string | null): string {
  if (columns.length === 0) throw new BqxError('BAD_INPUT', `null counts of ${table}: no columns`, 'name at least one column');
  const parts = columns.map((c, i) => `COUNTIF(${col(c, 'null count')} IS NULL) AS n${i}`);
  const where = filter ? ` WHERE ${col(filter, 'filter')}` : '';
  return `SELECT ${parts.join(', ')} FROM ${qualified(loc, table)}${where}`;
}

export function columnsAgreeSql(loc: SqlLocation, a: string, b: string, key: string, columns: readonly string[]): string {
  if (columns.length === 0) throw new BqxError('BAD_INPUT', `column agreement ${a}/${b}: no columns`, 'name at least one column');
  const k = col(key, 'key');
  const parts = columns.map((c, i) => `IFNULL(LOGICAL_AND(a.${col(c)} IS NOT DISTINCT FROM b.${col(c)}), TRUE) AS c${i}`);
  return `SELECT ${parts.join(', ')} FROM ${qualified(loc, a)} AS a INNER JOIN ${qualified(loc, b)} AS b ON a.${k} = b.${k}`;
}

export function coverageSql(loc: SqlLocation, target: string, sources: readonly string[], key: string): string {
  if (sources.length === 0) throw new BqxError('BAD_INPUT', `coverage of ${target}: no sources`, 'name the consolidated sources');
  const k = col(key, 'key');
  const union = sources.map((s) => `SELECT ${k} FROM ${qualified(loc, s)}`).join(' UNION DISTINCT ');
  return (
    `WITH t AS (SELECT DISTINCT ${k} FROM ${qualified(loc, target)}), u AS (${union}) ` +
    `SELECT (SELECT COUNT(*) FROM t) AS target_keys, (SELECT COUNT(*) FROM u) AS union_keys, ` +
    `(SELECT COUNT(*) FROM (SELECT ${k} FROM u EXCEPT DISTINCT SELECT ${k} FROM t)) AS missing, ` +
    `(SELECT COUNT(*) FROM (SELECT ${k} FROM t EXCEPT DISTINCT SELECT ${k} FROM u)) AS extra`
  );
}

export function mismatchedRowsSql(
  loc: SqlLocation,
  target: string,
  source: string,
  key: string,
  mapping: readonly { readonly targetColumn: string; readonly sourceColumn: string }[],
  filter: string | null,
): string {
  const k = col(key, 'key');
  const where = filter ? ` WHERE ${col(filter, 'filter')}` : '';
  const equal = mapping.map((m) => `s.${col(m.sourceColumn)} IS NOT DISTINCT FROM t.${col(m.targetColumn)}`);
  const differs = equal.length > 0 ? ` OR NOT (${equal.join(' AND ')})` : '';
  return (
    `SELECT COUNT(*) AS mismatched FROM ${qualified(loc, source)} AS s ` +
    `LEFT JOIN (SELECT * FROM ${qualified(loc, target)}${where}) AS t ON s.${k} = t.${k} ` +
    `WHERE t.${k} IS NULL${differs}`
  );
}

export function probeSql(loc: SqlLocation, name: string): string {
  return `SELECT * FROM ${qualified(loc, name)}`;
}

export function searchIndexesSql(loc: SqlLocation): string {
  assertProjectId(loc.project, 'project');
  assertDatasetName(loc.dataset, 'dataset');
  return `SELECT table_name, COUNT(*) AS indexes FROM \`${loc.project}.${loc.dataset}\`.INFORMATION_SCHEMA.SEARCH_INDEXES GROUP BY table_name`;
}

const VIEW_ITEM = '`[A-Za-z0-9_]+`(?: AS `[A-Za-z0-9_]+`)?';
const VIEW_SHAPE = new RegExp(`^SELECT ${VIEW_ITEM}(?:, ${VIEW_ITEM})* FROM \`([^\`.]+)\\.([^\`.]+)\\.([^\`.]+)\`(?: WHERE \`([A-Za-z0-9_]+)\`)?$`);

/**
 * A view's stored query (tables.get `view.query`) read back as what `renderStep` writes for a
 * compatibility view after `AS`: plain columns of one table, no join, aggregate, DISTINCT or
 * LIMIT, optionally filtered on one column. Null for any other query. Without a filter the view
 * has exactly its table's rows.
 */
export function viewShape(query: string | undefined): { project: string; dataset: string; table: string; filter: string | null } | null {
  const m = query === undefined ? null : VIEW_SHAPE.exec(query);
  return m ? { project: m[1], dataset: m[2], table: m[3], filter: m[4] ?? null } : null;
}

/**
 * Several single-row reads in one query: each read's one row as a JSON string `r0`, `r1`, … (its
 * columns by name, as the read alone returns them; JSON null when it returns no row). Every part
 * is a statement of this module (no line breaks, validated identifiers only).
 */
export function fusedReadSql(parts: readonly string[]): string {
  if (parts.length < 2) throw new BqxError('BAD_INPUT', `a fused read needs at least two reads, got ${parts.length}`, 'run a single read as it is');
  for (const p of parts) {
    if (p.includes('\n') || !/^(SELECT|WITH) /.test(p)) throw new BqxError('BAD_INPUT', `not a single-line read: ${p.slice(0, 80)}`, 'only this module\'s reads are fused');
  }
  return `SELECT ${parts.map((q, i) => `TO_JSON_STRING((SELECT AS STRUCT * FROM (\n${q}\n))) AS r${i}`).join(',\n  ')}`;
}
