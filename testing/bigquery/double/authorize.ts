/**
 * What each request to the double needs, in permissions, from the needs fixture
 * (needs-fixture.ts: rows written from Google's pages) and nowhere else: the project's permission
 * table (config/runner-permissions.ts) is what is being tested, so the double never reads it. A
 * statement is classified the way the interpreter recognises it (sql.ts) as one fixture row, and
 * that row's needs are required on the resources the statement names (its project, the table or
 * dataset it changes, the tables it reads). REST calls are rows of their own (datasets.get,
 * tables.list, tables.get, job polling).
 *
 * Denials answer like BigQuery: 403, reason accessDenied, a message naming the permission and the
 * resource ("Access Denied: Table p:d.t: Permission bigquery.tables.update denied on table p:d.t
 * (or it may not exist).").
 */
import { LEDGER_TABLES } from '../../../engines/bigquery/ledger';
import type { IamResource } from './iam';
import { needsRow, type NeedKind } from './needs-fixture';
import { DoubleError, key } from './types';
import type { DoubleTable } from './types';

export interface Need {
  readonly permission: string;
  readonly resource: IamResource;
  /** What BigQuery names in a denial: `Project p`, `Dataset p:d`, `Table p:d.t`. */
  readonly object: { readonly kind: 'Project' | 'Dataset' | 'Table'; readonly id: string };
  /** The fixture row the need comes from. */
  readonly kind: NeedKind;
}

interface TableAt {
  readonly dataset: string;
  readonly table: string;
}

export interface Classified {
  readonly kind: NeedKind;
  /** The table the statement changes (or, for a dataset-level statement, null table). */
  readonly target: { readonly dataset: string; readonly table: string | null } | null;
  /** Every table or view the statement reads. */
  readonly sources: readonly TableAt[];
}

const TABLE_REF = /`([^`.]+)\.([^`.]+)\.([^`.]+)`/g;
const ref = (text: string): TableAt | null => {
  const m = text.match(/^`([^`.]+)\.([^`.]+)\.([^`.]+)`$/);
  return m ? { dataset: m[2], table: m[3] } : null;
};
const refs = (sql: string): TableAt[] => [...sql.matchAll(TABLE_REF)].map((x) => ({ dataset: x[2], table: x[3] }));
const LEDGER = new Set<string>(Object.values(LEDGER_TABLES));

/**
 * The fixture row a statement is, with its target and sources. Null when the double cannot tell
 * (the caller refuses it: nothing unknown is authorized).
 */
