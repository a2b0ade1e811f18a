/**
 * The runner's permission table (config/runner-permissions.ts) against the engine that emits the
 * statements, and the predefined-role table (config/predefined-roles.ts) against the facts the
 * permission model rests on.
 */
import {
  CLOUD_SCOPES,
  RUNNER_CLOUD_ACTIONS,
  RUNNER_CLOUD_PERMISSIONS,
  STAGING_MANIFEST_PREFIX,
  cloudPermissionsFor,
  cloudScopeTargets,
  PERMISSION_SCOPES,
  RUNNER_PERMISSIONS,
  RUNNER_STEP_KINDS,
  RUNNER_SUPPORT_ACTIONS,
  actionsNeeding,
  avoidedActions,
  permissionsFor,
  requiredRunnerPermissions,
  scopeTargets,
  testablePermissions,
} from '../../config/runner-permissions';
import { PREDEFINED_ROLES, customRolesFromTerraform, rolePermissions } from '../../config/predefined-roles';
import { loadEnvironment } from '../../config/environments';
import { discoveryRule } from '../../core/extraction/discovery';
import { loadPolicy } from '../../core/policy';
import { renderStep, searchIndexesSql } from '../../engines/bigquery/sql';
import { columnsSql, partitionsSql, viewsSql } from '../../engines/bigquery/catalog';
import { createSchemaSql, createTableSql, insertSql, lockInsertSql, LEDGER_COLUMNS, selectSql } from '../../engines/bigquery/ledger';
import type { Step } from '../../core/ports/engine';

const LOC = { project: 'bqx-ml', dataset: 'bqx_ml_v3_features_v2', runnerDataset: 'bqx_ml_v3_migration' };
const LEDGER = { project: 'bqx-ml', runnerDataset: 'bqx_ml_v3_migration', location: 'us-central1' };
const OPTS = { now: () => new Date('2026-12-01T00:00:00Z'), backupExpiresAt: (d: Date) => new Date(d.getTime() + 45 * 86400000) };

const STEPS: Record<(typeof RUNNER_STEP_KINDS)[number], Step> = {
  RENAME_TABLE: { kind: 'RENAME_TABLE', from: 'a_eurusd', to: 'b_eurusd' },
  BACKUP_TABLE: { kind: 'BACKUP_TABLE', name: 'a_eurusd', backupName: 'bk_a_eurusd' },
  DROP_TABLE: { kind: 'DROP_TABLE', name: 'a_eurusd' },
  RESTORE_TABLE: { kind: 'RESTORE_TABLE', backupName: 'bk_a_eurusd', name: 'a_eurusd' },
  CONSOLIDATE: {
    kind: 'CONSOLIDATE',
    target: 'c_eurusd',
    spec: {
      key: 'interval_time',
      partitionBy: 'interval_time',
      clusterBy: ['pair'],
      windows: [
        { window: 45, source: 'w45_eurusd', copies: [], presenceColumn: 'has_w45' },
        { window: 90, source: 'w90_eurusd', copies: [], presenceColumn: 'has_w90' },
      ],
      columns: [{ name: 'x', type: 'FLOAT64', from: [{ window: 45, column: 'x' }] }],
    },
  },
  CREATE_VIEW: { kind: 'CREATE_VIEW', name: 'old_eurusd', target: 'new_eurusd', columns: [{ name: 'x', column: 'x' }], filter: null },
  DROP_VIEW: { kind: 'DROP_VIEW', name: 'old_eurusd' },
};

