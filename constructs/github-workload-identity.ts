import { Construct } from 'constructs';
import { IamWorkloadIdentityPool, IamWorkloadIdentityPoolProvider } from './google';
import { PrincipalSet, SubjectPrincipal } from './principal';
import { flatAddress } from './addresses';

export interface GithubWorkloadIdentityProps {
  readonly poolId: string;
  readonly providerId: string;
  /** `owner/name`, for descriptions and principals (tokens carry it as `repository`). */
  readonly repository: string;
  /**
   * GitHub's numeric ids of the repository and its owner: tokens of any other repository are
   * rejected at the token exchange. Ids, not the name: a deleted repository's name (or a renamed
   * owner's) can be registered again by someone else; an id is never reused
   * (https://cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines#conditions,
   * https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect).
   */
  readonly repositoryId: string;
  readonly repositoryOwnerId: string;
  /** @default 'GitHub Actions' */
  readonly displayName?: string;
  /** @default `GitHub Actions of <repository>` */
  readonly description?: string;
}

/**
 * A Workload Identity Federation pool with a GitHub Actions OIDC provider restricted to one
 * repository, by numeric id (no service account keys). The principals it hands out are granted
 * `roles/iam.workloadIdentityUser` on the accounts CI impersonates: every run of the repository
 * (`repositoryPrincipal`), or only jobs running in one GitHub environment (`environmentPrincipal`),
 * whose protection rules then gate the identity.
 *
 * Terraform addresses: `google_iam_workload_identity_pool.<id>-pool`,
 * `google_iam_workload_identity_pool_provider.<id>-provider`.
 */
export class GithubWorkloadIdentity extends Construct {
  readonly pool: IamWorkloadIdentityPool;
  readonly provider: IamWorkloadIdentityPoolProvider;

  constructor(scope: Construct, id: string, props: GithubWorkloadIdentityProps) {
    super(scope, id);
    for (const [k, v] of Object.entries({ repositoryId: props.repositoryId, repositoryOwnerId: props.repositoryOwnerId })) {
      if (!/^[0-9]+$/.test(v)) throw new Error(`${this.node.path}: ${k} ${JSON.stringify(v)} is not GitHub's numeric id`);
    }
    this.pool = flatAddress(
      new IamWorkloadIdentityPool(this, 'pool', {
        workloadIdentityPoolId: props.poolId,
        displayName: props.displayName ?? 'GitHub Actions',
        description: props.description ?? `GitHub Actions of ${props.repository}`,
      }),
      `${id}-pool`,
    );
    this.provider = flatAddress(
      new IamWorkloadIdentityPoolProvider(this, 'provider', {
        workloadIdentityPoolId: this.pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: props.providerId,
        displayName: 'GitHub OIDC',
        attributeMapping: {
          // `repo:<owner>/<name>:environment:<environment>` for a job in an environment.
          'google.subject': 'assertion.sub',
          'attribute.repository': 'assertion.repository',
          'attribute.repository_id': 'assertion.repository_id',
          'attribute.ref': 'assertion.ref',
          'attribute.event_name': 'assertion.event_name',
          'attribute.environment': 'assertion.environment',
          // Subject and ref together: the deployer is bound to jobs in its environment on one ref.
          'attribute.subject_ref': "assertion.sub + '@' + assertion.ref",
        },
        // Tokens of any other repository are rejected at the token exchange (ids, not names).
        attributeCondition: `assertion.repository_id == '${props.repositoryId}' && assertion.repository_owner_id == '${props.repositoryOwnerId}'`,
        oidc: { issuerUri: 'https://token.actions.githubusercontent.com' },
      }),
      `${id}-provider`,
    );
  }

  /** Every workflow run of `repository` (any branch, any event). */
  repositoryPrincipal(repository: string): PrincipalSet {
    return new PrincipalSet(this.pool.name, 'repository', repository, `${this.node.id}-repository`);
  }

  /**
   * Jobs of `repository` that run in the GitHub environment `environment` (`environment:` in the
   * workflow): the token's subject is `repo:<repository>:environment:<environment>`
   * (https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims).
   */
  environmentPrincipal(repository: string, environment: string): SubjectPrincipal {
    return new SubjectPrincipal(this.pool.name, `repo:${repository}:environment:${environment}`, `${this.node.id}-environment`);
  }

  /**
   * Jobs of `repository` in the GitHub environment `environment` that run on `ref` (e.g.
   * `refs/heads/main`): both claims must hold, so a branch the environment's deployment policy
   * would let through (or a changed policy) does not reach the identity bound to this.
   */
  environmentOnRefPrincipal(repository: string, environment: string, ref: string): PrincipalSet {
    return new PrincipalSet(this.pool.name, 'subject_ref', `repo:${repository}:environment:${environment}@${ref}`, `${this.node.id}-environment-ref`);
  }

  /** Workflow runs on one ref (`refs/heads/main`) of the repository the provider admits. */
  refPrincipal(ref: string): PrincipalSet {
    return new PrincipalSet(this.pool.name, 'ref', ref, `${this.node.id}-ref`);
  }
}
