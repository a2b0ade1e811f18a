/**
 * IAM for the doubles: who a bearer token is, what the synthesized stacks grant each principal, and
 * the answers BigQuery, Resource Manager and IAM Credentials give from that (authorization of every
 * request, testIamPermissions, generateAccessToken). One model is shared by the BigQuery double and
 * the double of the other Google APIs, so every answer comes from the same grants.
 *
 * Grants are read from a synthesized cdktf.out (every stack's cdk.tf.json):
 * google_project_iam_member/binding, google_bigquery_dataset_iam_member/binding,
 * google_service_account_iam_member/binding, and google_project_iam_custom_role for the custom
 * roles' permissions. A role's permissions come from config/predefined-roles.ts `rolePermissions`
 * (predefined, or the synthesized custom roles). IAM inheritance is modelled: a project grant
 * reaches every dataset, table and service account of the project; a dataset grant reaches the
 * dataset's tables (table-level IAM is not modelled: the stacks grant none). Conditional grants are
 * not granted (their conditions are not evaluated) and are listed in `unmodelled`.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { customRolesFromTerraform, PREDEFINED_ROLES, rolePermissions } from '../../../config/predefined-roles';

export type IamResource =
  | { readonly kind: 'project'; readonly project: string }
  | { readonly kind: 'dataset'; readonly project: string; readonly dataset: string }
  | { readonly kind: 'serviceAccount'; readonly project: string; readonly email: string };

export interface IamGrant {
  readonly member: string;
  role: string;
  readonly resource: IamResource;
  /** Where it was declared (`stack/resourceType.name`, or `test`). */
  readonly source: string;
}

/** Project of a service account e-mail (`name@project.iam.gserviceaccount.com`). */
export const serviceAccountProject = (email: string): string => email.split('@')[1]?.split('.')[0] ?? '';

export function describeResource(r: IamResource): string {
  return r.kind === 'project' ? `project ${r.project}` : r.kind === 'dataset' ? `dataset ${r.project}:${r.dataset}` : `service account ${r.email}`;
}

function covers(grant: IamResource, r: IamResource): boolean {
  if (grant.kind === 'project') return grant.project === r.project;
  if (grant.kind === 'dataset') return r.kind === 'dataset' && r.project === grant.project && r.dataset === grant.dataset;
  return r.kind === 'serviceAccount' && r.email === grant.email;
}

const sameResource = (a: IamResource, b: IamResource): boolean => describeResource(a) === describeResource(b);

type TfResource = Record<string, unknown>;
interface TfStack {
  readonly name: string;
  readonly provider?: { google?: { project?: string }[] };
  readonly resource?: Record<string, Record<string, TfResource>>;
}

export class IamModel {
  readonly grants: IamGrant[] = [];
  /** Custom role name (`projects/p/roles/id`) → permissions. */
  readonly customRoles = new Map<string, readonly string[]>();
  /** Roles granted that neither config/predefined-roles.ts nor a custom role knows (they grant nothing here). */
  readonly unknownRoles = new Set<string>();
  /** Grants not modelled (conditions, unresolvable references), with why. */
  readonly unmodelled: string[] = [];
  /** Bearer token → the members it stands for (a principal and the groups it belongs to). */
  private readonly tokens = new Map<string, readonly string[]>();
  private issued = 0;
  private cache = new Map<string, ReadonlySet<string>>();

  constructor(readonly project: string) {}

  // ---- identities --------------------------------------------------------------------------

  /** `token` authenticates as `members` (e.g. `serviceAccount:x@p.iam.gserviceaccount.com`, `group:ops@example.com`). */
  addToken(token: string, ...members: string[]): this {
    this.tokens.set(token, members);
    return this;
  }

  /** A fresh token for `members` (what IAM Credentials generateAccessToken hands out). */
  issueToken(...members: string[]): string {
    const token = `ya29.double-${++this.issued}-${Math.random().toString(36).slice(2, 10)}`;
    this.tokens.set(token, members);
    return token;
  }

  /** The members a token stands for; null for a token nobody issued. */
  membersOf(token: string): readonly string[] | null {
    return this.tokens.get(token) ?? null;
  }

