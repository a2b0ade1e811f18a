import { PERMISSION_SCOPES, type PermissionScope, type StepKind } from '../core/ports/engine';
import { PREDEFINED_ROLES } from './predefined-roles';

/**
 * The migration runner's permission model, as data: for everything the BigQuery engine emits
 * (engines/bigquery/{sql,ledger,catalog,engine,jobs,rename-loss}.ts), the IAM permissions it needs
 * and where. One table, read by
 *  - the stacks, which grant the runner exactly `permissionsFor(scope)` as custom roles
 *    (config/environments.ts → iam.customRoles; a test proves synthesized grants ⊇ this table),
 *  - readiness, which asks testIamPermissions for `testablePermissions(scope)`,
 *  - the REST double, which enforces what the synthesized grants hold (config/predefined-roles.ts
 *    `rolePermissions` maps a granted role, predefined or custom, to its permissions).
 *
 * Scopes: `project` (the environment's project: jobs, region-qualified INFORMATION_SCHEMA),
 * `featureDataset` (the dataset with role `features`, which the runner remediates) and
 * `runnerDataset` (the dataset with role `ledger`: ledger, runs, lock, backups). `scopeTargets(env)`
 * names them for an environment.
 *
 * Every permission fact is cited to Google's documentation in `doc` (checked 2026-12-01). Where Google's page names the permission on a
 * parent resource (a dataset for tables it holds, the project for region-qualified views), the
 * scope here is that parent: BigQuery IAM is granted on datasets, and a dataset-level binding covers
 * its tables.
 */

export { PERMISSION_SCOPES, type PermissionScope };

/** What the runner does besides executing plan steps. */
export const RUNNER_SUPPORT_ACTIONS = [
  'RUNNER_DATASET_CREATE',
  'RUNNER_DATASET_READ',
  'LEDGER_INIT',
  'LEDGER_APPEND',
  'LEDGER_READ',
  'LOCK_APPEND',
  'CATALOG_DATASET',
  'CATALOG_LIST',
  'CATALOG_GET',
  'CATALOG_COLUMNS_AND_VIEWS',
  'CATALOG_STORAGE',
  'RUNNER_DATASET_LIST',
  'SEARCH_INDEXES',
  'DRY_RUN',
  'VALIDATION_READ',
  'JOB_POLLING',
  'JOB_HISTORY',
] as const;
export type RunnerSupportAction = (typeof RUNNER_SUPPORT_ACTIONS)[number];

/** Every step kind the executor asks the engine to run (core/ports/engine.ts `StepKind`). */
export const RUNNER_STEP_KINDS = ['RENAME_TABLE', 'BACKUP_TABLE', 'DROP_TABLE', 'RESTORE_TABLE', 'CONSOLIDATE', 'CREATE_VIEW', 'DROP_VIEW'] as const satisfies readonly StepKind[];
export type RunnerActionKey = StepKind | RunnerSupportAction;

export interface PermissionNeed<S extends string = PermissionScope> {
  readonly scope: S;
  readonly permissions: readonly string[];
  /** Google's page that states the fact. */
  readonly doc: string;
  /** What the page says, where it is not just "these permissions on this resource". */
  readonly note?: string;
}

export interface RunnerAction<S extends string = PermissionScope> {
  /** The statement or API call, as the engine (or, beyond BigQuery, the CLI) emits it. */
  readonly emits: string;
  /** Where it is emitted. */
  readonly source: string;
  readonly needs: readonly PermissionNeed<S>[];
  /**
   * `granted`: the stacks grant every need. `avoided`: deliberately not granted (a broad
   * permission the engine must stop needing); `reason` says what replaces it.
   */
  readonly status: 'granted' | 'avoided';
  readonly reason?: string;
}

