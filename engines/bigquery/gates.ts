/**
 * Checks only BigQuery needs, for the executor's gates and the readiness audit. Each returns
 * findings instead of throwing, so the caller decides severity (error in apply, warning in paper).
 */
import { assertDatasetName, assertTableName } from '../../core/identifiers';
import type { DatasetInfo } from '../../core/catalogue';
import type { CatalogReader } from './catalog';
import { tableInfoFromRest } from './catalog';
import type { JobRunner } from './jobs';
import type { RestTransport } from './rest';
import { toApiError } from './rest';
import { searchIndexesSql, SqlLocation } from './sql';

export type BigQueryGateCode =
  | 'STREAMING_BUFFER'
  | 'DATASET_DEFAULT_EXPIRATION'
  | 'DATASET_MISSING'
  | 'EXTERNAL_TABLE'
  | 'SEARCH_INDEX_DROPPED'
  | 'POLICY_TAGS_DROPPED'
  | 'PERMISSION_MISSING'
  | 'SOURCE_MISSING';

export interface GateFinding {
  readonly code: BigQueryGateCode;
  readonly severity: 'error' | 'warning';
  /** `dataset.table`, or the dataset. */
  readonly subject: string;
  readonly message: string;
}

/** Rows still in the streaming buffer: a rename (or copy/clone) must wait until it is flushed. */
export async function streamingBufferFindings(catalog: CatalogReader, dataset: string, tables: readonly string[]): Promise<GateFinding[]> {
  const out: GateFinding[] = [];
  for (const name of tables) {
    const t = await catalog.getRestTable(name, dataset);
    if (!t) {
      out.push({ code: 'SOURCE_MISSING', severity: 'error', subject: `${dataset}.${name}`, message: `table ${dataset}.${name} does not exist` });
    } else if (t.streamingBuffer) {
      out.push({
        code: 'STREAMING_BUFFER',
        severity: 'error',
        subject: `${dataset}.${name}`,
        message: `table ${dataset}.${name} has ~${t.streamingBuffer.estimatedRows ?? '?'} rows in its streaming buffer; it cannot be renamed until they are flushed (usually within 90 minutes)`,
      });
    }
  }
  return out;
}

/** A rename keeps the creation time, so a default expiration can delete a renamed table at once. */
export function datasetExpirationFindings(info: DatasetInfo): GateFinding[] {
  if (!info.exists) return [{ code: 'DATASET_MISSING', severity: 'error', subject: info.name, message: `dataset ${info.name} does not exist` }];
  if (info.defaultTableExpirationMs !== null) {
    const days = (info.defaultTableExpirationMs / 86_400_000).toFixed(1);
    return [
      {
        code: 'DATASET_DEFAULT_EXPIRATION',
        severity: 'error',
        subject: info.name,
        message: `dataset ${info.name} has a default table expiration of ${days} days; renamed tables keep their creation time and may expire at once (remove the default expiration first)`,
      },
    ];
  }
  return [];
}

/** External tables cannot be renamed (nor cloned or snapshotted). */
export async function externalTableFindings(catalog: CatalogReader, dataset: string, tables: readonly string[]): Promise<GateFinding[]> {
  const out: GateFinding[] = [];
  for (const name of tables) {
    const t = await catalog.getRestTable(name, dataset);
    if (t && (t.type === 'EXTERNAL' || t.externalDataConfiguration)) {
      out.push({ code: 'EXTERNAL_TABLE', severity: 'error', subject: `${dataset}.${name}`, message: `table ${dataset}.${name} is an external table: BigQuery cannot rename it` });
    }
  }
  return out;
}

