/**
 * The plan file's schema: the one source of the `Plan` type (inferred below) and of its validation
 * (core/plan/load.ts adds the integrity hash, identifiers and structure on top).
 */
import { z } from 'zod';

/** What the migration plan decides per table (`bqx plan`); its summary counts each. */
export const ACTIONS = ['KEEP', 'RENAME', 'DEDUPE', 'CONSOLIDATE', 'REVIEW'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * Every action an operation can carry: the migration's, and RETIRE_VIEW of a retirement plan
 * (`bqx retire`: drops a compatibility view nobody reads once its grace period has ended).
 */
export const PLAN_ACTIONS = [...ACTIONS, 'RETIRE_VIEW'] as const;
export type PlanAction = (typeof PLAN_ACTIONS)[number];

/** Actions that change the warehouse; KEEP and REVIEW never do. */
export const ACTIONABLE_ACTIONS = ['RENAME', 'DEDUPE', 'CONSOLIDATE', 'RETIRE_VIEW'] as const;
export type ActionableAction = (typeof ACTIONABLE_ACTIONS)[number];
export function isActionable(action: PlanAction | string): action is ActionableAction {
  return (ACTIONABLE_ACTIONS as readonly string[]).includes(action);
}

/** Why the planner chose an action. A closed set; REVIEW reasons say what a person must decide. */
export const PLAN_REASONS = [
  'COMPLIANT',
  'BOOKKEEPING',
  'CANONICAL_FREE',
  'IDENTICAL_TWIN',
  'WINDOW_TABLES',
  'VARIANT_AMBIGUOUS',
  'EMPTY_TABLE',
  'READ_ERROR',
  'TARGET_EXISTS_DIFFERENT',
  'UNKNOWN_FAMILY',
  'NO_CANONICAL_FORM',
  'SCHEMA_CONFLICT',
  'JOIN_KEY_NOT_UNIQUE',
  'COLLISION',
  'CHAIN',
  'COPIES_DIFFER',
  'CYCLE',
  'NOT_A_TABLE',
  'PLANNING_BUDGET_EXCEEDED',
  'UNSUPPORTED_NAME',
  // Retirement plans: why a compatibility view is dropped (UNREAD) or kept.
  'UNREAD',
  'STILL_READ',
  'GRACE_NOT_ENDED',
] as const;
export type PlanReason = (typeof PLAN_REASONS)[number];

export const PLAN_FORMAT = 'bqx-plan/v1';

const name = z.string().min(1);
const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
export const columnTypeSchema = z.enum(['TIMESTAMP', 'DATE', 'STRING', 'FLOAT64', 'INT64', 'BOOL', 'NUMERIC', 'BYTES', 'JSON', 'OTHER']);

const fingerprintSchema = z.object({ table: name, rows: z.number().int().nonnegative(), hash: z.string() }).strict();

const variantEvidenceSchema = z
  .object({
    column: z.string().nullable(),
    sampled: z.number().int().nonnegative(),
    medianAbs: z.number().nullable(),
    /** What the sample says on its own. */
    verdict: z.enum(['idx', 'bqx', 'ambiguous', 'empty', 'no-numeric-column', 'error']),
    /** Where the chosen variant came from. */
    decidedBy: z.enum(['sample', 'identical-twin', 'name', 'policy-default', 'none']),
  })
  .strict();

/** One column of a consolidated table and where its values come from. */
const consolidatedColumnSchema = z
  .object({
    name,
    type: columnTypeSchema,
    /**
     * Source columns by window. One entry: a window-specific column. Several: a column kept once
     * because it is equal across windows (COALESCE in window order).
     */
    from: z.array(z.object({ window: z.number().int(), column: name }).strict()).min(1),
  })
  .strict();

const consolidationWindowSchema = z
  .object({
    window: z.number().int().positive(),
    /** The table whose rows are joined in for this window. */
    source: name,
    /** Proven copies of `source` (same content fingerprint), folded in and dropped with it. */
    copies: z.array(name),
    /** BOOL column of the target marking rows this window had (views filter on it). */
    presenceColumn: name,
  })
  .strict();

const consolidationSpecSchema = z
  .object({
    key: name,
    windows: z.array(consolidationWindowSchema).min(1),
    columns: z.array(consolidatedColumnSchema).min(1),
    partitionBy: z.string().nullable(),
    clusterBy: z.array(z.string()),
  })
  .strict();

/** A view under a name that disappears, returning exactly the old table's columns. */
export const compatibilityViewSchema = z
  .object({
    name,
    target: name,
    operationId: z.string(),
    /** Output columns in the old table's order: `name` as the old table had it, `column` in the target. */
    columns: z.array(z.object({ name, column: name }).strict()).min(1),
    /** BOOL column of the target to filter on (consolidated windows), or null. */
    filter: z.string().nullable(),
    graceEnd: isoDay,
  })
  .strict();

/** Who read a compatibility view in a retirement plan's window (from the job history). */
const viewReaderSchema = z
  .object({
    principal: z.string(),
    jobs: z.number().int().positive(),
    lastRead: z.string(),
    /** Job labels seen on this principal's reads, `key=value`. */
    labels: z.array(z.string()),
  })
  .strict();

const viewUsageSchema = z
  .object({
    jobs: z.number().int().nonnegative(),
    lastRead: z.string().nullable(),
    readers: z.array(viewReaderSchema),
  })
  .strict();

export const planOperationSchema = z
  .object({
    /** Deterministic: derived from action, sources and target. Also the ledger's operation id. */
    id: z.string().regex(/^op_[0-9a-f]{16}$/),
    /** Execution order (1-based); KEEP and REVIEW entries carry the order too but do nothing. */
    seq: z.number().int().positive(),
    batch: z.number().int().nonnegative(),
    action: z.enum(PLAN_ACTIONS),
    reason: z.enum(PLAN_REASONS),
    family: z.string(),
    sources: z.array(name).min(1),
    target: name.nullable(),
    variant: z.string().nullable(),
    /** Drops a table (DEDUPE, CONSOLIDATE): needs approval against the plan hash. */
    destructive: z.boolean(),
    /** Per source: schema + row count hash at planning time (a change since refuses the operation). */
    sourceState: z.record(z.string()),
    /** For DEDUPE: the twin's content fingerprint that the source must still equal. */
    twin: fingerprintSchema.optional(),
    evidence: z.object({ variant: variantEvidenceSchema.optional(), fingerprints: z.array(fingerprintSchema).optional() }).strict().optional(),
    consolidation: consolidationSpecSchema.optional(),
    /** Ids of operations that must be applied first (rename chains). */
    after: z.array(z.string()).optional(),
    estimatedBytes: z.number().nonnegative(),
    detail: z.string().optional(),
    /** RETIRE_VIEW, and views a retirement plan keeps: the view as the migration plan made it (rollback recreates it from this). */
    view: compatibilityViewSchema.optional(),
    /** Retirement plans: the view's reads in the window the plan was decided on. */
    usage: viewUsageSchema.optional(),
  })
  .strict();

const perAction = z
  .object(Object.fromEntries(ACTIONS.map((a) => [a, z.number()])) as Record<Action, z.ZodNumber>)
  .extend({ RETIRE_VIEW: z.number().optional() })
  .strict();

const planSummarySchema = z
  .object({
    tables: z.number(),
    byAction: perAction,
    byReason: z.record(z.number()),
    /** Sources per action (a consolidation has several). */
    sourcesByAction: perAction,
    views: z.number(),
    estimatedBytes: z.number(),
    estimatedCostUsd: z.number(),
    planningBytes: z.number(),
  })
  .strict();

/** How a retirement plan was decided: from which migration plan, on which window of job history. */
const retirementSchema = z
  .object({
    /** The migration plan whose compatibility views this plan retires. */
    basePlanHash: sha256Hex,
    decidedAt: z.string(),
    unreadDays: z.number().int().positive(),
    /** Reads since this instant keep a view. */
    readSince: z.string(),
    /** Where the reads came from (the engine's job history), for the reviewer. */
    usageSource: z.string(),
    /** Views of the migration plan that are not views in the warehouse now (never created, or already dropped). */
    absent: z.array(name),
  })
  .strict();

export const planSchema = z
  .object({
    format: z.literal(PLAN_FORMAT),
    engine: z.string(),
    project: z.string(),
    dataset: z.string(),
    catalogueFingerprint: sha256Hex,
    tableCount: z.number().int().nonnegative(),
    policyHash: sha256Hex,
    graceStart: isoDay,
    graceDays: z.number().int().positive(),
    summary: planSummarySchema,
    operations: z.array(planOperationSchema),
    views: z.array(compatibilityViewSchema),
    /** Retirement plans only: what the decision rests on. */
    retirement: retirementSchema.optional(),
    /** sha256 of the plan's canonical JSON without this field; approvals name it. */
    planHash: sha256Hex,
  })
  .strict();

export type Plan = z.infer<typeof planSchema>;
export type PlanOperation = z.infer<typeof planOperationSchema>;
export type CompatibilityView = z.infer<typeof compatibilityViewSchema>;
export type PlanSummary = z.infer<typeof planSummarySchema>;
export type ConsolidationSpec = z.infer<typeof consolidationSpecSchema>;
export type ConsolidationWindow = z.infer<typeof consolidationWindowSchema>;
export type ConsolidatedColumn = z.infer<typeof consolidatedColumnSchema>;
export type ViewUsageRecord = z.infer<typeof viewUsageSchema>;
export type ViewReader = z.infer<typeof viewReaderSchema>;
export type Retirement = z.infer<typeof retirementSchema>;
export type VariantEvidence = z.infer<typeof variantEvidenceSchema>;
export type FingerprintEvidence = z.infer<typeof fingerprintSchema>;