// Google's pages, one constant each (a fact is cited where it is used).
const DOCS = {
  ddl: 'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#required_permissions',
  renameTable: 'https://cloud.google.com/bigquery/docs/managing-tables#renaming-table',
  deleteTable: 'https://cloud.google.com/bigquery/docs/managing-tables#deleting_a_table',
  snapshotCreate: 'https://cloud.google.com/bigquery/docs/table-snapshots-create#permissions_and_roles',
  snapshotDelete: 'https://cloud.google.com/bigquery/docs/table-snapshots-delete#permissions_and_roles',
  snapshotRestore: 'https://cloud.google.com/bigquery/docs/table-snapshots-restore#permissions_and_roles',
  cloneCreate: 'https://cloud.google.com/bigquery/docs/table-clones-create#permissions_and_roles',
  createTable: 'https://cloud.google.com/bigquery/docs/tables#required_permissions',
  createView: 'https://cloud.google.com/bigquery/docs/views#required_permissions',
  updateView: 'https://cloud.google.com/bigquery/docs/updating-views#required_permissions',
  deleteView: 'https://cloud.google.com/bigquery/docs/managing-views#delete_views',
  dml: 'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-manipulation-language',
  createSchema: 'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#create_schema_statement',
  datasetsInsert: 'https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets/insert',
  datasetsGet: 'https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets/get',
  tablesList: 'https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/list',
  tablesGet: 'https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/get',
  isColumns: 'https://cloud.google.com/bigquery/docs/information-schema-columns#required_permissions',
  isViews: 'https://cloud.google.com/bigquery/docs/information-schema-views#required_permissions',
  isPartitions: 'https://cloud.google.com/bigquery/docs/information-schema-partitions#required_permissions',
  isIndexes: 'https://cloud.google.com/bigquery/docs/information-schema-indexes#required_permissions',
  isJobs: 'https://cloud.google.com/bigquery/docs/information-schema-jobs#required_permissions',
  runQuery: 'https://cloud.google.com/bigquery/docs/running-queries#required_permissions',
  dryRun: 'https://cloud.google.com/bigquery/docs/running-queries#dry-run',
  accessControl: 'https://cloud.google.com/bigquery/docs/access-control#bq-permissions',
} as const;

const JOBS = (doc: string = DOCS.ddl): PermissionNeed => ({
  scope: 'project',
  permissions: ['bigquery.jobs.create'],
  doc,
  note: 'every statement runs as a query job; jobs are created in the project',
});

