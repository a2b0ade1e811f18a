import { environmentInput, loadEnvironment } from '../../config/environments';
import { objectPrefixCondition, parseEnvironment, placeholders, resolveRole } from '../../config/environment';
import { resolveNow } from '../../stacks/clock';

describe('environment configuration', () => {
  it('prod is the current system', () => {
    const prod = loadEnvironment('prod');
    expect(prod).toMatchObject({ project: 'bqx-ml', region: 'us-central1' });
    expect(prod.jobs.extract).toMatchObject({ cpu: '4', memory: '8Gi', timeoutSeconds: 7200, maxRetries: 0 });
    expect(prod.jobs.merge).toMatchObject({ cpu: '1', memory: '2Gi', timeoutSeconds: 1800, maxRetries: 0 });
    expect(prod.pairs).toHaveLength(28);
    expect(prod.budget).toMatchObject({ monthlyUsd: 276, phase4c: { ceilingUsd: 15 } });
  });

  it('refuses a default table expiration outside scratch datasets, naming the path', () => {
    const input = environmentInput('prod');
    input.datasets = input.datasets.map((d) => (d.id === 'bqx_ml_v3_models' ? { ...d, defaultTableExpirationDays: 30 } : d));
    expect(() => parseEnvironment(input, 'prod')).toThrow(/environment prod is invalid: datasets\.3\.defaultTableExpirationDays: dataset bqx_ml_v3_models: only scratch datasets/);
  });

  it('refuses a scratch dataset the runner renames in having an expiration', () => {
    const input = environmentInput('dev');
    input.datasets = input.datasets.map((d) => (d.id === 'bqx_ml_v3_temp' ? { ...d, runnerRenamesIn: true } : d));
    expect(() => parseEnvironment(input, 'dev')).toThrow(/bqx_ml_v3_temp: the runner renames in it/);
  });

  it('refuses malformed names and sizes', () => {
    const input = environmentInput('dev');
    expect(() => parseEnvironment({ ...input, project: 'BQX ML' }, 'dev')).toThrow(/project:/);
    expect(() => parseEnvironment({ ...input, jobs: { ...input.jobs, merge: { ...input.jobs.merge, memory: '2GB' } } }, 'dev')).toThrow(/jobs\.merge\.memory/);
    expect(() => loadEnvironment('qa')).toThrow(/unknown environment "qa"/);
    // A budget amount is whole dollars (the API's `units`).
    expect(() => parseEnvironment({ ...input, budget: { ...input.budget, monthlyUsd: 27.5 } }, 'dev')).toThrow(/budget\.monthlyUsd: Expected integer/);
  });

  it('pins images: by digest, or by an immutable tag of the platform repository; never :latest or tagless', () => {
    const input = environmentInput('dev');
    const withImage = (image: string) => () => parseEnvironment({ ...input, jobs: { ...input.jobs, extract: { ...input.jobs.extract, image } } }, 'dev');
    expect(withImage('bqx-ml-extract:latest')).toThrow(/jobs\.extract\.image: "bqx-ml-extract:latest" uses :latest, which moves/);
    expect(withImage('bqx-ml-extract')).toThrow(/jobs\.extract\.image: "bqx-ml-extract" names no digest or tag/);
    expect(withImage('gcr.io/bqx-ml/extract:v3')).toThrow(/is outside the platform's repository \(immutable tags\): pin it by digest/);
    expect(withImage('bqx-ml-extract@sha256:abc')).toThrow(/names no digest or tag/);
    expect(withImage(`bqx-ml-extract@sha256:${'a'.repeat(64)}`)().jobs.extract.image).toBe(`bqx-ml-extract@sha256:${'a'.repeat(64)}`);
    expect(withImage('bqx-ml-extract:git-0123abc')().jobs.extract.image).toBe('bqx-ml-extract:git-0123abc');
    expect(withImage(`us-docker.pkg.dev/other/repo/x@sha256:${'b'.repeat(64)}`)).not.toThrow();
    // A job runs as one of the declared identities.
    expect(() => parseEnvironment({ ...input, jobs: { ...input.jobs, runner: { ...input.jobs.runner, serviceAccount: 'bqx-ml-runnr' } } }, 'dev')).toThrow(
      /jobs\.runner\.serviceAccount: bqx-ml-runnr is not one of serviceAccounts/,
    );
  });

  it("the extract job's discovery: one of the modes, set only through jobs.extract.discovery", () => {
    const input = environmentInput('prod');
    const withExtract = (extract: Partial<typeof input.jobs.extract>) => () => parseEnvironment({ ...input, jobs: { ...input.jobs, extract: { ...input.jobs.extract, ...extract } } }, 'prod');
    expect(withExtract({ discovery: 'manifest' })().jobs.extract.discovery).toBe('manifest');
    const { discovery: _omitted, ...withoutDiscovery } = input.jobs.extract;
    expect(parseEnvironment({ ...input, jobs: { ...input.jobs, extract: withoutDiscovery } }, 'prod').jobs.extract.discovery).toBe('name-only');
    expect(withExtract({ discovery: 'views' as never })).toThrow(/jobs\.extract\.discovery: Invalid enum value\. Expected 'name-only' \| 'base-tables' \| 'manifest'/);
    expect(withExtract({ env: { ...input.jobs.extract.env, EXTRACTION_DISCOVERY: 'base-tables' } })).toThrow(
      /jobs\.extract\.env\.EXTRACTION_DISCOVERY: EXTRACTION_DISCOVERY is rendered from jobs\.extract\.discovery \('name-only' \| 'base-tables' \| 'manifest'\): set that instead/,
    );
    expect(() => parseEnvironment({ ...input, jobs: { ...input.jobs, merge: { ...input.jobs.merge, env: { EXTRACTION_MANIFEST: 'gs://x/y' } } } }, 'prod')).toThrow(/jobs\.merge\.env\.EXTRACTION_MANIFEST: EXTRACTION_MANIFEST is rendered from jobs\.extract\.discovery/);
  });

  it('lists every placeholder with the stacks it blocks', () => {
    const input = environmentInput('prod');
    const env = parseEnvironment({ ...input, budget: { ...input.budget, billingAccount: '000000-000000-000000' }, ci: { ...input.ci, repositoryId: '0', repositoryOwnerId: '0' } }, 'prod');
    const found = Object.fromEntries(placeholders(env).map((p) => [p.path, p.stacks]));
    expect(found).toEqual({
      'budget.billingAccount': ['pipeline'],
      'ci.repositoryId': ['foundation'],
      'ci.repositoryOwnerId': ['foundation'],
      'groups.operators': ['foundation', 'pipeline'],
      'groups.platformAdmins': ['foundation', 'pipeline'],
      'jobs.extract.image': ['pipeline'],
      'jobs.merge.image': ['pipeline'],
      'jobs.runner.image': ['pipeline'],
    });
    const real = parseEnvironment(
      {
        ...input,
        budget: { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' },
        ci: { ...input.ci, repositoryId: '812345678', repositoryOwnerId: '91234567' },
        groups: { operators: 'ops@bqx.example.org', platformAdmins: 'admins@bqx.example.org' },
        jobs: Object.fromEntries(Object.entries(input.jobs).map(([k, j]) => [k, { ...j, image: `${j.name}@sha256:${'c'.repeat(64)}` }])) as typeof input.jobs,
      },
      'prod',
    );
    expect(placeholders(real)).toEqual([]);
  });

  describe('the iam section', () => {
    /** prod with `edit` applied to a copy of its iam section. */
    const withIam = (edit: (iam: NonNullable<ReturnType<typeof environmentInput>['iam']>) => void) => {
      const input = environmentInput('prod');
      edit(input.iam);
      return () => parseEnvironment(input, 'prod');
    };

    it('holds the split identities and the runner\'s custom roles, and accepts full IAM members', () => {
      const prod = loadEnvironment('prod');
      // The routine deployer cannot grant project roles, mint identities or change federation; break glass can.
      for (const role of ['roles/resourcemanager.projectIamAdmin', 'roles/iam.serviceAccountAdmin', 'roles/iam.workloadIdentityPoolAdmin', 'roles/iam.roleAdmin']) {
        expect(prod.iam.project.ciDeployer).not.toContain(role);
        expect(prod.iam.project.breakGlass).toContain(role);
      }
      expect(prod.iam.datasets.bqx_ml_v3_features_v2).toEqual({ ciDeployer: ['roles/bigquery.dataOwner'], extract: ['roles/bigquery.dataViewer'], runner: ['custom:bqxMigrationRunnerFeatures'] });
      expect(prod.iam.serviceAccounts.ciDeployer).toEqual({ 'wif:deployEnvironment': ['roles/iam.workloadIdentityUser'] });
      // The drift check holds exactly the planner's read-only roles, and only the default branch's runs may impersonate it.
      expect(prod.iam.project.ciDrift).toEqual(prod.iam.project.ciPlanner);
      expect(prod.iam.buckets.state.ciDrift).toEqual(prod.iam.buckets.state.ciPlanner);
      expect(prod.iam.serviceAccounts.ciDrift).toEqual({ 'wif:defaultBranch': ['roles/iam.workloadIdentityUser'] });
      expect(prod.ci.defaultBranchRef).toBe('refs/heads/main');
      expect(prod.serviceAccounts.ciDrift).toBe('bqx-ml-ci-drift');
      // No workflow can impersonate break glass: only the platform admins' group, by token creation.
      expect(prod.iam.serviceAccounts.breakGlass).toEqual({ [`group:${prod.groups.platformAdmins}`]: ['roles/iam.serviceAccountTokenCreator'] });
      // The runner on staging: its manifests role under the manifests/ condition, nothing unconditioned.
      expect(prod.iam.buckets.staging.runner).toEqual([
        { role: 'custom:bqxMigrationRunnerManifests', condition: objectPrefixCondition('bqx-ml-staging', 'manifests/', 'Extraction manifests') },
      ]);
      expect(prod.iam.customRoles.bqxMigrationRunnerManifests.permissions).toEqual(['storage.objects.create', 'storage.objects.delete']);
      expect(prod.iam.jobs.extract.runner).toEqual(['roles/run.viewer']);
      expect(prod.iam.project.runner).toEqual(['custom:bqxMigrationRunnerProject']);
      expect(withIam((iam) => (iam.buckets!.output = { 'group:data-eng@example.com': ['roles/storage.objectViewer'] }))().iam.buckets.output).toEqual({
        'group:data-eng@example.com': ['roles/storage.objectViewer'],
      });
    });

    it('refuses an unknown identity, naming the path', () => {
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { extractor: ['roles/bigquery.dataViewer'] }))).toThrow(
        /environment prod is invalid: iam\.datasets\.bqx_ml_v3_models\.extractor: unknown identity "extractor" \(identities: extract, merge, runner, ciPlanner, ciDeployer, orchestrator, breakGlass, compliance, ciDrift; or a full IAM member/,
      );
    });

    it('refuses an unknown dataset, bucket, job or account', () => {
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_nope = { extract: ['roles/bigquery.dataViewer'] }))).toThrow(/iam\.datasets\.bqx_ml_v3_nope: unknown dataset "bqx_ml_v3_nope" \(declared: bqx_ml_v3_features_v2, /);
      expect(withIam((iam) => (iam.buckets!.archive = { merge: ['roles/storage.objectViewer'] }))).toThrow(/iam\.buckets\.archive: unknown bucket "archive" \(declared: staging, output, state\)/);
      expect(withIam((iam) => (iam.jobs!.train = { orchestrator: ['roles/run.developer'] }))).toThrow(/iam\.jobs\.train: unknown job "train"/);
      expect(withIam((iam) => (iam.serviceAccounts!.trainer = { ciDeployer: ['roles/iam.serviceAccountUser'] }))).toThrow(/iam\.serviceAccounts\.trainer: unknown identity "trainer"/);
      expect(withIam((iam) => ((iam as Record<string, unknown>).folders = {}))).toThrow(/iam: Unrecognized key\(s\) in object: 'folders'/);
    });

    it('refuses primitive roles', () => {
      for (const role of ['roles/owner', 'roles/editor', 'roles/viewer']) {
        expect(withIam((iam) => iam.project!.ciDeployer.push(role))).toThrow(new RegExp(`iam\\.project\\.ciDeployer\\.6: primitive role ${role.replace('/', '\\/')} is never granted`));
      }
    });

    it('refuses allUsers and allAuthenticatedUsers', () => {
      expect(withIam((iam) => (iam.buckets!.output = { allUsers: ['roles/storage.objectViewer'] }))).toThrow(/iam\.buckets\.output\.allUsers: allUsers is never granted \(platform rule: no public access\)/);
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { allAuthenticatedUsers: ['roles/bigquery.dataViewer'] }))).toThrow(
        /iam\.datasets\.bqx_ml_v3_models\.allAuthenticatedUsers: allAuthenticatedUsers is never granted/,
      );
    });

    it('refuses WIF principals outside service accounts, roles outside their scope, bad members, duplicates', () => {
      expect(withIam((iam) => (iam.project!['wif:deployEnvironment'] = ['roles/run.viewer']))).toThrow(
        /iam\.project\.wif:deployEnvironment: wif:deployEnvironment may only impersonate a service account/,
      );
      expect(withIam((iam) => (iam.serviceAccounts!.runner = { 'wif:ref': ['roles/iam.workloadIdentityUser'] }))).toThrow(/unknown WIF principal "wif:ref" \(use wif:repository or wif:deployEnvironment or wif:defaultBranch\)/);
      expect(withIam((iam) => (iam.serviceAccounts!.runner = { 'wif:branch': ['roles/iam.workloadIdentityUser'] }))).toThrow(/iam\.serviceAccounts\.runner\.wif:branch: unknown WIF principal "wif:branch"/);
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { extract: ['roles/storage.objectViewer'] }))).toThrow(
        /iam\.datasets\.bqx_ml_v3_models\.extract\.0: roles\/storage\.objectViewer cannot be granted on a dataset \(its roles are roles\/bigquery\.\*\)/,
      );
      expect(withIam((iam) => (iam.buckets!.output = { 'mailto:x@example.com': ['roles/storage.objectViewer'] }))).toThrow(/iam\.buckets\.output\.mailto:x@example\.com: "mailto:x@example\.com" is not an IAM member/);
      expect(withIam((iam) => (iam.buckets!.output = { 'serviceAccount:bqx-ml-merge@bqx-ml.iam.gserviceaccount.com': ['roles/storage.objectViewer'] }))).toThrow(
        /is identity merge: name it by its key/,
      );
      expect(withIam((iam) => (iam.jobs!.extract = { orchestrator: ['roles/run.developer', 'roles/run.developer'] }))).toThrow(/iam\.jobs\.extract\.orchestrator\.1: roles\/run\.developer is listed twice/);
      expect(withIam((iam) => (iam.jobs!.extract = { orchestrator: ['run.developer'] }))).toThrow(/"run\.developer" is not a role/);
    });

    it('resolves custom roles by id, refuses unknown ones and non-BigQuery custom roles on datasets', () => {
      expect(resolveRole(loadEnvironment('dev'), 'custom:bqxMigrationRunnerLedger')).toBe('projects/bqx-ml-dev/roles/bqxMigrationRunnerLedger');
      expect(resolveRole(loadEnvironment('dev'), 'roles/bigquery.jobUser')).toBe('roles/bigquery.jobUser');
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { runner: ['custom:bqxNope'] }))).toThrow(
        /iam\.datasets\.bqx_ml_v3_models\.runner\.0: custom:bqxNope: no custom role "bqxNope" in iam\.customRoles \(declared: bqxMigrationRunnerProject, /,
      );
      expect(
        withIam((iam) => {
          iam.customRoles!.mixed = { title: 'm', description: 'm', reason: 'r', permissions: ['bigquery.tables.get', 'storage.objects.get'] };
          iam.datasets!.bqx_ml_v3_models = { runner: ['custom:mixed'] };
        }),
      ).toThrow(/custom:mixed holds non-BigQuery permissions and cannot be granted on a dataset/);
      expect(withIam((iam) => (iam.customRoles!.x = { title: 't', description: 'd', reason: 'r', permissions: ['bigquery tables'] }))).toThrow(/iam\.customRoles\.x\.permissions\.0/);
    });

    it('takes a condition on a bucket binding only, naming that bucket, never beside the same role unconditioned', () => {
      const prefixed = objectPrefixCondition('bqx-ml-output', 'reports/', 'reports');
      expect(prefixed.expression).toBe('resource.name.startsWith("projects/_/buckets/bqx-ml-output/objects/reports/")');
      expect(withIam((iam) => (iam.buckets!.output = { merge: [{ role: 'roles/storage.objectViewer', condition: prefixed }] }))().iam.buckets.output).toEqual({
        merge: [{ role: 'roles/storage.objectViewer', condition: prefixed }],
      });
      // A scope kind whose bindings render no condition: refused, naming the path and where conditions go.
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { merge: [{ role: 'roles/bigquery.dataViewer', condition: prefixed }] }))).toThrow(
        /iam\.datasets\.bqx_ml_v3_models\.merge\.0\.condition: a condition cannot be set on a binding on a dataset: the platform renders IAM conditions only on bindings on a bucket \(iam\.buckets\)/,
      );
      expect(withIam((iam) => (iam.jobs!.extract = { orchestrator: [{ role: 'roles/run.developer', condition: prefixed }] }))).toThrow(/iam\.jobs\.extract\.orchestrator\.0\.condition: a condition cannot be set on a binding on a Cloud Run job/);
      expect(withIam((iam) => (iam.project!.merge = [{ role: 'roles/bigquery.jobUser', condition: prefixed }]))).toThrow(/iam\.project\.merge\.0\.condition: a condition cannot be set on a binding on the project/);
      // A condition copied from another bucket's binding.
      expect(withIam((iam) => (iam.buckets!.staging = { merge: [{ role: 'roles/storage.objectViewer', condition: prefixed }] }))).toThrow(
        /iam\.buckets\.staging\.merge\.0\.condition: the condition names bucket bqx-ml-output, but the binding is on bucket staging \(bqx-ml-staging\)/,
      );
      // The same role without the condition makes it moot; the same conditional grant twice is a duplicate.
      expect(withIam((iam) => (iam.buckets!.output = { merge: ['roles/storage.objectViewer', { role: 'roles/storage.objectViewer', condition: prefixed }] }))).toThrow(
        /iam\.buckets\.output\.merge\.1\.condition: roles\/storage\.objectViewer is also granted to merge without a condition there/,
      );
      expect(withIam((iam) => (iam.buckets!.output = { merge: [{ role: 'roles/storage.objectViewer', condition: prefixed }, { role: 'roles/storage.objectViewer', condition: prefixed }] }))).toThrow(
        /iam\.buckets\.output\.merge\.1: roles\/storage\.objectViewer is listed twice/,
      );
      expect(withIam((iam) => (iam.buckets!.output = { merge: [{ role: 'roles/storage.objectViewer', condition: { ...prefixed, colour: 'red' } as never }] }))).toThrow(/iam\.buckets\.output\.merge\.0/);
    });

    it('refuses a custom role of another service on a bucket or a job', () => {
      const mixed = (iam: NonNullable<ReturnType<typeof environmentInput>['iam']>) =>
        (iam.customRoles!.mixed = { title: 'm', description: 'm', reason: 'r', permissions: ['storage.objects.create', 'bigquery.tables.get'] });
      expect(withIam((iam) => (mixed(iam), (iam.buckets!.output = { merge: ['custom:mixed'] })))).toThrow(/iam\.buckets\.output\.merge\.0: custom:mixed holds non-Cloud Storage permissions and cannot be granted on a bucket/);
      expect(withIam((iam) => (mixed(iam), (iam.jobs!.merge = { merge: ['custom:mixed'] })))).toThrow(/iam\.jobs\.merge\.merge\.0: custom:mixed holds non-Cloud Run permissions and cannot be granted on a Cloud Run job/);
    });

    it('reports every problem at once', () => {
      const run = withIam((iam) => {
        iam.project!.ciDeployer.push('roles/owner');
        iam.buckets!.output = { allUsers: ['roles/storage.objectViewer'] };
      });
      expect(run).toThrow(/iam\.project\.ciDeployer\.6: primitive role roles\/owner.*; iam\.buckets\.output\.allUsers: allUsers/);
    });
  });

  it('the clock: explicit, else BQX_NOW, else now; a bad BQX_NOW is refused', () => {
    const pinned = new Date('2026-01-01T00:00:00Z');
    expect(resolveNow(pinned, '2030-01-01T00:00:00Z')).toBe(pinned);
    expect(resolveNow(undefined, '2030-01-01T00:00:00Z').toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(Math.abs(resolveNow(undefined, undefined).getTime() - Date.now())).toBeLessThan(5000);
    expect(() => resolveNow(undefined, 'soon')).toThrow(/BQX_NOW="soon" is not a date/);
  });
});
