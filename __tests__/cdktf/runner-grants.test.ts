/**
 * Proof that the synthesized stacks grant the migration runner exactly its permission table
 * (config/runner-permissions.ts): for every scope, the union of the permissions of every role the
 * stacks bind to the runner ⊇ what the table requires, and nothing beyond RUNNER_EXTRA_PERMISSIONS;
 * and no grant to the runner anywhere else. The same for its needs beyond BigQuery (the cloud
 * table): the staging bucket's manifests, only through a binding whose condition is exactly
 * `resource.name.startsWith("projects/_/buckets/<staging>/objects/manifests/")` (any other bucket
 * binding, unconditioned or otherwise conditioned, counts as a grant elsewhere), and the extract job.
 * Roles are read back from the synthesized Terraform JSON (custom roles from
 * `google_project_iam_custom_role`, predefined ones from config/predefined-roles.ts).
 */
import { Testing, TerraformStack } from 'cdktf';
import { environmentInput } from '../../config/environments';
import { EnvironmentConfig, EnvironmentInput, objectPrefixCondition, parseEnvironment, serviceAccountEmail } from '../../config/environment';
import {
  CLOUD_SCOPES,
  CloudScope,
  PERMISSION_SCOPES,
  PermissionScope,
  RUNNER_CLOUD_EXTRA_PERMISSIONS,
  RUNNER_EXTRA_PERMISSIONS,
  cloudPermissionsFor,
  cloudScopeTargets,
  requiredRunnerPermissions,
  scopeTargets,
} from '../../config/runner-permissions';
import { customRolesFromTerraform, rolePermissions } from '../../config/predefined-roles';
import { buildPlatform } from '../../stacks/platform';
import { disableTokenStackTraces } from '../../stacks/token-stack-traces';
import { PINNED_NOW, Tf } from './helpers';

disableTokenStackTraces();

function envOf(name: 'prod' | 'dev', edit: (input: EnvironmentInput) => void = () => undefined): EnvironmentConfig {
  const input = environmentInput(name);
  input.budget = { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' };
  edit(input);
  return parseEnvironment(input, name);
}

interface RunnerGrants {
  /** Permissions per scope of the table; anything else the runner holds is under `elsewhere`. */
  readonly byScope: Record<PermissionScope, Set<string>>;
  /** The same for the scopes beyond BigQuery. */
  readonly cloud: Record<CloudScope, Set<string>>;
  readonly elsewhere: string[];
  readonly unknownRoles: string[];
}

/** Every grant to the runner in the synthesized stacks, resolved to permissions per scope. */
function runnerGrants(env: EnvironmentConfig, mutate: (stacks: readonly TerraformStack[]) => void = () => undefined): RunnerGrants {
  const { stacks } = buildPlatform(Testing.app(), { env, plan: null, now: PINNED_NOW });
  mutate(stacks);
  const tfs = stacks.map((s) => ({ id: s.node.id, tf: JSON.parse(Testing.synth(s)) as Tf }));
  const custom = new Map<string, readonly string[]>();
  for (const { tf } of tfs) for (const [k, v] of customRolesFromTerraform(tf, env.project)) custom.set(k, v);
  const runner = `serviceAccount:${serviceAccountEmail(env, env.serviceAccounts.runner)}`;
  const targets = scopeTargets(env);
  const cloudTargets = cloudScopeTargets(env);
  const manifests = `resource.name.startsWith("projects/_/buckets/${cloudTargets.stagingManifests.bucket}/objects/${cloudTargets.stagingManifests.prefix}")`;
  const out: RunnerGrants = {
    byScope: { project: new Set(), featureDataset: new Set(), runnerDataset: new Set() },
    cloud: { stagingManifests: new Set(), extractJob: new Set() },
    elsewhere: [],
    unknownRoles: [],
  };
  for (const { id, tf } of tfs) {
    const deref = (ref: string, attr: string): string => {
      const m = /^\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}$/.exec(ref);
      return m ? tf.resource[m[1]][m[2]][attr] : ref;
    };
    for (const [type, resources] of Object.entries(tf.resource)) {
      if (!/_iam_(member|binding|policy)$/.test(type)) continue;
      for (const r of Object.values(resources)) {
        const members: string[] = r.member ? [r.member] : (r.members ?? []);
        if (!members.includes(runner)) continue;
        let scope: PermissionScope | null = null;
        let cloud: CloudScope | null = null;
        // A condition only ever narrows the scopes below to the one exact form; BigQuery grants carry none.
        const condition = (r.condition as { expression?: string } | undefined)?.expression ?? null;
        if (type === 'google_project_iam_member' && r.project === targets.project && condition === null) scope = 'project';
        if (type === 'google_bigquery_dataset_iam_member' && condition === null) {
          const dataset = deref(r.dataset_id, 'dataset_id');
          if (dataset === targets.featureDataset) scope = 'featureDataset';
          if (dataset === targets.runnerDataset) scope = 'runnerDataset';
        }
        if (type === 'google_storage_bucket_iam_member' && deref(r.bucket, 'name') === cloudTargets.stagingManifests.bucket && condition === manifests) cloud = 'stagingManifests';
        if (type === 'google_cloud_run_v2_job_iam_member' && deref(r.name, 'name') === cloudTargets.extractJob && condition === null) cloud = 'extractJob';
        const permissions = rolePermissions(r.role, custom);
        if (permissions === null) out.unknownRoles.push(`${id}: ${type} ${r.role}`);
        if (scope !== null) for (const p of permissions ?? []) out.byScope[scope].add(p);
        else if (cloud !== null) for (const p of permissions ?? []) out.cloud[cloud].add(p);
        else out.elsewhere.push(`${id}: ${type} ${r.role}${condition ? ` if ${condition}` : ''}`);
      }
    }
  }
  return out;
}

