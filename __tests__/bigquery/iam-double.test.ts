/**
 * The BigQuery double enforces IAM per caller, and what it enforces is the runner's permission
 * table (config/runner-permissions.ts): here the runner holds exactly the table, as three custom
 * roles (project, feature dataset, runner dataset), independent of what the stacks grant (the
 * end-to-end test, iam-e2e.test.ts, starts from the synthesized stacks).
 *
 * For every step kind and support action the table grants, and every permission of its needs: the
 * engine's own request for it is accepted with the table, and refused like BigQuery (403
 * accessDenied naming that permission) when the runner lacks just that permission on that scope.
 * Also: identities per bearer token (unknown token 401, a token with no grants refused everywhere),
 * impersonation through IAM Credentials, and the paper run as the second line of defence where
 * testIamPermissions cannot ask.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { PERMISSION_SCOPES, permissionsFor, testablePermissions, type PermissionScope, type RunnerActionKey } from '../../config/runner-permissions';
import { phase4cJobLabels } from '../../config/job-labels';
import { runnerRequiredPermissions } from '../../app/engine';
import { runReadiness } from '../../app/readiness/run';
import { applyPlan, RunRefused } from '../../core/execute/apply';
import { makeSnapshot } from '../../core/catalogue';
import { buildPlan } from '../../core/plan/planner';
import { loadPolicy } from '../../core/policy';
import type { BigQueryEngineOptions, Step } from '../../core/ports/engine';
import { columnsSql, partitionsSql, viewsSql } from '../../engines/bigquery/catalog';
import { LEDGER_TABLES } from '../../engines/bigquery/ledger';
import { searchIndexesSql } from '../../engines/bigquery/sql';
import { IamModel, NEEDS_FIXTURE, type BigQueryDouble, type IamResource, type NeedKind, type NeedOn } from '../../testing/bigquery/double';
import { PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { main } from '../../scripts/cli';
import { defaultRunnerServiceAccount } from '../../scripts/commands/readiness';
import { GoogleApisDouble } from '../readiness/support/google-double';
import { openHarness, type Harness } from './support/open';

const RUNNER_EMAIL = 'bqx-ml-runner@bqx-ml.iam.gserviceaccount.com';
const RUNNER = `serviceAccount:${RUNNER_EMAIL}`;
const ROLE: Record<PermissionScope, string> = {
  project: `projects/${PROJECT}/roles/runnerProject`,
  featureDataset: `projects/${PROJECT}/roles/runnerFeatures`,
  runnerDataset: `projects/${PROJECT}/roles/runnerLedger`,
};
const resourceOf = (scope: PermissionScope): IamResource =>
  scope === 'project' ? { kind: 'project', project: PROJECT } : { kind: 'dataset', project: PROJECT, dataset: scope === 'featureDataset' ? FEATURES_DATASET : RUNNER_DATASET };
const cols = [
  { name: 'interval_time', type: 'TIMESTAMP' },
  { name: 'x', type: 'FLOAT' },
];

/** The runner holding exactly the table, as three custom roles; other identities by token. */
function tableIam(): IamModel {
  const iam = new IamModel(PROJECT);
  for (const scope of PERMISSION_SCOPES) {
    iam.customRoles.set(ROLE[scope], permissionsFor(scope));
    iam.addGrant({ member: RUNNER, role: ROLE[scope], resource: resourceOf(scope) });
  }
  return iam
    .addToken('token-runner', RUNNER)
    .addToken('token-nobody', 'user:nobody@example.com')
    .addToken('token-operator', 'user:operator@example.com', 'group:bqx-ml-operators@example.com')
    .addToken('token-stranger', 'user:stranger@example.com');
}

interface World {
  h: Harness;
  g: GoogleApisDouble;
  iam: IamModel;
  close(): Promise<void>;
}

async function world(seed: (d: BigQueryDouble) => void, engine: Partial<BigQueryEngineOptions> = {}, iam = tableIam()): Promise<World> {
  const g = new GoogleApisDouble({ project: PROJECT, enabledApis: new Set(['bigquery.googleapis.com']), projectPermissions: new Set(), buckets: new Map(), jobs: new Set(), iam });
  await g.start();
  const h = await openHarness(
    (d) => {
      seed(d);
      d.iam = iam;
    },
    { engine: { accessToken: 'token-runner', googleApiEndpoint: g.endpoint, jobLabels: phase4cJobLabels(), ...engine } },
  );
  return { h, g, iam, close: async () => (await h.close().catch(() => undefined), await g.stop()) };
}