  // ---- grants ------------------------------------------------------------------------------

  addGrant(g: Omit<IamGrant, 'source'> & { source?: string }): this {
    this.grants.push({ ...g, source: g.source ?? 'test' });
    this.cache.clear();
    return this;
  }

  private rolePerms(role: string): readonly string[] {
    const perms = rolePermissions(role, this.customRoles);
    if (perms === null) {
      this.unknownRoles.add(role);
      return [];
    }
    return perms;
  }

  /** Every permission `members` hold on `resource`, inherited ones included. */
  effective(members: readonly string[], resource: IamResource): ReadonlySet<string> {
    const k = `${members.join(',')}|${describeResource(resource)}`;
    const hit = this.cache.get(k);
    if (hit) return hit;
    const out = new Set<string>();
    for (const g of this.grants) if (members.includes(g.member) && covers(g.resource, resource)) this.rolePerms(g.role).forEach((p) => out.add(p));
    this.cache.set(k, out);
    return out;
  }

  has(members: readonly string[], permission: string, resource: IamResource): boolean {
    return this.effective(members, resource).has(permission);
  }

  /** testIamPermissions: the asked permissions the members hold on the resource. */
  test(members: readonly string[], resource: IamResource, asked: readonly string[]): string[] {
    const held = this.effective(members, resource);
    return asked.filter((p) => held.has(p));
  }

  /**
   * Takes one permission away from the grants of `member` made exactly on `resource` (inherited
   * grants are untouched): a custom role loses it from its permission list, a predefined role is
   * narrowed for that grant only (a derived role without it). Returns what was changed.
   */
  withoutPermission(member: string, resource: IamResource, permission: string): string[] {
    const changed: string[] = [];
    for (const g of this.grants) {
      if (g.member !== member || !sameResource(g.resource, resource) || !this.rolePerms(g.role).includes(permission)) continue;
      const without = this.rolePerms(g.role).filter((p) => p !== permission);
      if (this.customRoles.has(g.role) && !PREDEFINED_ROLES[g.role]) {
        this.customRoles.set(g.role, without);
        changed.push(`custom role ${g.role} without ${permission}`);
      } else {
        const derived = `${g.role}#without:${permission}`;
        this.customRoles.set(derived, without);
        changed.push(`${g.role} on ${describeResource(resource)} narrowed to ${derived}`);
        g.role = derived;
      }
    }
    this.cache.clear();
    return changed;
  }

  /** Saves grants and custom roles; the returned function puts them back. */
  snapshot(): () => void {
    const grants = this.grants.map((g) => ({ ...g }));
    const roles = new Map(this.customRoles);
    return () => {
      this.grants.splice(0, this.grants.length, ...grants.map((g) => ({ ...g })));
      this.customRoles.clear();
      roles.forEach((v, k) => this.customRoles.set(k, v));
      this.cache.clear();
    };
  }

  // ---- synthesized stacks ------------------------------------------------------------------

  /** A model holding every grant and custom role of a synthesized cdktf.out (or its stacks/ folder). */
  static fromSynth(dir: string, project: string): IamModel {
    return new IamModel(project).loadSynth(dir);
  }

  loadSynth(dir: string): this {
    const stacksDir = existsSync(path.join(dir, 'stacks')) ? path.join(dir, 'stacks') : dir;
    const stacks: TfStack[] = readdirSync(stacksDir)
      .filter((s) => existsSync(path.join(stacksDir, s, 'cdk.tf.json')))
      .sort()
      .map((s) => ({ name: s, ...(JSON.parse(readFileSync(path.join(stacksDir, s, 'cdk.tf.json'), 'utf8')) as Omit<TfStack, 'name'>) }));
    if (!stacks.length) throw new Error(`no synthesized stack (stacks/*/cdk.tf.json) under ${dir}`);
    for (const st of stacks) {
      const provider = st.provider?.google?.[0]?.project ?? this.project;
      customRolesFromTerraform(st as never, provider).forEach((perms, role) => this.customRoles.set(role, perms));
    }
    for (const st of stacks) this.loadStack(st, stacks);
    this.cache.clear();
    return this;
  }

