import { z } from 'zod';
import { BqxError } from '../core/errors';
import { DISCOVERY_ENV, DISCOVERY_MODES, MANIFEST_ENV, type DiscoveryMode } from '../core/extraction/discovery';
import { STAGING_MANIFEST_PREFIX } from './runner-permissions';

/**
 * Everything that differs between environments lives here and only here: project, region, names,
 * sizes, identities, budgets. Stacks and constructs read a validated `EnvironmentConfig`; they never
 * hard-code a project id or a bucket name.
 */

const PROJECT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const DATASET_RE = /^[A-Za-z0-9_]{1,1024}$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const ACCOUNT_ID_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const JOB_RE = /^[a-z][a-z0-9-]{0,48}[a-z0-9]$/;
const LABEL_KEY_RE = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE_RE = /^[a-z0-9_-]{0,63}$/;
const MEMORY_RE = /^[0-9]+(Mi|Gi)$/;
const BILLING_RE = /^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The platform's identities: one service account per job and role (`serviceAccounts`). The CI has
 * three (a read-only planner, the scheduled drift check's read-only identity, and a deployer without
 * any power over project IAM or identities); changes
 * to identities, federation, project IAM and custom roles are applied by `breakGlass`, which no CI
 * workflow can impersonate (only the platform admins' group, by token creation).
 */
export const IDENTITY_KEYS = ['extract', 'merge', 'runner', 'ciPlanner', 'ciDeployer', 'orchestrator', 'breakGlass', 'compliance', 'ciDrift'] as const;
export type IdentityKey = (typeof IDENTITY_KEYS)[number];

/**
 * Symbolic principals of the CI's Workload Identity Federation pool, resolved by the foundation
 * stack (the pool's name is only known to Terraform): every workflow run of the repository, and
 * jobs that run in the GitHub environment `ci.deployEnvironment` only (token subject
 * `repo:<owner>/<name>:environment:<environment>`, so the environment's protection rules, required
 * reviewers and branch policy, gate every use of the identity), and workflow runs on the default
 * branch `ci.defaultBranchRef` only (token claim `ref`; scheduled workflows run there, pull
 * requests run on `refs/pull/<n>/merge` and never match).
 */
export const WIF_PRINCIPALS = ['wif:repository', 'wif:deployEnvironment', 'wif:defaultBranch'] as const;

/** A custom role in a binding: `custom:<roleId>` of `iam.customRoles`, resolved to `projects/<project>/roles/<roleId>`. */
export const CUSTOM_ROLE_PREFIX = 'custom:';
const ROLE_ID_RE = /^[a-zA-Z0-9_.]{3,64}$/;
const PERMISSION_RE = /^[a-z][a-zA-Z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$/;

/** Placeholder values that must be replaced before the stacks they affect are applied. */
export const PLACEHOLDER_BILLING_ACCOUNT = '000000-000000-000000';
export const PLACEHOLDER_GITHUB_ID = '0';
export const PLACEHOLDER_DIGEST = `sha256:${'0'.repeat(64)}`;
export const PLACEHOLDER_GROUP_DOMAIN = 'example.com';

const PRIMITIVE_ROLES = ['roles/owner', 'roles/editor', 'roles/viewer'];
const PUBLIC_PRINCIPALS = ['allUsers', 'allAuthenticatedUsers'];
const ROLE_RE = /^(roles\/[A-Za-z0-9_.]+|(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]|organizations\/[0-9]+)\/roles\/[A-Za-z0-9_.]+)$/;
const MEMBER_RE = /^((user|group|serviceAccount|domain):[^\s:]+|principal(Set)?:\/\/iam\.googleapis\.com\/\S+)$/;

/** The predefined roles each kind of scope accepts (custom roles are accepted everywhere). */
const SCOPE_ROLES = {
  project: { prefix: 'roles/', what: 'the project' },
  datasets: { prefix: 'roles/bigquery.', what: 'a dataset' },
  buckets: { prefix: 'roles/storage.', what: 'a bucket' },
  serviceAccounts: { prefix: 'roles/iam.', what: 'a service account' },
  artifactRegistry: { prefix: 'roles/artifactregistry.', what: 'the Artifact Registry repository' },
  jobs: { prefix: 'roles/run.', what: 'a Cloud Run job' },
} as const;
export type IamScopeKind = keyof typeof SCOPE_ROLES;

/**
 * The scope kinds whose bindings may carry an IAM condition, and why only these: a condition is
 * rendered as the `condition` block of the scope's IAM member resource, and the platform renders it
 * on bucket bindings only (google_storage_bucket_iam_member; Cloud Storage takes conditions on
 * buckets with uniform bucket-level access, which every bucket of the platform enforces). Anywhere
 * else a condition in the config is an error, never silently dropped.
 */
export const CONDITION_SCOPES: readonly IamScopeKind[] = ['buckets'];

/**
 * An IAM condition (Google's `Expr`: title, description, CEL expression), as the provider's
 * `condition` block takes it. For an object prefix of a bucket use `objectPrefixCondition`.
 */
const iamConditionSchema = z
  .object({
    title: z.string().min(1).max(100),
    description: z.string().min(1).max(256).optional(),
    expression: z.string().min(1),
  })
  .strict();
export type IamCondition = z.output<typeof iamConditionSchema>;

/** A role as a binding names it: `roles/...` / `custom:<id>`, or that role under a condition. */
const roleEntrySchema = z.union([z.string().min(1), z.object({ role: z.string().min(1), condition: iamConditionSchema }).strict()]);
export type IamRoleEntry = z.output<typeof roleEntrySchema>;

/** The role of an entry, and its condition (null: unconditional). */
export const roleOfEntry = (entry: IamRoleEntry): { role: string; condition: IamCondition | null } =>
  typeof entry === 'string' ? { role: entry, condition: null } : { role: entry.role, condition: entry.condition };

/**
 * The condition that limits a bucket binding to the objects under `prefix`, in the resource-name
 * form of Cloud Storage (`projects/_/buckets/BUCKET/objects/OBJECT`):
 * https://cloud.google.com/iam/docs/conditions-resource-attributes#resource-name, and Cloud
 * Storage's sample of a `startsWith` condition on a bucket binding:
 * https://cloud.google.com/storage/docs/samples/storage-add-bucket-conditional-iam-binding.
 * The bucket itself (`projects/_/buckets/BUCKET`) does not match, so bucket-level permissions
 * (objects.list, buckets.get) are never granted through it.
 */
export function objectPrefixCondition(bucket: string, prefix: string, what: string): IamCondition {
  return {
    title: `${what} (${prefix} only)`,
    description: `objects gs://${bucket}/${prefix}* only; nothing else in the bucket`,
    expression: `resource.name.startsWith("projects/_/buckets/${bucket}/objects/${prefix}")`,
  };
}

/**
 * Principal → roles on one scope (the `iam_by_principals` shape of Google's cloud-foundation-fabric
 * modules). A principal is an identity key (`extract`, `ciDeployer`, ...), a symbolic WIF principal
 * (`wif:repository`, `wif:deployEnvironment`, `wif:defaultBranch`; service-account scopes only) or a full IAM member
 * (`group:...`). A role is predefined (`roles/...`) or `custom:<roleId>` of `iam.customRoles`, or
 * `{ role, condition }` for a conditional binding (on CONDITION_SCOPES only).
 */
const iamByPrincipals = z.record(z.string().min(1), z.array(roleEntrySchema).min(1));

const customRoleSchema = z
  .object({
    title: z.string().min(1).max(100),
    description: z.string().min(1).max(300),
    /** Exactly what the role grants; `permissionsFor(scope)` of config/runner-permissions.ts for the runner's roles. */
    permissions: z.array(z.string().regex(PERMISSION_RE)).min(1),
    /** Why no predefined role fits (kept with the role, shown in review). */
    reason: z.string().min(1),
  })
  .strict();

const iamSchema = z
  .object({
    /** Project-level custom roles by role id, granted as `custom:<roleId>` (the foundation stack declares them). */
    customRoles: z.record(z.string().regex(ROLE_ID_RE), customRoleSchema).default({}),
    /** Project-level roles: only where no narrower scope exists. */
    project: iamByPrincipals.default({}),
    /** By dataset id. */
    datasets: z.record(z.string(), iamByPrincipals).default({}),
    /** By bucket key (`staging`, `output`, `state`). */
    buckets: z.record(z.string(), iamByPrincipals).default({}),
    /** By identity key: who may act as (attach) or impersonate (WIF) that account. */
    serviceAccounts: z.record(z.string(), iamByPrincipals).default({}),
    /** The Artifact Registry repository of the images. */
    artifactRegistry: iamByPrincipals.default({}),
    /** By job key (`extract`, `merge`). */
    jobs: z.record(z.string(), iamByPrincipals).default({}),
  })
  .strict();

const labels = z.record(z.string().regex(LABEL_KEY_RE), z.string().regex(LABEL_VALUE_RE));

const datasetSchema = z.object({
  id: z.string().regex(DATASET_RE),
  role: z.enum(['features', 'source', 'analytics', 'models', 'predictions', 'training', 'scratch', 'ledger']),
  description: z.string().min(1),
  /** Only scratch datasets may have a default table expiration (see the platform decision). */
  defaultTableExpirationDays: z.number().int().positive().optional(),
  /** The migration runner renames tables in this dataset: no default table expiration, ever. */
  runnerRenamesIn: z.boolean().default(false),
  deleteContentsOnDestroy: z.boolean().default(false),
});

const bucketSchema = z.object({
  name: z.string().regex(BUCKET_RE),
  storageClass: z.enum(['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE']).default('STANDARD'),
  versioning: z.boolean().default(false),
  /** Objects under these prefixes are deleted after `days`. */
  expireByPrefix: z.array(z.object({ prefix: z.string().min(1), days: z.number().int().positive() })).default([]),
  /** Noncurrent versions are deleted after this many days (versioned buckets). */
  noncurrentVersionDays: z.number().int().positive().optional(),
  forceDestroy: z.boolean().default(false),
});

/**
 * An image by digest (`name@sha256:<64 hex>`) or, in this platform's Artifact Registry repository
 * (whose tags are immutable), by a tag other than `latest`. A full path outside that repository
 * must be a digest. Never tagless, never `:latest` (both float: the job would run whatever was
 * pushed last, and a plan would not show the change).
 */
export const IMAGE_RE = /^(?<name>[a-z0-9][a-z0-9._/-]*)(?:@(?<digest>sha256:[0-9a-f]{64})|:(?<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))$/;

export function imageProblem(image: string): string | null {
  const m = IMAGE_RE.exec(image);
  if (!m?.groups) return `${JSON.stringify(image)} names no digest or tag: use <image>@sha256:<digest> (or an immutable tag of the platform's repository)`;
  if (m.groups.tag === 'latest') return `${JSON.stringify(image)} uses :latest, which moves: pin the digest the build printed (<image>@sha256:...)`;
  if (m.groups.tag !== undefined && m.groups.name.includes('/')) return `${JSON.stringify(image)} is outside the platform's repository (immutable tags): pin it by digest`;
  return null;
}

const jobSchema = z.object({
  name: z.string().regex(JOB_RE),
  serviceAccount: z.string().regex(ACCOUNT_ID_RE),
  /** See IMAGE_RE: a digest, or an immutable tag of the platform's repository. */
  image: z.string().min(1).superRefine((image, ctx) => {
    const problem = imageProblem(image);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  }),
  cpu: z.string().regex(/^[0-9]+$/),
  memory: z.string().regex(MEMORY_RE),
  timeoutSeconds: z.number().int().positive().max(168 * 3600),
  maxRetries: z.number().int().min(0).max(10),
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()),
  /** Container entrypoint (`command`) and arguments (`args`). @default the image's */
  command: z.array(z.string().min(1)).optional(),
  args: z.array(z.string().min(1)).optional(),
});