function smallSeed(d: BigQueryDouble): void {
  d.addDataset(FEATURES_DATASET);
  d.addDataset(RUNNER_DATASET);
  d.addTable({ dataset: FEATURES_DATASET, name: 'a', columns: cols, numRows: 5, numBytes: 1 << 20 });
  d.addTable({ dataset: FEATURES_DATASET, name: 'b', columns: cols, numRows: 5, numBytes: 1 << 20 });
  d.addTable({ dataset: FEATURES_DATASET, name: 'v_a', columns: cols, type: 'VIEW', viewTarget: { dataset: FEATURES_DATASET, name: 'a' }, viewQuery: 'SELECT * FROM a' });
  d.addTable({ dataset: RUNNER_DATASET, name: 'bk_a', columns: cols, type: 'SNAPSHOT', numRows: 5 });
}

/** The engine's own request for each action the table grants (DDL as the dry run readiness and the paper run make). */
function requests(h: Harness): Record<RunnerActionKey, (() => Promise<unknown>) | null> {
  const e = h.engine;
  const rehearse = (step: Step) => () => e.rehearse([step]);
  const read = (kind: string, query: string, params: Parameters<typeof e.jobs.run>[0]['params'] = []) => () => e.jobs.run({ jobId: `t_${kind}_${Math.random().toString(36).slice(2)}`, query, params, labels: { bqx_kind: kind }, readRows: true });
  return {
    RENAME_TABLE: rehearse({ kind: 'RENAME_TABLE', from: 'a', to: 'a_new' }),
    BACKUP_TABLE: rehearse({ kind: 'BACKUP_TABLE', name: 'a', backupName: 'bk_a2' }),
    DROP_TABLE: rehearse({ kind: 'DROP_TABLE', name: 'b' }),
    RESTORE_TABLE: rehearse({ kind: 'RESTORE_TABLE', backupName: 'bk_a', name: 'a_restored' }),
    CONSOLIDATE: rehearse({
      kind: 'CONSOLIDATE',
      target: 'ab',
      spec: {
        key: 'interval_time',
        windows: [
          { window: 45, source: 'a', copies: [], presenceColumn: 'in_w45' },
          { window: 90, source: 'b', copies: [], presenceColumn: 'in_w90' },
        ],
        columns: [
          { name: 'interval_time', type: 'TIMESTAMP', from: [{ window: 45, column: 'interval_time' }, { window: 90, column: 'interval_time' }] },
          { name: 'x_45', type: 'FLOAT64', from: [{ window: 45, column: 'x' }] },
        ],
        partitionBy: 'interval_time',
        clusterBy: [],
      },
    }),
    CREATE_VIEW: rehearse({ kind: 'CREATE_VIEW', name: 'v_b', target: 'b', columns: [{ name: 'x', column: 'x' }], filter: null }),
    DROP_VIEW: rehearse({ kind: 'DROP_VIEW', name: 'v_a' }),
    RUNNER_DATASET_CREATE: null, // avoided: never granted (the engine only looks the dataset up)
    RUNNER_DATASET_READ: () => e.datasetInfo(RUNNER_DATASET),
    LEDGER_INIT: () => e.jobs.run({ jobId: `t_init_${Math.random().toString(36).slice(2)}`, query: e.ledger.initStatements()[1], labels: { bqx_kind: 'ledger_init' } }),
    // Fresh rows each time: a write's job id derives from its rows (a repeated id would be answered `duplicate`).
    LEDGER_APPEND: async () => {
      await e.ledger.appendRun({ runId: `run_${Math.random().toString(36).slice(2)}`, planHash: 'p', mode: 'paper', event: 'START', status: null, summary: null, at: '2026-11-21T00:00:00.000Z' });
    },
    LEDGER_READ: () => e.ledger.runs(),
    // A fresh lock name each time: the claim's job id derives from it (a repeated id would be answered `duplicate`).
    LOCK_APPEND: () => e.ledger.appendLockIf({ lockName: `l_${Math.random().toString(36).slice(2)}`, seq: 1, event: 'ACQUIRE', runId: 'run_t', holder: 'h', expiresAt: '2026-11-21T00:02:00.000Z', detail: null, at: '2026-11-21T00:00:00.000Z' }),
    CATALOG_DATASET: () => e.datasetInfo(),
    CATALOG_LIST: () => e.catalog.listTableItems(),
    CATALOG_GET: () => e.getTable('a'),
    CATALOG_COLUMNS_AND_VIEWS: async () => (await read('catalog_columns', columnsSql(PROJECT, FEATURES_DATASET))(), await read('catalog_views', viewsSql(PROJECT, FEATURES_DATASET))()),
    CATALOG_STORAGE: read('catalog_storage', partitionsSql(PROJECT, FEATURES_DATASET), [{ name: 'tables', parameterType: { type: 'ARRAY', arrayType: { type: 'STRING' } }, parameterValue: { arrayValues: [{ value: 'a' }] } }]),
    RUNNER_DATASET_LIST: () => e.listRunnerTables(),
    SEARCH_INDEXES: read('gate_search_indexes', searchIndexesSql(e.where)),
    DRY_RUN: () => e.jobs.dryRun('SELECT 1'),
    VALIDATION_READ: () => e.rowCount('v_a'),
    JOB_POLLING: null, // every job above is polled by its creator: covered by jobs.create
    JOB_HISTORY: () => e.jobHistory!(new Date(0), ['v_a']),
  };
}

