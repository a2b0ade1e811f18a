import { BqxError } from '../core/errors';
import { EnvironmentConfig, EnvironmentInput, PLACEHOLDER_BILLING_ACCOUNT, PLACEHOLDER_DIGEST, PLACEHOLDER_GITHUB_ID, PLACEHOLDER_GROUP_DOMAIN, objectPrefixCondition, parseEnvironment } from './environment';
import { STAGING_MANIFEST_PREFIX, cloudPermissionsFor, permissionsFor } from './runner-permissions';

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
  'cloudscheduler.googleapis.com',
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

/** The groups of people the config grants to (placeholders until the real groups are named). */
interface Groups {
  readonly operators: string;
  readonly platformAdmins: string;
}

/**
 * The custom roles. The runner's: exactly the permissions of the permission table
 * (config/runner-permissions.ts) per scope. A test proves the synthesized grants hold the table
 * and nothing more.
 */
function platformCustomRoles(): NonNullable<EnvironmentInput['iam']['customRoles']> {
  return {
    bqxMigrationRunnerProject: {
      title: 'BQX migration runner (project)',
      description: 'M008 runner: BigQuery jobs in the project (table metadata is read dataset by dataset)',
      permissions: permissionsFor('project'),
      reason:
        'roles/bigquery.jobUser also grants Dataform repository and folder creation; the runner needs bigquery.jobs.create alone here ' +
        '(no project-wide table metadata: row counts come from the dataset-qualified INFORMATION_SCHEMA.PARTITIONS)',
    },
    bqxMigrationRunnerFeatures: {
      title: 'BQX migration runner (feature dataset)',
      description: 'M008 runner on the feature dataset: rename, drop, consolidate, views, expiring snapshots as backups, validation reads',
      permissions: permissionsFor('featureDataset'),
      reason:
        'roles/bigquery.dataEditor lacks bigquery.tables.deleteSnapshot, which a snapshot with an expiration needs; roles/bigquery.dataOwner has it ' +
        'but also datasets.setIamPolicy/update/delete and row-access and data policies (the runner could grant itself or others access)',
    },
    bqxDeployerProject: {
      title: 'BQX CI deployer (project)',
      description: 'Create the buckets and datasets the data stack declares, and the log-based metrics; each bucket and dataset is administered through a grant on it alone',
      permissions: [
        'bigquery.datasets.create',
        'logging.logMetrics.create',
        'logging.logMetrics.delete',
        'logging.logMetrics.get',
        'logging.logMetrics.list',
        'logging.logMetrics.update',
        'storage.buckets.create',
        'storage.buckets.list',
      ],
      reason:
        'project-wide roles/storage.admin would reach every bucket of the project, the foundation stack\'s state included, and ' +
        'roles/bigquery.dataOwner every dataset; creating a bucket or a dataset is a project permission ' +
        '(https://cloud.google.com/storage/docs/json_api/v1/buckets/insert, https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets/insert), ' +
        'administering one is granted on it (buckets and datasets below). roles/logging.configWriter also manages sinks, exclusions ' +
        'and log buckets (where logs go); the pipeline stack only declares log-based metrics (logging.logMetrics.*)',
    },
    bqxMigrationRunnerLedger: {
      title: 'BQX migration runner (runner dataset)',
      description: 'M008 runner on its own dataset: ledger, run records and lock (create, append, read), backups (snapshot, restore, expiry)',
      permissions: permissionsFor('runnerDataset'),
      reason: 'roles/bigquery.dataEditor lacks bigquery.tables.deleteSnapshot and would add table deletion, routines and models the runner never uses here',
    },
    bqxMigrationRunnerManifests: {
      title: 'BQX migration runner (extraction manifests)',
      description: 'M008 runner: write and overwrite the per-pair extraction manifests; granted on the staging bucket under a condition (manifests/ only)',
      permissions: cloudPermissionsFor('stagingManifests'),
      reason:
        'roles/storage.objectCreator cannot overwrite a manifest (objects.insert over an existing name needs storage.objects.delete); ' +
        'roles/storage.objectUser would add reading, listing, updating, moving and restoring objects, which the runner never does there',
    },
  };
}