/**
 * Where the runner writes each pair's extraction manifest in the staging bucket: the policy's
 * `extraction.manifestPath` (a test keeps them equal), under the only prefix the runner may write.
 */
export const EXTRACTION_MANIFEST_OBJECT = `${STAGING_MANIFEST_PREFIX}{pair}/extraction.json`;

/**
 * The extract job: a job, and how it finds its tables (`discovery`, rendered into its environment
 * by `extractJobEnv`). Default `name-only`: the job as deployed before the setting existed (nothing
 * rendered, no change to the job). Switch only once the deployed image honours the mode: setting it
 * on an image that ignores it would make readiness report a fix that is not there (RUNBOOK 3).
 */
const extractJobSchema = jobSchema.extend({ discovery: z.enum(DISCOVERY_MODES).default('name-only') });

const baseSchema = z.object({
  name: z.enum(['dev', 'prod']),
  project: z.string().regex(PROJECT_RE),
  region: z.string().regex(/^[a-z]+-[a-z]+[0-9]$/),
  /** Multi-region or region of the BigQuery datasets. */
  bigqueryLocation: z.string().min(2),
  labels,
  /**
   * Terraform state. `bucket`: data, pipeline and views (the deployer writes it). `foundationBucket`:
   * the foundation stack's state alone (identities, federation, project IAM, custom roles), a
   * bucket no stack declares, created at bootstrap; only break glass writes it and the planner and
   * the drift identity read it, so the deployer can neither rewrite nor delete what governs its own permissions.
   */
  state: z.object({ bucket: z.string().regex(BUCKET_RE), foundationBucket: z.string().regex(BUCKET_RE), prefixRoot: z.string().regex(/^[a-z0-9/_-]+$/) }),
  apis: z.array(z.string().regex(/^[a-z0-9.-]+\.googleapis\.com$/)).min(1),
  serviceAccounts: z.object({
    extract: z.string().regex(ACCOUNT_ID_RE),
    merge: z.string().regex(ACCOUNT_ID_RE),
    runner: z.string().regex(ACCOUNT_ID_RE),
    ciPlanner: z.string().regex(ACCOUNT_ID_RE),
    ciDeployer: z.string().regex(ACCOUNT_ID_RE),
    /** Runs the Workflows fan-out (executes the jobs with a PAIR override). */
    orchestrator: z.string().regex(ACCOUNT_ID_RE),
    /** Applies the foundation stack (identities, federation, project IAM, custom roles); people only. */
    breakGlass: z.string().regex(ACCOUNT_ID_RE),
    /** Cloud Scheduler's identity for the daily compliance audit: executes the runner job with the audit's arguments, nothing else. */
    compliance: z.string().regex(ACCOUNT_ID_RE),
    /** The scheduled drift check (platform-drift): the planner's read-only roles, impersonable from the default branch only. */
    ciDrift: z.string().regex(ACCOUNT_ID_RE),
  }),
  ci: z.object({
    /** `owner/name` of the repository whose GitHub Actions may impersonate the CI identities. */
    repository: z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/),
    /**
     * GitHub's numeric ids of the repository and of its owner (`github.repository_id`,
     * `github.repository_owner_id`). The provider admits tokens of exactly this repository: a name
     * can be deleted and registered again by someone else, an id cannot. `0` is the placeholder.
     */
    repositoryId: z.string().regex(/^[0-9]+$/),
    repositoryOwnerId: z.string().regex(/^[0-9]+$/),
    /** GitHub environment whose jobs may impersonate the deployer (`production`, `development`). */
    deployEnvironment: z.string().regex(/^[A-Za-z0-9_-]{1,255}$/),
    /** The only ref deploy jobs may run on to impersonate the deployer (besides the environment). */
    deployRef: z.string().regex(/^refs\/heads\/[A-Za-z0-9._/-]+$/).default('refs/heads/main'),
    /** The repository's default branch: scheduled workflows run there, so only it may impersonate the drift identity. */
    defaultBranchRef: z.string().regex(/^refs\/heads\/[A-Za-z0-9._/-]+$/).default('refs/heads/main'),
    poolId: z.string().regex(/^[a-z][a-z0-9-]{3,31}$/),
    providerId: z.string().regex(/^[a-z][a-z0-9-]{3,31}$/),
  }),
  /** Google groups of people (e-mail addresses): who operates the runner, who may break glass. */
  groups: z.object({
    /** May impersonate the runner and execute its job (RUNBOOK). */
    operators: z.string().email(),
    /** May impersonate the break-glass identity to apply the foundation stack. */
    platformAdmins: z.string().email(),
  }),
  artifactRegistry: z.object({ repositoryId: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/) }),
  datasets: z.array(datasetSchema).min(1),
  buckets: z.object({ staging: bucketSchema, output: bucketSchema, state: bucketSchema }),
  jobs: z.object({ extract: extractJobSchema, merge: jobSchema, runner: jobSchema }),
  /** Pairs the orchestration fans out over, one execution each. */
  pairs: z.array(z.string().regex(/^[a-z]{6}$/)).min(1),
  orchestration: z.object({ workflowName: z.string().regex(JOB_RE), concurrency: z.number().int().min(1).max(20) }),
  deletionProtection: z.object({ jobs: z.boolean() }),
  /** Every IAM binding of the platform, by scope (see iamSchema). The stacks grant nothing else. */
  iam: iamSchema,
  budget: z.object({
    billingAccount: z.string().regex(BILLING_RE),
    /** Whole dollars (a budget amount's `units`). */
    monthlyUsd: z.number().int().positive(),
    thresholds: z.array(z.number().positive().max(2)).min(1),
    /** Counts only spend labelled with PHASE_4C_JOB_LABEL (config/job-labels.ts), which the runner puts on its jobs. */
    phase4c: z.object({
      ceilingUsd: z.number().int().positive(),
      start: z.string().regex(DATE_RE),
    }),
    /**
     * Roles on the billing account (not grantable from the project: set by a billing account
     * administrator, see config/bootstrap.ts): the deployer manages budgets, the planner reads them.
     */
    deployerRole: z.literal('roles/billing.costsManager').default('roles/billing.costsManager'),
    plannerRole: z.literal('roles/billing.viewer').default('roles/billing.viewer'),
  }),
  alerts: z.object({ notificationEmail: z.string().email().optional() }),
  /**
   * Continuous compliance: Cloud Scheduler executes the runner job daily with `bqx audit --columns
   * --json` (metadata only); every violation is a log line counted by a log-based metric, and a
   * violation in a table the committed plan does not know pages (pipeline stack).
   */
  compliance: z
    .object({
      /** unix-cron, in `timeZone`. */
      schedule: z.string().regex(/^[0-9*/,-]+( [0-9*/,-]+){4}$/).default('0 6 * * *'),
      timeZone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z_+-]+)*$/).default('Etc/UTC'),
    })
    .default({}),
  views: z.object({
    /** Path (relative to the repository) of the committed plan the views come from. */
    planFile: z.string().min(1),
    /**
     * Fixed shard count: changing it moves views between stacks (state moves), so it is a reviewed
     * change. Up to 256: 25,000 views need 63 to 71 shards at 400 per stack (bench/scale.ts).
     */
    shards: z.number().int().min(1).max(256),
    maxViewsPerShard: z.number().int().min(1).max(500),
    warnWithinDays: z.number().int().min(0),
    /**
     * The views handoff file (`bqx views applied --out`, relative to the repository): the views the
     * runner has created, which the views stacks import (CompatibilityViewSet `imported`). Missing
     * file: nothing imported yet.
     */
    appliedFile: z.string().min(1).optional(),
    /**
     * The views must come from a plan of this environment's own BigQuery catalogue. A plan made
     * from another catalogue (the embedded DuckDB replica) is refused at synthesis unless this says
     * why it is accepted; synthesis then prints that reason as a warning on every run, and
     * environment.json records it.
     */
    allowPlanFromLocalCatalogue: z.string().min(20).optional(),
  }),
});

