import type { EnvironmentConfig, IamRoleEntry, IdentityKey } from '../config/environment';
import { IDENTITY_KEYS, resolveRole, roleOfEntry, serviceAccountEmail } from '../config/environment';
import { Grant, IGrantTarget } from '../constructs/grants';
import { IPrincipal, MemberPrincipal, ServiceAccountPrincipal } from '../constructs/principal';

/**
 * Turns the principals the `iam` config names into IAM principals: an identity key is that
 * service account (by its deterministic email, never a cross-stack reference), a symbolic principal
 * (`wif:repository`, `wif:defaultBranch`) is what the stack that owns it supplies, anything else is a full IAM
 * member. The config schema has already refused unknown names.
 */
export class Principals {
  constructor(
    private readonly env: EnvironmentConfig,
    private readonly symbolic: Readonly<Record<string, IPrincipal>> = {},
  ) {}

  identity(key: IdentityKey): ServiceAccountPrincipal {
    return this.serviceAccount(this.env.serviceAccounts[key]);
  }

  /** A service account of this environment by account id (e.g. the identity a job runs as). */
  serviceAccount(accountId: string): ServiceAccountPrincipal {
    return new ServiceAccountPrincipal(serviceAccountEmail(this.env, accountId));
  }

  /** The role name IAM knows: `custom:<id>` of the config → `projects/<project>/roles/<id>`. */
  role(role: string): string {
    return resolveRole(this.env, role);
  }

  resolve(name: string): IPrincipal {
    if ((IDENTITY_KEYS as readonly string[]).includes(name)) return this.identity(name as IdentityKey);
    const symbolic = this.symbolic[name];
    if (symbolic) return symbolic;
    if (name.startsWith('wif:')) throw new Error(`principal ${name} is only known to the foundation stack (grant it under iam.serviceAccounts)`);
    return new MemberPrincipal(name);
  }
}

/**
 * Grants every role of one config scope (principal → roles) through the target's grant method;
 * custom roles (`custom:<id>`) by their IAM name, a literal (the role is declared in the foundation
 * stack, which every other stack depends on); a `{ role, condition }` entry with its condition
 * (the config allows one only where the target renders it, and the target refuses it elsewhere).
 */
export function grantAll(target: IGrantTarget, byPrincipals: Readonly<Record<string, readonly IamRoleEntry[]>> | undefined, principals: Principals): Grant[] {
  return Object.entries(byPrincipals ?? {}).flatMap(([name, roles]) => {
    const principal = principals.resolve(name);
    return roles.map(roleOfEntry).map(({ role, condition }) => target.grant(principal, principals.role(role), condition ?? undefined));
  });
}
