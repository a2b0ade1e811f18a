import { App, Aspects, Testing, TerraformStack } from 'cdktf';
import { PlatformPolicy } from '../../constructs/policy';
import { environmentInput } from '../../config/environments';
import { EXTRACTION_MANIFEST_OBJECT, parseEnvironment } from '../../config/environment';
import { cloudScopeTargets } from '../../config/runner-permissions';
import { discoveryRule } from '../../core/extraction/discovery';
import { loadPolicy } from '../../core/policy';
import { buildPlatform, PlatformResult, resourceCount } from '../../stacks/platform';
import { disableTokenStackTraces } from '../../stacks/token-stack-traces';
import { syntheticViewPlan } from '../../bench/synthetic-plan';
import { PHASE_4C_JOB_LABEL, phase4cJobLabels } from '../../config/job-labels';
import { PINNED_NOW, Tf, countResources, resourcesOf } from './helpers';

disableTokenStackTraces();

/** The environment as committed, with the one value read from the process environment pinned. */
function pinnedEnv(name: 'prod' | 'dev') {
  const input = environmentInput(name);
  return parseEnvironment(
    { ...input, ci: { ...input.ci, repositoryId: '812345678', repositoryOwnerId: '91234567' }, budget: { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' } },
    name,
  );
}

function build(envName: 'prod' | 'dev', plan: Parameters<typeof buildPlatform>[1]['plan'], now = PINNED_NOW): { app: App; result: PlatformResult; tf: (id: string) => Tf } {
  const app = Testing.app();
  const result = buildPlatform(app, { env: pinnedEnv(envName), plan, now });
  const cache = new Map<string, Tf>();
  const tf = (id: string): Tf => {
    if (!cache.has(id)) {
      const stack = result.stacks.find((s) => s.node.id === id) as TerraformStack;
      cache.set(id, JSON.parse(Testing.synth(stack)) as Tf);
    }
    return cache.get(id)!;
  };
  return { app, result, tf };
}

describe('prod environment (no plan committed)', () => {
  const { result, tf } = build('prod', null);

  it('declares foundation, data and pipeline only, and warns that the plan is missing', () => {
    expect(result.stacks.map((s) => s.node.id)).toEqual(['foundation', 'data', 'pipeline']);
    expect(result.warnings.some((w) => w.includes('plan file plans/phase-4c.plan.json not found: no views stacks synthesized'))).toBe(true);
  });

  it('foundation: required APIs, nine identities, WIF restricted to the repository by id, deploys gated by the environment, no keys', () => {
    const f = tf('foundation');
    const apis = resourcesOf(f, 'google_project_service').map((r) => r.service).sort();
    for (const api of ['bigquery', 'storage', 'run', 'workflows', 'artifactregistry', 'iam', 'iamcredentials', 'sts', 'monitoring', 'logging', 'cloudbilling', 'billingbudgets', 'cloudresourcemanager']) {
      expect(apis).toContain(`${api}.googleapis.com`);
    }
    expect(resourcesOf(f, 'google_service_account').map((r) => r.account_id).sort()).toEqual(
      ['bqx-ml-break-glass', 'bqx-ml-ci-deployer', 'bqx-ml-ci-drift', 'bqx-ml-ci-planner', 'bqx-ml-compliance', 'bqx-ml-extract', 'bqx-ml-merge', 'bqx-ml-orchestrator', 'bqx-ml-runner'],
    );
    const provider = resourcesOf(f, 'google_iam_workload_identity_pool_provider')[0];
    expect(provider.attribute_condition).toBe("assertion.repository_id == '812345678' && assertion.repository_owner_id == '91234567'");
    expect(provider.attribute_condition).not.toContain('assertion.repository ==');
    expect(provider.oidc.issuer_uri).toBe('https://token.actions.githubusercontent.com');
    expect(provider.attribute_mapping['attribute.subject_ref']).toBe("assertion.sub + '@' + assertion.ref");
    const wif = resourcesOf(f, 'google_service_account_iam_member').filter((r) => r.role === 'roles/iam.workloadIdentityUser');
    expect(Object.fromEntries(wif.map((r) => [r.service_account_id, r.member]))).toEqual({
      // Jobs in the production environment AND on refs/heads/main (one mapped attribute holds both claims).
      '${google_service_account.sa-bqx-ml-ci-deployer.name}':
        'principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.wif-pool.name}/attribute.subject_ref/repo:bqx-ml/bqx-platform:environment:production@refs/heads/main',
      '${google_service_account.sa-bqx-ml-ci-planner.name}': 'principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.wif-pool.name}/attribute.repository/bqx-ml/bqx-platform',
      // Workflow runs on main only (the scheduled drift check): a pull request's ref is refs/pull/<n>/merge.
      '${google_service_account.sa-bqx-ml-ci-drift.name}': 'principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.wif-pool.name}/attribute.ref/refs/heads/main',
    });
    // Nothing federated can reach break glass; only the admins' group, by token creation.
    const onBreakGlass = resourcesOf(f, 'google_service_account_iam_member').filter((r) => r.service_account_id === '${google_service_account.sa-bqx-ml-break-glass.name}');
    expect(onBreakGlass.map((r) => `${r.role} ${r.member}`)).toEqual(['roles/iam.serviceAccountTokenCreator group:bqx-ml-platform-admins@example.com']);
    // The deployer holds no project role that administers IAM, identities or federation.
    const deployerRoles = resourcesOf(f, 'google_project_iam_member').filter((r) => r.member.startsWith('serviceAccount:bqx-ml-ci-deployer@')).map((r) => r.role);
    expect(deployerRoles.filter((r) => /^roles\/(resourcemanager\.|iam\.|owner|editor)/.test(r))).toEqual([]);
    expect(deployerRoles.length).toBeGreaterThan(0);
    // No project-wide bucket administration: the foundation's state bucket is out of the deployer's reach.
    expect(deployerRoles.filter((r) => /^roles\/storage\./.test(r))).toEqual([]);
    expect(deployerRoles.filter((r) => r === 'roles/bigquery.dataOwner' || r === 'roles/logging.configWriter')).toEqual([]);
    // Project-wide it can only create buckets and datasets and manage log-based metrics: nothing reaches an existing bucket's objects or a dataset's data.
    const deployerProject = resourcesOf(f, 'google_project_iam_custom_role').find((r) => r.role_id === 'bqxDeployerProject')!.permissions as string[];
    expect(deployerProject.filter((p) => !/^(storage\.buckets\.(create|list)|bigquery\.datasets\.create|logging\.logMetrics\.\w+)$/.test(p))).toEqual([]);
    expect(deployerProject).toEqual(expect.arrayContaining(['storage.buckets.create', 'bigquery.datasets.create', 'logging.logMetrics.create']));
    // Custom roles exist before the bindings that name them.
    const runnerProject = resourcesOf(f, 'google_project_iam_member').find((r) => r.member.startsWith('serviceAccount:bqx-ml-runner@'))!;
    expect(runnerProject.role).toBe('projects/bqx-ml/roles/bqxMigrationRunnerProject');
    expect(runnerProject.depends_on).toEqual(['google_project_iam_custom_role.role-bqxMigrationRunnerProject']);
    expect(f.resource.google_project_iam_custom_role['role-bqxMigrationRunnerProject']).toMatchObject({ role_id: 'bqxMigrationRunnerProject', stage: 'GA' });
    expect(f.resource.google_service_account_key).toBeUndefined();
    const roles = resourcesOf(f, 'google_project_iam_member').map((r) => r.role);
    expect(roles).not.toEqual(expect.arrayContaining(['roles/owner']));
    expect(roles.filter((r) => ['roles/owner', 'roles/editor', 'roles/viewer'].includes(r))).toEqual([]);
    expect(resourcesOf(f, 'google_artifact_registry_repository')[0]).toMatchObject({ repository_id: 'bqx-ml', format: 'DOCKER', location: 'us-central1', docker_config: { immutable_tags: true } });
  });

  it('a pull request run cannot impersonate the drift identity; a run on main (the schedule) can', () => {
    const f = tf('foundation');
    const provider = resourcesOf(f, 'google_iam_workload_identity_pool_provider')[0];
    // The provider's attribute mapping applied to a token's claims (terms joined by +: assertion.<claim> or a quoted literal).
    const attributes = (claims: Record<string, string>): Record<string, string> =>
      Object.fromEntries(
        Object.entries(provider.attribute_mapping as Record<string, string>).map(([attr, expr]) => [
          attr.replace(/^attribute\./, ''),
          expr.split(' + ').map((t) => (t.startsWith("'") ? t.slice(1, -1) : claims[t.replace(/^assertion\./, '')])).join(''),
        ]),
      );
    // Who a binding's member admits: a principalSet by one mapped attribute, or a principal by subject.
    const admits = (member: string, attrs: Record<string, string>): boolean => {
      const set = /^principalSet:\/\/iam\.googleapis\.com\/.+\/attribute\.([a-z_]+)\/(.+)$/.exec(member);
      if (set) return attrs[set[1]] === set[2];
      const subject = /^principal:\/\/iam\.googleapis\.com\/.+\/subject\/(.+)$/.exec(member);
      return subject !== null && attrs['google.subject'] === subject[1];
    };
    const repo = 'bqx-ml/bqx-platform';
    const token = (ref: string, event: string, sub: string) => attributes({ sub, ref, repository: repo, repository_id: '812345678', event_name: event, environment: '' });
    const pullRequest = token('refs/pull/42/merge', 'pull_request', `repo:${repo}:pull_request`);
    const scheduledOnMain = token('refs/heads/main', 'schedule', `repo:${repo}:ref:refs/heads/main`);
    const featureBranch = token('refs/heads/feature', 'push', `repo:${repo}:ref:refs/heads/feature`);
    const onAccount = (sa: string) => resourcesOf(f, 'google_service_account_iam_member').filter((r) => r.service_account_id === `\${google_service_account.sa-${sa}.name}`);
    // Every binding on the drift identity (any role: nothing else can act as it or mint its tokens).
    const drift = onAccount('bqx-ml-ci-drift');
    expect(drift.map((r) => r.role)).toEqual(['roles/iam.workloadIdentityUser']);
    expect(drift[0].member).toMatch(/\/attribute\.ref\/refs\/heads\/main$/);
    expect(drift.some((r) => admits(r.member, pullRequest))).toBe(false);
    expect(drift.some((r) => admits(r.member, featureBranch))).toBe(false);
    expect(drift.some((r) => admits(r.member, scheduledOnMain))).toBe(true);
    // The matcher is not vacuous: the same pull request run does reach the planner.
    expect(onAccount('bqx-ml-ci-planner').some((r) => admits(r.member, pullRequest))).toBe(true);
  });

  it("the foundation's state is apart: its own bucket, which no stack declares or grants on, and no project-wide storage role for the deployer", () => {
    const stacks = ['foundation', 'data', 'pipeline'].map((s) => [s, tf(s)] as const);
    expect(Object.fromEntries(stacks.map(([s, t]) => [s, (t as { terraform: { backend: { gcs: { bucket: string } } } }).terraform.backend.gcs.bucket]))).toEqual({
      foundation: 'bqx-ml-tfstate-foundation',
      data: 'bqx-ml-tfstate',
      pipeline: 'bqx-ml-tfstate',
    });
    for (const [s, t] of stacks) {
      expect({ s, declared: resourcesOf(t, 'google_storage_bucket').filter((b) => b.name === 'bqx-ml-tfstate-foundation') }).toEqual({ s, declared: [] });
      expect({ s, granted: resourcesOf(t, 'google_storage_bucket_iam_member').filter((b) => String(b.bucket).includes('tfstate-foundation')) }).toEqual({ s, granted: [] });
      const projectStorage = resourcesOf(t, 'google_project_iam_member').filter((r) => r.member.startsWith('serviceAccount:bqx-ml-ci-deployer@') && /storage|owner|editor/.test(r.role));
      expect({ s, projectStorage }).toEqual({ s, projectStorage: [] });
    }
  });

  it('data: nine datasets, expiration only on staging/temp, IAM as member resources, hardened buckets', () => {
    const d = tf('data');
    const datasets = resourcesOf(d, 'google_bigquery_dataset');
    expect(datasets.map((r) => r.dataset_id).sort()).toEqual([
      'bqx_bq_uscen1_v2', 'bqx_ml_v3_analytics_v2', 'bqx_ml_v3_features_v2', 'bqx_ml_v3_migration', 'bqx_ml_v3_models',
      'bqx_ml_v3_predictions', 'bqx_ml_v3_staging', 'bqx_ml_v3_temp', 'bqx_ml_v3_training',
    ]);
    const expiring = datasets.filter((r) => r.default_table_expiration_ms !== undefined).map((r) => r.dataset_id).sort();
    expect(expiring).toEqual(['bqx_ml_v3_staging', 'bqx_ml_v3_temp']);
    expect(datasets.every((r) => r.access === undefined && r.location === 'us-central1')).toBe(true);
    const members = resourcesOf(d, 'google_bigquery_dataset_iam_member').map((r) => `${r.role} ${r.member.replace(/@.*/, '')} ${r.dataset_id}`);
    expect(members).toContain('roles/bigquery.dataViewer serviceAccount:bqx-ml-extract ${google_bigquery_dataset.bqx_ml_v3_features_v2_dataset_76ECD930.dataset_id}');
    // The runner: a custom role on each of its two datasets, nothing on any other dataset.
    expect(members.filter((m) => m.includes('bqx-ml-runner')).map((m) => m.split(' ')[0]).sort()).toEqual([
      'projects/bqx-ml/roles/bqxMigrationRunnerFeatures',
      'projects/bqx-ml/roles/bqxMigrationRunnerLedger',
    ]);
    // On buckets: one binding, on staging, under the manifests/ condition; no unconditioned storage role anywhere.
    const runnerOnBuckets = resourcesOf(d, 'google_storage_bucket_iam_member').filter((r) => r.member === 'serviceAccount:bqx-ml-runner@bqx-ml.iam.gserviceaccount.com');
    expect(runnerOnBuckets).toEqual([
      {
        bucket: '${google_storage_bucket.bucket-staging_bucket_A360C189.name}',
        member: 'serviceAccount:bqx-ml-runner@bqx-ml.iam.gserviceaccount.com',
        role: 'projects/bqx-ml/roles/bqxMigrationRunnerManifests',
        condition: {
          title: 'Extraction manifests (manifests/ only)',
          description: 'objects gs://bqx-ml-staging/manifests/* only; nothing else in the bucket',
          expression: 'resource.name.startsWith("projects/_/buckets/bqx-ml-staging/objects/manifests/")',
        },
      },
    ]);
    expect(resourcesOf(d, 'google_storage_bucket_iam_member').filter((r) => r.member.includes('bqx-ml-runner') && r.condition === undefined)).toEqual([]);
    const buckets = resourcesOf(d, 'google_storage_bucket');
    expect(buckets.map((b) => b.name).sort()).toEqual(['bqx-ml-output', 'bqx-ml-staging', 'bqx-ml-tfstate']);
    expect(buckets.every((b) => b.uniform_bucket_level_access === true && b.public_access_prevention === 'enforced')).toBe(true);
    expect(buckets.find((b) => b.name === 'bqx-ml-tfstate')!.versioning).toEqual({ enabled: true });
    expect(countResources(d)).toBe(36); // the deployer administers each declared bucket (3) and dataset (9), not project-wide; break glass holds nothing on the shared state; the drift identity reads it (+ 1)
  });

  it('pipeline: jobs as specified (images by digest), the runner job, fan-out of 28 pairs at most 4 at a time, alerts and budgets', () => {
    const p = tf('pipeline');
    const jobs = Object.fromEntries(resourcesOf(p, 'google_cloud_run_v2_job').map((j) => [j.name, j]));
    const spec = (name: string) => {
      const t = jobs[name].template.template;
      const c = t.containers[0];
      return { cpu: c.resources.limits.cpu, memory: c.resources.limits.memory, timeout: t.timeout, retries: t.max_retries, env: Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value])), image: c.image };
    };
    expect(spec('bqx-ml-extract')).toEqual({
      cpu: '4', memory: '8Gi', timeout: '7200s', retries: 0,
      env: { PAIR: 'eurusd', GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-staging', EXTRACTION_WORKERS: '25', PROJECT_ID: 'bqx-ml', PYTHONUNBUFFERED: '1' },
      image: `us-central1-docker.pkg.dev/bqx-ml/bqx-ml/bqx-ml-extract@sha256:${'0'.repeat(64)}`,
    });
    expect(spec('bqx-ml-merge')).toMatchObject({ cpu: '1', memory: '2Gi', timeout: '1800s', retries: 0 });
    expect(spec('bqx-ml-merge').env).toMatchObject({ GCS_OUTPUT_BUCKET: 'gs://bqx-ml-output', MERGE_METHOD: 'bigquery' });
    for (const j of Object.values(jobs) as { template: { template: { containers: { image: string }[] } } }[]) expect(j.template.template.containers[0].image).toMatch(/@sha256:[0-9a-f]{64}$/);

    // The runner: its own job and identity, no retries, a long timeout, the plan baked into the image,
    // configured as the paper run (the real apply overrides the arguments).
    expect(Object.keys(jobs).sort()).toEqual(['bqx-ml-extract', 'bqx-ml-merge', 'bqx-ml-runner']);
    const runner = jobs['bqx-ml-runner'];
    expect(runner.template.template).toMatchObject({ service_account: 'bqx-ml-runner@bqx-ml.iam.gserviceaccount.com', max_retries: 0, timeout: '86400s' });
    const rc = runner.template.template.containers[0];
    expect(rc.command).toEqual(['node', 'bin/bqx.js']);
    expect(rc.args).toEqual(['apply', 'plans/phase-4c.plan.json', '--engine', 'bigquery', '--project', 'bqx-ml', '--location', 'us-central1', '--dataset', 'bqx_ml_v3_features_v2', '--runner-dataset', 'bqx_ml_v3_migration', '--dry-run']);
    expect(spec('bqx-ml-runner').env).toMatchObject({ GOOGLE_CLOUD_PROJECT: 'bqx-ml', BQX_DATASET: 'bqx_ml_v3_features_v2', BQX_RUNNER_DATASET: 'bqx_ml_v3_migration', BQX_ENV: 'prod' });
    const runnerIam = resourcesOf(p, 'google_cloud_run_v2_job_iam_member').filter((r) => /^\$\{google_cloud_run_v2_job\.bqx-ml-runner_job_[0-9A-F]{8}\.name\}$/.test(r.name));
    expect(runnerIam.map((r) => `${r.role} ${r.member}`)).toEqual([
      'roles/run.jobsExecutorWithOverrides serviceAccount:bqx-ml-compliance@bqx-ml.iam.gserviceaccount.com', // the daily compliance audit
      'roles/run.jobsExecutorWithOverrides group:bqx-ml-operators@example.com',
    ]);

    const wf = resourcesOf(p, 'google_workflows_workflow')[0];
    const src: string = wf.source_contents;
    expect(src).toContain('concurrency_limit: 4');
    expect(src).toContain('in: $${pairs}'); // escaped for Terraform: Workflows sees ${pairs}
    expect(src).not.toMatch(/[^$]\$\{/);
    expect((src.match(/^\s+- [a-z]{6}$/gm) ?? []).length).toBe(28);
    expect(src).toContain('name: PAIR');

    const alerts = resourcesOf(p, 'google_monitoring_alert_policy').map((a) => a.display_name).sort();
    expect(alerts).toEqual(['BQX extract wrote no checkpoints', 'BQX migration runner halted', 'BQX new M008 violation', 'BQX pipeline job execution failed']);
    expect(resourcesOf(p, 'google_logging_metric')[0].filter).toContain('jsonPayload.checkpoints=0');
    // The halt alert matches the runner job's own log entries (resource type and job name label).
    const halted = resourcesOf(p, 'google_monitoring_alert_policy').find((a) => a.display_name === 'BQX migration runner halted')!;
    expect(halted.conditions[0].condition_matched_log.filter).toBe(
      `resource.type="cloud_run_job" AND resource.labels.job_name="${runner.name}" AND jsonPayload.component="bqx-runner" AND jsonPayload.event="halted"`,
    );

    const budgets = resourcesOf(p, 'google_billing_budget');
    expect(budgets.map((b) => b.amount.specified_amount.units).sort()).toEqual(['15', '276']);
    const monthly = budgets.find((b) => b.amount.specified_amount.units === '276')!;
    expect(monthly.threshold_rules.map((t: { threshold_percent: number }) => t.threshold_percent)).toEqual([0.5, 0.9, 1, 1]);
    // The Phase 4C ceiling counts exactly the label the runner's jobs carry (one constant).
    const phase = budgets.find((b) => b.amount.specified_amount.units === '15')!;
    expect(phase.budget_filter.labels).toEqual({ [PHASE_4C_JOB_LABEL.key]: PHASE_4C_JOB_LABEL.value });
    expect(phase.budget_filter.labels).toEqual(phase4cJobLabels());
  });
});

describe("the extract job's discovery (jobs.extract.discovery)", () => {
  /** The extract job's environment as synthesized for `mode`. */
  const extractEnv = (name: 'prod' | 'dev', mode?: 'name-only' | 'base-tables' | 'manifest') => {
    const input = environmentInput(name);
    if (mode) input.jobs.extract.discovery = mode;
    const env = parseEnvironment({ ...input, budget: { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' } }, name);
    const pipeline = buildPlatform(Testing.app(), { env, plan: null, now: PINNED_NOW }).stacks.find((s) => s.node.id === 'pipeline') as TerraformStack;
    const job = resourcesOf(JSON.parse(Testing.synth(pipeline)) as Tf, 'google_cloud_run_v2_job').find((j) => j.labels.job === 'extract');
    return Object.fromEntries(job.template.template.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value])) as Record<string, string>;
  };
  const discovery = (e: Record<string, string>) => Object.fromEntries(Object.entries(e).filter(([k]) => k.startsWith('EXTRACTION_') && k !== 'EXTRACTION_WORKERS'));

  it('committed: name-only in prod and dev, which renders nothing (the job as deployed today)', () => {
    expect(environmentInput('prod').jobs.extract.discovery).toBe('name-only');
    expect(discovery(extractEnv('prod'))).toEqual({});
    expect(discovery(extractEnv('dev'))).toEqual({});
  });

  it('base-tables and manifest render EXTRACTION_DISCOVERY, manifest also where the runner writes the manifests', () => {
    expect(discovery(extractEnv('prod', 'base-tables'))).toEqual({ EXTRACTION_DISCOVERY: 'base-tables' });
    expect(discovery(extractEnv('prod', 'manifest'))).toEqual({ EXTRACTION_DISCOVERY: 'manifest', EXTRACTION_MANIFEST: 'gs://bqx-ml-staging/manifests/{pair}/extraction.json' });
    expect(discovery(extractEnv('dev', 'manifest'))).toEqual({ EXTRACTION_DISCOVERY: 'manifest', EXTRACTION_MANIFEST: 'gs://bqx-ml-dev-staging/manifests/{pair}/extraction.json' });
    // The job's other variables stay as configured.
    expect(extractEnv('prod', 'manifest')).toMatchObject({ PAIR: 'eurusd', GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-staging', EXTRACTION_WORKERS: '25' });
  });

  it('the manifest path is the policy\'s, under the prefix the runner may write', () => {
    expect(EXTRACTION_MANIFEST_OBJECT).toBe(discoveryRule(loadPolicy()).manifestPath);
    expect(EXTRACTION_MANIFEST_OBJECT.startsWith(cloudScopeTargets(pinnedEnv('prod')).stagingManifests.prefix)).toBe(true);
  });
});

describe('dev environment', () => {
  it('differs from prod where configured: project, no job deletion protection, fewer pairs', () => {
    const { tf } = build('dev', null);
    const p = tf('pipeline');
    const jobs = resourcesOf(p, 'google_cloud_run_v2_job');
    expect(jobs.every((j) => j.deletion_protection === false && j.project === undefined)).toBe(true);
    expect(p.terraform.backend.gcs).toEqual({ bucket: 'bqx-ml-dev-tfstate', prefix: 'platform/dev/pipeline' });
    expect(resourcesOf(p, 'google_workflows_workflow')[0].source_contents).toContain('concurrency_limit: 2');
  });

  it('snapshot: the dev pipeline stack', () => {
    const { tf } = build('dev', null);
    expect(tf('pipeline')).toMatchSnapshot();
  });
});

describe('views stacks from a plan', () => {
  it('shards 1,000 views: every stack under 500 resources, each view declared once, no view lost', () => {
    const plan = syntheticViewPlan({ views: 1000 });
    const { result, tf } = build('prod', plan);
    const viewStacks = result.stacks.filter((s) => s.node.id.startsWith('views-'));
    expect(viewStacks).toHaveLength(10);
    const names: string[] = [];
    for (const s of viewStacks) {
      const t = tf(s.node.id);
      expect(countResources(t)).toBeLessThan(500);
      expect(t.terraform.backend.gcs.prefix).toBe(`platform/prod/${s.node.id}`);
      names.push(...resourcesOf(t, 'google_bigquery_table').map((v) => v.table_id));
    }
    expect(names).toHaveLength(1000);
    expect(new Set(names).size).toBe(1000);
    expect(result.views).toMatchObject({ declared: 1000, expired: 0 });
  });

  it('the full Phase 4C size (2,482 views) stays within 400 per shard', () => {
    const { result } = build('prod', syntheticViewPlan({ views: 2482 }));
    const sizes = result.stacks.filter((s) => s.node.id.startsWith('views-')).map(resourceCount);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2482);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(400);
  });

  it('drops views past their grace period and warns about those ending within 3 days', () => {
    // graceEnd spreads from start+30d down to start+20d: with now = start+27d, 30% are gone.
    const plan = syntheticViewPlan({ views: 100, graceStart: '2026-11-01T00:00:00.000Z', graceDays: 30, spreadDays: 10 });
    const now = new Date('2026-11-28T00:00:00.000Z');
    const { result } = build('prod', plan, now);
    const live = plan.views.filter((v) => Date.parse(v.graceEnd) > now.getTime());
    const soon = live.filter((v) => Date.parse(v.graceEnd) - now.getTime() <= 3 * 86400000);
    expect(result.views.declared).toBe(live.length);
    expect(result.views.expired).toBe(100 - live.length);
    expect(live.length).toBeLessThan(100);
    expect(soon.length).toBeGreaterThan(0);
    const warned = result.warnings.filter((w) => w.includes('grace period ends'));
    expect(warned).toHaveLength(Math.min(soon.length, 20)); // capped; see the next test
    expect(warned[0]).toMatch(/^warning: view bqx_ml_v3_features_v2\.\w+ \(views-\d\d\) grace period ends /);
    expect(result.expiring.map((v) => v.name).sort()).toEqual(soon.map((v) => v.name).sort());
  });

  it('caps the per-view warning lines at 20 and counts the rest', () => {
    const plan = syntheticViewPlan({ views: 50, graceStart: '2026-11-01T00:00:00.000Z', graceDays: 30 });
    const { result } = build('prod', plan, new Date('2026-11-29T00:00:00.000Z'));
    expect(result.expiring).toHaveLength(50);
    const lines = result.warnings.filter((w) => w.includes('grace period'));
    expect(lines).toHaveLength(21);
    expect(lines[20]).toBe('warning: ... and 30 more views end their grace period within 3 days (all listed in expiring-views.json)');
  });

  it('adding one view changes one shard only (stable assignment)', () => {
    const base = syntheticViewPlan({ views: 300 });
    const grown = { ...base, views: [...base.views, { ...base.views[0], name: 'mom_audusd_99', operationId: 'op-new' }] };
    const a = build('prod', base).result;
    const b = build('prod', grown).result;
    const namesOf = (r: PlatformResult) =>
      Object.fromEntries(r.stacks.filter((s) => s.node.id.startsWith('views-')).map((s) => [s.node.id, (s as unknown as { viewSet: { included: { name: string }[] } }).viewSet.included.map((v) => v.name).join(',')]));
    const before = namesOf(a);
    const after = namesOf(b);
    const changed = Object.keys(after).filter((id) => after[id] !== before[id]);
    expect(changed).toHaveLength(1);
    expect(after[changed[0]].split(',')).toEqual([...before[changed[0]].split(','), 'mom_audusd_99']);
  });

  it('skipping the preparing resolve pass in views stacks changes nothing in the output', () => {
    const plan = syntheticViewPlan({ views: 40 });
    const skipped = build('prod', plan);
    skipped.result.stacks.forEach((s) => s.prepareStack());
    const fast = skipped.tf('views-00');
    process.env.BQX_FULL_PREPARE = '1';
    process.env.BQX_TEST_HOOKS = '1';
    try {
      const full = build('prod', plan);
      full.result.stacks.forEach((s) => s.prepareStack());
      expect(full.tf('views-00')).toEqual(fast);
    } finally {
      delete process.env.BQX_FULL_PREPARE;
      delete process.env.BQX_TEST_HOOKS;
    }
  });

  it('puts the policy aspect on every stack (cdktf runs aspects from each stack, not from the app)', () => {
    const { app, result } = build('prod', syntheticViewPlan({ views: 30 }));
    expect(result.stacks.length).toBe(13);
    for (const s of result.stacks) expect(Aspects.of(s).all.some((a) => a instanceof PlatformPolicy)).toBe(true);
    expect(Aspects.of(app).all).toHaveLength(0);
  });

  it('refuses a plan for another project, and a shard over the cap', () => {
    expect(() => build('dev', syntheticViewPlan({ views: 3 }))).toThrow(/plan plans\/phase-4c.dev.plan.json is for project bqx-ml, environment dev is bqx-ml-dev/);
    expect(() => build('dev', syntheticViewPlan({ views: 900, project: 'bqx-ml-dev' }))).toThrow(/views-0\d would hold \d+ views \(cap 400\)/);
  });

  it('the views come from a plan of the environment\'s own BigQuery catalogue; another catalogue is refused unless the environment says why, and then said loudly', () => {
    const fromBigQuery = build('prod', syntheticViewPlan({ views: 12 }));
    expect(fromBigQuery.result.views.catalogue).toEqual({ name: 'bigquery:bqx-ml.bqx_ml_v3_features_v2', fromWarehouse: true, allowedBecause: null });
    expect(fromBigQuery.result.warnings.filter((w) => w.includes('NOT from BigQuery'))).toEqual([]);

    const local = syntheticViewPlan({ views: 12, engine: 'duckdb' });
    const allowed = build('prod', local);
    const reason = pinnedEnv('prod').views.allowPlanFromLocalCatalogue as string;
    expect(reason).toContain('bqx plan --engine bigquery --env prod');
    expect(allowed.result.views.catalogue).toEqual({ name: 'duckdb:bqx-ml.bqx_ml_v3_features_v2', fromWarehouse: false, allowedBecause: reason });
    expect(allowed.result.warnings).toContain(
      `WARNING: the views of prod come from plan plans/phase-4c.plan.json made from the catalogue duckdb:bqx-ml.bqx_ml_v3_features_v2, NOT from BigQuery bqx-ml; accepted by views.allowPlanFromLocalCatalogue: ${reason}`,
    );

    const strict = pinnedEnv('prod');
    const env = { ...strict, views: { ...strict.views, allowPlanFromLocalCatalogue: undefined } };
    expect(() => buildPlatform(Testing.app(), { env, plan: local, now: PINNED_NOW })).toThrow(
      /plan plans\/phase-4c.plan.json was made from the catalogue duckdb:bqx-ml.bqx_ml_v3_features_v2, not from BigQuery bqx-ml.bqx_ml_v3_features_v2/,
    );
    expect(() => build('prod', syntheticViewPlan({ views: 3, dataset: 'bqx_ml_v3_other' }))).toThrow(/is for dataset bqx_ml_v3_other, environment prod keeps its features in bqx_ml_v3_features_v2/);
    // The dev environment accepts no local plan.
    expect(pinnedEnv('dev').views.allowPlanFromLocalCatalogue).toBeUndefined();
  });

  it('snapshot: a small views stack', () => {
    const { tf } = build('prod', syntheticViewPlan({ views: 12, columns: 3 }));
    expect(tf('views-03')).toMatchSnapshot();
  });
});
