/**
 * What each request to the double needs, in permissions, from the runner's permission table
 * (config/runner-permissions.ts) and nowhere else: a statement is classified the way the
 * interpreter recognises it (sql.ts), mapped to the step kind or support action of the table, and
 * that entry's needs are required on the resources the statement names (its project, the
 * dataset(s) it reads and writes, scope by scope). REST calls map to the support actions that
 * describe them (datasets.get, tables.list, tables.get, job polling).
 *
 * Denials answer like BigQuery: 403, reason accessDenied, a message naming the permission and the
 * resource ("Access Denied: Table p:d.t: Permission bigquery.tables.update denied on table p:d.t
 * (or it may not exist).").
 */
import { RUNNER_PERMISSIONS, type PermissionScope, type RunnerActionKey } from '../../../config/runner-permissions';
import { LEDGER_TABLES } from '../../../engines/bigquery/ledger';
import type { IamResource } from './iam';
import { DoubleError, key } from './types';
import type { DoubleTable } from './types';

export interface Need {
  readonly permission: string;
  readonly resource: IamResource;
  /** What BigQuery names in a denial: `Project p`, `Dataset p:d`, `Table p:d.t`. */
  readonly object: { readonly kind: 'Project' | 'Dataset' | 'Table'; readonly id: string };
  /** The table entry the need comes from. */
  readonly action: RunnerActionKey;
}

export interface Classified {
  readonly action: RunnerActionKey;
  /** Datasets (and a table of each, for messages) the statement binds to each dataset scope. */
  readonly datasets: Partial<Record<Exclude<PermissionScope, 'project'>, { dataset: string; table: string | null }[]>>;
}

const TABLE_REF = /`([^`.]+)\.([^`.]+)\.([^`.]+)`/g;
const ref = (text: string) => {
  const m = text.match(/^`([^`.]+)\.([^`.]+)\.([^`.]+)`$/);
  return m ? { project: m[1], dataset: m[2], table: m[3] } : null;
};
const refs = (sql: string) => [...sql.matchAll(TABLE_REF)].map((x) => ({ project: x[1], dataset: x[2], table: x[3] }));
const on = (r: { dataset: string; table: string | null } | null) => (r ? [{ dataset: r.dataset, table: r.table }] : []);
const LEDGER = new Set<string>(Object.values(LEDGER_TABLES));

/** Dataset-level permissions are named on the dataset in a denial; the others on the table. */
const ON_DATASET = new Set(['bigquery.tables.create', 'bigquery.tables.list', 'bigquery.datasets.get', 'bigquery.datasets.create']);

/**
 * The step kind or support action a statement is, and what it binds to each dataset scope. Null
 * when the double cannot tell (the caller refuses it: nothing unknown is authorized).
 */
export function classifyStatement(sql: string, tables: ReadonlyMap<string, DoubleTable>): Classified | null {
  let m: RegExpMatchArray | null;
  const one = (action: RunnerActionKey, feature: string | null, runner: string | null = null): Classified => {
    const f = feature ? ref(feature) : null;
    const r = runner ? ref(runner) : null;
    return { action, datasets: { ...(f ? { featureDataset: on(f) } : {}), ...(r ? { runnerDataset: on(r) } : {}) } };
  };
  if ((m = sql.match(/^ALTER TABLE (`[^`]+`) RENAME TO `[A-Za-z0-9_]+`$/))) return one('RENAME_TABLE', m[1]);
  if ((m = sql.match(/^DROP TABLE (`[^`]+`)$/))) return one('DROP_TABLE', m[1]);
  if ((m = sql.match(/^DROP VIEW (`[^`]+`)$/))) return one('DROP_VIEW', m[1]);
  if ((m = sql.match(/^CREATE SNAPSHOT TABLE (`[^`]+`) CLONE (`[^`]+`) OPTIONS/))) return one('BACKUP_TABLE', m[2], m[1]);
  if ((m = sql.match(/^CREATE TABLE (`[^`]+`) CLONE (`[^`]+`)$/))) return one('RESTORE_TABLE', m[1], m[2]);
  if ((m = sql.match(/^CREATE OR REPLACE VIEW (`[^`]+`) AS SELECT .+ FROM (`[^`]+`)/))) {
    return { action: 'CREATE_VIEW', datasets: { featureDataset: [...on(ref(m[1])), ...on(ref(m[2]))] } };
  }
  if ((m = sql.match(/^CREATE TABLE (`[^`]+`)\n(?:PARTITION BY|CLUSTER BY|AS SELECT)/))) {
    return { action: 'CONSOLIDATE', datasets: { featureDataset: refs(sql).map((r) => ({ dataset: r.dataset, table: r.table })) } };
  }
  if (/^CREATE SCHEMA IF NOT EXISTS `[^`.]+\.[^`.]+`/.test(sql)) return { action: 'RUNNER_DATASET_CREATE', datasets: {} };
  if ((m = sql.match(/^CREATE TABLE IF NOT EXISTS (`[^`]+`) \(/))) return one('LEDGER_INIT', null, m[1]);
  if ((m = sql.match(/^INSERT INTO (`[^`]+`) \([^)]+\) SELECT [^@]+ FROM UNNEST\(@rows\)$/))) return one('LEDGER_APPEND', null, m[1]);
  if ((m = sql.match(/^INSERT INTO (`[^`]+`) \(`lock_name`[\s\S]* FROM \(SELECT 1\) WHERE \(SELECT IFNULL\(MAX\(`seq`\), 0\) FROM (`[^`]+`)/))) {
    return { action: 'LOCK_APPEND', datasets: { runnerDataset: [...on(ref(m[1])), ...on(ref(m[2]))] } };
  }
  if (/^SELECT .+ FROM `[^`.]+\.region-[a-z0-9-]+`\.INFORMATION_SCHEMA\.TABLE_STORAGE\b/.test(sql)) return { action: 'CATALOG_TABLE_STORAGE', datasets: {} };
  if (/FROM `[^`.]+\.region-[a-z0-9-]+`\.INFORMATION_SCHEMA\.JOBS_BY_PROJECT\b/.test(sql)) return { action: 'JOB_HISTORY', datasets: {} };
  if ((m = sql.match(/FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.(COLUMNS|VIEWS|SEARCH_INDEXES)\b/))) {
    return { action: m[2] === 'SEARCH_INDEXES' ? 'SEARCH_INDEXES' : 'CATALOG_COLUMNS_AND_VIEWS', datasets: { featureDataset: [{ dataset: m[1], table: null }] } };
  }
  if (/^(SELECT|WITH) /.test(sql)) {
    const read = refs(sql);
    if (read.length === 0) return sql === 'SELECT 1' ? { action: 'DRY_RUN', datasets: {} } : null;
    if (read.every((r) => LEDGER.has(r.table))) return { action: 'LEDGER_READ', datasets: { runnerDataset: read.map((r) => ({ dataset: r.dataset, table: r.table })) } };
    // A view is read with getData on the view and on the table it selects from.
    const targets = read.flatMap((r) => {
      const t = tables.get(key(r.dataset, r.table));
      return t?.type === 'VIEW' && t.viewTarget ? [{ dataset: t.viewTarget.dataset, table: t.viewTarget.name }] : [];
    });
    return { action: 'VALIDATION_READ', datasets: { featureDataset: [...read.map((r) => ({ dataset: r.dataset, table: r.table })), ...targets] } };
  }
  return null;
}