export const environmentSchema = baseSchema.superRefine((env, ctx) => {
  for (const [i, ds] of env.datasets.entries()) {
    if (ds.defaultTableExpirationDays !== undefined && ds.role !== 'scratch') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['datasets', i, 'defaultTableExpirationDays'],
        message: `dataset ${ds.id}: only scratch datasets may have a default table expiration`,
      });
    }
    if (ds.defaultTableExpirationDays !== undefined && ds.runnerRenamesIn) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['datasets', i, 'defaultTableExpirationDays'],
        message: `dataset ${ds.id}: the runner renames in it, so it must not have a default table expiration`,
      });
    }
  }
  const ids = env.datasets.map((d) => d.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['datasets'], message: `dataset ${dup} is declared twice` });
  if (!env.datasets.some((d) => d.role === 'features')) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['datasets'], message: 'no dataset has role "features"' });
  }
  const accounts = Object.values(env.serviceAccounts);
  for (const [key, job] of Object.entries(env.jobs)) {
    if (!accounts.includes(job.serviceAccount)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['jobs', key, 'serviceAccount'], message: `${job.serviceAccount} is not one of serviceAccounts (${accounts.join(', ')})` });
    }
    // The discovery settings have one home, jobs.extract.discovery: a literal env value would bypass it.
    for (const name of [DISCOVERY_ENV, MANIFEST_ENV].filter((n) => n in job.env)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['jobs', key, 'env', name], message: `${name} is rendered from jobs.extract.discovery ('${DISCOVERY_MODES.join("' | '")}'): set that instead` });
    }
  }
  validateIam(env, ctx);
});