export const RUNNER_PERMISSIONS: Readonly<Record<RunnerActionKey, RunnerAction>> = {
  // ---- plan steps (engines/bigquery/sql.ts renderStep) ----------------------------------------
  RENAME_TABLE: {
    emits: 'ALTER TABLE `p.feature.t` RENAME TO `t2`',
    source: 'engines/bigquery/sql.ts renderStep RENAME_TABLE',
    status: 'granted',
    needs: [
      JOBS(),
      {
        scope: 'featureDataset',
        // The table keeps its dataset; its name changes: update on the table, and the name it
        // takes is a new table id in the dataset, the name it leaves a removed one.
        permissions: ['bigquery.tables.get', 'bigquery.tables.update', 'bigquery.tables.create', 'bigquery.tables.delete'],
        doc: DOCS.renameTable,
        note:
          'the page grants roles/bigquery.dataEditor for renaming; tables.get/update are the table-update permissions of that page, ' +
          'tables.create/delete are listed because the rename creates a name and removes one (both are needed by other steps anyway)',
      },
    ],
  },
  BACKUP_TABLE: {
    emits: 'CREATE SNAPSHOT TABLE `p.runner.bk_…` CLONE `p.feature.t` OPTIONS (expiration_timestamp = …)',
    source: 'engines/bigquery/sql.ts renderStep BACKUP_TABLE',
    status: 'granted',
    needs: [
      JOBS(DOCS.snapshotCreate),
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.createSnapshot', 'bigquery.datasets.get', 'bigquery.tables.deleteSnapshot'],
        doc: DOCS.snapshotCreate,
        note:
          'on the table to snapshot; "to create a snapshot with an expiration time you must have bigquery.tables.deleteSnapshot" ' +
          '(only dataOwner, admin and studioAdmin carry it: roles/bigquery.dataEditor does not)',
      },
      {
        scope: 'runnerDataset',
        permissions: ['bigquery.tables.create', 'bigquery.tables.updateData'],
        doc: DOCS.snapshotCreate,
        note: 'create/updateData on the dataset that receives the snapshot (deleteSnapshot is asked on the table snapshotted, not where the snapshot lands)',
      },
    ],
  },
  DROP_TABLE: {
    emits: 'DROP TABLE `p.feature.t`',
    source: 'engines/bigquery/sql.ts renderStep DROP_TABLE',
    status: 'granted',
    needs: [JOBS(), { scope: 'featureDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.delete'], doc: DOCS.deleteTable }],
  },
  RESTORE_TABLE: {
    emits: 'CREATE TABLE `p.feature.t` CLONE `p.runner.bk_…`',
    source: 'engines/bigquery/sql.ts renderStep RESTORE_TABLE',
    status: 'granted',
    needs: [
      JOBS(DOCS.snapshotRestore),
      {
        scope: 'runnerDataset',
        permissions: ['bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.restoreSnapshot'],
        doc: DOCS.snapshotRestore,
        note: 'on the table snapshot copied into a writable table',
      },
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.create', 'bigquery.tables.updateData'],
        doc: DOCS.snapshotRestore,
        note: `tables.create on the destination dataset (restore page); tables.updateData too for a CLONE destination (${DOCS.cloneCreate})`,
      },
    ],
  },
  CONSOLIDATE: {
    emits: 'CREATE TABLE `p.feature.t` PARTITION BY DATE(c) CLUSTER BY … AS SELECT … FROM `p.feature.w45` FULL OUTER JOIN …',
    source: 'engines/bigquery/sql.ts renderConsolidation',
    status: 'granted',
    needs: [
      JOBS(DOCS.createTable),
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.create', 'bigquery.tables.updateData', 'bigquery.tables.get', 'bigquery.tables.getData'],
        doc: DOCS.createTable,
        note: 'tables.create (and updateData for the query results) on the dataset; tables.getData on every table the query reads (same dataset)',
      },
    ],
  },
  CREATE_VIEW: {
    emits: 'CREATE OR REPLACE VIEW `p.feature.old_name` AS SELECT … FROM `p.feature.new_name`',
    source: 'engines/bigquery/sql.ts renderStep CREATE_VIEW',
    status: 'granted',
    needs: [
      JOBS(DOCS.createView),
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.create', 'bigquery.tables.getData'],
        doc: DOCS.createView,
        note: 'a view is a table resource: tables.create; tables.getData on the tables the view query references',
      },
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.get', 'bigquery.tables.update'],
        doc: DOCS.updateView,
        note: 'OR REPLACE updates an existing view (a re-run after a crash replaces the view it made)',
      },
    ],
  },
  DROP_VIEW: {
    emits: 'DROP VIEW `p.feature.old_name`',
    source: 'engines/bigquery/sql.ts renderStep DROP_VIEW',
    status: 'granted',
    needs: [JOBS(), { scope: 'featureDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.delete'], doc: DOCS.deleteView }],
  },

  // ---- the runner dataset (engines/bigquery/ledger.ts) -----------------------------------------
  RUNNER_DATASET_CREATE: {
    emits: "CREATE SCHEMA IF NOT EXISTS `p.runner` OPTIONS (location = …)",
    source: 'engines/bigquery/ledger.ts createSchemaSql (first statement of BigQueryLedgerStore.init)',
    status: 'avoided',
    reason:
      'creating a dataset needs bigquery.datasets.create on the whole project, and the statement is authorized before IF NOT EXISTS ' +
      'is evaluated, so it fails even when the dataset exists. The data stack declares the runner dataset; the engine must check it ' +
      'with datasets.get (RUNNER_DATASET_READ) and skip CREATE SCHEMA when it exists (change requested in engines/bigquery/ledger.ts).',
    needs: [
      JOBS(DOCS.createSchema),
      { scope: 'project', permissions: ['bigquery.datasets.create'], doc: DOCS.datasetsInsert, note: '"Requires the bigquery.datasets.create permission on the project"' },
    ],
  },
  RUNNER_DATASET_READ: {
    emits: 'GET /datasets/{runner} (datasets.get)',
    source: 'engines/bigquery/catalog.ts datasetInfo (readiness; the existence check that replaces CREATE SCHEMA)',
    status: 'granted',
    needs: [{ scope: 'runnerDataset', permissions: ['bigquery.datasets.get'], doc: DOCS.datasetsGet }],
  },
  LEDGER_INIT: {
    emits: 'CREATE TABLE IF NOT EXISTS `p.runner.{ledger,runs,lock_events}` (…) CLUSTER BY …',
    source: 'engines/bigquery/ledger.ts createTableSql',
    status: 'granted',
    needs: [JOBS(DOCS.createTable), { scope: 'runnerDataset', permissions: ['bigquery.tables.create', 'bigquery.tables.get'], doc: DOCS.createTable }],
  },
  LEDGER_APPEND: {
    emits: 'INSERT INTO `p.runner.{ledger,runs}` (…) SELECT … FROM UNNEST(@rows)',
    source: 'engines/bigquery/ledger.ts insertSql',
    status: 'granted',
    needs: [JOBS(DOCS.dml), { scope: 'runnerDataset', permissions: ['bigquery.tables.updateData', 'bigquery.tables.get'], doc: DOCS.dml, note: 'INSERT writes table data (tables.updateData)' }],
  },
  LEDGER_READ: {
    emits: 'SELECT … FROM `p.runner.{ledger,runs,lock_events}` WHERE … ORDER BY …',
    source: 'engines/bigquery/ledger.ts selectSql',
    status: 'granted',
    needs: [JOBS(DOCS.runQuery), { scope: 'runnerDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.getData'], doc: DOCS.runQuery }],
  },
  LOCK_APPEND: {
    emits: 'INSERT INTO `p.runner.lock_events` … WHERE (SELECT IFNULL(MAX(seq), 0) FROM `p.runner.lock_events` …) = @seq - 1; tables.get of lock_events (its creation time is the lock epoch)',
    source: 'engines/bigquery/ledger.ts lockInsertSql, BigQueryLedgerStore.epoch',
    status: 'granted',
    needs: [
      JOBS(DOCS.dml),
      {
        scope: 'runnerDataset',
        permissions: ['bigquery.tables.updateData', 'bigquery.tables.getData', 'bigquery.tables.get'],
        doc: DOCS.dml,
        note: `the guard reads the table it inserts into (tables.getData); the epoch is read with tables.get (${DOCS.tablesGet})`,
      },
    ],
  },

  // ---- the catalogue (engines/bigquery/catalog.ts, rename-loss.ts) ------------------------------
  RUNNER_DATASET_LIST: {
    emits: 'GET /datasets/{runner}/tables (tables.list: the backups a rollback restores from)',
    source: 'engines/bigquery/engine.ts listRunnerTables (core/execute/rollback.ts)',
    status: 'granted',
    needs: [{ scope: 'runnerDataset', permissions: ['bigquery.tables.list'], doc: DOCS.tablesList }],
  },
  CATALOG_DATASET: {
    emits: 'GET /datasets/{feature} (datasets.get: location, default table expiration)',
    source: 'engines/bigquery/catalog.ts datasetInfo',
    status: 'granted',
    needs: [{ scope: 'featureDataset', permissions: ['bigquery.datasets.get'], doc: DOCS.datasetsGet }],
  },
  CATALOG_LIST: {
    emits: 'GET /datasets/{feature}/tables (tables.list, every page)',
    source: 'engines/bigquery/catalog.ts listTableItems',
    status: 'granted',
    needs: [{ scope: 'featureDataset', permissions: ['bigquery.tables.list'], doc: DOCS.tablesList }],
  },
  CATALOG_GET: {
    emits: 'GET /datasets/{feature}/tables/{t} (tables.get: streaming buffer, policy tags, schema)',
    source: 'engines/bigquery/catalog.ts getRestTable',
    status: 'granted',
    needs: [{ scope: 'featureDataset', permissions: ['bigquery.tables.get'], doc: DOCS.tablesGet }],
  },
  CATALOG_COLUMNS_AND_VIEWS: {
    emits: 'SELECT … FROM `p.feature`.INFORMATION_SCHEMA.COLUMNS / .VIEWS (dataset-qualified)',
    source: 'engines/bigquery/catalog.ts columnsSql, viewsSql',
    status: 'granted',
    needs: [
      JOBS(DOCS.isColumns),
      { scope: 'featureDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.list'], doc: DOCS.isColumns, note: `the same two for VIEWS (${DOCS.isViews})` },
    ],
  },
  CATALOG_STORAGE: {
    emits: 'SELECT table_name, SUM(total_rows), SUM(total_logical_bytes) FROM `p.feature`.INFORMATION_SCHEMA.PARTITIONS WHERE table_name IN UNNEST(@tables) GROUP BY table_name (1,000 tables a query)',
    source: 'engines/bigquery/catalog.ts partitionsSql',
    status: 'granted',
    needs: [
      JOBS(DOCS.isPartitions),
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.get', 'bigquery.tables.list'],
        doc: DOCS.isPartitions,
        note: 'dataset-qualified: the permissions are held on the dataset (a region-qualified view such as TABLE_STORAGE would need them on the project, reaching every dataset)',
      },
    ],
  },
  SEARCH_INDEXES: {
    emits: 'SELECT table_name, COUNT(*) FROM `p.feature`.INFORMATION_SCHEMA.SEARCH_INDEXES GROUP BY table_name',
    source: 'engines/bigquery/sql.ts searchIndexesSql (rename-loss.ts: what a rename would lose)',
    status: 'granted',
    needs: [JOBS(DOCS.isIndexes), { scope: 'featureDataset', permissions: ['bigquery.tables.get', 'bigquery.tables.list'], doc: DOCS.isIndexes }],
  },

  // ---- jobs -----------------------------------------------------------------------------------
  DRY_RUN: {
    emits: 'jobs.insert with configuration.dryRun = true (estimates, rehearsal, probes)',
    source: 'engines/bigquery/jobs.ts dryRun',
    status: 'granted',
    needs: [
      {
        scope: 'project',
        permissions: ['bigquery.jobs.create'],
        doc: DOCS.dryRun,
        note: "a dry run is a query job; it is also authorized against the statement's tables, which each step's own entry covers",
      },
    ],
  },
  VALIDATION_READ: {
    emits: 'SELECT COUNT(*) / FARM_FINGERPRINT / samples / coverage / null counts FROM `p.feature.t` (maximumBytesBilled capped)',
    source: 'engines/bigquery/sql.ts fingerprintSql … mismatchedRowsSql, probeSql (engine.ts boundedRead)',
    status: 'granted',
    needs: [
      JOBS(DOCS.runQuery),
      {
        scope: 'featureDataset',
        permissions: ['bigquery.tables.get', 'bigquery.tables.getData'],
        doc: DOCS.runQuery,
        note: 'tables.getData on every table and view read (a view is read with getData on the view and on its table, both in the feature dataset)',
      },
    ],
  },
  JOB_POLLING: {
    emits: 'GET /queries/{jobId} (getQueryResults), GET /jobs/{jobId} (jobs.get) of the runner\'s own jobs',
    source: 'engines/bigquery/jobs.ts waitDone, outcome, findJob',
    status: 'granted',
    needs: [
      {
        scope: 'project',
        permissions: ['bigquery.jobs.create'],
        doc: DOCS.accessControl,
        note: 'bigquery.jobs.get is only needed for jobs of other principals; the creator reads its own jobs and results',
      },
    ],
  },
  JOB_HISTORY: {
    emits: 'SELECT job_id, user_email, creation_time, labels, … FROM `p.region-…`.INFORMATION_SCHEMA.JOBS_BY_PROJECT WHERE creation_time >= @since …',
    source: 'engines/bigquery/job-history.ts jobsSql (bqx usage, bqx retire: who still reads a compatibility view)',
    status: 'granted',
    needs: [
      JOBS(DOCS.isJobs),
      {
        scope: 'project',
        permissions: ['bigquery.jobs.listAll'],
        doc: DOCS.isJobs,
        note:
          'the page requires bigquery.jobs.listAll (and jobs.create) to query INFORMATION_SCHEMA.JOBS, a synonym of JOBS_BY_PROJECT; ' +
          'JOBS_BY_USER needs only bigquery.jobs.list but shows the caller\'s own jobs, not the readers\'. listAll lists the metadata of ' +
          'every job of the project (who ran what SQL), no table data',
      },
    ],
  },
};