/**
 * What a `terraform plan` of every stack needs to read, and nothing that writes: held project-wide
 * by the CI planner (pull requests, deploy plans) and by the drift identity (the scheduled check),
 * declared once so the two cannot drift apart.
 */
const CI_READ_ONLY_PROJECT_ROLES = [
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
] as const;

/** The CI's read-only state access: plans run with -lock=false, so reading objects is enough. */
const CI_READ_ONLY_STATE_ROLES = ['roles/storage.objectViewer'] as const;

/**
 * Every IAM binding of the platform, principal → roles per scope (the `iam_by_principals` shape of
 * cloud-foundation-fabric). Least privilege at the narrowest scope the API allows: dataset, bucket,
 * job or account; project level only where nothing narrower exists. Principals are identity keys
 * (`serviceAccounts`), `wif:repository` / `wif:deployEnvironment` / `wif:defaultBranch` (the CI's federated identities,
 * resolved by the foundation stack) or full IAM members (the groups). Roles are predefined or
 * `custom:<roleId>` of `customRoles`. The same in every environment (identities, datasets, buckets
 * and jobs have the same keys); the stacks grant nothing that is not here.
 *
 * Who can change what (RUNBOOK "Identities"): the CI deployer applies data, pipeline and views and
 * holds no role over project IAM, service accounts, federation or custom roles; those live in the
 * foundation stack, which only `breakGlass` applies, impersonated by the platform admins' group.
 */
