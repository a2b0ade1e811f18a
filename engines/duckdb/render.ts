/**
 * Step → DuckDB SQL. `run` executes exactly these statements, in order; multi-statement steps are
 * wrapped in one transaction so the data change and its `_bqx_catalog` metadata land together.
 * A `CREATE TABLE … AS` comes last in its step: its answer (the rows it wrote) is then the answer
 * of the step's one call (see `scripts` in engine.ts).
 */
import { BqxError } from '../../core/errors';
import { assertColumnName } from '../../core/identifiers';
import type { ConsolidationSpec } from '../../core/plan/types';
import type { EngineLocation, Step } from '../../core/ports/engine';
import { column, DATASET_OPTIONS, ident, listLiteral, literal, table, TABLE_OPTIONS } from './sql';
import { duckDbType } from './types';

export const BEGIN = 'BEGIN TRANSACTION';
export const COMMIT = 'COMMIT';

function inTransaction(stmts: string[]): string[] {
  return stmts.length > 1 ? [BEGIN, ...stmts, COMMIT] : stmts;
}

const optionsWhere = (dataset: string, name: string) => `dataset = ${literal(dataset)} AND table_name = ${literal(name)}`;

/** Copies a table's partition/cluster metadata to another (dataset, name). */
function copyOptions(fromDataset: string, from: string, toDataset: string, to: string): string[] {
  return [
    `DELETE FROM ${TABLE_OPTIONS} WHERE ${optionsWhere(toDataset, to)}`,
    `INSERT INTO ${TABLE_OPTIONS} SELECT ${literal(toDataset)}, ${literal(to)}, partition_by, cluster_by FROM ${TABLE_OPTIONS} WHERE ${optionsWhere(fromDataset, from)}`,
  ];
}

