import { Construct } from 'constructs';
import { IamWorkloadIdentityPool, IamWorkloadIdentityPoolProvider } from './google';
import { PrincipalSet } from './principal';
import { flatAddress } from './addresses';

export interface GithubWorkloadIdentityProps {
  readonly poolId: string;
  readonly providerId: string;
  /** `owner/name`: tokens of any other repository are rejected at the token exchange. */
  readonly repository: string;
  /** @default 'GitHub Actions' */
  readonly displayName?: string;
  /** @default `GitHub Actions of <repository>` */
  readonly description?: string;
}

/**
 * A Workload Identity Federation pool with a GitHub Actions OIDC provider restricted to one
 * repository (no service account keys). The principals it hands out are granted
 * `roles/iam.workloadIdentityUser` on the accounts CI impersonates.
 *
 * Terraform addresses: `google_iam_workload_identity_pool.<id>-pool`,
 * `google_iam_workload_identity_pool_provider.<id>-provider`.
 */
export class GithubWorkloadIdentity extends Construct {
  readonly pool: IamWorkloadIdentityPool;
  readonly provider: IamWorkloadIdentityPoolProvider;

  constructor(scope: Construct, id: string, props: GithubWorkloadIdentityProps) {
    super(scope, id);
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
          'google.subject': 'assertion.sub',
          'attribute.repository': 'assertion.repository',
          'attribute.ref': 'assertion.ref',
          'attribute.event_name': 'assertion.event_name',
        },
        // Tokens of any other repository are rejected at the token exchange.
        attributeCondition: `assertion.repository == '${props.repository}'`,
        oidc: { issuerUri: 'https://token.actions.githubusercontent.com' },
      }),
      `${id}-provider`,
    );
  }

  /** Every workflow run of `repository` (any branch, any event). */
  repositoryPrincipal(repository: string): PrincipalSet {
    return new PrincipalSet(this.pool.name, 'repository', repository, `${this.node.id}-repository`);
  }

  /** Workflow runs on one ref (`refs/heads/main`) of the repository the provider admits. */
  refPrincipal(ref: string): PrincipalSet {
    return new PrincipalSet(this.pool.name, 'ref', ref, `${this.node.id}-ref`);
  }
}