function iam(groups: Groups, stagingBucket: string): EnvironmentInput['iam'] {
  const operators = `group:${groups.operators}`;
  const platformAdmins = `group:${groups.platformAdmins}`;
  return {
    customRoles: platformCustomRoles(),
    // Project-level roles, granted only where no narrower scope exists.
    project: {
      // BigQuery jobs run at project level: every identity that queries needs jobs.create there.
      extract: ['roles/bigquery.jobUser'],
      merge: ['roles/bigquery.jobUser'],
      runner: ['custom:bqxMigrationRunnerProject'],
      orchestrator: ['roles/logging.logWriter'],
      // The planner and the drift check read every resource they plan (read-only; state is read with -lock=false).
      ciPlanner: [...CI_READ_ONLY_PROJECT_ROLES],
      ciDrift: [...CI_READ_ONLY_PROJECT_ROLES],
      // The routine deployer applies data, pipeline and views: it creates and changes those
      // resources and the IAM on them (datasets, buckets, jobs), never project IAM, service
      // accounts, federation or custom roles (no resourcemanager.projectIamAdmin,
      // iam.serviceAccountAdmin, iam.workloadIdentityPoolAdmin, iam.roleAdmin).
      ciDeployer: [
        // Creating a bucket or a dataset is a project permission, and log-based metrics are project
        // resources; administering a bucket or dataset is granted on each one the data stack
        // declares (buckets and datasets below), never project-wide: the foundation stack's state
        // bucket, and any dataset or bucket the stacks do not manage, are out of the deployer's reach.
        'custom:bqxDeployerProject',
        'roles/run.admin', // Cloud Run jobs and job IAM
        'roles/workflows.admin',
        'roles/monitoring.alertPolicyEditor',
        'roles/monitoring.notificationChannelEditor',
        'roles/serviceusage.serviceUsageConsumer', // budgets are called with the project as quota project
      ],
      // Foundation only: identities, federation, project IAM, custom roles, APIs, the image
      // repository. Impersonated by people (platform admins), never by CI.
      breakGlass: [
        'roles/resourcemanager.projectIamAdmin',
        'roles/iam.serviceAccountAdmin',
        'roles/iam.workloadIdentityPoolAdmin',
        'roles/iam.roleAdmin',
        'roles/serviceusage.serviceUsageAdmin',
        'roles/serviceusage.serviceUsageConsumer',
        'roles/artifactregistry.admin',
      ],
    },
    // The deployer administers each dataset the data stack declares (datasets, their IAM, the
    // compatibility views in the feature dataset); the entries below add the workloads' roles.
    datasets: {
      ...Object.fromEntries(datasets().map((d) => [d.id, { ciDeployer: ['roles/bigquery.dataOwner'] }])),
      bqx_ml_v3_features_v2: {
        ciDeployer: ['roles/bigquery.dataOwner'],
        extract: ['roles/bigquery.dataViewer'],
        runner: ['custom:bqxMigrationRunnerFeatures'], // renames, drops, consolidations, views, expiring backups
      },
      bqx_ml_v3_analytics_v2: { ciDeployer: ['roles/bigquery.dataOwner'], extract: ['roles/bigquery.dataViewer'] }, // targets_{pair}
      bqx_ml_v3_training: { ciDeployer: ['roles/bigquery.dataOwner'], merge: ['roles/bigquery.dataEditor'] }, // training_{pair}
      bqx_ml_v3_temp: { ciDeployer: ['roles/bigquery.dataOwner'], merge: ['roles/bigquery.dataEditor'] }, // Cloud Run merge scratch
      bqx_ml_v3_migration: { ciDeployer: ['roles/bigquery.dataOwner'], runner: ['custom:bqxMigrationRunnerLedger'] }, // ledger, lock, backups
    },
    buckets: {
      staging: {
        ciDeployer: ['roles/storage.admin'], // the bucket, its lifecycle and IAM (the data stack)
        extract: ['roles/storage.objectUser'], // checkpoints/{pair}/..., resume reads existing ones
        merge: ['roles/storage.objectViewer'],
        // The runner writes the per-pair extraction manifests (bqx extraction --manifest-dir gs://<staging>)
        // and nothing else here: create and overwrite, under manifests/ only (the condition), so the
        // extract job's checkpoints in the same bucket are out of its reach. Its backups are BigQuery
        // snapshots and its plan is in its image. Cited in config/runner-permissions.ts (stagingManifests).
        runner: [{ role: 'custom:bqxMigrationRunnerManifests', condition: objectPrefixCondition(stagingBucket, STAGING_MANIFEST_PREFIX, 'Extraction manifests') }],
      },
      output: { merge: ['roles/storage.objectUser'], ciDeployer: ['roles/storage.admin'] },
      // The state of data, pipeline and views (the foundation's is in state.foundationBucket,
      // granted at bootstrap to break glass, the planner and the drift identity only: config/bootstrap.ts).
      state: {
        ciDeployer: ['roles/storage.admin'], // its stacks' state, and the bucket the data stack declares
        ciPlanner: [...CI_READ_ONLY_STATE_ROLES],
        ciDrift: [...CI_READ_ONLY_STATE_ROLES],
      },
    },
    // The deployer attaches the runtime identities to jobs and the workflow (actAs), granted on
    // each account rather than project-wide. CI impersonates its three accounts through WIF: any
    // workflow of the repository may plan; only runs on the default branch may check drift; only
    // jobs in the deploy environment (its required reviewers) may deploy. People impersonate the runner (operators) and break glass (admins)
    // by token creation, which Cloud Audit Logs record.
    serviceAccounts: {
      extract: { ciDeployer: ['roles/iam.serviceAccountUser'] },
      merge: { ciDeployer: ['roles/iam.serviceAccountUser'] },
      orchestrator: { ciDeployer: ['roles/iam.serviceAccountUser'] },
      runner: { ciDeployer: ['roles/iam.serviceAccountUser'], [operators]: ['roles/iam.serviceAccountTokenCreator'] },
      ciPlanner: { 'wif:repository': ['roles/iam.workloadIdentityUser'] },
      ciDeployer: { 'wif:deployEnvironment': ['roles/iam.workloadIdentityUser'] },
      // The scheduled drift check runs on the default branch; a pull request's run (refs/pull/<n>/merge)
      // cannot impersonate it, so a PR cannot borrow the identity that refreshes every resource.
      ciDrift: { 'wif:defaultBranch': ['roles/iam.workloadIdentityUser'] },
      breakGlass: { [platformAdmins]: ['roles/iam.serviceAccountTokenCreator'] },
      // The deployer attaches the scheduler's identity to the Cloud Scheduler job (actAs).
      compliance: { ciDeployer: ['roles/iam.serviceAccountUser'] },
    },
    artifactRegistry: { ciDeployer: ['roles/artifactregistry.writer'] }, // CI pushes the job images
    jobs: {
      // The orchestrator's workflow runs each job with a PAIR env override: overriding a job's
      // configuration needs run.developer on the job, run.invoker only executes it as configured
      // (https://cloud.google.com/run/docs/execute/jobs, "Required roles").
      // Readiness, run as the runner, reads the extract job's configuration (EXTRACTION_DISCOVERY):
      // run.jobs.get on this job only (config/runner-permissions.ts, extractJob), never project-wide.
      extract: { orchestrator: ['roles/run.developer'], runner: ['roles/run.viewer'] },
      merge: { orchestrator: ['roles/run.developer'] },
      // Operators start the runner with overridden arguments (the real apply takes --approve):
      // run.jobs.runWithOverrides (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run),
      // which roles/run.jobsExecutorWithOverrides holds with run.jobs.run and run.executions.cancel
      // only (https://cloud.google.com/iam/docs/roles-permissions/run), not job updates.
      // The daily compliance audit runs the runner job with the audit's arguments (an override):
      // the same role, held by the scheduler's own identity on this job only.
      runner: { [operators]: ['roles/run.jobsExecutorWithOverrides'], compliance: ['roles/run.jobsExecutorWithOverrides'] },
    },
  };
}