/** The runner schema, and its dataset metadata, created on first use. */
export function ensureRunnerDataset(where: EngineLocation): string[] {
  const runner = ident(where.runnerDataset);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${runner}`,
    `INSERT INTO ${DATASET_OPTIONS} SELECT ${literal(where.runnerDataset)}, ${literal(where.location)}, NULL WHERE NOT EXISTS (SELECT 1 FROM ${DATASET_OPTIONS} WHERE dataset = ${literal(where.runnerDataset)})`,
  ];
}

export function consolidateSelect(where: EngineLocation, spec: ConsolidationSpec): string {
  if (spec.windows.length < 2) {
    throw new BqxError('BAD_CONSOLIDATION', `a consolidation needs at least two windows, got ${spec.windows.length}`, 'check the plan', 'BAD_INPUT');
  }
  const key = column(spec.key, 'consolidation key');
  const alias = (w: number) => ident(`w${w}`);
  const windows = spec.windows.map((w) => w.window);
  const keyOf = windows.map((w) => `${alias(w)}.${key}`);
  const select: string[] = [];
  for (const c of spec.columns) {
    const name = column(c.name, 'consolidated column');
    if (c.name === spec.key) {
      select.push(`COALESCE(${keyOf.join(', ')}) AS ${name}`);
      continue;
    }
    if (c.from.length === 0) throw new BqxError('BAD_CONSOLIDATION', `consolidated column ${c.name} has no source`, 'check the plan', 'BAD_INPUT');
    for (const f of c.from) {
      if (!windows.includes(f.window)) throw new BqxError('BAD_CONSOLIDATION', `column ${c.name} comes from window ${f.window}, which the consolidation has no source for`, 'check the plan', 'BAD_INPUT');
    }
    const refs = c.from.map((f) => `${alias(f.window)}.${column(f.column, `source column of ${c.name}`)}`);
    const value = refs.length === 1 ? refs[0] : `COALESCE(${refs.join(', ')})`;
    select.push(`CAST(${value} AS ${duckDbType(c.type)}) AS ${name}`);
  }
  for (const w of spec.windows) {
    if (spec.columns.some((c) => c.name === w.presenceColumn)) continue;
    select.push(`(${alias(w.window)}.${key} IS NOT NULL) AS ${column(w.presenceColumn, 'presence column')}`);
  }
  const [first, ...rest] = spec.windows;
  let from = `${table(where.dataset, first.source, 'consolidation source')} AS ${alias(first.window)}`;
  const joined = [alias(first.window)];
  for (const w of rest) {
    const left = joined.length === 1 ? `${joined[0]}.${key}` : `COALESCE(${joined.map((a) => `${a}.${key}`).join(', ')})`;
    from += `\n  FULL OUTER JOIN ${table(where.dataset, w.source, 'consolidation source')} AS ${alias(w.window)} ON ${left} = ${alias(w.window)}.${key}`;
    joined.push(alias(w.window));
  }
  return `SELECT ${select.join(',\n  ')}\nFROM ${from}\nORDER BY 1`;
}

export function renderStep(where: EngineLocation, step: Step): string[] {
  const ds = where.dataset;
  switch (step.kind) {
    case 'RENAME_TABLE':
      table(ds, step.to, 'rename target');
      return inTransaction([
        `ALTER TABLE ${table(ds, step.from, 'rename source')} RENAME TO ${ident(step.to)}`,
        `DELETE FROM ${TABLE_OPTIONS} WHERE ${optionsWhere(ds, step.to)}`,
        `UPDATE ${TABLE_OPTIONS} SET table_name = ${literal(step.to)} WHERE ${optionsWhere(ds, step.from)}`,
      ]);
    case 'DROP_TABLE':
      return inTransaction([`DROP TABLE ${table(ds, step.name, 'table to drop')}`, `DELETE FROM ${TABLE_OPTIONS} WHERE ${optionsWhere(ds, step.name)}`]);
    case 'BACKUP_TABLE':
      return inTransaction([
        ...ensureRunnerDataset(where),
        ...copyOptions(ds, step.name, where.runnerDataset, step.backupName),
        `CREATE TABLE ${table(where.runnerDataset, step.backupName, 'backup')} AS SELECT * FROM ${table(ds, step.name, 'table to back up')}`,
      ]);
    case 'RESTORE_TABLE':
      return inTransaction([
        ...copyOptions(where.runnerDataset, step.backupName, ds, step.name),
        `CREATE TABLE ${table(ds, step.name, 'restored table')} AS SELECT * FROM ${table(where.runnerDataset, step.backupName, 'backup')}`,
      ]);
    case 'CONSOLIDATE': {
      const spec = step.spec;
      if (spec.partitionBy !== null) assertColumnName(spec.partitionBy, 'partition column');
      spec.clusterBy.forEach((c) => assertColumnName(c, 'cluster column'));
      return inTransaction([
        `DELETE FROM ${TABLE_OPTIONS} WHERE ${optionsWhere(ds, step.target)}`,
        `INSERT INTO ${TABLE_OPTIONS} VALUES (${literal(ds)}, ${literal(step.target)}, ${literal(spec.partitionBy)}, ${listLiteral(spec.clusterBy)})`,
        `CREATE TABLE ${table(ds, step.target, 'consolidation target')} AS\n${consolidateSelect(where, spec)}`,
      ]);
    }
    case 'CREATE_VIEW': {
      if (step.columns.length === 0) throw new BqxError('BAD_VIEW', `view ${step.name} has no columns`, 'check the plan', 'BAD_INPUT');
      const cols = step.columns.map((c) => `${column(c.column, `view ${step.name} source column`)} AS ${column(c.name, `view ${step.name} column`)}`);
      const filter = step.filter === null ? '' : ` WHERE ${column(step.filter, `view ${step.name} filter column`)}`;
      return [`CREATE OR REPLACE VIEW ${table(ds, step.name, 'view')} AS SELECT ${cols.join(', ')} FROM ${table(ds, step.target, 'view target')}${filter}`];
    }
    case 'DROP_VIEW':
      return [`DROP VIEW ${table(ds, step.name, 'view to drop')}`];
  }
}