type EnvShape = z.output<typeof baseSchema>;
type IamConfig = EnvShape['iam'];

/** One scope of the `iam` section: `project`, `datasets.<id>`, `buckets.<key>`, ... */
export interface IamScope {
  readonly kind: IamScopeKind;
  /** Dataset id, bucket/job/identity key; null for `project` and `artifactRegistry`. */
  readonly key: string | null;
  /** Principal → roles. */
  readonly byPrincipals: Readonly<Record<string, readonly IamRoleEntry[]>>;
}

/** One binding: a role granted to a principal (as written in the config) on a scope, maybe under a condition. */
export interface IamBinding {
  readonly kind: IamScopeKind;
  readonly key: string | null;
  readonly principal: string;
  readonly role: string;
  readonly condition: IamCondition | null;
}

/** The scopes of the `iam` section, in config order. */
export function iamScopes(iam: IamConfig): IamScope[] {
  const keyed = (kind: 'datasets' | 'buckets' | 'serviceAccounts' | 'jobs') =>
    Object.entries(iam[kind]).map(([key, byPrincipals]) => ({ kind, key, byPrincipals }));
  return [
    { kind: 'project', key: null, byPrincipals: iam.project },
    ...keyed('datasets'),
    ...keyed('buckets'),
    ...keyed('serviceAccounts'),
    { kind: 'artifactRegistry', key: null, byPrincipals: iam.artifactRegistry },
    ...keyed('jobs'),
  ];
}

