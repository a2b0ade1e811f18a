import { Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Grant, IamCondition } from '../../constructs/grants';
import { flatAddress, pinAddresses } from '../../constructs/addresses';
import { ManagedDataset } from '../../constructs/managed-dataset';
import { LifecycleBucket } from '../../constructs/lifecycle-bucket';
import { PipelineJob } from '../../constructs/pipeline-job';
import { ProjectIam } from '../../constructs/project-iam';
import { ServiceAccountIdentity } from '../../constructs/service-account-identity';
import { ArtifactRepository } from '../../constructs/artifact-repository';
import { GithubWorkloadIdentity } from '../../constructs/github-workload-identity';
import { AlertCondition, AlertPolicy, LogMetric } from '../../constructs/monitoring';
import { Budget } from '../../constructs/budget';
import { CustomRole } from '../../constructs/custom-role';
import { GoogleProvider, StorageBucket, WorkflowsWorkflow } from '../../constructs/google';
import { IPrincipal, MemberPrincipal, PrincipalSet, ServiceAccountPrincipal, grantId } from '../../constructs/principal';
import { LABELS, Tf, resourcesOf } from './helpers';

const extract = new ServiceAccountPrincipal('bqx-ml-extract@bqx-ml.iam.gserviceaccount.com');
const merge = new ServiceAccountPrincipal('bqx-ml-merge@bqx-ml.iam.gserviceaccount.com');

function stack(): TerraformStack {
  const s = new TerraformStack(Testing.app(), 'test');
  new GoogleProvider(s, 'google', { project: 'bqx-ml', region: 'us-central1' });
  return s;
}
const synth = (s: TerraformStack): Tf => JSON.parse(Testing.synth(s));

describe('Grant (what a grant method returns)', () => {
  it('says what was granted to whom on what, and holds the binding resource', () => {
    const s = stack();
    const ds = new ManagedDataset(s, 'features', { datasetId: 'bqx_ml_v3_features_v2', description: 'f', labels: LABELS });
    const grant = ds.grantRead(extract);
    expect(grant).toBeInstanceOf(Grant);
    expect(grant.role).toBe('roles/bigquery.dataViewer');
    expect(grant.principal).toBe(extract);
    expect(grant.target).toBe(ds);
    expect(grant.dependables).toEqual([grant.resource]);
    expect(grant.toString()).toBe('roles/bigquery.dataViewer on test/features to serviceAccount:bqx-ml-extract@bqx-ml.iam.gserviceaccount.com');
    // The resource is the binding the grant describes, not some other member resource of the dataset.
    const other = ds.grantWrite(merge);
    expect(grant.resource).not.toBe(other.resource);
    const members = synth(s).resource.google_bigquery_dataset_iam_member;
    expect(members[grant.resource.friendlyUniqueId]).toMatchObject({ role: 'roles/bigquery.dataViewer', member: extract.member });
    expect(members[other.resource.friendlyUniqueId]).toMatchObject({ role: 'roles/bigquery.dataEditor', member: merge.member });
  });

  it('applyBefore makes the given resources (and only those) wait for the binding in Terraform', () => {
    const s = stack();
    const job = new PipelineJob(s, 'extract', { jobName: 'bqx-ml-extract', image: 'img', serviceAccount: extract, labels: LABELS });
    const grant = job.grantExecuteWithOverrides(merge);
    const waits = new WorkflowsWorkflow(s, 'waits', { name: 'bqx-ml-a', sourceContents: 'main: {}', labels: LABELS });
    new WorkflowsWorkflow(s, 'free', { name: 'bqx-ml-b', sourceContents: 'main: {}', labels: LABELS });
    expect(grant.applyBefore(waits)).toBe(grant);
    grant.applyBefore(waits); // idempotent
    const wf = synth(s).resource.google_workflows_workflow;
    expect(wf.waits.depends_on).toEqual([`google_cloud_run_v2_job_iam_member.${grant.resource.friendlyUniqueId}`]);
    expect(wf.free.depends_on).toBeUndefined();
  });

  it('applyBefore reaches the resources inside an L2, and refuses a construct without any', () => {
    const s = stack();
    const grant = new ProjectIam(s, 'project', { project: 'bqx-ml' }).grant(extract, 'roles/bigquery.jobUser');
    const alert = new AlertPolicy(s, 'alert', { displayName: 'a', documentation: 'd', conditions: [AlertCondition.threshold({ displayName: 'c', filter: 'f' })], labels: LABELS });
    grant.applyBefore(alert);
    expect(synth(s).resource.google_monitoring_alert_policy.alert.depends_on).toEqual(['google_project_iam_member.project-bigquery-jobUser-bqx-ml-extract']);
    expect(() => grant.applyBefore(new Construct(s, 'empty'))).toThrow(/test\/empty: holds no Terraform resource/);
  });
});

