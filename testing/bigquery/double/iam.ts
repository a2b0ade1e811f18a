/**
 * IAM for the doubles: who a bearer token is, what the synthesized stacks grant each principal, and
 * the answers BigQuery, Resource Manager and IAM Credentials give from that (authorization of every
 * request, testIamPermissions, generateAccessToken). One model is shared by the BigQuery double and
 * the double of the other Google APIs, so every answer comes from the same grants.
 *
 * Grants are read from a synthesized cdktf.out (every stack's cdk.tf.json):
 * google_project_iam_member/binding, google_bigquery_dataset_iam_member/binding,
 * google_service_account_iam_member/binding, and google_project_iam_custom_role for the custom
 * roles' permissions; google_storage_bucket_iam_member and google_cloud_run_v2_job_iam_member for
 * the buckets and jobs the double of the other Google APIs serves. A role's permissions come from
 * config/predefined-roles.ts `rolePermissions` (predefined, or the synthesized custom roles). IAM
 * inheritance is modelled: a project grant reaches every dataset, table, bucket, object, job and
 * service account of the project; a dataset grant reaches the dataset's tables (table-level IAM is
 * not modelled: the stacks grant none); a bucket grant reaches its objects. Conditions of the form
 * `resource.name.startsWith("...")` are evaluated against the resource name IAM gives the resource
 * (an object is `projects/_/buckets/<b>/objects/<o>`, the bucket `projects/_/buckets/<b>`:
 * https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name); a grant under
 * any other condition is not granted and is listed in `unmodelled`.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { customRolesFromTerraform, PREDEFINED_ROLES, rolePermissions } from '../../../config/predefined-roles';

export type IamResource =
  | { readonly kind: 'project'; readonly project: string }
  | { readonly kind: 'dataset'; readonly project: string; readonly dataset: string }
  | { readonly kind: 'serviceAccount'; readonly project: string; readonly email: string }
  | { readonly kind: 'bucket'; readonly project: string; readonly bucket: string }
  | { readonly kind: 'object'; readonly project: string; readonly bucket: string; readonly object: string }
  | { readonly kind: 'job'; readonly project: string; readonly location: string; readonly job: string };

export interface IamGrant {
  readonly member: string;
  role: string;
  readonly resource: IamResource;
  /** Where it was declared (`stack/resourceType.name`, or `test`). */
  readonly source: string;
  /** The prefix of a `resource.name.startsWith("<prefix>")` condition; undefined: unconditional. */
  readonly namePrefix?: string;
}

/** Project of a service account e-mail (`name@project.iam.gserviceaccount.com`). */
export const serviceAccountProject = (email: string): string => email.split('@')[1]?.split('.')[0] ?? '';

export function describeResource(r: IamResource): string {
  switch (r.kind) {
    case 'project':
      return `project ${r.project}`;
    case 'dataset':
      return `dataset ${r.project}:${r.dataset}`;
    case 'serviceAccount':
      return `service account ${r.email}`;
    case 'bucket':
      return `bucket ${r.bucket}`;
    case 'object':
      return `object gs://${r.bucket}/${r.object}`;
    case 'job':
      return `job ${r.project}/${r.location}/${r.job}`;
  }
}

/** The name a condition's `resource.name` sees (Cloud Storage's resources under the `_` project). */
export function resourceName(r: IamResource): string {
  switch (r.kind) {
    case 'project':
      return `projects/${r.project}`;
    case 'dataset':
      return `projects/${r.project}/datasets/${r.dataset}`;
    case 'serviceAccount':
      return `projects/${r.project}/serviceAccounts/${r.email}`;
    case 'bucket':
      return `projects/_/buckets/${r.bucket}`;
    case 'object':
      return `projects/_/buckets/${r.bucket}/objects/${r.object}`;
    case 'job':
      return `projects/${r.project}/locations/${r.location}/jobs/${r.job}`;
  }
}

/** The prefix of the one condition form the model evaluates; null for any other expression. */
export function conditionPrefix(expression: string): string | null {
  return /^resource\.name\.startsWith\("([^"\\]+)"\)$/.exec(expression.trim())?.[1] ?? null;
}

function covers(g: IamGrant, r: IamResource): boolean {
  if (g.namePrefix !== undefined && !resourceName(r).startsWith(g.namePrefix)) return false;
  const grant = g.resource;
  switch (grant.kind) {
    case 'project':
      return grant.project === r.project;
    case 'dataset':
      return r.kind === 'dataset' && r.project === grant.project && r.dataset === grant.dataset;
    case 'serviceAccount':
      return r.kind === 'serviceAccount' && r.email === grant.email;
    case 'bucket':
      return (r.kind === 'bucket' || r.kind === 'object') && r.bucket === grant.bucket;
    case 'object':
      return r.kind === 'object' && r.bucket === grant.bucket && r.object === grant.object;
    case 'job':
      return r.kind === 'job' && r.project === grant.project && r.location === grant.location && r.job === grant.job;
  }
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
    for (const g of this.grants) if (members.includes(g.member) && covers(g, resource)) this.rolePerms(g.role).forEach((p) => out.add(p));
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
      const condition = (r.condition as { expression?: unknown } | undefined)?.expression;
      const namePrefix = typeof condition === 'string' ? conditionPrefix(condition) : undefined;
      if (r.condition && !namePrefix) return void this.unmodelled.push(`${at}: a condition the model does not evaluate (not granted here)`);
      if (!resource || !role) return void this.unmodelled.push(`${at}: unresolved resource or role`);
      for (const m of members) {
        const member = resolve(m) ?? String(m);
        this.grants.push({ member, role, resource, source: at, ...(namePrefix ? { namePrefix } : {}) });
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
    const bucketOf = (r: TfResource): IamResource | null => {
      const b = resolve(r.bucket);
      return b ? { kind: 'bucket', project: provider, bucket: b } : null;
    };
    const jobOf = (r: TfResource): IamResource | null => {
      const [job, location] = [resolve(r.name), resolve(r.location)];
      return job && location ? { kind: 'job', project: projectOf(r), location, job } : null;
    };
    each('google_storage_bucket_iam_member', (r, at) => add(r, at, bucketOf(r), [r.member]));
    each('google_cloud_run_v2_job_iam_member', (r, at) => add(r, at, jobOf(r), [r.member]));
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
