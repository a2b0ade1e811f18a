/**
 * Property: the IAM member resources of the synthesized stacks are exactly the bindings of the
 * config's `iam` section, no more, no fewer: for the committed environments and for random `iam`
 * sections. The expected side is computed here from the config alone (not with the stacks' own
 * resolver), and the synthesized side is read back from the Terraform JSON.
 */
import { Testing, TerraformStack } from 'cdktf';
import { environmentInput } from '../../config/environments';
import { EnvironmentConfig, EnvironmentInput, IDENTITY_KEYS, IamRoleEntry, iamBindings, objectPrefixCondition, parseEnvironment } from '../../config/environment';
import { StorageBucketIamMember } from '../../constructs/google';
import { buildPlatform } from '../../stacks/platform';
import { DataStack } from '../../stacks/data-stack';
import { FoundationStack } from '../../stacks/foundation-stack';
import { disableTokenStackTraces } from '../../stacks/token-stack-traces';
import { PINNED_NOW, Tf } from './helpers';

disableTokenStackTraces();

const IAM_TYPES: Readonly<Record<string, string>> = {
  google_project_iam_member: 'project',
  google_bigquery_dataset_iam_member: 'datasets',
  google_storage_bucket_iam_member: 'buckets',
  google_service_account_iam_member: 'serviceAccounts',
  google_artifact_registry_repository_iam_member: 'artifactRegistry',
  google_cloud_run_v2_job_iam_member: 'jobs',
};

