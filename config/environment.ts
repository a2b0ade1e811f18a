import { z } from 'zod';
import { BqxError } from '../core/errors';

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

/** The platform's identities: one service account per job and role (`serviceAccounts`). */
export const IDENTITY_KEYS = ['extract', 'merge', 'runner', 'ciPlanner', 'ciDeployer', 'orchestrator'] as const;
export type IdentityKey = (typeof IDENTITY_KEYS)[number];

/**
 * Symbolic principals of the CI's Workload Identity Federation pool, resolved by the foundation
 * stack (the pool's name is only known to Terraform): every workflow run of `ci.repository`, and
 * runs on `ci.deployRef` only.
 */
export const WIF_PRINCIPALS = ['wif:repository', 'wif:ref'] as const;

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
 * Principal → roles on one scope (the `iam_by_principals` shape of Google's cloud-foundation-fabric
 * modules). A principal is an identity key (`extract`, `ciDeployer`, ...), a symbolic WIF principal
 * (`wif:repository`, `wif:ref`; service-account scopes only) or a full IAM member (`group:...`).
 */
const iamByPrincipals = z.record(z.string().min(1), z.array(z.string().min(1)).min(1));

const iamSchema = z
  .object({
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

const jobSchema = z.object({
  name: z.string().regex(JOB_RE),
  serviceAccount: z.string().regex(ACCOUNT_ID_RE),
  image: z.string().min(1),
  cpu: z.string().regex(/^[0-9]+$/),
  memory: z.string().regex(MEMORY_RE),
  timeoutSeconds: z.number().int().positive().max(168 * 3600),
  maxRetries: z.number().int().min(0).max(10),
  env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()),
});

const baseSchema = z.object({
  name: z.enum(['dev', 'prod']),
  project: z.string().regex(PROJECT_RE),
  region: z.string().regex(/^[a-z]+-[a-z]+[0-9]$/),
  /** Multi-region or region of the BigQuery datasets. */
  bigqueryLocation: z.string().min(2),
  labels,
  state: z.object({ bucket: z.string().regex(BUCKET_RE), prefixRoot: z.string().regex(/^[a-z0-9/_-]+$/) }),
  apis: z.array(z.string().regex(/^[a-z0-9.-]+\.googleapis\.com$/)).min(1),
  serviceAccounts: z.object({
    extract: z.string().regex(ACCOUNT_ID_RE),
    merge: z.string().regex(ACCOUNT_ID_RE),
    runner: z.string().regex(ACCOUNT_ID_RE),
    ciPlanner: z.string().regex(ACCOUNT_ID_RE),
    ciDeployer: z.string().regex(ACCOUNT_ID_RE),
    /** Runs the Workflows fan-out (executes the jobs with a PAIR override). */
    orchestrator: z.string().regex(ACCOUNT_ID_RE),
  }),
  ci: z.object({
    /** `owner/name` of the repository whose GitHub Actions may impersonate the CI identities. */
    repository: z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/),
    deployRef: z.string().startsWith('refs/'),
    poolId: z.string().regex(/^[a-z][a-z0-9-]{3,31}$/),
    providerId: z.string().regex(/^[a-z][a-z0-9-]{3,31}$/),
  }),
  artifactRegistry: z.object({ repositoryId: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/) }),
  datasets: z.array(datasetSchema).min(1),
  buckets: z.object({ staging: bucketSchema, output: bucketSchema, state: bucketSchema }),
  jobs: z.object({ extract: jobSchema, merge: jobSchema }),
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
    phase4c: z.object({
      ceilingUsd: z.number().int().positive(),
      start: z.string().regex(DATE_RE),
      /** Label the runner puts on its BigQuery jobs, so the ceiling counts only Phase 4C spend. */
      label: z.tuple([z.string().regex(LABEL_KEY_RE), z.string().regex(LABEL_VALUE_RE)]),
    }),
  }),
  alerts: z.object({ notificationEmail: z.string().email().optional() }),
  views: z.object({
    /** Path (relative to the repository) of the committed plan the views come from. */
    planFile: z.string().min(1),
    /** Fixed shard count: changing it moves views between stacks (state moves), so it is a reviewed change. */
    shards: z.number().int().min(1).max(64),
    maxViewsPerShard: z.number().int().min(1).max(500),
    warnWithinDays: z.number().int().min(0),
    /** Adopt views the runner created itself (import blocks); see CompatibilityViewSet. */
    importExisting: z.boolean().default(false),
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
  readonly byPrincipals: Readonly<Record<string, readonly string[]>>;
}

/** One binding: a role granted to a principal (as written in the config) on a scope. */
export interface IamBinding {
  readonly kind: IamScopeKind;
  readonly key: string | null;
  readonly principal: string;
  readonly role: string;
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
  Object.entries(scope.byPrincipals).flatMap(([principal, roles]) => roles.map((role) => ({ kind: scope.kind, key: scope.key, principal, role })));

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
      roles.forEach((role, i) => {
        if (PRIMITIVE_ROLES.includes(role)) issue([...p, i], `primitive role ${role} is never granted (platform rule): use a predefined role`);
        else if (!ROLE_RE.test(role)) issue([...p, i], `${JSON.stringify(role)} is not a role (roles/..., projects/<p>/roles/..., organizations/<n>/roles/...)`);
        else if (role.startsWith('roles/') && !role.startsWith(SCOPE_ROLES[kind].prefix)) {
          issue([...p, i], `${role} cannot be granted on ${SCOPE_ROLES[kind].what} (its roles are ${SCOPE_ROLES[kind].prefix}*)`);
        }
        if (roles.indexOf(role) !== i) issue([...p, i], `${role} is listed twice`);
      });
    }
  }
}

export type EnvironmentInput = z.input<typeof environmentSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type DatasetConfig = EnvironmentConfig['datasets'][number];
export type BucketConfig = EnvironmentConfig['buckets']['staging'];
export type JobConfig = EnvironmentConfig['jobs']['extract'];

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