/** Every binding of one scope, in config order. */
export const scopeBindings = (scope: IamScope): IamBinding[] =>
  Object.entries(scope.byPrincipals).flatMap(([principal, roles]) => roles.map((entry) => ({ kind: scope.kind, key: scope.key, principal, ...roleOfEntry(entry) })));

/** Every binding of the `iam` section, in config order. */
export const iamBindings = (iam: IamConfig): IamBinding[] => iamScopes(iam).flatMap(scopeBindings);

/** The scope keys a keyed scope kind accepts, and what to call one in an error. */
function scopeKeys(env: EnvShape): Partial<Record<IamScopeKind, { readonly noun: string; readonly keys: readonly string[] }>> {
  return {
    datasets: { noun: 'dataset', keys: env.datasets.map((d) => d.id) },
    buckets: { noun: 'bucket', keys: Object.keys(env.buckets) },
    serviceAccounts: { noun: 'identity', keys: IDENTITY_KEYS },
    jobs: { noun: 'job', keys: Object.keys(env.jobs) },
  };
}

/**
 * The `iam` section's rules: scopes that exist, principals that are identities, WIF principals or
 * IAM members (never public), roles that are not primitive and fit their scope. Each error names its
 * path, e.g. `iam.datasets.bqx_ml_v3_models.extractor: unknown identity "extractor" (...)`.
 */
