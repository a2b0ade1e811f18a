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

export const environmentSchema = z
  .object({
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
    budget: z.object({
      billingAccount: z.string().regex(BILLING_RE),
      monthlyUsd: z.number().positive(),
      thresholds: z.array(z.number().positive().max(2)).min(1),
      phase4c: z.object({
        ceilingUsd: z.number().positive(),
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
  })
  .superRefine((env, ctx) => {
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
  });

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

export const serviceAccountEmail = (env: EnvironmentConfig, accountId: string): string =>
  `${accountId}@${env.project}.iam.gserviceaccount.com`;

/** `REGION-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG` for an image name kept in config. */
export const imageUri = (env: EnvironmentConfig, image: string): string =>
  image.includes('/') ? image : `${env.region}-docker.pkg.dev/${env.project}/${env.artifactRegistry.repositoryId}/${image}`;
