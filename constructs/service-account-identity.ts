import { Construct } from 'constructs';
import { ServiceAccount, ServiceAccountIamMember } from './google';
import { IPrincipal } from './principal';
import { Grant, GrantTable, IGrantTarget, IamCondition } from './grants';
import { flatAddress } from './addresses';

export interface ServiceAccountIdentityProps {
  readonly accountId: string;
  /** @default the account id */
  readonly displayName?: string;
  /** What the identity is for (shown in the console). @default none */
  readonly description?: string;
  /** @default the provider's project */
  readonly project?: string;
}

/**
 * A service account, and the bindings on it (who may act as it). No keys: CI impersonates through
 * Workload Identity Federation, jobs run as the account attached to them.
 *
 * Terraform address of the account: `google_service_account.<construct id>`. Bindings on it are
 * children `grant-<role>-<principal>` (nested addresses).
 */
export class ServiceAccountIdentity extends Construct implements IGrantTarget {
  readonly resource: ServiceAccount;
  readonly accountId: string;
  private readonly grants: GrantTable<ServiceAccountIamMember>;

  constructor(scope: Construct, id: string, props: ServiceAccountIdentityProps) {
    super(scope, id);
    this.accountId = props.accountId;
    this.resource = flatAddress(
      new ServiceAccount(this, 'account', {
        accountId: props.accountId,
        displayName: props.displayName ?? props.accountId,
        description: props.description,
        project: props.project,
      }),
      id,
    );
    this.grants = new GrantTable(this, (grantId, role, member) =>
      new ServiceAccountIamMember(this, grantId, { serviceAccountId: this.resource.name, role, member }),
    );
  }

  /** Attach this account to a job or workflow it deploys (roles/iam.serviceAccountUser on this account only). */
  grantActAs(principal: IPrincipal): Grant<ServiceAccountIamMember> {
    return this.grant(principal, 'roles/iam.serviceAccountUser');
  }

  /** Impersonate this account from a federated identity (roles/iam.workloadIdentityUser). */
  grantWorkloadIdentityUser(principal: IPrincipal): Grant<ServiceAccountIamMember> {
    return this.grant(principal, 'roles/iam.workloadIdentityUser');
  }

  /** Grants any role on this account; the same grant twice is refused. */
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant<ServiceAccountIamMember> {
    return this.grants.add(principal, role, condition); // a condition is refused: these bindings render none
  }
}
