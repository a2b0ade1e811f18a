/**
 * Which of the runner's permissions the engine's identity holds, asked without changing anything.
 *
 * - project: Resource Manager `projects.testIamPermissions` (BigQuery has no project-level call).
 * - a dataset: BigQuery has no dataset-level testIamPermissions. Table permissions are asked with
 *   `tables.testIamPermissions` on one existing table of the dataset (the feature dataset: a table
 *   the caller names, else the first listed; the runner dataset: its `ledger` table), which covers
 *   the dataset because the runner's roles are granted on the dataset and a table inherits them.
 *   `bigquery.datasets.get` is asked by use: a `datasets.get` of the dataset (read-only). Anything
 *   else cannot be asked and is reported as untested.
 *
 * testIamPermissions "may fail open" (https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/testIamPermissions):
 * a permission it reports may still be refused. The paper run's first batch stays the second line
 * of defence; readiness says so.
 */
import type { PermissionScope, PermissionTest } from '../../core/ports/engine';
import type { Identity } from './credentials';
import type { JobRunner } from './jobs';
import { LEDGER_TABLES } from './ledger';
import { BigQueryApiError, RestTransport, toApiError } from './rest';

export const RESOURCE_MANAGER = 'https://cloudresourcemanager.googleapis.com';

export interface PermissionContext {
  readonly project: string;
  readonly dataset: string;
  readonly runnerDataset: string;
  readonly rest: RestTransport;
  readonly jobs: JobRunner;
  readonly identity: Identity;
  /** Resource Manager base URL; null when it must not be asked (a test BigQuery endpoint without a test Google endpoint). */
  readonly resourceManager: string | null;
}

const DATASET_GET = 'bigquery.datasets.get';

async function status(f: () => Promise<unknown>): Promise<number> {
  try {
    await f();
    return 200;
  } catch (e) {
    const err = toApiError(e);
    if (err.status === 403 || err.status === 404) return err.status;
    throw err;
  }
}

async function projectTest(ctx: PermissionContext, permissions: readonly string[]): Promise<PermissionTest> {
  const resource = `project ${ctx.project}`;
  if (ctx.resourceManager === null) {
    return { resource, granted: [], untested: [...permissions], how: 'not asked: a test BigQuery endpoint is in use and no test endpoint for Resource Manager was given (a test token is never sent to Google)' };
  }
  const url = `${ctx.resourceManager.replace(/\/$/, '')}/v1/projects/${encodeURIComponent(ctx.project)}:testIamPermissions`;
  const answer = await ctx.jobs.retrying(async () => {
    const headers = await ctx.identity.headers();
    headers.set('content-type', 'application/json');
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ permissions }), signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new BigQueryApiError(0, 'networkError', `Resource Manager projects.testIamPermissions: ${(e as Error).message}`);
    }
    const text = await res.text();
    const body = (text ? JSON.parse(text) : {}) as { permissions?: string[]; error?: { message?: string; status?: string } };
    if (res.status !== 200) throw new BigQueryApiError(res.status, body.error?.status ?? 'unknown', `Resource Manager projects.testIamPermissions: HTTP ${res.status}: ${body.error?.message ?? text.slice(0, 200)}`);
    return body;
  });
  const said = new Set(answer.permissions ?? []);
  return { resource, granted: permissions.filter((p) => said.has(p)), untested: [], how: `Resource Manager projects.testIamPermissions on ${ctx.project} for ${permissions.length} permission(s)` };
}

/**
 * tables.testIamPermissions on one existing table of the dataset: the caller's hint, the runner
 * dataset's ledger table, else (or when the hint no longer exists, e.g. renamed by an earlier run)
 * the first table listed. `said` null: no table to ask on.
 */