/** Placeholder image reference: fails no validation, refused by CI until replaced (see `placeholders`). */
const pinned = (name: string) => `${name}@${PLACEHOLDER_DIGEST}`;

/** The runner as a Cloud Run job: the committed plan is baked into its image; configured as a paper run. */
function runnerJob(envName: 'dev' | 'prod', project: string, location: string, datasetsOf: { features: string; ledger: string }): EnvironmentInput['jobs']['runner'] {
  const engine = ['--engine', 'bigquery', '--project', project, '--location', location, '--dataset', datasetsOf.features, '--runner-dataset', datasetsOf.ledger];
  return {
    name: 'bqx-ml-runner',
    serviceAccount: 'bqx-ml-runner',
    image: pinned('bqx-ml-runner'),
    cpu: '1',
    memory: '2Gi',
    // A whole Phase 4C apply (5,817 tables, paced metadata updates) with room to spare; the
    // runner resumes where it stopped, so a timeout costs time, not correctness.
    timeoutSeconds: 24 * 3600,
    maxRetries: 0,
    env: {
      BQX_ENV: envName,
      GOOGLE_CLOUD_PROJECT: project,
      BQX_DATASET: datasetsOf.features,
      BQX_RUNNER_DATASET: datasetsOf.ledger,
      BQX_PLAN_FILE: 'plans/phase-4c.plan.json',
      BQX_LOG_JSON: '1',
    },
    command: ['node', 'bin/bqx.js'],
    // As configured, an execution is the paper run; the real apply is an execution with
    // overridden arguments that add --approve <planHash> and drop --dry-run (RUNBOOK "Apply").
    args: ['apply', 'plans/phase-4c.plan.json', ...engine, '--dry-run'],
  };
}

const PROD_GROUPS: Groups = { operators: `bqx-ml-operators@${PLACEHOLDER_GROUP_DOMAIN}`, platformAdmins: `bqx-ml-platform-admins@${PLACEHOLDER_GROUP_DOMAIN}` };

const PROD_BUCKETS: EnvironmentInput['buckets'] = {
  staging: { name: 'bqx-ml-staging', expireByPrefix: [{ prefix: 'checkpoints/', days: 30 }, { prefix: 'backups/', days: 60 }] },
  output: { name: 'bqx-ml-output' },
  state: { name: 'bqx-ml-tfstate', versioning: true, noncurrentVersionDays: 90 },
};

