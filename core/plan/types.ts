import type { Column } from '../catalogue';

export const ACTIONS = ['KEEP', 'RENAME', 'DEDUPE', 'CONSOLIDATE', 'REVIEW'] as const;
export type Action = (typeof ACTIONS)[number];

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
] as const;
export type PlanReason = (typeof PLAN_REASONS)[number];

export interface VariantEvidence {
  readonly column: string | null;
  readonly sampled: number;
  readonly medianAbs: number | null;
  /** What the sample says on its own. */
  readonly verdict: 'idx' | 'bqx' | 'ambiguous' | 'empty' | 'no-numeric-column' | 'error';
  /** Where the chosen variant came from. */
  readonly decidedBy: 'sample' | 'identical-twin' | 'name' | 'policy-default' | 'none';
}

export interface FingerprintEvidence {
  readonly table: string;
  readonly rows: number;
  readonly hash: string;
}

/** One column of a consolidated table and where its values come from. */
export interface ConsolidatedColumn {
  readonly name: string;
  readonly type: Column['type'];
  /**
   * Source columns by window. One entry: a window-specific column. Several: a column kept once
   * because it is equal across windows (COALESCE in window order).
   */
  readonly from: readonly { readonly window: number; readonly column: string }[];
}

export interface ConsolidationWindow {
  readonly window: number;
  /** The table whose rows are joined in for this window. */
  readonly source: string;
  /** Proven copies of `source` (same content fingerprint), folded in and dropped with it. */
  readonly copies: readonly string[];
  /** BOOL column of the target marking rows this window had (views filter on it). */
  readonly presenceColumn: string;
}

export interface ConsolidationSpec {
  readonly key: string;
  readonly windows: readonly ConsolidationWindow[];
  readonly columns: readonly ConsolidatedColumn[];
  readonly partitionBy: string | null;
  readonly clusterBy: readonly string[];
}

export interface PlanOperation {
  /** Deterministic: derived from action, sources and target. Also the ledger's operation id. */
  readonly id: string;
  /** Execution order (1-based); KEEP and REVIEW entries carry the order too but do nothing. */
  readonly seq: number;
  readonly batch: number;
  readonly action: Action;
  readonly reason: PlanReason;
  readonly family: string;
  readonly sources: readonly string[];
  readonly target: string | null;
  readonly variant: string | null;
  /** Drops a table (DEDUPE, CONSOLIDATE): needs approval against the plan hash. */
  readonly destructive: boolean;
  /** Per source: schema + row count hash at planning time (a change since refuses the operation). */
  readonly sourceState: Readonly<Record<string, string>>;
  /** For DEDUPE: the twin's content fingerprint that the source must still equal. */
  readonly twin?: FingerprintEvidence;
  readonly evidence?: { readonly variant?: VariantEvidence; readonly fingerprints?: readonly FingerprintEvidence[] };
  readonly consolidation?: ConsolidationSpec;
  /** Ids of operations that must be applied first (rename chains). */
  readonly after?: readonly string[];
  readonly estimatedBytes: number;
  readonly detail?: string;
}

/** A view under a name that disappears, returning exactly the old table's columns. */
export interface CompatibilityView {
  readonly name: string;
  readonly target: string;
  readonly operationId: string;
  /** Output columns in the old table's order: `name` as the old table had it, `column` in the target. */
  readonly columns: readonly { readonly name: string; readonly column: string }[];
  /** BOOL column of the target to filter on (consolidated windows), or null. */
  readonly filter: string | null;
  readonly graceEnd: string;
}

export interface PlanSummary {
  readonly tables: number;
  readonly byAction: Readonly<Record<Action, number>>;
  readonly byReason: Readonly<Record<string, number>>;
  /** Sources per action (a consolidation has several). */
  readonly sourcesByAction: Readonly<Record<Action, number>>;
  readonly views: number;
  readonly estimatedBytes: number;
  readonly estimatedCostUsd: number;
  readonly planningBytes: number;
}

export const PLAN_FORMAT = 'bqx-plan/v1';

export interface Plan {
  readonly format: typeof PLAN_FORMAT;
  readonly engine: string;
  readonly project: string;
  readonly dataset: string;
  readonly catalogueFingerprint: string;
  readonly tableCount: number;
  readonly policyHash: string;
  readonly graceStart: string;
  readonly graceDays: number;
  readonly summary: PlanSummary;
  readonly operations: readonly PlanOperation[];
  readonly views: readonly CompatibilityView[];
  /** sha256 of the plan's canonical JSON without this field; approvals name it. */
  readonly planHash: string;
}
