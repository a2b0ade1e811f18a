/**
 * What Google says each request needs, written down from Google's pages and nowhere else: the
 * doubles (the BigQuery double's authorizer, the double of the other Google APIs) decide what a
 * request needs from these rows, never from the project's own permission table
 * (config/runner-permissions.ts). The table is then checked against these rows
 * (__tests__/bigquery/needs-fixture.test.ts: it covers every row the engines reach) and against the
 * runs (__tests__/bigquery/iam-e2e.test.ts: each permission of the table, taken away, denies a verb
 * the runner runs). A permission the table grants and no row needs is unproven, and those tests say
 * which.
 *
 * Format (kept flat so a row can be added by hand): one row per statement or API call kind.
 *  - `kind`: the name the authorizer classifies a request as (authorize.ts).
 *  - `call`: its shape, as the engines emit it.
 *  - `needs`: permissions, each on one resource of the request:
 *      `project`       the project the job or call runs in,
 *      `target`        the table (or view, snapshot) the statement changes, or the call names,
 *      `targetDataset` the dataset the statement creates a table in, or the call names,
 *      `source`        each table or view the statement reads (for a view: its tables too),
 *      `object`        a Cloud Storage object, `job` a Cloud Run job.
 *    `ifTargetExists`: only when the target is already there (CREATE OR REPLACE over an existing view;
 *    objects.insert over an existing name).
 *  - `doc`: Google's page, `says`: what it says there (paraphrased; checked 2026-12-07).
 * Rows are BigQuery permissions held on the dataset (IAM is granted on datasets: a dataset binding
 * reaches its tables), the project (jobs), a bucket's objects or a job.
 */

export type NeedOn = 'project' | 'target' | 'targetDataset' | 'source' | 'object' | 'job';

export interface FixtureNeed {
  readonly on: NeedOn;
  readonly permissions: readonly string[];
  readonly ifTargetExists?: true;
}

export interface NeedsRow {
  readonly kind: string;
  readonly call: string;
  readonly needs: readonly FixtureNeed[];
  readonly doc: string;
  readonly says: string;
}

const BQ = 'https://cloud.google.com/bigquery/docs';