function envOf(name: 'prod' | 'dev', iam?: EnvironmentInput['iam']): EnvironmentConfig {
  const input = environmentInput(name);
  return parseEnvironment({ ...input, ...(iam ? { iam } : {}), budget: { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' } }, name);
}

function build(env: EnvironmentConfig) {
  const result = buildPlatform(Testing.app(), { env, plan: null, now: PINNED_NOW });
  const stack = <T extends TerraformStack>(id: string) => result.stacks.find((s) => s.node.id === id) as T;
  return { foundation: stack<FoundationStack>('foundation'), data: stack<DataStack>('data'), stacks: result.stacks };
}

/** Every IAM resource of the stacks as `<scope> <member> <role>`; an IAM resource type not known here fails. */
function synthesizedBindings(env: EnvironmentConfig, stacks: readonly TerraformStack[]): string[] {
  const out: string[] = [];
  for (const stack of stacks) {
    const tf = JSON.parse(Testing.synth(stack)) as Tf;
    /** The attribute `attr` of the resource a `${type.name.x}` reference points at. */
    const deref = (ref: string, attr: string): string => {
      const m = /^\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}$/.exec(ref);
      if (!m) throw new Error(`not a reference: ${ref}`);
      return tf.resource[m[1]][m[2]][attr];
    };
    const keyOf = (record: Record<string, unknown>, pick: (v: never) => string, value: string) =>
      Object.entries(record).find(([, v]) => pick(v as never) === value)?.[0] ?? `?${value}`;
    for (const [type, resources] of Object.entries(tf.resource)) {
      if (!/_iam_(member|binding|policy|audit_config)$/.test(type)) continue; // bindings, not the WIF pool
      const kind = IAM_TYPES[type];
      if (!kind) throw new Error(`unexpected IAM resource type ${type} in ${stack.node.id}`);
      for (const r of Object.values(resources)) {
        let scope: string = kind;
        if (kind === 'project') expect(r.project).toBe(env.project);
        if (kind === 'datasets') scope = `datasets.${deref(r.dataset_id, 'dataset_id')}`;
        if (kind === 'buckets') scope = `buckets.${keyOf(env.buckets, (b: { name: string }) => b.name, deref(r.bucket, 'name'))}`;
        if (kind === 'serviceAccounts') scope = `serviceAccounts.${keyOf(env.serviceAccounts, (id: string) => id, deref(r.service_account_id, 'account_id'))}`;
        if (kind === 'jobs') scope = `jobs.${keyOf(env.jobs, (j: { name: string }) => j.name, deref(r.name, 'name'))}`;
        if (kind === 'artifactRegistry') expect(deref(r.repository, 'repository_id')).toBe(env.artifactRegistry.repositoryId);
        const condition = r.condition as { expression: string; title: string } | undefined;
        out.push(`${scope} ${r.member} ${r.role}${condition ? ` if ${condition.title}: ${condition.expression}` : ''}`);
      }
    }
  }
  return out.sort();
}

/** Every binding of the config, spelled as Terraform must see it. */
function configBindings(env: EnvironmentConfig): string[] {
  const pool = '${google_iam_workload_identity_pool.wif-pool.name}';
  const member = (p: string): string => {
    if ((IDENTITY_KEYS as readonly string[]).includes(p)) return `serviceAccount:${env.serviceAccounts[p as keyof EnvironmentConfig['serviceAccounts']]}@${env.project}.iam.gserviceaccount.com`;
    if (p === 'wif:repository') return `principalSet://iam.googleapis.com/${pool}/attribute.repository/${env.ci.repository}`;
    if (p === 'wif:deployEnvironment') return `principalSet://iam.googleapis.com/${pool}/attribute.subject_ref/repo:${env.ci.repository}:environment:${env.ci.deployEnvironment}@${env.ci.deployRef}`;
    if (p === 'wif:defaultBranch') return `principalSet://iam.googleapis.com/${pool}/attribute.ref/${env.ci.defaultBranchRef}`;
    return p;
  };
  const role = (r: string) => (r.startsWith('custom:') ? `projects/${env.project}/roles/${r.slice('custom:'.length)}` : r);
  return iamBindings(env.iam)
    .map((b) => `${b.key === null ? b.kind : `${b.kind}.${b.key}`} ${member(b.principal)} ${role(b.role)}${b.condition ? ` if ${b.condition.title}: ${b.condition.expression}` : ''}`)
    .sort();
}

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROLES = {
  project: ['roles/bigquery.jobUser', 'roles/logging.logWriter', 'roles/run.viewer', 'roles/monitoring.viewer', 'custom:bqxMigrationRunnerProject'],
  datasets: ['roles/bigquery.dataViewer', 'roles/bigquery.dataEditor', 'roles/bigquery.metadataViewer', 'custom:bqxMigrationRunnerLedger'],
  buckets: ['roles/storage.objectViewer', 'roles/storage.objectUser', 'roles/storage.objectCreator'],
  serviceAccounts: ['roles/iam.serviceAccountUser', 'roles/iam.workloadIdentityUser', 'roles/iam.serviceAccountTokenCreator'],
  artifactRegistry: ['roles/artifactregistry.reader', 'roles/artifactregistry.writer'],
  jobs: ['roles/run.invoker', 'roles/run.developer'],
} as const;
const MEMBERS = [...IDENTITY_KEYS, 'group:data-eng@example.com', 'user:oncall@example.com'];

/** A random valid `iam` section for `env`'s scopes. */
function randomIam(env: EnvironmentConfig, seed: number): EnvironmentInput['iam'] {
  const rnd = random(seed);
  const some = <T>(xs: readonly T[], p: number): T[] => xs.filter(() => rnd() < p);
  // On a bucket, a role is sometimes granted under a condition (objects under a prefix of that bucket).
  const byPrincipals = (kind: keyof typeof ROLES, key?: string): Record<string, IamRoleEntry[]> => {
    const principals = some(kind === 'serviceAccounts' ? [...MEMBERS, 'wif:repository', 'wif:deployEnvironment', 'wif:defaultBranch'] : MEMBERS, 0.3);
    const out: Record<string, IamRoleEntry[]> = {};
    for (const p of principals) {
      const roles: IamRoleEntry[] = some(ROLES[kind], 0.5).map((role) =>
        kind === 'buckets' && rnd() < 0.4 ? { role, condition: objectPrefixCondition(env.buckets[key as keyof EnvironmentConfig['buckets']].name, `p${Math.floor(rnd() * 3)}/`, 'prefix') } : role,
      );
      if (roles.length) out[p] = roles;
    }
    return out;
  };
  const keyed = (kind: 'datasets' | 'buckets' | 'serviceAccounts' | 'jobs', keys: readonly string[]) =>
    Object.fromEntries(some(keys, 0.6).map((k) => [k, byPrincipals(kind, k)]));
  return {
    customRoles: environmentInput('prod').iam.customRoles,
    project: byPrincipals('project'),
    datasets: keyed('datasets', env.datasets.map((d) => d.id)),
    buckets: keyed('buckets', Object.keys(env.buckets)),
    serviceAccounts: keyed('serviceAccounts', IDENTITY_KEYS),
    artifactRegistry: byPrincipals('artifactRegistry'),
    jobs: keyed('jobs', Object.keys(env.jobs)),
  };
}

describe('IAM comes from the config and only from it', () => {
  it.each(['prod', 'dev'] as const)('%s: the synthesized IAM member resources are exactly the config\'s bindings', (name) => {
    const env = envOf(name);
    const { stacks, foundation } = build(env);
    const synthesized = synthesizedBindings(env, stacks);
    expect(synthesized).toEqual(configBindings(env));
    // 48 before identities were narrowed to least privilege: the deployer lost 5 project roles, break
    // glass holds 7 and state-bucket access, the runner lost staging-bucket access and gained actAs
    // (deployer), token creation and job execution (operators), break glass is impersonable by the
    // admins: 48 - 5 + 7 + 1 - 1 + 3 + 1; the runner writes manifests/ of staging (conditional) and
    // reads the extract job: + 2. Then the foundation's state moved to its own bucket (granted at
    // bootstrap, no stack declares it): break glass leaves the shared state bucket (- 1); the
    // deployer's project-wide storage.admin, dataOwner and logging.configWriter became one project
    // custom role (- 2) plus storage.admin on staging and output (+ 2; on the state bucket it
    // replaces objectUser) and dataOwner on each of the nine datasets (+ 9): 56 - 1 - 2 + 2 + 9. The compliance scheduler executes the runner job, and the
    // deployer attaches its identity: + 2. The drift check got its own identity: the planner's 11
    // read-only project roles, objectViewer on the state bucket, and federation from the default branch: + 13.
    expect(synthesized).toHaveLength(79);
    expect(synthesized.filter((b) => b.includes(' if '))).toEqual([
      `buckets.staging serviceAccount:bqx-ml-runner@${env.project}.iam.gserviceaccount.com projects/${env.project}/roles/bqxMigrationRunnerManifests if Extraction manifests (manifests/ only): ` +
        `resource.name.startsWith("projects/_/buckets/${env.buckets.staging.name}/objects/manifests/")`,
    ]);
    // Every pinned (pre-existing) address still matches a binding of the committed config.
    expect(foundation.unusedPins).toEqual([]);
  });

  it('holds for random iam sections (25 seeds), conditional bucket bindings included', () => {
    let total = 0;
    let conditional = 0;
    for (let seed = 1; seed <= 25; seed++) {
      const name = seed % 2 ? 'prod' : 'dev';
      const env = envOf(name, randomIam(envOf(name), seed));
      const expected = configBindings(env);
      total += expected.length;
      conditional += expected.filter((b) => b.includes(' if ')).length;
      expect({ seed, bindings: synthesizedBindings(env, build(env).stacks) }).toEqual({ seed, bindings: expected });
    }
    expect(total).toBeGreaterThan(100); // the generator is not producing empty sections
    expect(conditional).toBeGreaterThan(5);
  });

  it('the comparison fails for a binding made outside the config, and for a config binding not made', () => {
    const env = envOf('prod');
    const rogue = build(env);
    new StorageBucketIamMember(rogue.data, 'rogue', { bucket: rogue.data.buckets.output.resource.name, role: 'roles/storage.objectViewer', member: 'group:x@example.com' });
    expect(synthesizedBindings(env, rogue.stacks)).not.toEqual(configBindings(env));

    const missing = build(env);
    expect(missing.data.buckets.staging.node.tryRemoveChild('grant-storage-objectViewer-bqx-ml-merge')).toBe(true);
    const diff = configBindings(env).filter((b) => !synthesizedBindings(env, missing.stacks).includes(b));
    expect(diff).toEqual(['buckets.staging serviceAccount:bqx-ml-merge@bqx-ml.iam.gserviceaccount.com roles/storage.objectViewer']);
  });
});
