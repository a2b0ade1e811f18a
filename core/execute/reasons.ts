/**
 * Reason codes the executor records with every terminal outcome. A closed set: each says whether
 * running the same command again can succeed (`retryable`) or a person must act first (`needs-human`).
 * `none` marks reasons that are not failures.
 */
export type ReasonClass = 'none' | 'retryable' | 'needs-human';

export const REASONS = {
  // Successful or intentionally idle outcomes.
  OK: { class: 'none', text: 'applied and its steps verified' },
  RESUMED: { class: 'none', text: 'an interrupted attempt was completed after inspecting the warehouse' },
  ALREADY_APPLIED: { class: 'none', text: 'the ledger already records this operation as applied' },
  NOTHING_TO_DO: { class: 'none', text: 'KEEP: the name is compliant' },
  NEEDS_REVIEW: { class: 'needs-human', text: 'REVIEW: the planner could not decide safely; nothing is touched' },
  WOULD_APPLY: { class: 'none', text: 'paper mode: every gate passed' },
  ROLLBACK_OK: { class: 'none', text: 'rolled back from the ledger' },
  // Gates, in their fixed order.
  INVALID_IDENTIFIER: { class: 'needs-human', text: 'an identifier of the operation is not a plain identifier' },
  SOURCE_MISSING: { class: 'needs-human', text: 'a source table no longer exists' },
  SOURCE_CHANGED: { class: 'needs-human', text: "a source table's schema or row count changed since planning" },
  TARGET_EXISTS: { class: 'needs-human', text: 'the target name is taken' },
  TWIN_MISSING: { class: 'needs-human', text: 'DEDUPE: the canonical twin no longer exists' },
  TWIN_CHANGED: { class: 'needs-human', text: "DEDUPE: the twin's content fingerprint differs from the plan's" },
  CONTENT_DIFFERS: { class: 'needs-human', text: "DEDUPE: the source's content no longer equals the twin's" },
  STREAMING_BUFFER: { class: 'retryable', text: 'a source has rows in the streaming buffer' },
  DATASET_EXPIRATION: { class: 'needs-human', text: 'the dataset has a default table expiration' },
  OVER_BUDGET: { class: 'needs-human', text: "the run's estimated cost exceeds the budget" },
  APPROVAL_MISSING: { class: 'needs-human', text: 'a destructive operation was not approved against the plan hash' },
  DEPENDENCY_NOT_APPLIED: { class: 'retryable', text: 'an operation this one waits for was not applied' },
  // Execution.
  STEP_FAILED: { class: 'retryable', text: 'a step failed in the engine' },
  STATE_CONFLICT: { class: 'needs-human', text: 'the warehouse holds something the plan did not expect where a step would write' },
  VALIDATION_FAILED: { class: 'needs-human', text: 'the consolidation did not validate; sources were kept' },
  RUN_HALTED: { class: 'retryable', text: 'the run halted before this operation' },
  LOCK_LOST: { class: 'retryable', text: 'the run lost its lock before this operation' },
  NOT_IN_THIS_RUN: { class: 'retryable', text: 'left for a later run (--max-operations)' },
  RUN_INTERRUPTED: { class: 'retryable', text: 'a signal stopped the run before this operation started' },
  INTERRUPTED: { class: 'retryable', text: 'a signal stopped this operation at a step boundary; the next run resumes it' },
  ROLLBACK_BLOCKED: { class: 'needs-human', text: 'rollback cannot proceed without losing data' },
} as const satisfies Record<string, { class: ReasonClass; text: string }>;

export type Reason = keyof typeof REASONS;

export const GATE_ORDER = [
  'IDENTIFIERS',
  'SOURCE_EXISTS',
  'TARGET_FREE',
  'STREAMING_BUFFER',
  'DATASET_EXPIRATION',
  'BUDGET',
  'APPROVAL',
] as const;
export type GateName = (typeof GATE_ORDER)[number];

export function isReason(s: string): s is Reason {
  return Object.prototype.hasOwnProperty.call(REASONS, s);
}