const prod: EnvironmentInput = {
  name: 'prod',
  project: 'bqx-ml',
  region: 'us-central1',
  bigqueryLocation: 'us-central1',
  labels: { system: 'bqx-ml', env: 'prod', managed_by: 'cdktf' },
  state: { bucket: 'bqx-ml-tfstate', foundationBucket: 'bqx-ml-tfstate-foundation', prefixRoot: 'platform/prod' },
  apis: API_LIST,
  serviceAccounts: {
    extract: 'bqx-ml-extract',
    merge: 'bqx-ml-merge',
    runner: 'bqx-ml-runner',
    ciPlanner: 'bqx-ml-ci-planner',
    ciDeployer: 'bqx-ml-ci-deployer',
    orchestrator: 'bqx-ml-orchestrator',
    breakGlass: 'bqx-ml-break-glass',
    compliance: 'bqx-ml-compliance',
    ciDrift: 'bqx-ml-ci-drift',
  },
  ci: {
    repository: 'bqx-ml/bqx-platform',
    // PLACEHOLDERS: GitHub's numeric ids of bqx-ml/bqx-platform and of bqx-ml (gh api repos/bqx-ml/bqx-platform --jq '.id, .owner.id').
    repositoryId: process.env.BQX_GITHUB_REPOSITORY_ID ?? PLACEHOLDER_GITHUB_ID,
    repositoryOwnerId: process.env.BQX_GITHUB_REPOSITORY_OWNER_ID ?? PLACEHOLDER_GITHUB_ID,
    deployEnvironment: 'production',
    poolId: 'github-actions',
    providerId: 'github',
  },
  // PLACEHOLDERS: the Google groups of the runner's operators and of the platform admins.
  groups: PROD_GROUPS,
  artifactRegistry: { repositoryId: 'bqx-ml' },
  datasets: datasets(),
  buckets: PROD_BUCKETS,
  jobs: {
    extract: {
      name: 'bqx-ml-extract',
      serviceAccount: 'bqx-ml-extract',
      // PLACEHOLDER digest: the digest the image build printed.
      image: pinned('bqx-ml-extract'),
      cpu: '4',
      memory: '8Gi',
      timeoutSeconds: 7200,
      maxRetries: 0,
      env: { PAIR: 'eurusd', GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-staging', EXTRACTION_WORKERS: '25', PROJECT_ID: 'bqx-ml', PYTHONUNBUFFERED: '1' },
      // How the job finds its tables (rendered as EXTRACTION_DISCOVERY / EXTRACTION_MANIFEST). Stays
      // 'name-only', what the deployed image does, until an image that honours the setting is
      // deployed: then 'base-tables' before the first apply, and 'manifest' once every pair's
      // manifest is written after it (RUNBOOK 3 and 6, DEPLOYMENT_CHECKLIST). Readiness reports
      // P1 EXTRACT_DUPLICATES until then, which is true.
      discovery: 'name-only',
    },
    merge: {
      name: 'bqx-ml-merge',
      serviceAccount: 'bqx-ml-merge',
      image: pinned('bqx-ml-merge'),
      cpu: '1',
      memory: '2Gi',
      timeoutSeconds: 1800,
      maxRetries: 0,
      env: { PAIR: 'eurusd', GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-staging', GCS_OUTPUT_BUCKET: 'gs://bqx-ml-output', MERGE_METHOD: 'bigquery', PROJECT_ID: 'bqx-ml' },
    },
    runner: runnerJob('prod', 'bqx-ml', 'us-central1', { features: 'bqx_ml_v3_features_v2', ledger: 'bqx_ml_v3_migration' }),
  },
  pairs: [...PAIRS],
  orchestration: { workflowName: 'bqx-ml-extract-merge', concurrency: 4 },
  deletionProtection: { jobs: true },
  iam: iam(PROD_GROUPS, PROD_BUCKETS.staging.name),
  budget: {
    billingAccount: process.env.BQX_BILLING_ACCOUNT ?? PLACEHOLDER_BILLING_ACCOUNT,
    monthlyUsd: 276,
    thresholds: [0.5, 0.9, 1.0],
    phase4c: { ceilingUsd: 15, start: '2026-11-01' },
  },
  alerts: {},
  views: {
    planFile: 'plans/phase-4c.plan.json',
    appliedFile: 'plans/phase-4c.views-applied.json',
    shards: 10,
    maxViewsPerShard: 400,
    warnWithinDays: 3,
    allowPlanFromLocalCatalogue:
      'the committed plan was made from the embedded DuckDB replica of bqx-ml.bqx_ml_v3_features_v2 (nobody here can read BigQuery); ' +
      'before the views stacks are applied, commit a plan made by `bqx plan --engine bigquery --env prod` and remove this allowance',
  },
};

const DEV_GROUPS: Groups = { operators: `bqx-ml-dev-operators@${PLACEHOLDER_GROUP_DOMAIN}`, platformAdmins: `bqx-ml-platform-admins@${PLACEHOLDER_GROUP_DOMAIN}` };

/**
 * dev: its own project, state bucket, WIF pool and identities; deployed by the same workflow as
 * prod, in the GitHub environment `development` (no required reviewers: RUNBOOK "Deploy flow").
 * No views plan is committed for dev (plans/phase-4c.dev.plan.json): synthesis declares no views
 * stacks and says so, which is the intended state until a dev rehearsal plan is committed.
 */
const DEV_BUCKETS: EnvironmentInput['buckets'] = {
  staging: { name: 'bqx-ml-dev-staging', expireByPrefix: [{ prefix: 'checkpoints/', days: 7 }, { prefix: 'backups/', days: 14 }], forceDestroy: true },
  output: { name: 'bqx-ml-dev-output', expireByPrefix: [{ prefix: 'training_', days: 14 }], forceDestroy: true },
  state: { name: 'bqx-ml-dev-tfstate', versioning: true, noncurrentVersionDays: 30 },
};

const dev: EnvironmentInput = {
  ...prod,
  name: 'dev',
  project: 'bqx-ml-dev',
  labels: { system: 'bqx-ml', env: 'dev', managed_by: 'cdktf' },
  state: { bucket: 'bqx-ml-dev-tfstate', foundationBucket: 'bqx-ml-dev-tfstate-foundation', prefixRoot: 'platform/dev' },
  ci: { ...prod.ci, deployEnvironment: 'development' },
  groups: DEV_GROUPS,
  datasets: datasets(),
  iam: iam(DEV_GROUPS, DEV_BUCKETS.staging.name),
  buckets: DEV_BUCKETS,
  jobs: {
    extract: { ...prod.jobs.extract, env: { ...prod.jobs.extract.env, GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-dev-staging', PROJECT_ID: 'bqx-ml-dev' } },
    merge: {
      ...prod.jobs.merge,
      env: { ...prod.jobs.merge.env, GCS_CHECKPOINT_BUCKET: 'gs://bqx-ml-dev-staging', GCS_OUTPUT_BUCKET: 'gs://bqx-ml-dev-output', PROJECT_ID: 'bqx-ml-dev' },
    },
    runner: runnerJob('dev', 'bqx-ml-dev', 'us-central1', { features: 'bqx_ml_v3_features_v2', ledger: 'bqx_ml_v3_migration' }),
  },
  pairs: ['eurusd', 'gbpusd', 'usdjpy', 'usdchf', 'audcad'],
  orchestration: { workflowName: 'bqx-ml-extract-merge', concurrency: 2 },
  deletionProtection: { jobs: false },
  budget: { ...prod.budget, monthlyUsd: 25, phase4c: { ...prod.budget.phase4c, ceilingUsd: 5 } },
  views: { planFile: 'plans/phase-4c.dev.plan.json', appliedFile: 'plans/phase-4c.dev.views-applied.json', shards: 2, maxViewsPerShard: 400, warnWithinDays: 3 },
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
