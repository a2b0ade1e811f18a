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

/**
 * Every IAM binding of the platform, principal → roles per scope (the `iam_by_principals` shape of
 * cloud-foundation-fabric). Least privilege at the narrowest scope the API allows: dataset, bucket,
 * job or account; project level only where nothing narrower exists. Principals are identity keys
 * (`serviceAccounts`), `wif:repository` / `wif:ref` (the CI's federated identities, resolved by the
 * foundation stack) or full IAM members. The same in every environment (identities, datasets,
 * buckets and jobs have the same keys); the stacks grant nothing that is not here.
 */
function iam(): EnvironmentInput['iam'] {
  return {
    // Project-level roles, granted only where no narrower scope exists.
    project: {
      // BigQuery jobs run at project level: every identity that queries needs jobUser there.
      extract: ['roles/bigquery.jobUser'],
      merge: ['roles/bigquery.jobUser'],
      runner: ['roles/bigquery.jobUser'],
      orchestrator: ['roles/logging.logWriter'],
      // The planner must read every resource it plans (read-only; state is read with -lock=false).
      ciPlanner: [
        'roles/iam.securityReviewer',
        'roles/bigquery.metadataViewer',
        'roles/storage.bucketViewer',
        'roles/run.viewer',
        'roles/workflows.viewer',
        'roles/monitoring.viewer',
        'roles/logging.viewer',
        'roles/artifactregistry.reader',
        'roles/serviceusage.serviceUsageViewer',
        'roles/iam.workloadIdentityPoolViewer',
        'roles/serviceusage.serviceUsageConsumer', // the budget API is called with the project as quota project
      ],
      // The deployer applies every stack: it creates and changes each kind of resource declared
      // here, and (projectIamAdmin) the project-level bindings of this section.
      ciDeployer: [
        'roles/bigquery.dataOwner',
        'roles/storage.admin',
        'roles/run.admin',
        'roles/workflows.admin',
        'roles/iam.serviceAccountAdmin',
        'roles/iam.workloadIdentityPoolAdmin',
        'roles/artifactregistry.admin',
        'roles/monitoring.alertPolicyEditor',
        'roles/monitoring.notificationChannelEditor',
        'roles/logging.configWriter',
        'roles/serviceusage.serviceUsageAdmin',
        'roles/serviceusage.serviceUsageConsumer',
        'roles/resourcemanager.projectIamAdmin',
      ],
    },
    datasets: {
      bqx_ml_v3_features_v2: {
        extract: ['roles/bigquery.dataViewer'],
        runner: ['roles/bigquery.dataEditor'], // renames, dedupes, consolidations and the compatibility views
      },
      bqx_ml_v3_analytics_v2: { extract: ['roles/bigquery.dataViewer'] }, // targets_{pair}
      bqx_ml_v3_training: { merge: ['roles/bigquery.dataEditor'] }, // training_{pair}
      bqx_ml_v3_temp: { merge: ['roles/bigquery.dataEditor'] }, // Cloud Run merge scratch
      bqx_ml_v3_migration: { runner: ['roles/bigquery.dataEditor'] }, // the runner's ledger
    },
    buckets: {
      staging: {
        extract: ['roles/storage.objectUser'], // checkpoints/{pair}/..., resume reads existing ones
        merge: ['roles/storage.objectViewer'],
        runner: ['roles/storage.objectUser'], // backups/
      },
      output: { merge: ['roles/storage.objectUser'] },
      state: {
        ciDeployer: ['roles/storage.objectUser'],
        ciPlanner: ['roles/storage.objectViewer'], // plans run with -lock=false
      },
    },
    // The deployer attaches the runtime identities to jobs and the workflow (actAs), granted on
    // each account rather than project-wide. CI impersonates its two accounts through WIF: any
    // workflow of the repository may plan; only its deploy ref may deploy.
    serviceAccounts: {
      extract: { ciDeployer: ['roles/iam.serviceAccountUser'] },
      merge: { ciDeployer: ['roles/iam.serviceAccountUser'] },
      orchestrator: { ciDeployer: ['roles/iam.serviceAccountUser'] },
      ciPlanner: { 'wif:repository': ['roles/iam.workloadIdentityUser'] },
      ciDeployer: { 'wif:ref': ['roles/iam.workloadIdentityUser'] },
    },
    artifactRegistry: { ciDeployer: ['roles/artifactregistry.writer'] }, // CI pushes the job images
    jobs: {
      // The orchestrator's workflow runs each job with a PAIR env override: overriding a job's
      // configuration needs run.developer on the job, run.invoker only executes it as configured
      // (https://cloud.google.com/run/docs/execute/jobs, "Required roles").
      extract: { orchestrator: ['roles/run.developer'] },
      merge: { orchestrator: ['roles/run.developer'] },
    },
  };
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
  iam: iam(),
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
  iam: iam(),
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