/**
 * The verbs that touch BigQuery, and the actions of the table each one takes: its permission
 * preflight asks exactly these (app/engine.ts `runnerRequiredPermissions(verb)`), and the
 * end-to-end test proves each verb, run as the runner, asks the double nothing beyond them.
 * `apply` asks the whole table: a run that could not be rolled back must not start.
 */
export const RUNNER_VERBS = ['apply', 'verify', 'reconcile', 'rollback', 'unlock', 'usage'] as const;
export type RunnerVerb = (typeof RUNNER_VERBS)[number];
const READS_CATALOG: readonly RunnerActionKey[] = ['CATALOG_DATASET', 'CATALOG_LIST', 'CATALOG_GET', 'CATALOG_COLUMNS_AND_VIEWS', 'CATALOG_STORAGE', 'JOB_POLLING'];
const RUNS_WITH_LEDGER: readonly RunnerActionKey[] = ['RUNNER_DATASET_READ', 'LEDGER_INIT', 'LEDGER_APPEND', 'LEDGER_READ', 'LOCK_APPEND'];
export const VERB_ACTIONS: Readonly<Record<Exclude<RunnerVerb, 'apply'>, readonly RunnerActionKey[]>> = {
  rollback: [...READS_CATALOG, ...RUNS_WITH_LEDGER, 'RUNNER_DATASET_LIST', 'RENAME_TABLE', 'DROP_TABLE', 'RESTORE_TABLE', 'CREATE_VIEW', 'DROP_VIEW', 'VALIDATION_READ', 'DRY_RUN'],
  verify: [...READS_CATALOG, ...RUNS_WITH_LEDGER, 'VALIDATION_READ', 'SEARCH_INDEXES'],
  reconcile: [...READS_CATALOG, ...RUNS_WITH_LEDGER],
  unlock: ['RUNNER_DATASET_READ', 'LEDGER_INIT', 'LEDGER_READ', 'LOCK_APPEND', 'JOB_POLLING'],
  // bqx usage (and bqx retire, which also lists the catalogue: reconcile's share) reads the job history.
  usage: ['JOB_HISTORY', 'JOB_POLLING'],
};

