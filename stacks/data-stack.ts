import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment';
import { ManagedDataset } from '../constructs/managed-dataset';
import { LifecycleBucket } from '../constructs/lifecycle-bucket';
import { BqxStack } from './bqx-stack';
import { Principals, grantAll } from './iam';

type BucketKey = keyof EnvironmentConfig['buckets'];
const BUCKET_KEYS: readonly BucketKey[] = ['staging', 'output', 'state'];

/**
 * Data: the datasets (settings and dataset-level IAM, one access model each) and the buckets with
 * their IAM, both from the `iam` config. Terraform never manages the data tables: generation jobs
 * make them, the runner renames them. The state bucket is declared here after a one-time import (it
 * holds this stack's own state).
 */
export class DataStack extends BqxStack {
  readonly datasets: Readonly<Record<string, ManagedDataset>>;
  readonly buckets: Readonly<Record<BucketKey, LifecycleBucket>>;

  constructor(scope: Construct, id: string, env: EnvironmentConfig) {
    super(scope, id, { env });
    const principals = new Principals(env);

    const datasets: Record<string, ManagedDataset> = {};
    for (const ds of env.datasets) {
      datasets[ds.id] = new ManagedDataset(this, ds.id, {
        datasetId: ds.id,
        description: ds.description,
        location: env.bigqueryLocation,
        defaultTableExpirationDays: ds.defaultTableExpirationDays,
        runnerRenamesIn: ds.runnerRenamesIn,
        deleteContentsOnDestroy: ds.deleteContentsOnDestroy,
        labels: { ...this.labels, dataset_role: ds.role },
      });
      grantAll(datasets[ds.id], env.iam.datasets[ds.id], principals);
    }
    this.datasets = datasets;

    const buckets = {} as Record<BucketKey, LifecycleBucket>;
    for (const key of BUCKET_KEYS) {
      const b = env.buckets[key];
      buckets[key] = new LifecycleBucket(this, `bucket-${key}`, {
        name: b.name,
        location: env.region,
        storageClass: b.storageClass,
        versioning: b.versioning,
        expireByPrefix: b.expireByPrefix,
        noncurrentVersionDays: b.noncurrentVersionDays,
        forceDestroy: b.forceDestroy,
        labels: { ...this.labels, bucket_role: key },
      });
      grantAll(buckets[key], env.iam.buckets[key], principals);
    }
    this.buckets = buckets;
  }
}
