import { BqxError } from '../core/errors';
import { EnvironmentConfig, EnvironmentInput, parseEnvironment } from './environment';

/** The 28 pairs, in the policy's order (policy/m008.policy.yaml tokens.pair). */
export const PAIRS = [
  'eurusd', 'gbpusd', 'usdjpy', 'usdchf', 'audusd', 'usdcad', 'nzdusd', 'eurgbp', 'eurjpy', 'eurchf',
  'euraud', 'eurcad', 'eurnzd', 'gbpjpy', 'gbpchf', 'gbpaud', 'gbpcad', 'gbpnzd', 'audjpy', 'audchf',
  'audcad', 'audnzd', 'nzdjpy', 'nzdchf', 'nzdcad', 'cadjpy', 'cadchf', 'chfjpy',
] as const;

const API_LIST = [
  'bigquery.googleapis.com',
  'storage.googleapis.com',
  'run.googleapis.com',
  'workflows.googleapis.com',
  'workflowexecutions.googleapis.com',
  'artifactregistry.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'sts.googleapis.com',
  'monitoring.googleapis.com',
  'logging.googleapis.com',
  'cloudbilling.googleapis.com',
  'billingbudgets.googleapis.com',
  'cloudresourcemanager.googleapis.com',
];

/** The datasets of the platform spec plus the runner's ledger (same names in every project). */
function datasets(): EnvironmentInput['datasets'] {
  const d = (id: string) => id;
  return [
    { id: d('bqx_ml_v3_features_v2'), role: 'features', description: 'Engineered features (Phase 4C target), partitioned by DATE(interval_time)', runnerRenamesIn: true },
    { id: d('bqx_bq_uscen1_v2'), role: 'source', description: 'Source market data' },
    { id: d('bqx_ml_v3_analytics_v2'), role: 'analytics', description: 'Targets (targets_{pair})' },
    { id: d('bqx_ml_v3_models'), role: 'models', description: 'Model artefacts' },
    { id: d('bqx_ml_v3_predictions'), role: 'predictions', description: 'Predictions' },
    { id: d('bqx_ml_v3_training'), role: 'training', description: 'Training tables (training_{pair})' },
    { id: d('bqx_ml_v3_staging'), role: 'scratch', description: 'Merge scratch (VM-era inputs)', defaultTableExpirationDays: 7 },
    { id: d('bqx_ml_v3_temp'), role: 'scratch', description: 'Cloud Run merge scratch', defaultTableExpirationDays: 2 },
    { id: d('bqx_ml_v3_migration'), role: 'ledger', description: 'M008 migration runner ledger' },
  ];
}