export const NEEDS_FIXTURE = [
  {
    kind: 'QUERY_JOB',
    call: 'POST /jobs (jobs.insert of a query job, dry runs included), before the statement itself',
    needs: [{ on: 'project', permissions: ['bigquery.jobs.create'] }],
    doc: `${BQ}/running-queries#required_permissions`,
    says: 'to run a query job you need bigquery.jobs.create on the project the job runs in, and the permissions of what the query reads or writes',
  },
  {
    kind: 'DRY_RUN',
    call: 'POST /jobs with configuration.dryRun = true',
    needs: [{ on: 'project', permissions: ['bigquery.jobs.create'] }],
    doc: `${BQ}/running-queries#dry-run`,
    says: 'a dry run is a query job that is validated but not executed: the same permissions as the query (its statement row applies too)',
  },
  {
    kind: 'JOB_READ_OWN',
    call: 'GET /jobs/{id} (jobs.get), GET /queries/{id} (jobs.getQueryResults) of a job the caller created',
    needs: [{ on: 'project', permissions: ['bigquery.jobs.create'] }],
    doc: `${BQ}/access-control#bq-permissions`,
    says: 'bigquery.jobs.create runs jobs and lets their creator read them and their results; bigquery.jobs.get is for jobs of other principals',
  },
  {
    kind: 'JOB_READ_OTHER',
    call: 'GET /jobs/{id}, GET /queries/{id} of a job someone else created',
    needs: [{ on: 'project', permissions: ['bigquery.jobs.get'] }],
    doc: `${BQ}/access-control#bq-permissions`,
    says: 'bigquery.jobs.get: get data and metadata on any job',
  },
  {
    kind: 'CREATE_TABLE_AS_SELECT',
    call: 'CREATE TABLE `p.d.t` [PARTITION BY …] [CLUSTER BY …] AS SELECT … FROM `p.d.s` …',
    needs: [
      { on: 'targetDataset', permissions: ['bigquery.tables.create', 'bigquery.tables.updateData'] },
      { on: 'source', permissions: ['bigquery.tables.getData'] },
    ],
    doc: `${BQ}/tables#required_permissions`,
    says: 'creating a table from a query result: bigquery.tables.create and bigquery.tables.updateData on the dataset; getData on the tables the query reads (running-queries)',
  },
  {
    kind: 'ALTER_TABLE_RENAME',
    call: 'ALTER TABLE `p.d.t` RENAME TO `t2`',
    needs: [{ on: 'target', permissions: ['bigquery.tables.get', 'bigquery.tables.update'] }],
    doc: `${BQ}/managing-tables#renaming-table`,
    says: 'renaming is an update of the table: bigquery.tables.update and bigquery.tables.get on it',
  },
  {
    kind: 'DROP_TABLE',
    call: 'DROP TABLE `p.d.t`',
    needs: [{ on: 'target', permissions: ['bigquery.tables.get', 'bigquery.tables.delete'] }],
    doc: `${BQ}/managing-tables#deleting_a_table`,
    says: 'to delete a table: bigquery.tables.delete and bigquery.tables.get',
  },
  {
    kind: 'CREATE_SNAPSHOT_TABLE',
    call: 'CREATE SNAPSHOT TABLE `p.r.bk` CLONE `p.d.t` OPTIONS (expiration_timestamp = …)',
    needs: [
      { on: 'source', permissions: ['bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.createSnapshot', 'bigquery.datasets.get', 'bigquery.tables.deleteSnapshot'] },
      { on: 'targetDataset', permissions: ['bigquery.tables.create', 'bigquery.tables.updateData'] },
    ],
    doc: `${BQ}/table-snapshots-create#permissions_and_roles`,
    says:
      'on the table to snapshot: tables.get, tables.getData, tables.createSnapshot, datasets.get (and jobs.create); with an expiration time also ' +
      'tables.deleteSnapshot; on the dataset that receives the snapshot: tables.create, tables.updateData',
  },
  {
    kind: 'CREATE_TABLE_CLONE_OF_SNAPSHOT',
    call: 'CREATE TABLE `p.d.t` CLONE `p.r.bk`',
    needs: [
      { on: 'source', permissions: ['bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.restoreSnapshot'] },
      { on: 'targetDataset', permissions: ['bigquery.tables.create'] },
    ],
    doc: `${BQ}/table-snapshots-restore#permissions_and_roles`,
    says: 'on the snapshot copied into a writable table: tables.get, tables.getData, tables.restoreSnapshot; on the destination dataset: tables.create',
  },
  {
    kind: 'CREATE_OR_REPLACE_VIEW',
    call: 'CREATE OR REPLACE VIEW `p.d.v` AS SELECT … FROM `p.d.t`',
    needs: [
      { on: 'targetDataset', permissions: ['bigquery.tables.create'] },
      { on: 'target', permissions: ['bigquery.tables.get', 'bigquery.tables.update'], ifTargetExists: true },
    ],
    doc: `${BQ}/views#required_permissions`,
    says: `a view is created with bigquery.tables.create on the dataset; replacing an existing one updates it: tables.update and tables.get (${BQ}/updating-views#required_permissions)`,
  },
  {
    kind: 'DROP_VIEW',
    call: 'DROP VIEW `p.d.v`',
    needs: [{ on: 'target', permissions: ['bigquery.tables.get', 'bigquery.tables.delete'] }],
    doc: `${BQ}/managing-views#delete_views`,
    says: 'to delete a view: bigquery.tables.delete and bigquery.tables.get',
  },
  {
    kind: 'CREATE_SCHEMA',
    call: 'CREATE SCHEMA IF NOT EXISTS `p.r`',
    needs: [{ on: 'project', permissions: ['bigquery.datasets.create'] }],
    doc: `${BQ}/reference/rest/v2/datasets/insert`,
    says: 'creating a dataset requires bigquery.datasets.create on the project',
  },
  {
    kind: 'CREATE_TABLE_IF_NOT_EXISTS',
    call: 'CREATE TABLE IF NOT EXISTS `p.r.t` (…) CLUSTER BY …',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.tables.create'] }],
    doc: `${BQ}/tables#required_permissions`,
    says: 'to create a table: bigquery.tables.create on the dataset',
  },
  {
    kind: 'INSERT_FROM_PARAMETER',
    call: 'INSERT INTO `p.r.t` (…) SELECT … FROM UNNEST(@rows)',
    needs: [{ on: 'target', permissions: ['bigquery.tables.updateData'] }],
    doc: `${BQ}/reference/standard-sql/data-manipulation-language`,
    says: 'INSERT writes table data: bigquery.tables.updateData on the table (reading no table, it needs no getData)',
  },
  {
    kind: 'INSERT_GUARDED',
    call: 'INSERT INTO `p.r.t` (…) SELECT @… FROM (SELECT 1) WHERE (SELECT … FROM `p.r.t` …) = …',
    needs: [
      { on: 'target', permissions: ['bigquery.tables.updateData'] },
      { on: 'source', permissions: ['bigquery.tables.getData'] },
    ],
    doc: `${BQ}/reference/standard-sql/data-manipulation-language`,
    says: 'INSERT needs tables.updateData on the table written; the subquery reads it: tables.getData on the tables read',
  },
  {
    kind: 'SELECT',
    call: 'SELECT … FROM `p.d.t` … (a view: getData on the view and the tables it reads)',
    needs: [{ on: 'source', permissions: ['bigquery.tables.getData'] }],
    doc: `${BQ}/running-queries#required_permissions`,
    says: 'bigquery.tables.getData on all tables and views the query references',
  },
  {
    kind: 'INFORMATION_SCHEMA_COLUMNS',
    call: 'SELECT … FROM `p.d`.INFORMATION_SCHEMA.COLUMNS',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.list'] }],
    doc: `${BQ}/information-schema-columns#required_permissions`,
    says: 'bigquery.tables.get and bigquery.tables.list; a dataset-qualified query needs them on the dataset',
  },
  {
    kind: 'INFORMATION_SCHEMA_VIEWS',
    call: 'SELECT … FROM `p.d`.INFORMATION_SCHEMA.VIEWS',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.list'] }],
    doc: `${BQ}/information-schema-views#required_permissions`,
    says: 'bigquery.tables.get and bigquery.tables.list on the dataset',
  },
  {
    kind: 'INFORMATION_SCHEMA_SEARCH_INDEXES',
    call: 'SELECT … FROM `p.d`.INFORMATION_SCHEMA.SEARCH_INDEXES',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.list'] }],
    doc: `${BQ}/information-schema-indexes#required_permissions`,
    says: 'bigquery.tables.get and bigquery.tables.list on the dataset',
  },
  {
    kind: 'INFORMATION_SCHEMA_PARTITIONS',
    call: 'SELECT … FROM `p.d`.INFORMATION_SCHEMA.PARTITIONS WHERE table_name IN UNNEST(@tables) …',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.list'] }],
    doc: `${BQ}/information-schema-partitions#required_permissions`,
    says: 'bigquery.tables.get and bigquery.tables.list; the view must be dataset-qualified (permissions on the dataset); at most 1,000 tables per query',
  },
  {
    kind: 'INFORMATION_SCHEMA_JOBS_BY_PROJECT',
    call: 'SELECT … FROM `p.region-…`.INFORMATION_SCHEMA.JOBS_BY_PROJECT WHERE creation_time >= @since …',
    needs: [{ on: 'project', permissions: ['bigquery.jobs.listAll'] }],
    doc: `${BQ}/information-schema-jobs#required_permissions`,
    says: 'to query INFORMATION_SCHEMA.JOBS (JOBS_BY_PROJECT) you need bigquery.jobs.listAll on the project; JOBS_BY_USER needs only bigquery.jobs.list and shows the caller\'s own jobs',
  },
  {
    kind: 'DATASETS_GET',
    call: 'GET /datasets/{d} (datasets.get)',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.datasets.get'] }],
    doc: `${BQ}/reference/rest/v2/datasets/get`,
    says: 'requires bigquery.datasets.get on the dataset',
  },
  {
    kind: 'TABLES_LIST',
    call: 'GET /datasets/{d}/tables (tables.list)',
    needs: [{ on: 'targetDataset', permissions: ['bigquery.tables.list'] }],
    doc: `${BQ}/reference/rest/v2/tables/list`,
    says: 'requires bigquery.tables.list on the dataset',
  },
  {
    kind: 'TABLES_GET',
    call: 'GET /datasets/{d}/tables/{t} (tables.get)',
    needs: [{ on: 'target', permissions: ['bigquery.tables.get'] }],
    doc: `${BQ}/reference/rest/v2/tables/get`,
    says: 'requires bigquery.tables.get on the table',
  },
  {
    kind: 'STORAGE_OBJECTS_INSERT',
    call: 'POST /upload/storage/v1/b/{b}/o?name={o} (objects.insert)',
    needs: [
      { on: 'object', permissions: ['storage.objects.create'] },
      { on: 'object', permissions: ['storage.objects.delete'], ifTargetExists: true },
    ],
    doc: 'https://cloud.google.com/storage/docs/json_api/v1/objects/insert',
    says: 'requires storage.objects.create; over an existing object of the same name also storage.objects.delete',
  },
  {
    kind: 'STORAGE_OBJECTS_DELETE',
    call: 'DELETE /storage/v1/b/{b}/o/{o} (objects.delete)',
    needs: [{ on: 'object', permissions: ['storage.objects.delete'] }],
    doc: 'https://cloud.google.com/storage/docs/json_api/v1/objects/delete',
    says: 'requires storage.objects.delete on the object',
  },
  {
    kind: 'RUN_JOBS_GET',
    call: 'GET /v2/projects/{p}/locations/{l}/jobs/{j} (Cloud Run jobs.get)',
    needs: [{ on: 'job', permissions: ['run.jobs.get'] }],
    doc: 'https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/get',
    says: 'requires run.jobs.get on the job',
  },
] as const satisfies readonly NeedsRow[];

export type NeedKind = (typeof NEEDS_FIXTURE)[number]['kind'];

const BY_KIND = new Map<string, NeedsRow>(NEEDS_FIXTURE.map((r) => [r.kind, r]));

/** The row of a kind (every kind the authorizer classifies has one). */
export function needsRow(kind: NeedKind): NeedsRow {
  return BY_KIND.get(kind)!;
}

/** The permissions a row needs on one of its resources (`targetExists` decides the conditional ones). */
export function needsOn(kind: NeedKind, on: NeedOn, targetExists = false): string[] {
  return needsRow(kind)
    .needs.filter((n) => n.on === on && (!n.ifTargetExists || targetExists))
    .flatMap((n) => [...n.permissions]);
}