/**
 * The engine's own request for each row of the needs fixture the runner's engine reaches, and which
 * scope each of the row's resources is here. Rows with no request: JOB_READ_OTHER (the runner reads
 * only its own jobs), CREATE_SCHEMA (avoided: the engine looks the runner dataset up instead), and
 * the Cloud Storage and Cloud Run rows (the double of the other Google APIs enforces those:
 * iam-e2e.test.ts, the manifests test).
 */
function fixtureRequests(h: Harness): Partial<Record<NeedKind, { run: () => Promise<unknown>; on: Partial<Record<NeedOn, PermissionScope>> }>> {
  const r = requests(h);
  const F: PermissionScope = 'featureDataset';
  const R: PermissionScope = 'runnerDataset';
  const P: PermissionScope = 'project';
  return {
    QUERY_JOB: { run: r.VALIDATION_READ!, on: { project: P } },
    DRY_RUN: { run: r.DRY_RUN!, on: { project: P } },
    JOB_READ_OWN: { run: r.LEDGER_READ!, on: { project: P } },
    ALTER_TABLE_RENAME: { run: r.RENAME_TABLE!, on: { target: F } },
    DROP_TABLE: { run: r.DROP_TABLE!, on: { target: F } },
    DROP_VIEW: { run: r.DROP_VIEW!, on: { target: F } },
    CREATE_SNAPSHOT_TABLE: { run: r.BACKUP_TABLE!, on: { source: F, targetDataset: R } },
    CREATE_TABLE_CLONE_OF_SNAPSHOT: { run: r.RESTORE_TABLE!, on: { source: R, targetDataset: F } },
    // Over the existing view v_a: the conditional update needs apply too.
    CREATE_OR_REPLACE_VIEW: { run: () => h.engine.rehearse([{ kind: 'CREATE_VIEW', name: 'v_a', target: 'a', columns: [{ name: 'x', column: 'x' }], filter: null }]), on: { targetDataset: F, target: F } },
    CREATE_TABLE_AS_SELECT: { run: r.CONSOLIDATE!, on: { targetDataset: F, source: F } },
    CREATE_TABLE_IF_NOT_EXISTS: { run: r.LEDGER_INIT!, on: { targetDataset: R } },
    INSERT_FROM_PARAMETER: { run: r.LEDGER_APPEND!, on: { target: R } },
    INSERT_GUARDED: { run: r.LOCK_APPEND!, on: { target: R, source: R } },
    SELECT: { run: r.VALIDATION_READ!, on: { source: F } },
    INFORMATION_SCHEMA_COLUMNS: { run: () => h.engine.jobs.run({ jobId: `t_c_${Math.random().toString(36).slice(2)}`, query: columnsSql(PROJECT, FEATURES_DATASET), labels: { bqx_kind: 'catalog_columns' }, readRows: true }), on: { targetDataset: F } },
    INFORMATION_SCHEMA_VIEWS: { run: () => h.engine.jobs.run({ jobId: `t_v_${Math.random().toString(36).slice(2)}`, query: viewsSql(PROJECT, FEATURES_DATASET), labels: { bqx_kind: 'catalog_views' }, readRows: true }), on: { targetDataset: F } },
    INFORMATION_SCHEMA_SEARCH_INDEXES: { run: r.SEARCH_INDEXES!, on: { targetDataset: F } },
    INFORMATION_SCHEMA_PARTITIONS: { run: r.CATALOG_STORAGE!, on: { targetDataset: F } },
    DATASETS_GET: { run: r.CATALOG_DATASET!, on: { targetDataset: F } },
    TABLES_LIST: { run: r.CATALOG_LIST!, on: { targetDataset: F } },
    TABLES_GET: { run: r.CATALOG_GET!, on: { target: F } },
    INFORMATION_SCHEMA_JOBS_BY_PROJECT: { run: r.JOB_HISTORY!, on: { project: P } },
  };
}
const NOT_REQUESTED_ROWS: NeedKind[] = ['JOB_READ_OTHER', 'CREATE_SCHEMA', 'STORAGE_OBJECTS_INSERT', 'STORAGE_OBJECTS_DELETE', 'RUN_JOBS_GET'];

