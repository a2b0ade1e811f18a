import { Construct } from 'constructs';
import { dependable } from 'cdktf';
import type { EnvironmentConfig, IdentityKey } from '../config/environment';
import { IDENTITY_KEYS } from '../config/environment';
import { ProjectService } from '../constructs/google';
import { ProjectIam } from '../constructs/project-iam';
import { CustomRole } from '../constructs/custom-role';
import { ServiceAccountIdentity } from '../constructs/service-account-identity';
import { GithubWorkloadIdentity } from '../constructs/github-workload-identity';
import { ArtifactRepository } from '../constructs/artifact-repository';
import { pinAddresses } from '../constructs/addresses';
import { BqxStack } from './bqx-stack';
import { Principals, grantAll } from './iam';

const DESCRIPTIONS: Record<IdentityKey, string> = {
  extract: 'Cloud Run job bqx-ml-extract: reads features and analytics, writes checkpoints',
  merge: 'Cloud Run job bqx-ml-merge: writes temp/training datasets and the output bucket',
  runner: 'M008 migration runner: alters tables in the feature dataset, writes its ledger',
  ciPlanner: 'CI (pull requests, deploy and drift plans): read-only terraform plan',
  ciDeployer: 'CI (GitHub environment of the deploy): terraform apply of data, pipeline, views; no project IAM',
  orchestrator: 'Workflows fan-out: executes the pipeline jobs per pair',
  breakGlass: 'People only (platform admins): terraform apply of the foundation stack',
  compliance: 'Cloud Scheduler: executes the runner job daily with the M008 compliance audit (metadata only)',
  ciDrift: 'CI (scheduled drift check, default branch only): read-only full-refresh terraform plan',
};

/**
 * Terraform addresses of the bindings this stack declared as L1 resources directly under the stack
 * before they were made through grant methods (construct path under this stack → address). They
 * are state: a new address would destroy and re-create the binding, a moment without the access.
 * Bindings not listed here take their construct's address. An entry whose binding left the config
 * is simply unused (`unusedPins`; a test keeps the table exact for the committed environments).
 */
const PINNED_ADDRESSES: Readonly<Record<string, string>> = {
  'sa-bqx-ml-extract/grant-iam-serviceAccountUser-bqx-ml-ci-deployer': 'actas-bqx-ml-extract',
  'sa-bqx-ml-merge/grant-iam-serviceAccountUser-bqx-ml-ci-deployer': 'actas-bqx-ml-merge',
  'sa-bqx-ml-orchestrator/grant-iam-serviceAccountUser-bqx-ml-ci-deployer': 'actas-bqx-ml-orchestrator',
  'sa-bqx-ml-ci-planner/grant-iam-workloadIdentityUser-wif-repository': 'wif-ci-planner',
  // The member changed (ref → environment subject → environment subject on the deploy ref), so this
  // binding is replaced at each change; the address stays.
  'sa-bqx-ml-ci-deployer/grant-iam-workloadIdentityUser-wif-environment-ref': 'wif-ci-deployer',
  'images/grant-artifactregistry-writer-bqx-ml-ci-deployer': 'images-writer-ci-deployer',
};

/**
 * Foundation: required APIs, one service account per job and role, Workload Identity Federation
 * for the repository's GitHub Actions (no keys), the custom roles, the Artifact Registry repository
 * for the images, and the project-, account- and repository-level bindings of the `iam` config.
 *
 * Who applies it: never CI. Everything here can grant roles or mint identities, so it is applied by
 * a platform admin impersonating the break-glass identity (RUNBOOK "Bootstrap and break glass"),
 * from the saved plan CI made. The first apply, which creates that identity, is done once by a
 * project owner.
 */
export class FoundationStack extends BqxStack {
  readonly serviceAccounts: Readonly<Record<IdentityKey, ServiceAccountIdentity>>;
  readonly workloadIdentity: GithubWorkloadIdentity;
  readonly repository: ArtifactRepository;
  readonly projectIam: ProjectIam;
  readonly customRoles: Readonly<Record<string, CustomRole>>;
  /** Entries of PINNED_ADDRESSES that matched no binding. */
  readonly unusedPins: readonly string[];

  constructor(scope: Construct, id: string, env: EnvironmentConfig) {
    super(scope, id, { env });

    for (const api of env.apis) {
      new ProjectService(this, `api-${api.replace(/\.googleapis\.com$/, '')}`, {
        service: api,
        disableOnDestroy: false,
        disableDependentServices: false,
      });
    }

    const accounts = {} as Record<IdentityKey, ServiceAccountIdentity>;
    for (const key of IDENTITY_KEYS) {
      const accountId = env.serviceAccounts[key];
      accounts[key] = new ServiceAccountIdentity(this, `sa-${accountId}`, { accountId, description: DESCRIPTIONS[key] });
    }
    this.serviceAccounts = accounts;

    this.workloadIdentity = new GithubWorkloadIdentity(this, 'wif', {
      poolId: env.ci.poolId,
      providerId: env.ci.providerId,
      repository: env.ci.repository,
      repositoryId: env.ci.repositoryId,
      repositoryOwnerId: env.ci.repositoryOwnerId,
    });
    this.repository = new ArtifactRepository(this, 'images', {
      repositoryId: env.artifactRegistry.repositoryId,
      location: env.region,
      description: 'Job images (extract, merge, runner), tags immutable; replaces gcr.io/bqx-ml',
      labels: this.labels,
    });
    this.projectIam = new ProjectIam(this, 'project', { project: env.project });

    const roles: Record<string, CustomRole> = {};
    for (const [roleId, r] of Object.entries(env.iam.customRoles)) {
      roles[roleId] = new CustomRole(this, `role-${roleId}`, { roleId, title: r.title, description: r.description, permissions: r.permissions });
    }
    this.customRoles = roles;

    const principals = new Principals(env, {
      'wif:repository': this.workloadIdentity.repositoryPrincipal(env.ci.repository),
      'wif:deployEnvironment': this.workloadIdentity.environmentOnRefPrincipal(env.ci.repository, env.ci.deployEnvironment, env.ci.deployRef),
      'wif:defaultBranch': this.workloadIdentity.refPrincipal(env.ci.defaultBranchRef),
    });
    // A binding of a custom role waits for the role (same stack, a literal name: no reference).
    for (const g of grantAll(this.projectIam, env.iam.project, principals)) {
      const role = Object.values(roles).find((r) => g.role === principals.role(`custom:${r.roleId}`));
      if (role) g.resource.dependsOn = [...(g.resource.dependsOn ?? []), dependable(role.resource)];
    }
    for (const key of IDENTITY_KEYS) grantAll(accounts[key], env.iam.serviceAccounts[key], principals);
    grantAll(this.repository, env.iam.artifactRegistry, principals);
    this.unusedPins = pinAddresses(this, PINNED_ADDRESSES);
  }
}
