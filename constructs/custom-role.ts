import { Construct } from 'constructs';
import { ProjectIamCustomRole } from './google';
import { flatAddress } from './addresses';

export interface CustomRoleProps {
  /** Role id (`projects/<project>/roles/<roleId>`): letters, digits, `_` and `.`, 3–64 characters. */
  readonly roleId: string;
  readonly title: string;
  readonly description: string;
  /** Exactly the permissions the role grants (sorted in the output, so order changes nothing). */
  readonly permissions: readonly string[];
  /** @default the provider's project */
  readonly project?: string;
}

/**
 * A project-level custom IAM role, for grants no predefined role fits (the extra permissions of a
 * predefined role would be more than least privilege allows). A deleted custom role keeps its id
 * for 37 days (https://cloud.google.com/iam/docs/creating-custom-roles#deleting-custom-role): a
 * role is renamed, not re-created, if its id must change.
 *
 * Terraform address: `google_project_iam_custom_role.<construct id>`.
 */
export class CustomRole extends Construct {
  readonly resource: ProjectIamCustomRole;
  readonly roleId: string;
  readonly permissions: readonly string[];

  constructor(scope: Construct, id: string, props: CustomRoleProps) {
    super(scope, id);
    if (!/^[a-zA-Z0-9_.]{3,64}$/.test(props.roleId)) throw new Error(`${this.node.path}: role id ${JSON.stringify(props.roleId)} is not 3–64 letters, digits, "_" or "."`);
    if (props.permissions.length === 0) throw new Error(`${this.node.path}: a custom role needs at least one permission`);
    const permissions = [...new Set(props.permissions)].sort();
    if (permissions.length !== props.permissions.length) throw new Error(`${this.node.path}: a permission is listed twice`);
    this.roleId = props.roleId;
    this.permissions = permissions;
    this.resource = flatAddress(
      new ProjectIamCustomRole(this, 'role', {
        roleId: props.roleId,
        title: props.title,
        description: props.description,
        permissions,
        stage: 'GA',
        project: props.project,
      }),
      id,
    );
  }
}
