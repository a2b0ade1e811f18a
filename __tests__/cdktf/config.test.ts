import { environmentInput, loadEnvironment } from '../../config/environments';
import { parseEnvironment } from '../../config/environment';
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

  describe('the iam section', () => {
    /** prod with `edit` applied to a copy of its iam section. */
    const withIam = (edit: (iam: NonNullable<ReturnType<typeof environmentInput>['iam']>) => void) => {
      const input = environmentInput('prod');
      edit(input.iam);
      return () => parseEnvironment(input, 'prod');
    };

    it('holds every binding of today, and accepts full IAM members', () => {
      const prod = loadEnvironment('prod');
      expect(prod.iam.project.ciDeployer).toContain('roles/resourcemanager.projectIamAdmin');
      expect(prod.iam.datasets.bqx_ml_v3_features_v2).toEqual({ extract: ['roles/bigquery.dataViewer'], runner: ['roles/bigquery.dataEditor'] });
      expect(prod.iam.serviceAccounts.ciDeployer).toEqual({ 'wif:ref': ['roles/iam.workloadIdentityUser'] });
      expect(withIam((iam) => (iam.buckets!.output = { 'group:data-eng@example.com': ['roles/storage.objectViewer'] }))().iam.buckets.output).toEqual({
        'group:data-eng@example.com': ['roles/storage.objectViewer'],
      });
    });

    it('refuses an unknown identity, naming the path', () => {
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { extractor: ['roles/bigquery.dataViewer'] }))).toThrow(
        /environment prod is invalid: iam\.datasets\.bqx_ml_v3_models\.extractor: unknown identity "extractor" \(identities: extract, merge, runner, ciPlanner, ciDeployer, orchestrator; or a full IAM member/,
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
        expect(withIam((iam) => iam.project!.ciDeployer.push(role))).toThrow(new RegExp(`iam\\.project\\.ciDeployer\\.13: primitive role ${role.replace('/', '\\/')} is never granted`));
      }
    });

    it('refuses allUsers and allAuthenticatedUsers', () => {
      expect(withIam((iam) => (iam.buckets!.output = { allUsers: ['roles/storage.objectViewer'] }))).toThrow(/iam\.buckets\.output\.allUsers: allUsers is never granted \(platform rule: no public access\)/);
      expect(withIam((iam) => (iam.datasets!.bqx_ml_v3_models = { allAuthenticatedUsers: ['roles/bigquery.dataViewer'] }))).toThrow(
        /iam\.datasets\.bqx_ml_v3_models\.allAuthenticatedUsers: allAuthenticatedUsers is never granted/,
      );
    });

    it('refuses WIF principals outside service accounts, roles outside their scope, bad members, duplicates', () => {
      expect(withIam((iam) => (iam.project!['wif:ref'] = ['roles/run.viewer']))).toThrow(/iam\.project\.wif:ref: wif:ref may only impersonate a service account/);
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

    it('reports every problem at once', () => {
      const run = withIam((iam) => {
        iam.project!.ciDeployer.push('roles/owner');
        iam.buckets!.output = { allUsers: ['roles/storage.objectViewer'] };
      });
      expect(run).toThrow(/iam\.project\.ciDeployer\.13: primitive role roles\/owner.*; iam\.buckets\.output\.allUsers: allUsers/);
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
