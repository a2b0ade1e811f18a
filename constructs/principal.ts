import { Token } from 'cdktf';

/** Something IAM can grant a role to: an IAM member string (`serviceAccount:...`, `principalSet://...`). */
export interface IPrincipal {
  readonly member: string;
  /**
   * How the principal is named in construct ids (`grant-<role>-<key>`). Ids are API (they become
   * Terraform logical ids), so a principal whose member holds a token (a reference resolved by
   * Terraform) must name itself.
   * @default derived from `member`: `serviceAccount:bqx-ml-extract@...` → `bqx-ml-extract`
   */
  readonly key?: string;
}

/** A service account known by email (declared in the foundation stack, referenced by name elsewhere). */
export class ServiceAccountPrincipal implements IPrincipal {
  readonly member: string;
  constructor(readonly email: string) {
    this.member = `serviceAccount:${email}`;
  }
}

/** Any IAM member written out in full (`group:...`, `user:...`, `principal://...`), for principals outside the platform. */
export class MemberPrincipal implements IPrincipal {
  constructor(readonly member: string) {}
}

/**
 * The identities of a Workload Identity Federation pool whose attribute `attribute` equals `value`
 * (`principalSet://iam.googleapis.com/<pool>/attribute.<attribute>/<value>`). The pool name is
 * usually a reference, so the principal carries its own key `<key>`.
 */
export class PrincipalSet implements IPrincipal {
  readonly member: string;
  constructor(poolName: string, attribute: string, value: string, readonly key: string) {
    this.member = `principalSet://iam.googleapis.com/${poolName}/attribute.${attribute}/${value}`;
  }
}

/**
 * One identity of a Workload Identity Federation pool, by its mapped `google.subject`
 * (`principal://iam.googleapis.com/<pool>/subject/<subject>`). For GitHub Actions the subject of a
 * job that runs in an environment is `repo:<owner>/<name>:environment:<environment>`.
 */
export class SubjectPrincipal implements IPrincipal {
  readonly member: string;
  constructor(poolName: string, subject: string, readonly key: string) {
    this.member = `principal://iam.googleapis.com/${poolName}/subject/${subject}`;
  }
}

/** The principal's part of a construct id. */
export function principalKey(principal: IPrincipal): string {
  if (principal.key !== undefined) return principal.key.replace(/[^A-Za-z0-9]+/g, '-');
  if (Token.isUnresolved(principal.member)) {
    throw new Error(`principal ${principal.member} holds a reference: give it a key (construct ids must not depend on token numbering)`);
  }
  return principal.member
    .replace(/^serviceAccount:/, '')
    .replace(/@.*$/, '')
    .replace(/[^A-Za-z0-9]+/g, '-');
}

/**
 * The role's part of a construct id: `roles/bigquery.dataViewer` → `bigquery-dataViewer`, a custom
 * role `projects/<p>/roles/bqxRunner` → `custom-bqxRunner` (the same id in every project).
 */
export const roleKey = (role: string): string =>
  role
    .replace(/^roles\//, '')
    .replace(/^(projects\/[^/]+|organizations\/[0-9]+)\/roles\//, 'custom-')
    .replace(/[^A-Za-z0-9]+/g, '-');

/**
 * A stable construct id for a grant: `grant-<role>-<principal>`, and for a conditional one
 * `grant-<role>-<principal>-if-<condition title>`. Ids are API (they become the Terraform logical
 * ids), so they derive from what the grant is, never from call order.
 */
export function grantId(role: string, principal: IPrincipal, conditionTitle?: string): string {
  const base = `grant-${roleKey(role)}-${principalKey(principal)}`;
  return conditionTitle === undefined ? base : `${base}-if-${conditionTitle.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`;
}