/** The actions a verb takes (every granted one for apply). */
export const verbActions = (verb: RunnerVerb): RunnerActionKey[] => (verb === 'apply' ? grantedActions() : [...VERB_ACTIONS[verb]]);

/** The actions the stacks must grant (every `granted` entry). */
export const grantedActions = (): RunnerActionKey[] =>
  (Object.keys(RUNNER_PERMISSIONS) as RunnerActionKey[]).filter((k) => RUNNER_PERMISSIONS[k].status === 'granted');

/** The actions deliberately not granted, with what replaces each. */
export const avoidedActions = (): RunnerActionKey[] =>
  (Object.keys(RUNNER_PERMISSIONS) as RunnerActionKey[]).filter((k) => RUNNER_PERMISSIONS[k].status === 'avoided');

/**
 * The permissions the runner needs on one scope, sorted and unique: the union over `actions`
 * (default: every granted action). This is what the stacks grant and what readiness asks.
 */
export function permissionsFor(scope: PermissionScope, actions: readonly RunnerActionKey[] = grantedActions()): string[] {
  return unionOn(RUNNER_PERMISSIONS, actions, scope);
}

/** The permissions the given actions of a table need on `scope`, sorted and unique. */
function unionOn<K extends string, S extends string>(table: Readonly<Record<K, RunnerAction<S>>>, actions: readonly K[], scope: S): string[] {
  const out = new Set<string>();
  for (const a of actions) for (const n of table[a].needs) if (n.scope === scope) n.permissions.forEach((p) => out.add(p));
  return [...out].sort();
}