/** Search indexes (INFORMATION_SCHEMA.SEARCH_INDEXES) and policy tags (schema) a rename would drop. */
export async function renameLossFindings(
  jobs: JobRunner,
  catalog: CatalogReader,
  loc: SqlLocation,
  tables: readonly string[],
): Promise<GateFinding[]> {
  const out: GateFinding[] = [];
  const wanted = new Set(tables);
  const res = await jobs.run({
    jobId: `bqx_gate_search_indexes_${loc.dataset}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
    query: searchIndexesSql(loc),
    labels: { bqx_kind: 'gate_search_indexes' },
    readRows: true,
  });
  for (const r of res.rows) {
    const name = String(r.table_name);
    if (wanted.has(name)) {
      out.push({ code: 'SEARCH_INDEX_DROPPED', severity: 'warning', subject: `${loc.dataset}.${name}`, message: `table ${loc.dataset}.${name} has ${String(r.indexes)} search index(es); a rename drops them (re-create after the rename)` });
    }
  }
  for (const name of tables) {
    const t = await catalog.getRestTable(name, loc.dataset);
    if (!t) continue;
    const info = tableInfoFromRest(name, t);
    if ((info.policyTags ?? 0) > 0) {
      out.push({ code: 'POLICY_TAGS_DROPPED', severity: 'warning', subject: `${loc.dataset}.${name}`, message: `table ${loc.dataset}.${name} has ${info.policyTags} column(s) with policy tags; Data Catalog tags do not follow a rename` });
    }
  }
  return out;
}

/** What the runner needs on the tables it touches (dataset grants are inherited by tables). */
export const RUNNER_TABLE_PERMISSIONS = [
  'bigquery.tables.get',
  'bigquery.tables.getData',
  'bigquery.tables.update',
  'bigquery.tables.delete',
  'bigquery.tables.create',
  'bigquery.tables.createSnapshot',
] as const;

export interface PermissionReport {
  readonly subject: string;
  readonly granted: readonly string[];
  readonly missing: readonly string[];
}

/**
 * Asks IAM (tables.testIamPermissions) which permissions the caller holds on each table, rather
 * than inferring them from configs. Table policies inherit the dataset's, so one existing table
 * per dataset answers for the dataset; `bigquery.jobs.create` is project-level and is proven by a
 * dry run (which needs it) — see `jobsCreateFinding`.
 */
export async function permissionFindings(
  rest: RestTransport,
  jobs: JobRunner,
  targets: readonly { readonly dataset: string; readonly table: string }[],
  permissions: readonly string[] = RUNNER_TABLE_PERMISSIONS,
): Promise<{ reports: PermissionReport[]; findings: GateFinding[] }> {
  const reports: PermissionReport[] = [];
  const findings: GateFinding[] = [];
  for (const t of targets) {
    assertDatasetName(t.dataset, 'dataset');
    assertTableName(t.table, 'table');
    const res = await jobs.retrying(() =>
      rest.call<{ permissions?: string[] }>({
        method: 'POST',
        path: `/datasets/${t.dataset}/tables/${t.table}:testIamPermissions`,
        body: { permissions },
      }),
    );
    const granted = res.permissions ?? [];
    const missing = permissions.filter((p) => !granted.includes(p));
    const subject = `${t.dataset}.${t.table}`;
    reports.push({ subject, granted, missing });
    if (missing.length > 0) {
      findings.push({ code: 'PERMISSION_MISSING', severity: 'error', subject, message: `the runner identity lacks ${missing.join(', ')} on ${subject}` });
    }
  }
  return { reports, findings };
}

/** A dry run needs bigquery.jobs.create on the project: accessDenied here means it is missing. */
export async function jobsCreateFinding(jobs: JobRunner, project: string): Promise<GateFinding[]> {
  try {
    await jobs.dryRun('SELECT 1');
    return [];
  } catch (e) {
    const err = toApiError(e);
    if (err.reason === 'accessDenied' || err.status === 403) {
      return [{ code: 'PERMISSION_MISSING', severity: 'error', subject: project, message: `the runner identity cannot create jobs in ${project} (bigquery.jobs.create): ${err.message}` }];
    }
    throw e;
  }
}
