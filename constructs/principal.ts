/** Something IAM can grant a role to: an IAM member string (`serviceAccount:...`, `principalSet://...`). */
export interface IPrincipal {
  readonly member: string;
}

/** A service account known by email (declared in the foundation stack, referenced by name elsewhere). */
export class ServiceAccountPrincipal implements IPrincipal {
  readonly member: string;
  constructor(readonly email: string) {
    this.member = `serviceAccount:${email}`;
  }
}

/**
 * A stable construct id for a grant: `grant-<role>-<principal>`. Ids are API (they become the
 * Terraform logical ids), so they derive from what the grant is, never from call order.
 */
export function grantId(role: string, principal: IPrincipal): string {
  const roleShort = role.replace(/^roles\//, '').replace(/[^A-Za-z0-9]+/g, '-');
  const who = principal.member
    .replace(/^serviceAccount:/, '')
    .replace(/@.*$/, '')
    .replace(/[^A-Za-z0-9]+/g, '-');
  return `grant-${roleShort}-${who}`;
}
