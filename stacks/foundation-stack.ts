import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment';
import { serviceAccountEmail } from '../config/environment';
import {
  ArtifactRegistryRepository,
  ArtifactRegistryRepositoryIamMember,
  IamWorkloadIdentityPool,
  IamWorkloadIdentityPoolProvider,
  ProjectIamMember,
  ProjectService,
  ServiceAccount,
  ServiceAccountIamMember,
} from '../constructs/google';
import { BqxStack } from './bqx-stack';

type Identity = keyof EnvironmentConfig['serviceAccounts'];

const DESCRIPTIONS: Record<Identity, string> = {
  extract: 'Cloud Run job bqx-ml-extract: reads features and analytics, writes checkpoints',
  merge: 'Cloud Run job bqx-ml-merge: writes temp/training datasets and the output bucket',
  runner: 'M008 migration runner: alters tables in the feature dataset, writes its ledger',
  ciPlanner: 'CI (pull requests): read-only terraform plan',
  ciDeployer: 'CI (main): terraform apply',
  orchestrator: 'Workflows fan-out: executes the pipeline jobs per pair',
};

/**
 * Project-level roles, granted only where no narrower scope exists (BigQuery jobs run at project
 * level; the planner must read every resource it plans). Dataset, bucket and job grants live with
 * those resources.
 */
const PROJECT_ROLES: Record<Identity, readonly string[]> = {
  extract: ['roles/bigquery.jobUser'],
  merge: ['roles/bigquery.jobUser'],
  runner: ['roles/bigquery.jobUser'],
  orchestrator: ['roles/logging.logWriter'],
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
};

/**
 * Foundation: required APIs, one service account per job and role, Workload Identity Federation
 * for the repository's GitHub Actions (no keys), the Artifact Registry repository for the images.
 *
 * Bootstrap: the deployer's own identity and the state bucket cannot deploy themselves; the first
 * apply of this stack (and of the state bucket, then imported into the data stack) is done once by
 * a project owner from a workstation.
 */
export class FoundationStack extends BqxStack {
  readonly serviceAccounts: Readonly<Record<Identity, ServiceAccount>>;
  readonly pool: IamWorkloadIdentityPool;
  readonly repository: ArtifactRegistryRepository;

  constructor(scope: Construct, id: string, env: EnvironmentConfig) {
    super(scope, id, { env });

    for (const api of env.apis) {
      new ProjectService(this, `api-${api.replace(/\.googleapis\.com$/, '')}`, {
        service: api,
        disableOnDestroy: false,
        disableDependentServices: false,
      });
    }

    const accounts = {} as Record<Identity, ServiceAccount>;
    for (const key of Object.keys(env.serviceAccounts) as Identity[]) {
      const accountId = env.serviceAccounts[key];
      accounts[key] = new ServiceAccount(this, `sa-${accountId}`, {
        accountId,
        displayName: accountId,
        description: DESCRIPTIONS[key],
      });
      for (const role of PROJECT_ROLES[key]) {
        new ProjectIamMember(this, `project-${role.replace(/^roles\//, '').replace(/\./g, '-')}-${accountId}`, {
          project: env.project,
          role,
          member: `serviceAccount:${serviceAccountEmail(env, accountId)}`,
        });
      }
    }
    this.serviceAccounts = accounts;

    // The deployer attaches the runtime identities to jobs and the workflow (actAs), granted on
    // each account rather than project-wide.
    for (const key of ['extract', 'merge', 'orchestrator'] as const) {
      new ServiceAccountIamMember(this, `actas-${env.serviceAccounts[key]}`, {
        serviceAccountId: accounts[key].name,
        role: 'roles/iam.serviceAccountUser',
        member: `serviceAccount:${serviceAccountEmail(env, env.serviceAccounts.ciDeployer)}`,
      });
    }

    this.pool = new IamWorkloadIdentityPool(this, 'wif-pool', {
      workloadIdentityPoolId: env.ci.poolId,
      displayName: 'GitHub Actions',
      description: `GitHub Actions of ${env.ci.repository}`,
    });
    new IamWorkloadIdentityPoolProvider(this, 'wif-provider', {
      workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: env.ci.providerId,
      displayName: 'GitHub OIDC',
      attributeMapping: {
        'google.subject': 'assertion.sub',
        'attribute.repository': 'assertion.repository',
        'attribute.ref': 'assertion.ref',
        'attribute.event_name': 'assertion.event_name',
      },
      // Tokens of any other repository are rejected at the token exchange.
      attributeCondition: `assertion.repository == '${env.ci.repository}'`,
      oidc: { issuerUri: 'https://token.actions.githubusercontent.com' },
    });
    // Any workflow of the repository may plan; only its deploy ref may deploy.
    new ServiceAccountIamMember(this, 'wif-ci-planner', {
      serviceAccountId: accounts.ciPlanner.name,
      role: 'roles/iam.workloadIdentityUser',
      member: `principalSet://iam.googleapis.com/${this.pool.name}/attribute.repository/${env.ci.repository}`,
    });
    new ServiceAccountIamMember(this, 'wif-ci-deployer', {
      serviceAccountId: accounts.ciDeployer.name,
      role: 'roles/iam.workloadIdentityUser',
      member: `principalSet://iam.googleapis.com/${this.pool.name}/attribute.ref/${env.ci.deployRef}`,
    });

    this.repository = new ArtifactRegistryRepository(this, 'images', {
      repositoryId: env.artifactRegistry.repositoryId,
      location: env.region,
      format: 'DOCKER',
      description: 'Pipeline images (extract, merge); replaces gcr.io/bqx-ml',
      labels: this.labels,
    });
    new ArtifactRegistryRepositoryIamMember(this, 'images-writer-ci-deployer', {
      repository: this.repository.name,
      location: env.region,
      role: 'roles/artifactregistry.writer',
      member: `serviceAccount:${serviceAccountEmail(env, env.serviceAccounts.ciDeployer)}`,
    });
  }
}