function validateIam(env: EnvShape, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['iam', ...path], message });
  const emails = new Map(IDENTITY_KEYS.map((k) => [`serviceAccount:${serviceAccountEmail(env, env.serviceAccounts[k])}`, k]));
  const keyed = scopeKeys(env);
  for (const { kind, key, byPrincipals } of iamScopes(env.iam)) {
    const at = key === null ? [kind] : [kind, key];
    const known = keyed[kind];
    if (key !== null && known && !known.keys.includes(key)) {
      issue(at, `unknown ${known.noun} ${JSON.stringify(key)} (declared: ${known.keys.join(', ')})`);
    }
    for (const [principal, roles] of Object.entries(byPrincipals)) {
      const p = [...at, principal];
      if (PUBLIC_PRINCIPALS.includes(principal)) {
        issue(p, `${principal} is never granted (platform rule: no public access)`);
      } else if (principal.startsWith('wif:')) {
        if (!(WIF_PRINCIPALS as readonly string[]).includes(principal)) issue(p, `unknown WIF principal ${JSON.stringify(principal)} (use ${WIF_PRINCIPALS.join(' or ')})`);
        else if (kind !== 'serviceAccounts') issue(p, `${principal} may only impersonate a service account: grant it under iam.serviceAccounts.<identity>`);
      } else if (principal.includes(':')) {
        if (!MEMBER_RE.test(principal)) issue(p, `${JSON.stringify(principal)} is not an IAM member (user:, group:, serviceAccount:, domain:, principal://, principalSet://)`);
        else if (emails.has(principal)) issue(p, `${principal} is identity ${emails.get(principal)}: name it by its key`);
      } else if (!(IDENTITY_KEYS as readonly string[]).includes(principal)) {
        issue(p, `unknown identity ${JSON.stringify(principal)} (identities: ${IDENTITY_KEYS.join(', ')}; or a full IAM member such as group:name@example.com)`);
      }
      const entries = roles.map(roleOfEntry);
      entries.forEach(({ role, condition }, i) => {
        if (role.startsWith(CUSTOM_ROLE_PREFIX)) {
          const id = role.slice(CUSTOM_ROLE_PREFIX.length);
          const custom = env.iam.customRoles[id];
          const service = CUSTOM_ROLE_SERVICE[kind];
          if (!custom) issue([...p, i], `${role}: no custom role ${JSON.stringify(id)} in iam.customRoles (declared: ${Object.keys(env.iam.customRoles).join(', ') || 'none'})`);
          else if (service && custom.permissions.some((perm) => !perm.startsWith(`${service.prefix}.`))) {
            issue([...p, i], `${role} holds non-${service.name} permissions and cannot be granted on ${SCOPE_ROLES[kind].what}`);
          }
        } else if (PRIMITIVE_ROLES.includes(role)) issue([...p, i], `primitive role ${role} is never granted (platform rule): use a predefined role`);
        else if (!ROLE_RE.test(role)) issue([...p, i], `${JSON.stringify(role)} is not a role (roles/..., custom:<roleId>, projects/<p>/roles/..., organizations/<n>/roles/...)`);
        else if (role.startsWith('roles/') && !role.startsWith(SCOPE_ROLES[kind].prefix)) {
          issue([...p, i], `${role} cannot be granted on ${SCOPE_ROLES[kind].what} (its roles are ${SCOPE_ROLES[kind].prefix}*)`);
        }
        if (entries.findIndex((e) => e.role === role && e.condition?.expression === condition?.expression) !== i) issue([...p, i], `${role} is listed twice`);
        if (condition) {
          const problem = conditionProblem(env, kind, key, condition);
          if (problem) issue([...p, i, 'condition'], problem);
          else if (entries.some((e) => e.role === role && e.condition === null)) {
            issue([...p, i, 'condition'], `${role} is also granted to ${principal} without a condition there, which makes the condition moot: grant it one way`);
          }
        }
      });
    }
  }
}

