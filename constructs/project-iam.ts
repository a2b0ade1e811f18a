import { Construct } from 'constructs';
import { ProjectIamMember } from './google';
import { IPrincipal } from './principal';
import { Grant, GrantTable, IGrantTarget, IamCondition } from './grants';
import { flatAddress } from './addresses';

export interface ProjectIamProps {
  /** Project the roles are granted on. */
  readonly project: string;
}

/**
 * Project-level role bindings, one `google_project_iam_member` each (never the authoritative
 * `google_project_iam_policy`/`_binding`, which would remove bindings made elsewhere). Grant at
 * project level only where no narrower scope exists (BigQuery jobs, read-only planning).
 *
 * Terraform address of each binding: `google_project_iam_member.<construct id>-<role>-<principal>`
 * (flat: a binding keeps its address wherever this construct sits in the tree).
 */
export class ProjectIam extends Construct implements IGrantTarget {
  readonly project: string;
  private readonly grants: GrantTable<ProjectIamMember>;

  constructor(scope: Construct, id: string, props: ProjectIamProps) {
    super(scope, id);
    this.project = props.project;
    this.grants = new GrantTable(this, (grantId, role, member) =>
      flatAddress(new ProjectIamMember(this, grantId, { project: props.project, role, member }), `${id}-${grantId.replace(/^grant-/, '')}`),
    );
  }

  /** Grants a role on the whole project; the same grant twice is refused. */
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant<ProjectIamMember> {
    return this.grants.add(principal, role, condition); // a condition is refused: these bindings render none
  }
}