async function askOnATable(
  ctx: PermissionContext,
  scope: 'featureDataset' | 'runnerDataset',
  dataset: string,
  tablePerms: readonly string[],
  hint: string | undefined,
): Promise<{ said: Set<string> | null; how: string; listRefused: boolean }> {
  const tried: string[] = [];
  let listRefused = false;
  const listFirst = async (): Promise<string | null> => {
    try {
      const page = await ctx.jobs.retrying(() => ctx.rest.call<{ tables?: { tableReference?: { tableId?: string } }[] }>({ method: 'GET', path: `/datasets/${dataset}/tables`, query: { maxResults: 1 } }));
      return page.tables?.[0]?.tableReference?.tableId ?? null;
    } catch (e) {
      const err = toApiError(e);
      if (err.status !== 403 && err.status !== 404) throw err;
      listRefused = err.status === 403;
      tried.push(`tables.list of ${dataset} answered ${err.status} ${err.reason}`);
      return null;
    }
  };
  const first = hint ?? (scope === 'runnerDataset' ? LEDGER_TABLES.ledger : await listFirst());
  for (let table = first, round = 0; table !== null && round < 2; round++) {
    const t = table;
    const answer = await ctx.jobs.retrying(() =>
      ctx.rest.call<{ permissions?: string[] }>({ method: 'POST', path: `/datasets/${dataset}/tables/${encodeURIComponent(t)}:testIamPermissions`, body: { permissions: tablePerms } }),
    );
    const said = new Set(answer.permissions ?? []);
    // An empty answer is also what a missing table gets: a tables.get tells the two apart
    // (404: no such table, nothing was asked; 403: tables.get itself is refused).
    const missing = said.size === 0 && (await status(() => ctx.jobs.retrying(() => ctx.rest.call({ method: 'GET', path: `/datasets/${dataset}/tables/${encodeURIComponent(t)}` })))) === 404;
    if (!missing) return { said, how: `tables.testIamPermissions on ${dataset}.${t} for ${tablePerms.length} table permission(s) (a dataset's grants reach its tables)`, listRefused };
    tried.push(`${dataset}.${t} does not exist${scope === 'runnerDataset' && t === LEDGER_TABLES.ledger ? ' yet' : ''}`);
    // The runner dataset is asked on its ledger table only: its other tables are backups that expire.
    table = scope === 'featureDataset' && round === 0 && hint !== undefined ? await listFirst() : null;
  }
  const more =
    scope === 'runnerDataset'
      ? '; the paper run creates the ledger tables (and stops at its first write refused without them); readiness after the paper run asks on them'
      : '';
  return { said: null, how: `${tablePerms.length} table permission(s) not asked: ${tried.join(', ') || `no table in ${dataset}`} (BigQuery has no dataset-level testIamPermissions)${more}`, listRefused };
}

async function datasetTest(ctx: PermissionContext, scope: 'featureDataset' | 'runnerDataset', permissions: readonly string[], hint: string | undefined): Promise<PermissionTest> {
  const dataset = scope === 'featureDataset' ? ctx.dataset : ctx.runnerDataset;
  const resource = `dataset ${ctx.project}:${dataset}`;
  const granted: string[] = [];
  const untested: string[] = [];
  const how: string[] = [];
  const tablePerms = permissions.filter((p) => p.startsWith('bigquery.tables.'));
  const rest = permissions.filter((p) => !p.startsWith('bigquery.tables.') && p !== DATASET_GET);

  if (permissions.includes(DATASET_GET)) {
    const s = await status(() => ctx.jobs.retrying(() => ctx.rest.call({ method: 'GET', path: `/datasets/${dataset}` })));
    if (s === 200) granted.push(DATASET_GET);
    else if (s === 404) untested.push(DATASET_GET);
    how.push(`${DATASET_GET} by a datasets.get of ${dataset} (${s === 200 ? 'answered' : s === 403 ? 'refused: accessDenied' : 'not found'})`);
  }

  if (tablePerms.length) {
    const asked = await askOnATable(ctx, scope, dataset, tablePerms, hint);
    how.push(asked.how);
    if (asked.said === null) {
      // A refused listing is itself the answer for bigquery.tables.list (asked by use).
      untested.push(...tablePerms.filter((p) => !(asked.listRefused && p === 'bigquery.tables.list')));
    } else {
      granted.push(...tablePerms.filter((p) => asked.said!.has(p)));
    }
  }
  if (rest.length) {
    untested.push(...rest);
    how.push(`${rest.join(', ')}: no API answers for a dataset`);
  }
  return { resource, granted: permissions.filter((p) => granted.includes(p)), untested: permissions.filter((p) => untested.includes(p)), how: how.join('; ') };
}

export function testPermissions(ctx: PermissionContext, scope: PermissionScope, permissions: readonly string[], opts: { table?: string } = {}): Promise<PermissionTest> {
  return scope === 'project' ? projectTest(ctx, permissions) : datasetTest(ctx, scope, permissions, scope === 'featureDataset' ? opts.table : undefined);
}