  private loadStack(st: TfStack, all: readonly TfStack[]): void {
    const provider = st.provider?.google?.[0]?.project ?? this.project;
    const resolve = (v: unknown): string | null => resolveValue(v, st, all, provider);
    const each = (type: string, f: (r: TfResource, at: string) => void) => {
      for (const [name, r] of Object.entries(st.resource?.[type] ?? {})) f(r, `${st.name}/${type}.${name}`);
    };
    const add = (r: TfResource, at: string, resource: IamResource | null, members: unknown[]) => {
      const role = resolve(r.role);
      if (r.condition) return void this.unmodelled.push(`${at}: conditional grant (not granted here)`);
      if (!resource || !role) return void this.unmodelled.push(`${at}: unresolved resource or role`);
      for (const m of members) {
        const member = resolve(m) ?? String(m);
        this.grants.push({ member, role, resource, source: at });
      }
    };
    const projectOf = (r: TfResource) => resolve(r.project) ?? provider;
    const datasetOf = (r: TfResource): IamResource | null => {
      const d = resolve(r.dataset_id);
      return d ? { kind: 'dataset', project: projectOf(r), dataset: d } : null;
    };
    const accountOf = (r: TfResource): IamResource | null => {
      const id = resolve(r.service_account_id);
      const email = id?.match(/serviceAccounts\/([^/]+)$/)?.[1] ?? (id?.includes('@') ? id : null);
      return email ? { kind: 'serviceAccount', project: serviceAccountProject(email), email } : null;
    };
    each('google_project_iam_member', (r, at) => add(r, at, { kind: 'project', project: projectOf(r) }, [r.member]));
    each('google_project_iam_binding', (r, at) => add(r, at, { kind: 'project', project: projectOf(r) }, (r.members as unknown[]) ?? []));
    each('google_bigquery_dataset_iam_member', (r, at) => add(r, at, datasetOf(r), [r.member]));
    each('google_bigquery_dataset_iam_binding', (r, at) => add(r, at, datasetOf(r), (r.members as unknown[]) ?? []));
    each('google_service_account_iam_member', (r, at) => add(r, at, accountOf(r), [r.member]));
    each('google_service_account_iam_binding', (r, at) => add(r, at, accountOf(r), (r.members as unknown[]) ?? []));
    for (const t of ['google_project_iam_policy', 'google_bigquery_dataset_iam_policy', 'google_bigquery_dataset_access', 'google_bigquery_table_iam_member', 'google_bigquery_table_iam_binding']) {
      each(t, (_r, at) => this.unmodelled.push(`${at}: ${t} is not modelled`));
    }
  }
}

/**
 * A Terraform value as the doubles need it: literals as they are, `${type.name.attr}` references
 * to resources of the synthesized stacks resolved (datasets, service accounts, custom roles, any
 * literal attribute; `project` defaults to the provider's). Null when it cannot be resolved.
 */
function resolveValue(v: unknown, st: TfStack, all: readonly TfStack[], provider: string): string | null {
  if (typeof v !== 'string') return null;
  const m = v.match(/^\$\{([a-z0-9_]+)\.([^.}]+)\.([a-z_]+)\}$/);
  if (!m) return v.includes('${') ? null : v;
  const [, type, name, attr] = m;
  const r = st.resource?.[type]?.[name] ?? all.map((s) => s.resource?.[type]?.[name]).find(Boolean);
  if (!r) return null;
  const project = typeof r.project === 'string' && !r.project.includes('${') ? r.project : provider;
  if (type === 'google_service_account') {
    const email = `${String(r.account_id)}@${project}.iam.gserviceaccount.com`;
    if (attr === 'email') return email;
    if (attr === 'name' || attr === 'id') return `projects/${project}/serviceAccounts/${email}`;
    if (attr === 'member') return `serviceAccount:${email}`;
  }
  if (type === 'google_project_iam_custom_role' && (attr === 'name' || attr === 'id')) return `projects/${project}/roles/${String(r.role_id)}`;
  if (attr === 'project') return project;
  return resolveValue(r[attr], st, all, provider);
}