export function classifyStatement(sql: string, tables: ReadonlyMap<string, DoubleTable>): Classified | null {
  let m: RegExpMatchArray | null;
  const c = (kind: NeedKind, target: string | TableAt | null, sources: TableAt[] = []): Classified => ({ kind, target: typeof target === 'string' ? ref(target) : target, sources });
  /** A view is read with getData on the view and on the table it selects from. */
  const withViewTargets = (read: TableAt[]): TableAt[] => [
    ...read,
    ...read.flatMap((r) => {
      const t = tables.get(key(r.dataset, r.table));
      return t?.type === 'VIEW' && t.viewTarget ? [{ dataset: t.viewTarget.dataset, table: t.viewTarget.name }] : [];
    }),
  ];
  if ((m = sql.match(/^ALTER TABLE (`[^`]+`) RENAME TO `[A-Za-z0-9_]+`$/))) return c('ALTER_TABLE_RENAME', m[1]);
  if ((m = sql.match(/^DROP TABLE (`[^`]+`)$/))) return c('DROP_TABLE', m[1]);
  if ((m = sql.match(/^DROP VIEW (`[^`]+`)$/))) return c('DROP_VIEW', m[1]);
  if ((m = sql.match(/^CREATE SNAPSHOT TABLE (`[^`]+`) CLONE (`[^`]+`) OPTIONS/))) return c('CREATE_SNAPSHOT_TABLE', m[1], [ref(m[2])!]);
  if ((m = sql.match(/^CREATE TABLE (`[^`]+`) CLONE (`[^`]+`)$/))) return c('CREATE_TABLE_CLONE_OF_SNAPSHOT', m[1], [ref(m[2])!]);
  if ((m = sql.match(/^CREATE OR REPLACE VIEW (`[^`]+`) AS SELECT .+ FROM (`[^`]+`)/))) return c('CREATE_OR_REPLACE_VIEW', m[1], [ref(m[2])!]);
  if ((m = sql.match(/^CREATE TABLE (`[^`]+`)\n(?:PARTITION BY|CLUSTER BY|AS SELECT)/))) return c('CREATE_TABLE_AS_SELECT', m[1], refs(sql).slice(1));
  if ((m = sql.match(/^CREATE SCHEMA IF NOT EXISTS `[^`.]+\.([^`.]+)`/))) return c('CREATE_SCHEMA', { dataset: m[1], table: '' });
  if ((m = sql.match(/^CREATE TABLE IF NOT EXISTS (`[^`]+`) \(/))) return c('CREATE_TABLE_IF_NOT_EXISTS', m[1]);
  if ((m = sql.match(/^INSERT INTO (`[^`]+`) \([^)]+\) SELECT [^@]+ FROM UNNEST\(@rows\)$/))) return c('INSERT_FROM_PARAMETER', m[1]);
  if ((m = sql.match(/^INSERT INTO (`[^`]+`) \(`lock_name`[\s\S]* FROM \(SELECT 1\) WHERE \(SELECT IFNULL\(MAX\(`seq`\), 0\) FROM (`[^`]+`)/))) return c('INSERT_GUARDED', m[1], [ref(m[2])!]);
  if ((m = sql.match(/^SELECT .+ FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.(COLUMNS|VIEWS|SEARCH_INDEXES|PARTITIONS)\b/))) {
    return { kind: `INFORMATION_SCHEMA_${m[2]}` as NeedKind, target: { dataset: m[1], table: null }, sources: [] };
  }
  if (/FROM `[^`.]+\.region-[a-z0-9-]+`\.INFORMATION_SCHEMA\.JOBS_BY_PROJECT\b/.test(sql)) return c('INFORMATION_SCHEMA_JOBS_BY_PROJECT', null);
  if (/INFORMATION_SCHEMA/.test(sql)) return null; // region-qualified views and any other: no row, refused
  if (/^(SELECT|WITH) /.test(sql)) {
    const read = refs(sql);
    if (read.length === 0) return sql === 'SELECT 1' ? c('SELECT', null) : null;
    return c('SELECT', null, read.every((r) => LEDGER.has(r.table)) ? read : withViewTargets(read));
  }
  return null;
}

/** BigQuery names a dataset in a denial for dataset-level permissions, the table otherwise. */
function needOn(kind: NeedKind, permission: string, project: string, at: { dataset: string; table: string | null }): Need {
  const resource: IamResource = { kind: 'dataset', project, dataset: at.dataset };
  const onDataset = at.table === null || permission === 'bigquery.tables.create' || permission === 'bigquery.tables.list' || permission.startsWith('bigquery.datasets.');
  return { permission, resource, object: onDataset ? { kind: 'Dataset', id: `${project}:${at.dataset}` } : { kind: 'Table', id: `${project}:${at.dataset}.${at.table}` }, kind };
}

export function projectNeed(permission: string, project: string, kind: NeedKind = 'QUERY_JOB'): Need {
  return { permission, resource: { kind: 'project', project }, object: { kind: 'Project', id: project }, kind };
}

/**
 * Every permission a classified statement needs, from its fixture row (and the dry run's row), on
 * the resources it names. `exists` tells whether the target is already there (conditional needs).
 */
export function statementNeeds(c: Classified, project: string, dryRun: boolean, exists: (dataset: string, table: string) => boolean): Need[] {
  const needs: Need[] = [];
  for (const kind of dryRun ? (['DRY_RUN', c.kind] as NeedKind[]) : [c.kind]) {
    for (const n of needsRow(kind).needs) {
      if (n.ifTargetExists && !(c.target?.table && exists(c.target.dataset, c.target.table))) continue;
      for (const permission of n.permissions) {
        if (n.on === 'project') needs.push(projectNeed(permission, project, kind));
        else if (n.on === 'targetDataset' && c.target) needs.push(needOn(kind, permission, project, { dataset: c.target.dataset, table: null }));
        else if (n.on === 'target' && c.target) needs.push(needOn(kind, permission, project, c.target));
        else if (n.on === 'source') for (const s of c.sources) needs.push(needOn(kind, permission, project, s));
        else throw new DoubleError(400, 'invalidQuery', `the double cannot authorize ${kind}: the statement names no ${n.on}`);
      }
    }
  }
  return needs;
}

/** What the engine's REST calls need (their fixture rows). */
export function restNeeds(kind: 'DATASETS_GET' | 'TABLES_LIST' | 'TABLES_GET', project: string, dataset: string, table?: string): Need[] {
  return needsRow(kind).needs.flatMap((n) => n.permissions.map((p) => needOn(kind, p, project, { dataset, table: n.on === 'target' ? (table ?? null) : null })));
}

/** Reading a job or its results: the creator with its own rows' permission, anyone else with the other's. */
export function jobReadNeeds(own: boolean, project: string): Need[] {
  const kind: NeedKind = own ? 'JOB_READ_OWN' : 'JOB_READ_OTHER';
  return needsRow(kind).needs.flatMap((n) => n.permissions.map((p) => projectNeed(p, project, kind)));
}

/** BigQuery's answer to a caller without the permission. */
export function accessDenied(n: Need): DoubleError {
  if (n.object.kind === 'Project') return new DoubleError(403, 'accessDenied', `Access Denied: Project ${n.object.id}: User does not have ${n.permission} permission in project ${n.object.id}.`);
  const what = n.object.kind === 'Dataset' ? 'dataset' : 'table';
  return new DoubleError(403, 'accessDenied', `Access Denied: ${n.object.kind} ${n.object.id}: Permission ${n.permission} denied on ${what} ${n.object.id} (or it may not exist).`);
}