/** The runner without `permission` on `scope`, really: also from the project role, whose grants reach every dataset. */
function withoutEffectively(iam: IamModel, scope: PermissionScope, permission: string): void {
  iam.withoutPermission(RUNNER, resourceOf(scope), permission);
  if (scope !== 'project') iam.withoutPermission(RUNNER, resourceOf('project'), permission);
}

const denialOf = (e: unknown) => String((e as Error)?.message ?? e);

describe('the double enforces the needs fixture (Google\'s pages), per caller, and the table grants it', () => {
  let w: World;
  beforeAll(async () => {
    w = await world(smallSeed);
    await w.h.engine.ledger.init(); // as the runner: CREATE TABLE IF NOT EXISTS needs only what its row says
  });
  afterAll(() => w.close());

  const cases = NEEDS_FIXTURE.filter((row) => !NOT_REQUESTED_ROWS.includes(row.kind)).flatMap((row) =>
    row.needs.flatMap((n) => n.permissions.map((permission) => ({ kind: row.kind as NeedKind, on: n.on as NeedOn, permission }))),
  );

  test('every row of the fixture is requested here or named as requested elsewhere', () => {
    const requested = Object.keys(fixtureRequests(w.h));
    expect(NEEDS_FIXTURE.map((r) => r.kind).filter((k) => !requested.includes(k) && !NOT_REQUESTED_ROWS.includes(k))).toEqual([]);
  });

  test('with the table, every request is accepted', async () => {
    const reqs = fixtureRequests(w.h);
    for (const [kind, q] of Object.entries(reqs)) await expect(q!.run().then(() => 'accepted', (e) => `${kind}: ${denialOf(e)}`)).resolves.toBe('accepted');
    expect(w.h.double.inserts.filter((i) => i.outcome !== 'accepted')).toEqual([]);
  });

  test.each(cases.map((c) => [c.kind, c.permission, c.on] as const))('%s is refused without %s on its %s, naming it', async (kind, permission, on) => {
    const q = fixtureRequests(w.h)[kind]!;
    const scope = q.on[on]!;
    expect(scope).toBeDefined();
    const restore = w.iam.snapshot();
    try {
      withoutEffectively(w.iam, scope, permission);
      const out = await q.run().then(
        () => 'accepted',
        (e) => denialOf(e),
      );
      expect(out).toMatch(new RegExp(`(Permission ${permission.replace(/\./g, '\\.')} denied on|does not have ${permission.replace(/\./g, '\\.')} permission in project)`));
      expect(out).toMatch(/accessDenied|Access Denied/);
    } finally {
      restore();
    }
  });

  test('a permission its row does not name does not matter to a request (the double asks what Google says, not the table)', async () => {
    const reqs = fixtureRequests(w.h);
    for (const kind of ['ALTER_TABLE_RENAME', 'TABLES_LIST', 'CREATE_TABLE_CLONE_OF_SNAPSHOT'] as const) {
      const needed = new Set([...NEEDS_FIXTURE.find((r) => r.kind === kind)!.needs.flatMap((n) => n.permissions), 'bigquery.jobs.create']);
      const restore = w.iam.snapshot();
      try {
        for (const scope of PERMISSION_SCOPES) for (const p of permissionsFor(scope)) if (!needed.has(p)) withoutEffectively(w.iam, scope, p);
        await expect(reqs[kind]!.run().then(() => 'accepted', (e) => denialOf(e))).resolves.toBe('accepted');
      } finally {
        restore();
      }
    }
  });

  test('testPermissions asks on the table it is given, or, when that one is gone (renamed by an earlier run), on the first listed', async () => {
    const perms = permissionsFor('featureDataset');
    const given = await w.h.engine.testPermissions('featureDataset', perms, { table: 'b' });
    expect(given).toMatchObject({ resource: `dataset ${PROJECT}:${FEATURES_DATASET}`, granted: perms, untested: [] });
    expect(given.how).toContain(`tables.testIamPermissions on ${FEATURES_DATASET}.b`);
    const gone = await w.h.engine.testPermissions('featureDataset', perms, { table: 'renamed_long_ago' });
    expect(gone).toMatchObject({ granted: perms, untested: [] });
    expect(gone.how).toContain(`tables.testIamPermissions on ${FEATURES_DATASET}.a`);
    const project = await w.h.engine.testPermissions('project', permissionsFor('project'));
    expect(project).toMatchObject({ resource: `project ${PROJECT}`, granted: permissionsFor('project'), untested: [] });
  });

  test('a dry run is authorized like its statement; a real job the caller may not run is created and fails with accessDenied, changing nothing', async () => {
    const restore = w.iam.snapshot();
    try {
      withoutEffectively(w.iam, 'featureDataset', 'bigquery.tables.update');
      const before = w.h.double.applied.length;
      await expect(w.h.engine.run({ kind: 'RENAME_TABLE', from: 'a', to: 'a_renamed' }, { jobId: 'bqx_t_rename', labels: { 'bqx-plan': 'abc', 'bqx-run': 'run_t' } })).rejects.toThrow(
        `Access Denied: Table ${PROJECT}:${FEATURES_DATASET}.a: Permission bigquery.tables.update denied on table ${PROJECT}:${FEATURES_DATASET}.a (or it may not exist).`,
      );
      expect(w.h.double.applied.length).toBe(before);
      expect(w.h.double.table(FEATURES_DATASET, 'a')).toBeDefined();
      expect(w.h.double.inserts.find((i) => i.jobId === 'bqx_t_rename')).toMatchObject({ outcome: 'accessDenied', principal: RUNNER, labels: { 'bqx-phase': 'm008-4c', 'bqx-plan': 'abc', 'bqx-run': 'run_t', bqx_kind: 'step' } });
    } finally {
      restore();
    }
  });
});