const cases: [string, (s: TerraformStack) => { grant: (p: IPrincipal, role: string, condition?: IamCondition) => Grant }][] = [
  ['ManagedDataset', (s) => new ManagedDataset(s, 'x', { datasetId: 'bqx_x', description: 'x' })],
  ['LifecycleBucket', (s) => new LifecycleBucket(s, 'x', { name: 'bqx-ml-x' })],
  ['PipelineJob', (s) => new PipelineJob(s, 'x', { jobName: 'bqx-ml-x', image: 'img', serviceAccount: extract })],
  ['ProjectIam', (s) => new ProjectIam(s, 'x', { project: 'bqx-ml' })],
  ['ServiceAccountIdentity', (s) => new ServiceAccountIdentity(s, 'x', { accountId: 'bqx-ml-x' })],
  ['ArtifactRepository', (s) => new ArtifactRepository(s, 'x', { repositoryId: 'bqx-ml' })],
];

describe('grant dedup (one helper for every construct)', () => {
  it.each(cases)('%s refuses the same role to the same principal twice, and allows other pairs', (_name, make) => {
    const s = stack();
    const target = make(s);
    target.grant(extract, 'roles/x.a');
    target.grant(extract, 'roles/x.b'); // same principal, other role
    target.grant(merge, 'roles/x.a'); // same role, other principal
    expect(() => target.grant(extract, 'roles/x.a')).toThrow('test/x: roles/x.a is already granted to serviceAccount:bqx-ml-extract@bqx-ml.iam.gserviceaccount.com');
    // The same principal spelled as a member string is the same binding.
    expect(() => target.grant(new MemberPrincipal(extract.member), 'roles/x.b')).toThrow(/already granted/);
  });
});

