import type { EngineLocation } from '../../core/ports/engine';
import type { Action } from '../../core/plan/types';
import type { ColumnAuditSummary } from '../../core/naming/columns';

/** P0 prevents execution, P1 high risk, P2 slows or raises cost, P3 minor. */
export const PRIORITIES = ['P0', 'P1', 'P2', 'P3'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const VERDICTS = ['GO', 'CONDITIONAL GO', 'NO-GO'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const SECTIONS = ['tools', 'phases', 'infrastructure', 'dependencies'] as const;
export type Section = (typeof SECTIONS)[number];

export interface Blocker {
  /** Stable code, e.g. DATASET_EXPIRATION, PERMISSION_MISSING. */
  readonly code: string;
  readonly priority: Priority;
  readonly title: string;
  readonly impact: string;
  readonly mitigation: string;
  /** Id of the check that found it. */
  readonly check: string;
  /** How long fixing it delays the start (the report fills it from app/readiness/effort.ts when a check does not). */
  readonly delay?: string;
  /** What can be done instead of the fix, if anything. */
  readonly workaround?: string;
}

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  /** e.g. `tools.cli.apply`, `infrastructure.dataset-expiration`. */
  readonly id: string;
  readonly section: Section;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was tried and what came back. */
  readonly detail: string;
  readonly durationMs: number;
}

export interface FamilyCompliance {
  readonly total: number;
  readonly compliant: number;
  readonly nonCompliant: number;
}

export interface ComplianceSide {
  readonly tables: number;
  readonly compliant: number;
  readonly nonCompliant: number;
  readonly byFamily: Readonly<Record<string, FamilyCompliance>>;
}

export interface CostEstimate {
  readonly estimatedBytes: number;
  readonly estimatedCostUsd: number;
  readonly consolidationBytes: number;
  readonly consolidationCostUsd: number;
  readonly budgetUsd: number;
  readonly pricePerTiBUsd: number;
  /** Bytes of one consolidation measured by the engine's dry run (null when none was run). */
  readonly dryRunSample: { readonly operationId: string; readonly plannedBytes: number; readonly dryRunBytes: number } | null;
}

export interface PlanOverview {
  readonly file: string | null;
  readonly planHash: string;
  readonly engine: string;
  readonly dataset: string;
  readonly catalogueFingerprint: string;
  readonly tables: number;
  readonly byAction: Readonly<Record<Action, number>>;
  readonly byReason: Readonly<Record<string, number>>;
  readonly views: number;
}

/** One pair of the extract job: tables it reads, duplicates a name-only discovery makes, training columns remapped. */
export interface PairExtraction {
  readonly pair: string;
  readonly before: number;
  readonly after: number;
  readonly nameOnlyBefore: number;
  readonly nameOnlyGrace: number;
  readonly duplicatesBefore: number;
  readonly duplicatesDuringGrace: number;
  readonly remap: { readonly RENAMED: number; readonly MERGED: number; readonly UNCHANGED: number; readonly added: number } | null;
}

export interface ExtractionReadiness {
  /** How the extract job finds its tables (its EXTRACTION_DISCOVERY), and where that was read. */
  readonly jobDiscovery: { readonly mode: string; readonly source: string; readonly fixed: boolean };
  readonly manifestPath: string;
  /** The changes in the job that make it read each feature once. */
  readonly fixes: readonly string[];
  readonly duplicatesDuringGrace: number;
  readonly duplicatesBefore: number;
  readonly pairs: readonly PairExtraction[];
}

/** One tool the directive's inventory asks for: the verb that is it, whether the CLI has it, and the check that proves it ready. */
export interface ToolEntry {
  readonly need: string;
  readonly verb: string;
  readonly present: boolean | null;
  /** Ids of the checks that exercise it; `ready` is their worst status. */
  readonly checks: readonly string[];
  readonly ready: CheckStatus | 'not checked';
  readonly detail: string;
}

export const READINESS_FORMAT = 'bqx-readiness/v1';

export interface ReadinessReport {
  readonly format: typeof READINESS_FORMAT;
  readonly generatedAt: string;
  readonly verdict: Verdict;
  /** For CONDITIONAL GO: what must hold (one per P1). */
  readonly conditions: readonly string[];
  readonly engine: { readonly kind: 'duckdb' | 'bigquery' } & EngineLocation;
  readonly currentFingerprint: string | null;
  readonly plan: PlanOverview | null;
  readonly cost: CostEstimate | null;
  readonly compliance: { readonly before: ComplianceSide; readonly after: ComplianceSide | null } | null;
  /** The column audit of the catalogue (reports only: column renames are not part of Phase 4C). */
  readonly columns: ColumnAuditSummary | null;
  /** What the extract job reads per pair, and the duplicates a name-only discovery makes during the grace period. */
  readonly extraction: ExtractionReadiness | null;
  /** The directive's tool inventory: each tool Phase 4C needs, present in the CLI, proven by a check. */
  readonly inventory: readonly ToolEntry[];
  readonly checks: readonly CheckResult[];
  readonly blockers: readonly Blocker[];
  readonly counts: Readonly<Record<Priority, number>> & { readonly checks: number; readonly failed: number };
  readonly durationMs: number;
}