/** The service whose permissions alone a custom role granted on a scope kind may hold (kinds whose resources are one service's). */
const CUSTOM_ROLE_SERVICE: Partial<Record<IamScopeKind, { readonly prefix: string; readonly name: string }>> = {
  datasets: { prefix: 'bigquery', name: 'BigQuery' },
  buckets: { prefix: 'storage', name: 'Cloud Storage' },
  jobs: { prefix: 'run', name: 'Cloud Run' },
};

const BUCKET_IN_CONDITION = /projects\/_\/buckets\/([^/"'\s]+)/g;

/**
 * What is wrong with a condition on a binding of `kind`/`key`, or null. Conditions are taken only
 * where the platform renders them (CONDITION_SCOPES); a bucket binding's condition must name that
 * bucket and no other (a condition copied from another bucket's binding would grant nothing, or not
 * what was meant).
 */
function conditionProblem(env: EnvShape, kind: IamScopeKind, key: string | null, condition: IamCondition): string | null {
  if (!CONDITION_SCOPES.includes(kind)) {
    return `a condition cannot be set on a binding on ${SCOPE_ROLES[kind].what}: the platform renders IAM conditions only on bindings on ${CONDITION_SCOPES.map((k) => `${SCOPE_ROLES[k].what} (iam.${k})`).join(', ')}`;
  }
  if (kind === 'buckets' && key !== null && key in env.buckets) {
    const name = env.buckets[key as keyof EnvShape['buckets']].name;
    const named = [...condition.expression.matchAll(BUCKET_IN_CONDITION)].map((m) => m[1]);
    const other = named.filter((b) => b !== name);
    if (other.length) return `the condition names bucket ${other.join(', ')}, but the binding is on bucket ${key} (${name})`;
  }
  return null;
}

/** The role name IAM knows for a role of the config: `custom:<id>` → `projects/<project>/roles/<id>`. */
export function resolveRole(env: Pick<EnvironmentConfig, 'project'>, role: string): string {
  return role.startsWith(CUSTOM_ROLE_PREFIX) ? `projects/${env.project}/roles/${role.slice(CUSTOM_ROLE_PREFIX.length)}` : role;
}

/** A value of the config that is a stand-in for the real one, and the stacks that must not be applied with it. */
export interface Placeholder {
  readonly path: string;
  readonly value: string;
  readonly stacks: readonly string[];
  readonly hint: string;
}

/**
 * Every placeholder value in an environment. Synthesis warns about each; CI refuses to apply a
 * stack a placeholder affects (cdktf.out/environment.json lists them).
 */
export function placeholders(env: EnvironmentConfig): Placeholder[] {
  const out: Placeholder[] = [];
  if (env.budget.billingAccount === PLACEHOLDER_BILLING_ACCOUNT) {
    out.push({ path: 'budget.billingAccount', value: env.budget.billingAccount, stacks: ['pipeline'], hint: 'set BQX_BILLING_ACCOUNT (CI: repository variable)' });
  }
  for (const k of ['repositoryId', 'repositoryOwnerId'] as const) {
    if (env.ci[k] === PLACEHOLDER_GITHUB_ID) {
      out.push({ path: `ci.${k}`, value: env.ci[k], stacks: ['foundation'], hint: `GitHub's numeric id (gh api repos/${env.ci.repository} --jq .${k === 'repositoryId' ? 'id' : 'owner.id'}), in config/environments.ts` });
    }
  }
  for (const k of ['operators', 'platformAdmins'] as const) {
    if (env.groups[k].endsWith(`@${PLACEHOLDER_GROUP_DOMAIN}`)) {
      out.push({ path: `groups.${k}`, value: env.groups[k], stacks: ['foundation', 'pipeline'], hint: 'the Google group of those people, in config/environments.ts' });
    }
  }
  for (const [key, job] of Object.entries(env.jobs)) {
    if (job.image.endsWith(`@${PLACEHOLDER_DIGEST}`)) {
      out.push({ path: `jobs.${key}.image`, value: job.image, stacks: ['pipeline'], hint: 'the digest the image build printed (gcloud artifacts docker images describe IMAGE:TAG --format="value(image_summary.digest)")' });
    }
  }
  return out;
}

export type EnvironmentInput = z.input<typeof environmentSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type DatasetConfig = EnvironmentConfig['datasets'][number];
export type BucketConfig = EnvironmentConfig['buckets']['staging'];
export type JobConfig = EnvironmentConfig['jobs']['merge'];

/** The discovery settings of the extract job as environment variables (none for `name-only`). */
export function discoveryEnv(mode: DiscoveryMode, stagingBucket: string): Record<string, string> {
  if (mode === 'name-only') return {};
  if (mode === 'base-tables') return { [DISCOVERY_ENV]: mode };
  return { [DISCOVERY_ENV]: mode, [MANIFEST_ENV]: `gs://${stagingBucket}/${EXTRACTION_MANIFEST_OBJECT}` };
}

/** The extract job's environment: its own variables and its discovery settings (jobs.extract.discovery). */
export const extractJobEnv = (env: EnvironmentConfig): Record<string, string> => ({ ...env.jobs.extract.env, ...discoveryEnv(env.jobs.extract.discovery, env.buckets.staging.name) });

/** Validates an environment; the error names the environment and every failing path. */
export function parseEnvironment(input: unknown, source: string): EnvironmentConfig {
  const result = environmentSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new BqxError('INVALID_ENVIRONMENT', `environment ${source} is invalid: ${issues}`, 'fix the values in config/environments.ts');
  }
  return result.data;
}

export function datasetByRole(env: EnvironmentConfig, role: DatasetConfig['role']): DatasetConfig {
  const ds = env.datasets.find((d) => d.role === role);
  if (!ds) throw new BqxError('INVALID_ENVIRONMENT', `environment ${env.name} has no dataset with role ${role}`, 'add it to config/environments.ts');
  return ds;
}

export const serviceAccountEmail = (env: Pick<EnvironmentConfig, 'project'>, accountId: string): string =>
  `${accountId}@${env.project}.iam.gserviceaccount.com`;

/** `REGION-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG` for an image name kept in config. */
export const imageUri = (env: EnvironmentConfig, image: string): string =>
  image.includes('/') ? image : `${env.region}-docker.pkg.dev/${env.project}/${env.artifactRegistry.repositoryId}/${image}`;
