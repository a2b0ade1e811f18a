import { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../config/environment';
import { serviceAccountEmail } from '../config/environment';
import { ManagedDataset } from '../constructs/managed-dataset';
import { LifecycleBucket } from '../constructs/lifecycle-bucket';
import { ServiceAccountPrincipal } from '../constructs/principal';
import { BqxStack } from './bqx-stack';

/**
 * Data: the datasets (settings and dataset-level IAM, one access model each) and the buckets.
 * Terraform never manages the data tables: generation jobs make them, the runner renames them.
 * The state bucket is declared here after a one-time import (it holds this stack's own state).
 */
export class DataStack extends BqxStack {
  readonly datasets: Readonly<Record<string, ManagedDataset>>;
  readonly buckets: Readonly<Record<'staging' | 'output' | 'state', LifecycleBucket>>;

  constructor(scope: Construct, id: string, env: EnvironmentConfig) {
    super(scope, id, { env });
    const sa = (key: keyof EnvironmentConfig['serviceAccounts']) =>
      new ServiceAccountPrincipal(serviceAccountEmail(env, env.serviceAccounts[key]));
    const extract = sa('extract');
    const merge = sa('merge');
    const runner = sa('runner');

    const datasets: Record<string, ManagedDataset> = {};
    for (const ds of env.datasets) {
      const dataset = new ManagedDataset(this, ds.id, {
        datasetId: ds.id,
        description: ds.description,
        location: env.bigqueryLocation,
        defaultTableExpirationDays: ds.defaultTableExpirationDays,
        runnerRenamesIn: ds.runnerRenamesIn,
        deleteContentsOnDestroy: ds.deleteContentsOnDestroy,
        labels: { ...this.labels, dataset_role: ds.role },
      });
      grantByRole(ds, dataset, { extract, merge, runner });
      datasets[ds.id] = dataset;
    }
    this.datasets = datasets;

    const bucket = (key: 'staging' | 'output' | 'state') => {
      const b = env.buckets[key];
      return new LifecycleBucket(this, `bucket-${key}`, {
        name: b.name,
        location: env.region,
        storageClass: b.storageClass,
        versioning: b.versioning,
        expireByPrefix: b.expireByPrefix,
        noncurrentVersionDays: b.noncurrentVersionDays,
        forceDestroy: b.forceDestroy,
        labels: { ...this.labels, bucket_role: key },
      });
    };
    const staging = bucket('staging');
    staging.grantReadWrite(extract); // checkpoints/{pair}/..., resume reads existing ones
    staging.grantRead(merge);
    staging.grantReadWrite(runner); // backups/
    const output = bucket('output');
    output.grantReadWrite(merge);
    const state = bucket('state');
    state.grantReadWrite(sa('ciDeployer'));
    state.grantRead(sa('ciPlanner')); // plans run with -lock=false
    this.buckets = { staging, output, state };
  }
}

function grantByRole(
  ds: DatasetConfig,
  dataset: ManagedDataset,
  who: { extract: ServiceAccountPrincipal; merge: ServiceAccountPrincipal; runner: ServiceAccountPrincipal },
): void {
  switch (ds.role) {
    case 'features':
      dataset.grantRead(who.extract);
      dataset.grantWrite(who.runner); // renames, dedupes, consolidations and the compatibility views
      return;
    case 'analytics':
      dataset.grantRead(who.extract);
      return;
    case 'training':
      dataset.grantWrite(who.merge);
      return;
    case 'scratch':
      if (ds.id.endsWith('_temp')) dataset.grantWrite(who.merge);
      return;
    case 'ledger':
      dataset.grantWrite(who.runner);
      return;
    default:
      return;
  }
}