describe('conditional grants', () => {
  const manifests: IamCondition = { title: 'manifests only', description: 'd', expression: 'resource.name.startsWith("projects/_/buckets/bqx-ml-x/objects/manifests/")' };

  it('a bucket renders the condition block; the conditional binding has its own id beside an unconditional one', () => {
    const s = stack();
    const bucket = new LifecycleBucket(s, 'x', { name: 'bqx-ml-x' });
    const conditional = bucket.grant(extract, 'roles/storage.objectUser', manifests);
    bucket.grant(extract, 'roles/storage.objectUser');
    expect(conditional.condition).toBe(manifests);
    expect(conditional.toString()).toBe('roles/storage.objectUser on test/x to serviceAccount:bqx-ml-extract@bqx-ml.iam.gserviceaccount.com if manifests only');
    const members = synth(s).resource.google_storage_bucket_iam_member;
    expect(members[conditional.resource.friendlyUniqueId]).toMatchObject({ role: 'roles/storage.objectUser', member: extract.member, condition: manifests });
    expect(conditional.resource.node.id).toBe('grant-storage-objectUser-bqx-ml-extract-if-manifests-only');
    expect(Object.values(members).filter((m) => m.condition === undefined)).toHaveLength(1);
    expect(() => bucket.grant(extract, 'roles/storage.objectUser', manifests)).toThrow('test/x: roles/storage.objectUser is already granted to serviceAccount:bqx-ml-extract@bqx-ml.iam.gserviceaccount.com if manifests only');
  });

  it.each(cases.filter(([name]) => name !== 'LifecycleBucket'))('%s refuses a condition rather than grant the role unconditionally', (_name, make) => {
    const s = stack();
    const target = make(s);
    expect(() => target.grant(extract, 'roles/x.a', manifests)).toThrow(/test\/x: roles\/x\.a to serviceAccount:bqx-ml-extract@bqx-ml\.iam\.gserviceaccount\.com: this target's bindings take no IAM condition \("manifests only"\)/);
    expect(s.node.findAll().filter((c) => c.node.id.startsWith('grant-'))).toEqual([]);
  });
});

describe('principals and construct ids', () => {
  it('derives ids from literal members, and refuses a member holding a reference without a key', () => {
    expect(grantId('roles/bigquery.dataViewer', extract)).toBe('grant-bigquery-dataViewer-bqx-ml-extract');
    expect(grantId('roles/storage.objectViewer', new MemberPrincipal('group:data-eng@example.com'))).toBe('grant-storage-objectViewer-group-data-eng');
    const s = stack();
    const wif = new GithubWorkloadIdentity(s, 'wif', { poolId: 'github-actions', providerId: 'github', repository: 'o/r', repositoryId: '1', repositoryOwnerId: '2' });
    expect(grantId('roles/iam.workloadIdentityUser', wif.refPrincipal('refs/heads/main'))).toBe('grant-iam-workloadIdentityUser-wif-ref');
    const unkeyed = { member: new PrincipalSet(wif.pool.name, 'ref', 'refs/heads/main', 'k').member };
    expect(() => grantId('roles/iam.workloadIdentityUser', unkeyed)).toThrow(/holds a reference: give it a key/);
  });
});

describe('flat addresses', () => {
  it('single-resource L2s keep their construct id as Terraform address; project bindings are flat too', () => {
    const s = stack();
    const sa = new ServiceAccountIdentity(s, 'sa-bqx-ml-extract', { accountId: 'bqx-ml-extract', description: 'd' });
    sa.grantActAs(merge);
    new ArtifactRepository(s, 'images', { repositoryId: 'bqx-ml', labels: LABELS }).grantWrite(merge);
    new ProjectIam(s, 'project', { project: 'bqx-ml' }).grant(extract, 'roles/bigquery.jobUser');
    new GithubWorkloadIdentity(s, 'wif', { poolId: 'github-actions', providerId: 'github', repository: 'o/r', repositoryId: '1', repositoryOwnerId: '2' });
    const tf = synth(s);
    expect(Object.keys(tf.resource.google_service_account)).toEqual(['sa-bqx-ml-extract']);
    expect(tf.resource.google_service_account['sa-bqx-ml-extract']).toEqual({ account_id: 'bqx-ml-extract', display_name: 'bqx-ml-extract', description: 'd' });
    expect(Object.keys(tf.resource.google_artifact_registry_repository)).toEqual(['images']);
    expect(tf.resource.google_artifact_registry_repository.images).toMatchObject({ format: 'DOCKER', location: 'us-central1', repository_id: 'bqx-ml' });
    expect(Object.keys(tf.resource.google_project_iam_member)).toEqual(['project-bigquery-jobUser-bqx-ml-extract']);
    expect(Object.keys(tf.resource.google_iam_workload_identity_pool)).toEqual(['wif-pool']);
    expect(Object.keys(tf.resource.google_iam_workload_identity_pool_provider)).toEqual(['wif-provider']);
    // Bindings on an account or a repository keep nested addresses unless a stack pins them.
    expect(Object.keys(tf.resource.google_service_account_iam_member)[0]).toMatch(/^sa-bqx-ml-extract_grant-iam-serviceAccountUser-bqx-ml-merge_[0-9A-F]{8}$/);
  });

  it('refuses two resources of one type at the same flat address (cdktf would merge them silently)', () => {
    const s = stack();
    new ProjectIam(s, 'project', { project: 'bqx-ml' }).grant(extract, 'roles/bigquery.jobUser');
    const b = new StorageBucket(s, 'b', { name: 'bqx-ml-b', location: 'US' });
    flatAddress(b, 'same');
    expect(() => flatAddress(new StorageBucket(s, 'c', { name: 'bqx-ml-c', location: 'US' }), 'same')).toThrow(/test\/c: address google_storage_bucket.same is already held by test\/b/);
  });

  it('pinAddresses pins what it finds and returns the entries that matched nothing', () => {
    const s = stack();
    const sa = new ServiceAccountIdentity(s, 'sa', { accountId: 'bqx-ml-x' });
    sa.grantActAs(merge);
    const unused = pinAddresses(s, { 'sa/grant-iam-serviceAccountUser-bqx-ml-merge': 'actas-bqx-ml-x', 'sa/grant-gone': 'gone' });
    expect(unused).toEqual(['sa/grant-gone']);
    expect(Object.keys(synth(s).resource.google_service_account_iam_member)).toEqual(['actas-bqx-ml-x']);
  });
});

describe('monitoring and budget constructs', () => {
  it('an alert on a log metric depends on the metric; defaults: OR, ERROR, no channels, 300 s sum above 0', () => {
    const s = stack();
    const metric = new LogMetric(s, 'metric', { name: 'bqx_m', description: 'm', filter: 'f' });
    new AlertPolicy(s, 'alert', { displayName: 'A', documentation: 'doc', conditions: [AlertCondition.logMetric(metric, { displayName: 'c', resourceType: 'cloud_run_job' })], labels: LABELS });
    const tf = synth(s);
    expect(tf.resource.google_logging_metric.metric.metric_descriptor).toEqual({ metric_kind: 'DELTA', value_type: 'INT64', unit: '1' });
    expect(tf.resource.google_monitoring_alert_policy.alert).toMatchObject({
      combiner: 'OR',
      severity: 'ERROR',
      notification_channels: [],
      depends_on: ['google_logging_metric.metric'],
      documentation: { content: 'doc', mime_type: 'text/markdown' },
      conditions: [
        {
          display_name: 'c',
          condition_threshold: {
            filter: 'resource.type = "cloud_run_job" AND metric.type = "logging.googleapis.com/user/bqx_m"',
            comparison: 'COMPARISON_GT',
            threshold_value: 0,
            duration: '0s',
            aggregations: [{ alignment_period: '300s', per_series_aligner: 'ALIGN_SUM' }],
          },
        },
      ],
    });
  });

  it('refuses a log-match alert without a notification rate limit, and a policy without conditions', () => {
    const s = stack();
    expect(() => new AlertPolicy(s, 'a', { displayName: 'A', documentation: 'd', conditions: [AlertCondition.logMatch({ displayName: 'c', filter: 'f' })] })).toThrow(/needs alertStrategy.notificationRateLimit/);
    expect(() => new AlertPolicy(s, 'b', { displayName: 'B', documentation: 'd', conditions: [] })).toThrow(/at least one condition/);
  });

  it('a budget: calendar month by default, thresholds 50/90/100 % plus a 100 % forecast; or from a start date with a label', () => {
    const s = stack();
    new Budget(s, 'monthly', { billingAccount: '0A0A0A-0B0B0B-0C0C0C', displayName: 'm', amountUsd: 276, projectNumbers: ['123'] });
    new Budget(s, 'phase', { billingAccount: '0A0A0A-0B0B0B-0C0C0C', displayName: 'p', amountUsd: 15, projectNumbers: ['123'], startDate: '2026-11-01', label: ['bqx-phase', 'm008-4c'], forecastThreshold: null, notificationChannels: ['ch'] });
    const [monthly, phase] = resourcesOf(synth(s), 'google_billing_budget');
    expect(monthly.budget_filter).toEqual({ projects: ['projects/123'], calendar_period: 'MONTH' });
    expect(monthly.threshold_rules.map((r: { threshold_percent: number; spend_basis: string }) => `${r.spend_basis}:${r.threshold_percent}`)).toEqual(['CURRENT_SPEND:0.5', 'CURRENT_SPEND:0.9', 'CURRENT_SPEND:1', 'FORECASTED_SPEND:1']);
    expect(monthly.all_updates_rule).toBeUndefined();
    expect(phase.budget_filter).toEqual({ projects: ['projects/123'], labels: { 'bqx-phase': 'm008-4c' }, custom_period: { start_date: { year: 2026, month: 11, day: 1 } } });
    expect(phase.threshold_rules.some((r: { spend_basis: string }) => r.spend_basis === 'FORECASTED_SPEND')).toBe(false);
    expect(phase.all_updates_rule).toEqual({ monitoring_notification_channels: ['ch'] });
    expect(() => new Budget(s, 'bad-amount', { billingAccount: 'x', displayName: 'x', amountUsd: 27.5, projectNumbers: [] })).toThrow(/not a positive whole number/);
    expect(() => new Budget(s, 'bad-date', { billingAccount: 'x', displayName: 'x', amountUsd: 1, projectNumbers: [], startDate: '1 Nov' })).toThrow(/startDate "1 Nov" is not YYYY-MM-DD/);
  });
});

describe('custom roles and the GitHub provider by repository id', () => {
  it('a custom role: flat address, sorted permissions, GA; refuses bad ids, duplicates and empty roles', () => {
    const s = stack();
    new CustomRole(s, 'role-bqxRunner', { roleId: 'bqxRunner', title: 't', description: 'd', permissions: ['bigquery.tables.get', 'bigquery.jobs.create'] });
    const tf = synth(s);
    expect(tf.resource.google_project_iam_custom_role['role-bqxRunner']).toEqual({ role_id: 'bqxRunner', title: 't', description: 'd', permissions: ['bigquery.jobs.create', 'bigquery.tables.get'], stage: 'GA' });
    expect(() => new CustomRole(s, 'a', { roleId: 'no-dashes', title: 't', description: 'd', permissions: ['a.b.c'] })).toThrow(/role id "no-dashes" is not 3–64 letters/);
    expect(() => new CustomRole(s, 'b', { roleId: 'dup', title: 't', description: 'd', permissions: ['a.b.c', 'a.b.c'] })).toThrow(/listed twice/);
    expect(() => new CustomRole(s, 'c', { roleId: 'none', title: 't', description: 'd', permissions: [] })).toThrow(/at least one permission/);
    // A custom role's grants are named by its id, the same in every project.
    expect(grantId('projects/bqx-ml-dev/roles/bqxRunner', extract)).toBe('grant-custom-bqxRunner-bqx-ml-extract');
  });

  it('the provider condition names the repository and owner by numeric id; environments are subjects', () => {
    const s = stack();
    const wif = new GithubWorkloadIdentity(s, 'wif', { poolId: 'github-actions', providerId: 'github', repository: 'o/r', repositoryId: '123', repositoryOwnerId: '456' });
    const principal = wif.environmentPrincipal('o/r', 'production');
    expect(principal.key).toBe('wif-environment');
    new ServiceAccountIdentity(s, 'sa', { accountId: 'bqx-ml-x' }).grantWorkloadIdentityUser(principal);
    const tf = synth(s);
    expect(tf.resource.google_iam_workload_identity_pool_provider['wif-provider'].attribute_condition).toBe("assertion.repository_id == '123' && assertion.repository_owner_id == '456'");
    expect(resourcesOf(tf, 'google_service_account_iam_member')[0].member).toBe(
      'principal://iam.googleapis.com/${google_iam_workload_identity_pool.wif-pool.name}/subject/repo:o/r:environment:production',
    );
    expect(() => new GithubWorkloadIdentity(stack(), 'w', { poolId: 'github-actions', providerId: 'github', repository: 'o/r', repositoryId: 'o/r', repositoryOwnerId: '456' })).toThrow(/repositoryId "o\/r" is not GitHub's numeric id/);
  });
});