describe('identities: one per bearer token', () => {
  test('an unknown token is 401; a token with no grants is refused everywhere and readiness names all 20 permissions', async () => {
    const w = await world(smallSeed, { accessToken: 'token-never-issued' });
    try {
      await expect(w.h.engine.datasetInfo()).rejects.toThrow(/invalid authentication credentials/);
    } finally {
      await w.close();
    }
    const n = await world(smallSeed, { accessToken: 'token-nobody' });
    try {
      await expect(n.h.engine.listTables()).rejects.toThrow(`Permission bigquery.tables.list denied on dataset ${PROJECT}:${FEATURES_DATASET}`);
      const out = await runReadiness({ engine: n.h.engine, reportsDir: null, googleApiEndpoint: n.g.endpoint, now: () => new Date('2026-11-21T00:00:00Z') });
      expect(out.report.verdict).toBe('NO-GO');
      const named = out.report.blockers.filter((b) => b.code === 'PERMISSION_MISSING' && b.priority === 'P0').map((b) => b.title.match(/^the runner lacks (\S+) on .* \((\w+)\),/)!.slice(1).join('@'));
      // Without a plan readiness has no table of the feature dataset to ask on, and the refused
      // tables.list finds none: datasets.get and tables.list are named (asked by use), the other
      // table permissions there are reported as not asked (P2); everything else is named.
      const featureTables = testablePermissions('featureDataset').filter((p) => p !== 'bigquery.tables.list');
      expect(named.sort()).toEqual(PERMISSION_SCOPES.flatMap((s) => permissionsFor(s).filter((p) => s !== 'featureDataset' || !featureTables.includes(p)).map((p) => `${p}@${s}`)).sort());
      expect(out.report.blockers.find((b) => b.code === 'PERMISSION_UNTESTED' && b.check === 'infrastructure.iam.dataset')?.title).toBe(
        `${featureTables.length} permission(s) on dataset ${PROJECT}:${FEATURES_DATASET} could not be asked: ${featureTables.join(', ')}`,
      );
      expect(n.h.double.inserts.every((i) => i.principal === 'user:nobody@example.com')).toBe(true);
    } finally {
      await n.close();
    }
  });

  test('impersonation: an operator allowed to create the runner\'s tokens acts as the runner (google-auth-library Impersonated against the IAM Credentials double); one who is not is refused', async () => {
    const iam = tableIam().addGrant({ member: 'group:bqx-ml-operators@example.com', role: 'roles/iam.serviceAccountTokenCreator', resource: { kind: 'serviceAccount', project: PROJECT, email: RUNNER_EMAIL } });
    const w = await world(smallSeed, { accessToken: 'token-operator', impersonateServiceAccount: RUNNER_EMAIL }, iam);
    try {
      const out = await runReadiness({ engine: w.h.engine, reportsDir: null, googleApiEndpoint: w.g.endpoint, now: () => new Date('2026-11-21T00:00:00Z') });
      // Every BigQuery and Resource Manager request was the runner's, with a token IAM Credentials issued to the operator.
      expect(w.g.impersonations.length).toBeGreaterThan(0);
      expect(w.g.impersonations.every((x) => x.by === 'user:operator@example.com' && x.as === RUNNER_EMAIL)).toBe(true);
      expect(new Set(w.h.double.inserts.map((i) => i.principal))).toEqual(new Set([RUNNER]));
      expect(out.report.checks.find((c) => c.id === 'dependencies.credentials')?.detail).toBe(
        `access token obtained for ${RUNNER_EMAIL} by impersonation (IAM Credentials generateAccessToken of the test endpoint)`,
      );
      expect(out.report.checks.find((c) => c.id === 'infrastructure.iam.project')).toMatchObject({ status: 'pass', detail: expect.stringContaining(`as ${RUNNER_EMAIL}`) });
      expect(out.report.blockers.filter((b) => b.code === 'PERMISSION_MISSING')).toEqual([]);
    } finally {
      await w.close();
    }
    const s = await world(smallSeed, { accessToken: 'token-stranger', impersonateServiceAccount: RUNNER_EMAIL }, iam);
    try {
      await expect(s.h.engine.datasetInfo()).rejects.toThrow(/unable to impersonate.*iam\.serviceAccounts\.getAccessToken/);
      expect(s.h.double.inserts).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('bqx readiness --impersonate-service-account (the CLI flag, wired through readiness to the engine and the Google APIs)', () => {
  test('the default is the environment\'s runner; given, every request the double sees is the runner\'s, on a token IAM Credentials issued to the caller', async () => {
    expect(defaultRunnerServiceAccount('prod')).toBe(RUNNER_EMAIL);
    expect(defaultRunnerServiceAccount('prod', 'other-project')).toBe('bqx-ml-runner@other-project.iam.gserviceaccount.com');
    expect(defaultRunnerServiceAccount(undefined, 'bqx-ml')).toBe(RUNNER_EMAIL); // --project alone: the environment of that project
    expect(defaultRunnerServiceAccount(undefined, 'someone-elses-project')).toBeNull();
    expect(defaultRunnerServiceAccount(undefined)).toBeNull();
    const iam = tableIam().addGrant({ member: 'group:bqx-ml-operators@example.com', role: 'roles/iam.serviceAccountTokenCreator', resource: { kind: 'serviceAccount', project: PROJECT, email: RUNNER_EMAIL } });
    const w = await world(smallSeed, {}, iam);
    const reports = mkdtempSync(path.join(tmpdir(), 'bqx-impersonate-'));
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    process.env.BQX_BIGQUERY_ACCESS_TOKEN = 'token-operator'; // the caller's own (test) credentials
    try {
      const before = w.h.double.inserts.length;
      const code = await main(['node', 'bqx', 'readiness', '--engine', 'bigquery', '--env', 'prod', '--api-endpoint', w.h.double.endpoint, '--google-api-endpoint', w.g.endpoint, '--impersonate-service-account', RUNNER_EMAIL, '--reports-dir', reports, '--json']);
      const report = JSON.parse(out.mock.calls.map((c) => String(c[0])).join('')) as { verdict: string; checks: { id: string; detail: string }[]; blockers: { code: string }[] };
      expect(report.blockers.filter((b) => b.code === 'PERMISSION_MISSING')).toEqual([]);
      expect(report.checks.find((c) => c.id === 'dependencies.credentials')?.detail).toContain(`for ${RUNNER_EMAIL} by impersonation`);
      expect(code).not.toBe(2);
      const seen = w.h.double.inserts.slice(before);
      expect(seen.length).toBeGreaterThan(0);
      expect(new Set(seen.map((i) => i.principal))).toEqual(new Set([RUNNER]));
      expect(seen.every((i) => i.labels['bqx-phase'] === 'm008-4c')).toBe(true); // the app's engine options
      expect(w.g.impersonations.length).toBeGreaterThan(0);
      expect(new Set(w.g.impersonations.map((x) => `${x.by} as ${x.as}`))).toEqual(new Set([`user:operator@example.com as ${RUNNER_EMAIL}`]));
    } finally {
      delete process.env.BQX_BIGQUERY_ACCESS_TOKEN;
      out.mockRestore();
      rmSync(reports, { recursive: true, force: true });
      await w.close();
    }
  });
});

describe('where testIamPermissions cannot ask, the paper run is the second line of defence', () => {
  test('an empty runner dataset: readiness cannot ask its table permissions (P2 says so); the paper run stops at its first write, naming the permission, the feature dataset untouched', async () => {
    const w = await world((d) => seedDouble(d, 'small', { withRunnerDataset: true }));
    try {
      const { engine, double } = w.h;
      const policy = loadPolicy();
      const plan = await buildPlan(engine, { snapshot: makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, await engine.listTables()), policy, graceStart: '2026-11-21' });
      withoutEffectively(w.iam, 'runnerDataset', 'bigquery.tables.updateData');
      const ready = await runReadiness({ engine, plan, reportsDir: null, googleApiEndpoint: w.g.endpoint, now: () => new Date('2026-11-21T00:00:00Z') });
      const untested = ready.report.blockers.find((b) => b.code === 'PERMISSION_UNTESTED');
      expect(untested).toMatchObject({ priority: 'P2', check: 'infrastructure.iam.runner-dataset', title: expect.stringContaining('bigquery.tables.updateData') });
      expect(untested!.mitigation).toMatch(/paper run/);
      const features = JSON.stringify([...double.tables.keys()].filter((k) => k.startsWith(`${FEATURES_DATASET}.`)).sort());
      const err = await applyPlan(engine, plan, policy, { mode: 'paper', requiredPermissions: runnerRequiredPermissions() }).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).not.toBeInstanceOf(RunRefused);
      expect(err?.message).toMatch(/the ledger cannot be written .*Permission bigquery\.tables\.updateData denied on/);
      expect(JSON.stringify([...double.tables.keys()].filter((k) => k.startsWith(`${FEATURES_DATASET}.`)).sort())).toBe(features);
      expect(double.applied).toEqual([]);
      // Once the ledger tables exist, readiness asks on them and names it.
      expect(double.table(RUNNER_DATASET, LEDGER_TABLES.ledger)).toBeDefined();
      const again = await runReadiness({ engine, plan, reportsDir: null, googleApiEndpoint: w.g.endpoint, now: () => new Date('2026-11-21T00:00:00Z') });
      expect(again.report.blockers.find((b) => b.code === 'PERMISSION_MISSING')?.title).toMatch(/^the runner lacks bigquery\.tables\.updateData on dataset bqx-ml:bqx_ml_v3_migration \(runnerDataset\), needed by BACKUP_TABLE, LEDGER_APPEND, LOCK_APPEND$/);
    } finally {
      await w.close();
    }
  });
});