const prod: EnvironmentInput = {
  name: 'prod',
  project: 'bqx-ml',
  region: 'us-central1',
  bigqueryLocation: 'us-central1',
  labels: { system: 'bqx-ml', env: 'prod', managed_by: 'cdktf' },
  state: { bucket: 'bqx-ml-tfstate', prefixRoot: 'platform/prod' },
  apis: API_LIST,
  serviceAccounts: {
    extract: 'bqx-ml-extract',
    merge: 'bqx-ml-merge',
    runner: 'bqx-ml-runner',
    ciPlanner: 'bqx-ml-ci-planner',
    ciDeployer: 'bqx-ml-ci-deployer',
    orchestrator: 'bqx-ml-orchestrator',
  },
  ci: { repository: 'bqx-ml/bqx-platform', deployRef: 'refs/heads/main', poolId: 'github-actions', providerId: 'github' },
  artifactRegistry: { repositoryId: 'bqx-ml' },
  datasets: datasets(),
  buckets: {
    staging: { name: 'bqx-ml-staging', expireByPrefix: [{ prefix: 'checkpoints/', days: 30 }, { prefix: 'backups/', days: 60 }] },
    output: { name: 'bqx-ml-output' },
    state: { name: 'bqx-ml-tfstate', versioning: true, noncurrentVersionDays: 90 },
  },
  jobs: {
    extract: {
      name: 'bqx-ml-extract',
      serviceAccount: 'bqx-ml-extract',
      image: 'bqx-ml-extract:latest',
      cpu: '4',
      memory: '8Gi',
      timeoutSeconds: 7200,
      maxRetries: 0,
      env: { PAIR: 'eurusd', GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-staging', EXTRACTION_WORKERS: '25', PROJECT_ID: 'bqx-ml', PYTHONUNBUFFERED: '1' },
    },
    merge: {
      name: 'bqx-ml-merge',
      serviceAccount: 'bqx-ml-merge',
      image: 'bqx-ml-merge:latest',
      cpu: '1',
      memory: '2Gi',
      timeoutSeconds: 1800,
      maxRetries: 0,
      env: { PAIR: 'eurusd', GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-staging', GCS_OUTPUT_BUCKET: 'gs://bqx-ml-output', MERGE_METHOD: 'bigquery', PROJECT_ID: 'bqx-ml' },
    },
  },
  pairs: [...PAIRS],
  orchestration: { workflowName: 'bqx-ml-extract-merge', concurrency: 4 },
  deletionProtection: { jobs: true },
  budget: {
    billingAccount: process.env.BQX_BILLING_ACCOUNT ?? '000000-000000-000000',
    monthlyUsd: 276,
    thresholds: [0.5, 0.9, 1.0],
    phase4c: { ceilingUsd: 15, start: '2026-11-01', label: ['bqx-phase', 'm008-4c'] },
  },
  alerts: {},
  views: { planFile: 'plans/phase-4c.plan.json', shards: 10, maxViewsPerShard: 400, warnWithinDays: 3 },
};

const dev: EnvironmentInput = {
  ...prod,
  name: 'dev',
  project: 'bqx-ml-dev',
  labels: { system: 'bqx-ml', env: 'dev', managed_by: 'cdktf' },
  state: { bucket: 'bqx-ml-dev-tfstate', prefixRoot: 'platform/dev' },
  datasets: datasets(),
  buckets: {
    staging: { name: 'bqx-ml-dev-staging', expireByPrefix: [{ prefix: 'checkpoints/', days: 7 }, { prefix: 'backups/', days: 14 }], forceDestroy: true },
    output: { name: 'bqx-ml-dev-output', expireByPrefix: [{ prefix: 'training_', days: 14 }], forceDestroy: true },
    state: { name: 'bqx-ml-dev-tfstate', versioning: true, noncurrentVersionDays: 30 },
  },
  jobs: {
    extract: { ...prod.jobs.extract, env: { ...prod.jobs.extract.env, GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-dev-staging', PROJECT_ID: 'bqx-ml-dev' } },
    merge: {
      ...prod.jobs.merge,
      env: { ...prod.jobs.merge.env, GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-dev-staging', GCS_OUTPUT_BUCKET: 'gs://bqx-ml-dev-output', PROJECT_ID: 'bqx-ml-dev' },
    },
  },
  pairs: ['eurusd', 'gbpusd', 'usdjpy', 'usdchf', 'audcad'],
  orchestration: { workflowName: 'bqx-ml-extract-merge', concurrency: 2 },
  deletionProtection: { jobs: false },
  budget: { ...prod.budget, monthlyUsd: 25, phase4c: { ...prod.budget.phase4c, ceilingUsd: 5 } },
  views: { planFile: 'plans/phase-4c.dev.plan.json', shards: 2, maxViewsPerShard: 400, warnWithinDays: 3 },
};

export const ENVIRONMENT_NAMES = ['dev', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];
const INPUTS: Record<EnvironmentName, EnvironmentInput> = { dev, prod };

/** The validated configuration of one environment. */
export function loadEnvironment(name: string): EnvironmentConfig {
  if (!(ENVIRONMENT_NAMES as readonly string[]).includes(name)) {
    throw new BqxError('INVALID_ENVIRONMENT', `unknown environment ${JSON.stringify(name)}`, `use one of: ${ENVIRONMENT_NAMES.join(', ')}`);
  }
  return parseEnvironment(INPUTS[name as EnvironmentName], name);
}

/** The raw input of an environment, for tests that derive a variant (a deep copy). */
export function environmentInput(name: EnvironmentName): EnvironmentInput {
  return structuredClone(INPUTS[name]);
}