/** The statement's leading keywords, up to the first identifier. */
const head = (sql: string) => sql.replace(/`[^`]*`.*$/s, '').trim();

describe('the runner permission table', () => {
  it('has one entry per step kind and per support action, nothing else', () => {
    expect(Object.keys(RUNNER_PERMISSIONS).sort()).toEqual([...RUNNER_STEP_KINDS, ...RUNNER_SUPPORT_ACTIONS].sort());
  });

  it.each(RUNNER_STEP_KINDS)('%s: the engine emits the statement the table describes', (kind) => {
    const [sql] = renderStep(LOC, STEPS[kind], OPTS);
    expect(RUNNER_PERMISSIONS[kind].emits.startsWith(head(sql))).toBe(true);
  });

  it('the snapshot the backup step makes expires (the reason it needs deleteSnapshot)', () => {
    const [sql] = renderStep(LOC, STEPS.BACKUP_TABLE, OPTS);
    expect(sql).toMatch(/^CREATE SNAPSHOT TABLE `bqx-ml\.bqx_ml_v3_migration\.bk_a_eurusd` CLONE `bqx-ml\.bqx_ml_v3_features_v2\.a_eurusd` OPTIONS \(expiration_timestamp = /);
    expect(permissionsFor('featureDataset')).toContain('bigquery.tables.deleteSnapshot');
    // Google asks deleteSnapshot on the table snapshotted, not on the dataset the snapshot lands in.
    expect(permissionsFor('runnerDataset')).not.toContain('bigquery.tables.deleteSnapshot');
  });

  it('the ledger, catalogue and index reads are the statements the table describes', () => {
    expect(RUNNER_PERMISSIONS.RUNNER_DATASET_CREATE.emits.startsWith(head(createSchemaSql(LEDGER)))).toBe(true);
    expect(RUNNER_PERMISSIONS.LEDGER_INIT.emits.startsWith(head(createTableSql(LEDGER, 'ledger', LEDGER_COLUMNS, 'plan_hash')))).toBe(true);
    expect(RUNNER_PERMISSIONS.LEDGER_APPEND.emits.startsWith(head(insertSql(LEDGER, 'ledger', LEDGER_COLUMNS)))).toBe(true);
    expect(RUNNER_PERMISSIONS.LOCK_APPEND.emits.startsWith(head(lockInsertSql(LEDGER)))).toBe(true);
    expect(selectSql(LEDGER, 'runs', LEDGER_COLUMNS, '', '`at`')).toMatch(/^SELECT .* FROM `bqx-ml\.bqx_ml_v3_migration\.runs`/);
    // Every INFORMATION_SCHEMA read is dataset-qualified (dataset scope): none needs table metadata on the project.
    expect(columnsSql('bqx-ml', 'bqx_ml_v3_features_v2')).toContain('`bqx-ml.bqx_ml_v3_features_v2`.INFORMATION_SCHEMA.COLUMNS');
    expect(viewsSql('bqx-ml', 'bqx_ml_v3_features_v2')).toContain('`bqx-ml.bqx_ml_v3_features_v2`.INFORMATION_SCHEMA.VIEWS');
    expect(searchIndexesSql(LOC)).toContain('`bqx-ml.bqx_ml_v3_features_v2`.INFORMATION_SCHEMA.SEARCH_INDEXES');
    expect(partitionsSql('bqx-ml', 'bqx_ml_v3_features_v2')).toContain('`bqx-ml.bqx_ml_v3_features_v2`.INFORMATION_SCHEMA.PARTITIONS');
    expect(RUNNER_PERMISSIONS.CATALOG_STORAGE.needs.find((n) => n.permissions.includes('bigquery.tables.list'))?.scope).toBe('featureDataset');
    expect(permissionsFor('project')).toEqual(['bigquery.jobs.create', 'bigquery.jobs.listAll']);
  });

  it('cites Google documentation for every need, and names permissions as service.resource.verb', () => {
    for (const [key, action] of Object.entries(RUNNER_PERMISSIONS)) {
      expect({ key, needs: action.needs.length > 0 }).toEqual({ key, needs: true });
      for (const n of action.needs) {
        expect({ key, doc: n.doc }).toEqual({ key, doc: expect.stringMatching(/^https:\/\/cloud\.google\.com\/(bigquery|iam)\/docs\//) });
        for (const p of n.permissions) expect({ key, p }).toEqual({ key, p: expect.stringMatching(/^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$/) });
        expect(PERMISSION_SCOPES).toContain(n.scope);
      }
      if (action.status === 'avoided') expect({ key, reason: (action.reason ?? '').length > 40 }).toEqual({ key, reason: true });
    }
  });

  it('never requires a dataset to be created: CREATE SCHEMA IF NOT EXISTS is avoided, not granted', () => {
    expect(avoidedActions()).toEqual(['RUNNER_DATASET_CREATE']);
    expect(actionsNeeding('bigquery.datasets.create')).toEqual(['RUNNER_DATASET_CREATE']);
    for (const scope of PERMISSION_SCOPES) expect(permissionsFor(scope)).not.toContain('bigquery.datasets.create');
    // Asked for explicitly, the avoided action shows what it would cost.
    expect(permissionsFor('project', ['RUNNER_DATASET_CREATE'])).toEqual(['bigquery.datasets.create', 'bigquery.jobs.create']);
  });

  it('the required sets per scope (what the stacks grant and readiness asks)', () => {
    expect(requiredRunnerPermissions()).toEqual({
      project: ['bigquery.jobs.create', 'bigquery.jobs.listAll'],
      featureDataset: [
        'bigquery.datasets.get',
        'bigquery.tables.create',
        'bigquery.tables.createSnapshot',
        'bigquery.tables.delete',
        'bigquery.tables.deleteSnapshot',
        'bigquery.tables.get',
        'bigquery.tables.getData',
        'bigquery.tables.list',
        'bigquery.tables.update',
        'bigquery.tables.updateData',
      ],
      runnerDataset: [
        'bigquery.datasets.get',
        'bigquery.tables.create',
        'bigquery.tables.get',
        'bigquery.tables.getData',
        'bigquery.tables.list',
        'bigquery.tables.restoreSnapshot',
        'bigquery.tables.updateData',
      ],
    });
    expect(actionsNeeding('bigquery.tables.restoreSnapshot')).toEqual(['RESTORE_TABLE']);
    expect(actionsNeeding('bigquery.tables.deleteSnapshot', 'featureDataset')).toEqual(['BACKUP_TABLE']);
  });

  it('testIamPermissions can only be asked table permissions on a dataset scope', () => {
    expect(testablePermissions('featureDataset')).not.toContain('bigquery.datasets.get');
    expect(testablePermissions('featureDataset').every((p) => p.startsWith('bigquery.tables.'))).toBe(true);
    expect(testablePermissions('project')).toEqual(permissionsFor('project'));
  });

  it('names the scopes of an environment', () => {
    expect(scopeTargets(loadEnvironment('prod'))).toEqual({ project: 'bqx-ml', featureDataset: 'bqx_ml_v3_features_v2', runnerDataset: 'bqx_ml_v3_migration' });
    expect(scopeTargets(loadEnvironment('dev')).project).toBe('bqx-ml-dev');
  });
});

describe('the runner\'s needs beyond BigQuery (the cloud table)', () => {
  it('cites Google for every need; Cloud Storage and Cloud Run permissions only, on the two cloud scopes', () => {
    expect(Object.keys(RUNNER_CLOUD_PERMISSIONS).sort()).toEqual([...RUNNER_CLOUD_ACTIONS].sort());
    for (const [key, action] of Object.entries(RUNNER_CLOUD_PERMISSIONS)) {
      expect({ key, status: action.status }).toEqual({ key, status: 'granted' });
      for (const n of action.needs) {
        expect({ key, doc: n.doc }).toEqual({ key, doc: expect.stringMatching(/^https:\/\/cloud\.google\.com\/(storage|run)\/docs\//) });
        expect(CLOUD_SCOPES).toContain(n.scope);
        for (const p of n.permissions) expect({ key, p }).toEqual({ key, p: expect.stringMatching(n.scope === 'stagingManifests' ? /^storage\.objects\.[a-z]+$/ : /^run\.jobs\.[a-z]+$/) });
      }
    }
  });

  it('manifests/ of staging: create and delete (an overwrite is both), no read, no list; the extract job: jobs.get', () => {
    expect(cloudPermissionsFor('stagingManifests')).toEqual(['storage.objects.create', 'storage.objects.delete']);
    expect(cloudPermissionsFor('extractJob')).toEqual(['run.jobs.get']);
    expect(RUNNER_CLOUD_PERMISSIONS.MANIFEST_WRITE.needs[0].note).toMatch(/same name as an existing object.*storage\.objects\.delete/);
    // The predefined roles that would fit either cannot overwrite or do more than the table.
    expect(PREDEFINED_ROLES['roles/storage.objectCreator'].permissions).not.toContain('storage.objects.delete');
    expect(PREDEFINED_ROLES['roles/storage.objectUser'].permissions).toEqual(expect.arrayContaining(['storage.objects.get', 'storage.objects.list']));
    expect(PREDEFINED_ROLES['roles/run.viewer'].permissions).toContain('run.jobs.get');
  });

  it('the prefix the runner may write is where the policy puts the manifests, and names the scopes of an environment', () => {
    expect(discoveryRule(loadPolicy()).manifestPath.startsWith(STAGING_MANIFEST_PREFIX)).toBe(true);
    expect(cloudScopeTargets(loadEnvironment('prod'))).toEqual({ stagingManifests: { bucket: 'bqx-ml-staging', prefix: 'manifests/' }, extractJob: 'bqx-ml-extract' });
    expect(cloudScopeTargets(loadEnvironment('dev')).stagingManifests.bucket).toBe('bqx-ml-dev-staging');
  });
});

describe('the predefined roles the model relies on', () => {
  const has = (role: string, p: string) => PREDEFINED_ROLES[role].permissions.includes(p);

  it('dataEditor cannot make an expiring snapshot; dataOwner can, but also sets IAM (why the runner gets a custom role)', () => {
    expect(has('roles/bigquery.dataEditor', 'bigquery.tables.deleteSnapshot')).toBe(false);
    expect(has('roles/bigquery.dataOwner', 'bigquery.tables.deleteSnapshot')).toBe(true);
    expect(has('roles/bigquery.dataOwner', 'bigquery.datasets.setIamPolicy')).toBe(true);
    const missing = permissionsFor('featureDataset').filter((p) => !has('roles/bigquery.dataEditor', p));
    expect(missing).toEqual(['bigquery.tables.deleteSnapshot']);
  });

  it('on the project jobUser carries jobs.create; the job history (JOBS_BY_PROJECT) needs listAll besides, and no project-wide table metadata is asked', () => {
    expect(has('roles/bigquery.jobUser', 'bigquery.jobs.create')).toBe(true);
    expect(permissionsFor('project').filter((p) => !has('roles/bigquery.jobUser', p))).toEqual(['bigquery.jobs.listAll']);
  });

  it('every role has a Google reference page and a sorted, duplicate-free list', () => {
    for (const [role, r] of Object.entries(PREDEFINED_ROLES)) {
      expect(role).toMatch(/^roles\/[a-z]+\.[A-Za-z]+$/);
      expect(r.doc).toMatch(/^https:\/\/cloud\.google\.com\/iam\/docs\/roles-permissions\//);
      expect([...r.permissions].sort()).toEqual(r.permissions);
      expect(new Set(r.permissions).size).toBe(r.permissions.length);
    }
  });

  it('rolePermissions: predefined from the table, custom from the synthesized configuration, null otherwise', () => {
    const tf = { resource: { google_project_iam_custom_role: { r: { role_id: 'bqxRunner', permissions: ['bigquery.tables.get', 'bigquery.jobs.create'] } } } };
    const custom = customRolesFromTerraform(tf, 'bqx-ml');
    expect(rolePermissions('projects/bqx-ml/roles/bqxRunner', custom)).toEqual(['bigquery.jobs.create', 'bigquery.tables.get']);
    expect(rolePermissions('roles/bigquery.jobUser')).toContain('bigquery.jobs.create');
    expect(rolePermissions('projects/other/roles/bqxRunner', custom)).toBeNull();
    expect(rolePermissions('roles/run.admin')).toBeNull();
  });
});