/** Every scope's required permissions. */
export function requiredRunnerPermissions(actions: readonly RunnerActionKey[] = grantedActions()): Record<PermissionScope, string[]> {
  return Object.fromEntries(PERMISSION_SCOPES.map((s) => [s, permissionsFor(s, actions)])) as Record<PermissionScope, string[]>;
}

/** Which actions need `permission` on `scope` (for messages: "the runner lacks X, needed by RENAME_TABLE, ..."). */
export function actionsNeeding(permission: string, scope?: PermissionScope): RunnerActionKey[] {
  return (Object.keys(RUNNER_PERMISSIONS) as RunnerActionKey[]).filter((k) =>
    RUNNER_PERMISSIONS[k].needs.some((n) => (scope === undefined || n.scope === scope) && n.permissions.includes(permission)),
  );
}

/**
 * The permissions of a scope that BigQuery's testIamPermissions can answer. BigQuery has no
 * dataset-level testIamPermissions: on a dataset scope only table permissions can be asked, of one
 * table in it (`tables.testIamPermissions`, which answers an empty set for a missing table and
 * "may fail open": https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/testIamPermissions).
 * The project scope is asked through Resource Manager's projects.testIamPermissions.
 */
export function testablePermissions(scope: PermissionScope, actions: readonly RunnerActionKey[] = grantedActions()): string[] {
  const all = permissionsFor(scope, actions);
  return scope === 'project' ? all : all.filter((p) => p.startsWith('bigquery.tables.'));
}

