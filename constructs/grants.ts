import { IConstruct } from 'constructs';
import { ITerraformDependable, TerraformResource, dependable } from 'cdktf';
import { IPrincipal, grantId } from './principal';

/**
 * An IAM condition on a binding (Google's `Expr`), rendered as the member resource's `condition`
 * block: the binding grants its role only where `expression` (CEL) holds, e.g.
 * `resource.name.startsWith("projects/_/buckets/b/objects/manifests/")` for objects under a prefix.
 */
export interface IamCondition {
  /** Shown in the console and in policies; part of the grant's construct id. */
  readonly title: string;
  readonly description?: string;
  readonly expression: string;
}

/**
 * What a grant method returns (the idea of aws-cdk's `iam.Grant`): which role was granted to whom
 * on what, and the binding resource behind it, so that something that needs the access can wait
 * for it (`grant.applyBefore(workflow)` → `depends_on` in Terraform).
 */
export class Grant<R extends TerraformResource = TerraformResource> {
  /** The `depends_on` entry for the binding (one token, so repeated applyBefore calls add it once). */
  private readonly ref: string;

  constructor(
    /** Who holds the role. */
    readonly principal: IPrincipal,
    readonly role: string,
    /** The construct the role is granted on (a dataset, a bucket, a job, the project...). */
    readonly target: IConstruct,
    /** The IAM member resource that makes the binding. */
    readonly resource: R,
    /** The binding's condition; undefined: the role holds on the whole target. */
    readonly condition?: IamCondition,
  ) {
    this.ref = dependable(resource);
  }

  /** What other resources list in `dependsOn` to wait for this grant. */
  get dependables(): readonly ITerraformDependable[] {
    return [this.resource];
  }

  /**
   * Makes every Terraform resource in `constructs` (each construct itself, or the resources under
   * it) wait for this binding: Terraform `depends_on`. Unlike `node.addDependency`, which cdktf does
   * not write into the configuration, this reaches Terraform.
   */
  applyBefore(...constructs: IConstruct[]): this {
    const ref = this.ref;
    for (const c of constructs) {
      const resources = c.node.findAll().filter((n): n is TerraformResource => TerraformResource.isTerraformResource(n));
      if (resources.length === 0) throw new Error(`${c.node.path}: holds no Terraform resource to apply ${this} before`);
      for (const r of resources) {
        if (!(r.dependsOn ?? []).includes(ref)) r.dependsOn = [...(r.dependsOn ?? []), ref];
      }
    }
    return this;
  }

  toString(): string {
    return `${this.role} on ${this.target.node.path} to ${this.principal.member}${this.condition ? ` if ${this.condition.title}` : ''}`;
  }
}

/**
 * A construct roles can be granted on (a dataset, a bucket, a job, a service account, the project...).
 * `condition`: only targets whose member resource renders one accept it (a bucket); the others
 * refuse it rather than grant the role unconditionally.
 */
export interface IGrantTarget extends IConstruct {
  grant(principal: IPrincipal, role: string, condition?: IamCondition): Grant;
}

/**
 * The bindings of one IAM scope, kept once for every construct that grants: one member resource per
 * (role, principal[, condition]) under construct id `grant-<role>-<principal>` (a conditional one
 * `grant-<role>-<principal>-if-<condition title>`), and the same grant twice is refused (it would
 * be two resources for one binding, and a clash of ids).
 */
export class GrantTable<R extends TerraformResource> {
  private readonly grants = new Map<string, Grant<R>>();

  constructor(
    private readonly target: IConstruct,
    /** Creates the member resource under `target` with construct id `id` (and its `condition` block, when given). */
    private readonly bind: (id: string, role: string, member: string, condition?: IamCondition) => R,
    /** Whether the member resource renders a condition. @default false: a condition is refused */
    private readonly acceptsConditions = false,
  ) {}

  add(principal: IPrincipal, role: string, condition?: IamCondition): Grant<R> {
    if (condition && !this.acceptsConditions) {
      throw new Error(`${this.target.node.path}: ${role} to ${principal.member}: this target's bindings take no IAM condition (${JSON.stringify(condition.title)})`);
    }
    const id = grantId(role, principal, condition?.title);
    if (this.grants.has(id)) throw new Error(`${this.target.node.path}: ${role} is already granted to ${principal.member}${condition ? ` if ${condition.title}` : ''}`);
    const grant = new Grant(principal, role, this.target, this.bind(id, role, principal.member, condition), condition);
    this.grants.set(id, grant);
    return grant;
  }

  /** Every grant made so far, in call order. */
  get all(): readonly Grant<R>[] {
    return [...this.grants.values()];
  }
}