/** Every permission a classified statement needs, from the table entry of its action, on the resources it names. */
export function statementNeeds(c: Classified, project: string, dryRun: boolean): Need[] {
  const needs: Need[] = [];
  const actions: RunnerActionKey[] = dryRun ? ['DRY_RUN', c.action] : [c.action];
  for (const action of actions) {
    for (const n of RUNNER_PERMISSIONS[action].needs) {
      if (n.scope === 'project') {
        for (const permission of n.permissions) needs.push({ permission, resource: { kind: 'project', project }, object: { kind: 'Project', id: project }, action });
        continue;
      }
      const bound = c.datasets[n.scope] ?? [];
      if (!bound.length) throw new DoubleError(400, 'invalidQuery', `the double cannot authorize ${action}: the statement names no ${n.scope}`);
      for (const b of bound) {
        for (const permission of n.permissions) {
          const onDataset = ON_DATASET.has(permission) || b.table === null;
          needs.push({
            permission,
            resource: { kind: 'dataset', project, dataset: b.dataset },
            object: onDataset ? { kind: 'Dataset', id: `${project}:${b.dataset}` } : { kind: 'Table', id: `${project}:${b.dataset}.${b.table}` },
            action,
          });
        }
      }
    }
  }
  return needs;
}

/** What the engine's REST calls need (the table's support actions that describe them). */
export function restNeed(kind: 'datasets.get' | 'tables.list' | 'tables.get', project: string, dataset: string, table?: string): Need {
  const resource: IamResource = { kind: 'dataset', project, dataset };
  if (kind === 'datasets.get') return { permission: 'bigquery.datasets.get', resource, object: { kind: 'Dataset', id: `${project}:${dataset}` }, action: 'CATALOG_DATASET' };
  if (kind === 'tables.list') return { permission: 'bigquery.tables.list', resource, object: { kind: 'Dataset', id: `${project}:${dataset}` }, action: 'CATALOG_LIST' };
  return { permission: 'bigquery.tables.get', resource, object: { kind: 'Table', id: `${project}:${dataset}.${table}` }, action: 'CATALOG_GET' };
}

export function projectNeed(permission: string, project: string): Need {
  return { permission, resource: { kind: 'project', project }, object: { kind: 'Project', id: project }, action: 'JOB_POLLING' };
}

/** BigQuery's answer to a caller without the permission. */
export function accessDenied(n: Need): DoubleError {
  if (n.object.kind === 'Project') return new DoubleError(403, 'accessDenied', `Access Denied: Project ${n.object.id}: User does not have ${n.permission} permission in project ${n.object.id}.`);
  const what = n.object.kind === 'Dataset' ? 'dataset' : 'table';
  return new DoubleError(403, 'accessDenied', `Access Denied: ${n.object.kind} ${n.object.id}: Permission ${n.permission} denied on ${what} ${n.object.id} (or it may not exist).`);
}
