import { BigqueryDataset } from '../../constructs/google';
import { ProjectIamMember } from '../../constructs/google';
import { ServiceAccount, StorageBucket, StorageBucketIamMember } from '../../constructs/google';
import { ServiceAccountKey } from '@cdktf/provider-google/lib/service-account-key';
import { ManagedDataset } from '../../constructs/managed-dataset';
import { LifecycleBucket } from '../../constructs/lifecycle-bucket';
import { ServiceAccountPrincipal } from '../../constructs/principal';
import { EmailNotificationChannel } from '../../constructs/monitoring';
import { LABELS, policyStack, synthErrors } from './helpers';

const SA = 'serviceAccount:bqx-ml-extract@bqx-ml.iam.gserviceaccount.com';

describe('platform policy aspects', () => {
  it('lets well-formed constructs through', () => {
    const stack = policyStack();
    const ds = new ManagedDataset(stack, 'features', { datasetId: 'bqx_ml_v3_features_v2', description: 'f', runnerRenamesIn: true, labels: LABELS });
    ds.grantRead(new ServiceAccountPrincipal('bqx-ml-extract@bqx-ml.iam.gserviceaccount.com'));
    new LifecycleBucket(stack, 'staging', { name: 'bqx-ml-staging', labels: LABELS, expireByPrefix: [{ prefix: 'checkpoints/', days: 30 }] });
    new ServiceAccount(stack, 'sa', { accountId: 'bqx-ml-extract' });
    expect(synthErrors(stack)).toBe('');
  });

  it('no-primitive-roles: refuses roles/editor and names the resource', () => {
    const stack = policyStack();
    new ProjectIamMember(stack, 'too-broad', { project: 'bqx-ml', role: 'roles/editor', member: SA });
    const err = synthErrors(stack);
    expect(err).toContain('[policy/too-broad]');
    expect(err).toContain('policy no-primitive-roles: google_project_iam_member grants the primitive role roles/editor');
  });

  it('no-public-members: refuses allUsers on a bucket', () => {
    const stack = policyStack();
    const b = new LifecycleBucket(stack, 'out', { name: 'bqx-ml-output', labels: LABELS });
    new StorageBucketIamMember(stack, 'public-read', { bucket: b.resource.name, role: 'roles/storage.objectViewer', member: 'allUsers' });
    expect(synthErrors(stack)).toMatch(/\[policy\/public-read\] policy no-public-members: google_storage_bucket_iam_member grants to allUsers/);
  });

  it('no-public-members: refuses allAuthenticatedUsers through a construct grant', () => {
    const stack = policyStack();
    const ds = new ManagedDataset(stack, 'models', { datasetId: 'bqx_ml_v3_models', description: 'm', labels: LABELS });
    ds.grantRead({ member: 'allAuthenticatedUsers' });
    expect(synthErrors(stack)).toMatch(/\[policy\/models\/grant-bigquery-dataViewer-allAuthenticatedUsers\] policy no-public-members/);
  });

  it('no-service-account-keys: refuses a key resource', () => {
    const stack = policyStack();
    new ServiceAccountKey(stack, 'ci-key', { serviceAccountId: 'bqx-ml-ci-deployer' });
    expect(synthErrors(stack)).toMatch(/\[policy\/ci-key\] policy no-service-account-keys/);
  });

  it('bucket-hardening: refuses a bucket without uniform access or public access prevention', () => {
    const stack = policyStack();
    new StorageBucket(stack, 'legacy', { name: 'bqx-ml-legacy', location: 'US-CENTRAL1', labels: LABELS });
    const err = synthErrors(stack);
    expect(err).toContain('[policy/legacy] policy bucket-hardening: google_storage_bucket does not enforce uniform bucket-level access');
    expect(err).toContain('[policy/legacy] policy bucket-hardening: google_storage_bucket does not enforce public access prevention');
  });

  it('labels-required: refuses a labellable resource without the required labels', () => {
    const stack = policyStack();
    new ManagedDataset(stack, 'unlabelled', { datasetId: 'bqx_ml_v3_predictions', description: 'p', labels: { system: 'bqx-ml' } });
    expect(synthErrors(stack)).toMatch(/\[policy\/unlabelled\/dataset\] policy labels-required: google_bigquery_dataset is missing labels env/);
  });

  it('labels-required: reads user_labels where a resource also has labels of its own (notification channel)', () => {
    const labelled = policyStack();
    new EmailNotificationChannel(labelled, 'ch', { email: 'oncall@example.com', labels: LABELS });
    expect(synthErrors(labelled)).toBe('');
    const bare = policyStack();
    new EmailNotificationChannel(bare, 'ch', { email: 'oncall@example.com' });
    expect(synthErrors(bare)).toMatch(/\[policy\/ch\/channel\] policy labels-required: google_monitoring_notification_channel is missing labels system, env/);
  });

  it('dataset-access-model: refuses the inline access block', () => {
    const stack = policyStack();
    new BigqueryDataset(stack, 'inline', { datasetId: 'bqx_ml_v3_models', labels: LABELS, access: [{ role: 'READER', userByEmail: 'bqx-ml-extract@bqx-ml.iam.gserviceaccount.com' }] });
    expect(synthErrors(stack)).toMatch(/\[policy\/inline\] policy dataset-access-model/);
  });

  it('no-expiration-where-runner-renames: refuses an expiration on the feature dataset (by id and by label)', () => {
    const byId = policyStack();
    new BigqueryDataset(byId, 'features', { datasetId: 'bqx_ml_v3_features_v2', labels: LABELS, defaultTableExpirationMs: 86400000 });
    expect(synthErrors(byId)).toMatch(/\[policy\/features\] policy no-expiration-where-runner-renames: google_bigquery_dataset bqx_ml_v3_features_v2/);

    const byLabel = policyStack();
    new BigqueryDataset(byLabel, 'other', { datasetId: 'bqx_other', labels: { ...LABELS, bqx_runner_renames: 'true' }, defaultPartitionExpirationMs: 1000 });
    expect(synthErrors(byLabel)).toMatch(/\[policy\/other\] policy no-expiration-where-runner-renames/);
  });

  it('no-expiration-where-runner-renames: the construct refuses it before synthesis too', () => {
    const stack = policyStack();
    expect(() => new ManagedDataset(stack, 'f', { datasetId: 'bqx_ml_v3_features_v2', description: 'f', runnerRenamesIn: true, defaultTableExpirationDays: 7 })).toThrow(
      /must not have a default table expiration/,
    );
  });

  it('naming-conventions: refuses names outside the conventions', () => {
    const stack = policyStack();
    new ServiceAccount(stack, 'sa', { accountId: 'pipeline-runner' });
    new LifecycleBucket(stack, 'b', { name: 'my_bucket.example', labels: LABELS });
    const err = synthErrors(stack);
    expect(err).toContain('[policy/sa] policy naming-conventions: google_service_account name "pipeline-runner" does not follow bqx-ml-<kebab-case>');
    expect(err).toContain('[policy/b/bucket] policy naming-conventions: google_storage_bucket name "my_bucket.example"');
  });
});