/** The concrete resource each scope stands for in one environment. */
export interface ScopeTargets {
  readonly project: string;
  readonly featureDataset: string;
  readonly runnerDataset: string;
}

/** Scope → resource for an environment (the datasets with role `features` and `ledger`). */
export function scopeTargets(env: { readonly project: string; readonly datasets: readonly { readonly id: string; readonly role: string }[] }): ScopeTargets {
  const byRole = (role: string) => {
    const d = env.datasets.find((x) => x.role === role);
    if (!d) throw new Error(`environment of project ${env.project} has no dataset with role ${role}`);
    return d.id;
  };
  return { project: env.project, featureDataset: byRole('features'), runnerDataset: byRole('ledger') };
}

/**
 * Permissions the runner may hold beyond the table, per scope, each with its reason (a predefined
 * role granted for convenience would list its extra permissions here). Empty: the runner's roles
 * are custom roles made of exactly the table. A test fails, printing the extra set, when the
 * synthesized grants give the runner anything not in the table and not here.
 */
export const RUNNER_EXTRA_PERMISSIONS: Readonly<Record<PermissionScope, Readonly<Record<string, string>>>> = {
  project: {},
  featureDataset: {},
  runnerDataset: {},
};

// ---- beyond BigQuery: the staging bucket's manifests and the extract job --------------------------

/**
 * The runner's needs outside BigQuery, a table of their own: the scopes above are the engine's
 * (core's `PermissionScope`: asked through `Engine.testPermissions`, by readiness and by the apply's
 * preflight, and enforced by the BigQuery double); these are calls of the CLI and of readiness that
 * no engine makes. Same shape, same citations, same proof (__tests__/cdktf/runner-grants.test.ts:
 * the synthesized grants hold `cloudPermissionsFor(scope)` on each scope, and nothing unlisted).
 *
 * Scopes (`cloudScopeTargets(env)` names them):
 *  - `stagingManifests`: the objects under `manifests/` of the staging bucket, where
 *    `bqx extraction --manifest-dir gs://<staging>` writes `manifests/{pair}/extraction.json` for the
 *    extract job (EXTRACTION_DISCOVERY=manifest). Granted as the custom role
 *    `bqxMigrationRunnerManifests` on the bucket under the condition
 *    `resource.name.startsWith("projects/_/buckets/<staging>/objects/manifests/")` (config
 *    `objectPrefixCondition`): the checkpoints the extract job keeps in the same bucket, and every
 *    other object there, stay out of the runner's reach (no create, delete, read or list).
 *  - `extractJob`: the extract Cloud Run job, whose configuration readiness reads (EXTRACTION_DISCOVERY).
 *
 * How readiness asks them: by use, not testIamPermissions. Cloud Storage's buckets.testIamPermissions
 * answers for the bucket (DOCS_CLOUD.bucketTestIam), whose resource name `projects/_/buckets/<b>`
 * the condition excludes by construction, so it cannot report a grant conditioned on an object
 * prefix (others observed the same: github.com/OffchainLabs/nitro/pull/4683 replaced such a check
 * with a probe object). Readiness writes and deletes a probe object under `manifests/` (exactly the
 * two permissions of the scope) and reads the extract job (jobs.get).
 */
export const CLOUD_SCOPES = ['stagingManifests', 'extractJob'] as const;
export type CloudScope = (typeof CLOUD_SCOPES)[number];

export const RUNNER_CLOUD_ACTIONS = ['MANIFEST_WRITE', 'READINESS_MANIFEST_PROBE', 'READINESS_EXTRACT_JOB'] as const;
export type RunnerCloudActionKey = (typeof RUNNER_CLOUD_ACTIONS)[number];

const DOCS_CLOUD = {
  objectsInsert: 'https://cloud.google.com/storage/docs/json_api/v1/objects/insert',
  objectsDelete: 'https://cloud.google.com/storage/docs/json_api/v1/objects/delete',
  bucketTestIam: 'https://cloud.google.com/storage/docs/json_api/v1/buckets/testIamPermissions',
  conditionNames: 'https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name',
  runJobsGet: 'https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/get',
} as const;