/** Per scope: what the table requires and the grants lack, and what the grants give beyond the table and its justified extras. */
function compare(g: RunnerGrants) {
  const required = requiredRunnerPermissions();
  return PERMISSION_SCOPES.map((scope) => ({
    scope,
    missing: required[scope].filter((p) => !g.byScope[scope].has(p)),
    extra: [...g.byScope[scope]].filter((p) => !required[scope].includes(p) && !(p in RUNNER_EXTRA_PERMISSIONS[scope])).sort(),
  }));
}

const exact = PERMISSION_SCOPES.map((scope) => ({ scope, missing: [], extra: [] }));

/** The same comparison for the scopes beyond BigQuery. */
const compareCloud = (g: RunnerGrants) =>
  CLOUD_SCOPES.map((scope) => ({
    scope,
    missing: cloudPermissionsFor(scope).filter((p) => !g.cloud[scope].has(p)),
    extra: [...g.cloud[scope]].filter((p) => !cloudPermissionsFor(scope).includes(p) && !(p in RUNNER_CLOUD_EXTRA_PERMISSIONS[scope])).sort(),
  }));
const exactCloud = CLOUD_SCOPES.map((scope) => ({ scope, missing: [], extra: [] }));

describe('the runner is granted its permission table, per scope, and nothing else', () => {
  it.each(['prod', 'dev'] as const)('%s: synthesized grants ⊇ required, no unjustified extra, nothing elsewhere', (name) => {
    const g = runnerGrants(envOf(name));
    // On failure the received value names each scope's missing and extra permissions.
    expect(compare(g)).toEqual(exact);
    expect(g.elsewhere).toEqual([]);
    expect(g.unknownRoles).toEqual([]);
    // Every justified extra is still needed to explain a grant (the list stays exact too).
    for (const scope of PERMISSION_SCOPES) for (const p of Object.keys(RUNNER_EXTRA_PERMISSIONS[scope])) expect(g.byScope[scope].has(p)).toBe(true);
    // Beyond BigQuery: manifests/ of staging (create, overwrite) and the extract job (read), nothing more.
    expect(compareCloud(g)).toEqual(exactCloud);
    expect([...g.cloud.stagingManifests].sort()).toEqual(['storage.objects.create', 'storage.objects.delete']);
    expect(g.cloud.extractJob.has('run.jobs.get')).toBe(true);
    for (const scope of CLOUD_SCOPES) for (const p of Object.keys(RUNNER_CLOUD_EXTRA_PERMISSIONS[scope])) expect(g.cloud[scope].has(p)).toBe(true);
  });

  it('fails, naming the extra permissions, when the runner gets dataEditor on the feature dataset', () => {
    const g = runnerGrants(envOf('prod', (i) => i.iam.datasets!.bqx_ml_v3_features_v2.runner.push('roles/bigquery.dataEditor')));
    const features = compare(g).find((c) => c.scope === 'featureDataset')!;
    expect(features.missing).toEqual([]);
    expect(features.extra).toEqual(expect.arrayContaining(['bigquery.routines.create', 'bigquery.models.delete', 'bigquery.datasets.create']));
  });

  it('fails, naming the missing permission, when a custom role loses one', () => {
    const g = runnerGrants(
      envOf('prod', (i) => {
        const role = i.iam.customRoles!.bqxMigrationRunnerFeatures;
        role.permissions = role.permissions.filter((p) => p !== 'bigquery.tables.deleteSnapshot');
      }),
    );
    expect(compare(g).find((c) => c.scope === 'featureDataset')!.missing).toEqual(['bigquery.tables.deleteSnapshot']);
  });

  it('fails when the runner is granted anything outside its scopes', () => {
    // An unconditioned storage role on staging replaces the conditional one: a grant elsewhere, and the manifests scope lacks its two.
    const g = runnerGrants(envOf('prod', (i) => (i.iam.buckets!.staging.runner = ['roles/storage.objectUser'])));
    expect(g.elsewhere).toEqual(['data: google_storage_bucket_iam_member roles/storage.objectUser']);
    expect(compareCloud(g).find((c) => c.scope === 'stagingManifests')!.missing).toEqual(['storage.objects.create', 'storage.objects.delete']);
    // The manifests role under a condition on another prefix (the extract job's checkpoints) is not the manifests scope either.
    const checkpoints = runnerGrants(
      envOf('prod', (i) => (i.iam.buckets!.staging.runner = [{ role: 'custom:bqxMigrationRunnerManifests', condition: objectPrefixCondition('bqx-ml-staging', 'checkpoints/', 'c') }])),
    );
    expect(checkpoints.elsewhere).toEqual([
      'data: google_storage_bucket_iam_member projects/bqx-ml/roles/bqxMigrationRunnerManifests if resource.name.startsWith("projects/_/buckets/bqx-ml-staging/objects/checkpoints/")',
    ]);
    // run.viewer on the merge job besides the extract job's.
    const merge = runnerGrants(envOf('prod', (i) => (i.iam.jobs!.merge = { ...i.iam.jobs!.merge, runner: ['roles/run.viewer'] })));
    expect(merge.elsewhere).toEqual(['pipeline: google_cloud_run_v2_job_iam_member roles/run.viewer']);
    const other = runnerGrants(envOf('prod', (i) => (i.iam.datasets!.bqx_ml_v3_models = { runner: ['roles/bigquery.dataViewer'] })));
    expect(other.elsewhere).toEqual(['data: google_bigquery_dataset_iam_member roles/bigquery.dataViewer']);
  });
});