const MANIFEST_OBJECTS = (note: string): PermissionNeed<CloudScope> => ({
  scope: 'stagingManifests',
  permissions: ['storage.objects.create', 'storage.objects.delete'],
  doc: DOCS_CLOUD.objectsInsert,
  note:
    `objects.insert needs storage.objects.create, and "if the object being inserted has the same name as an existing object, ` +
    `the user must also have the storage.objects.delete permission to overwrite" it; ${note}. On objects under manifests/ only ` +
    `(condition on resource.name, ${DOCS_CLOUD.conditionNames})`,
});

export const RUNNER_CLOUD_PERMISSIONS: Readonly<Record<RunnerCloudActionKey, RunnerAction<CloudScope>>> = {
  MANIFEST_WRITE: {
    emits: 'POST /upload/storage/v1/b/{staging}/o?uploadType=media&name=manifests/{pair}/extraction.json (objects.insert)',
    source: 'app/extraction.ts uploadManifest (bqx extraction --manifest-dir gs://<staging>)',
    status: 'granted',
    needs: [MANIFEST_OBJECTS('a second run for a pair (a new plan, a re-run) overwrites its manifest')],
  },
  READINESS_MANIFEST_PROBE: {
    emits: 'objects.insert then objects.delete of manifests/_bqx_readiness/probe-<ms>.txt',
    source: 'app/readiness/checks/cloud.ts checkBuckets (the conditional grant, asked by use)',
    status: 'granted',
    needs: [MANIFEST_OBJECTS(`the probe is deleted right after (objects.delete: storage.objects.delete, ${DOCS_CLOUD.objectsDelete})`)],
  },
  READINESS_EXTRACT_JOB: {
    emits: 'GET /v2/projects/{p}/locations/{region}/jobs/{extract job} (jobs.get: its EXTRACTION_DISCOVERY)',
    source: 'app/readiness/checks/cloud.ts checkJobs → checks/extraction.ts extractJobSource',
    status: 'granted',
    needs: [{ scope: 'extractJob', permissions: ['run.jobs.get'], doc: DOCS_CLOUD.runJobsGet, note: 'on the job; granted as roles/run.viewer on the extract job only (never project-wide)' }],
  },
};

/** The permissions the runner needs on a scope beyond BigQuery, sorted and unique: what the stacks grant there. */
export const cloudPermissionsFor = (scope: CloudScope): string[] => unionOn(RUNNER_CLOUD_PERMISSIONS, RUNNER_CLOUD_ACTIONS, scope);

/** The object prefix of the staging bucket the runner may write (the extraction manifests). */
export const STAGING_MANIFEST_PREFIX = 'manifests/';

/** The resources the cloud scopes stand for in one environment. */
export interface CloudScopeTargets {
  readonly stagingManifests: { readonly bucket: string; readonly prefix: string };
  readonly extractJob: string;
}

export function cloudScopeTargets(env: { readonly buckets: { readonly staging: { readonly name: string } }; readonly jobs: { readonly extract: { readonly name: string } } }): CloudScopeTargets {
  return { stagingManifests: { bucket: env.buckets.staging.name, prefix: STAGING_MANIFEST_PREFIX }, extractJob: env.jobs.extract.name };
}

/**
 * What the runner holds beyond the cloud table, with the reason: the extract job's read is granted
 * as the predefined roles/run.viewer on that one job (config/environments.ts), so the rest of that
 * role lands there too. On one job it only reaches the job's own resources (its executions and
 * tasks, its IAM policy and tags): read-only, no data, no other job.
 */
export const RUNNER_CLOUD_EXTRA_PERMISSIONS: Readonly<Record<CloudScope, Readonly<Record<string, string>>>> = {
  stagingManifests: {},
  extractJob: Object.fromEntries(
    PREDEFINED_ROLES['roles/run.viewer'].permissions
      .filter((p) => !RUNNER_CLOUD_PERMISSIONS.READINESS_EXTRACT_JOB.needs[0].permissions.includes(p))
      .map((p) => [p, 'rest of roles/run.viewer, bound on the extract job only: read-only; on a job binding it reaches that job and its executions and tasks, nothing else']),
  ),
};
