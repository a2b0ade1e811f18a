import type { EngineLocation } from '../../core/ports/engine';
import type { Action } from '../../core/plan/types';
import type { ColumnAuditSummary } from '../../core/naming/columns';
import type { CodeScan } from '../../core/scan/types';
import type { ReviewEntry } from './decisions';
import type { PlanProjection } from '../../core/plan/projection';

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
  /**
   * `production`: blocks the production run only (the team's code, the extract job, cloud checks a
   * rehearsal cannot run); the local rehearsal may proceed. Its priority is production's either way.
   */
  readonly scope?: 'production';
}

/** `rehearsal`: the embedded warehouse, a synthetic copy; `production`: BigQuery. */
export type ReadinessMode = 'rehearsal' | 'production';

/** A check that needs Google Cloud and did not run here, with the command that runs it. */
export interface NotChecked {
  readonly id: string;
  readonly what: string;
  readonly command: string;
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
  /** The last day of the grace period (compatibility views dropped after it). */
  readonly graceEnd: string;
  /** The REVIEW tables, each with who must decide it. */
  readonly review: readonly ReviewEntry[];
  /** The command that undoes an apply of this plan. */
  readonly rollback: string;
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
  /** REHEARSAL on a synthetic copy (embedded engine) or PRODUCTION (BigQuery). */
  readonly mode: ReadinessMode;
  /** The verdict this run acts on (exit code, `npm start`): the rehearsal's on the embedded engine, production's on BigQuery. */
  readonly verdict: Verdict;
  /** For CONDITIONAL GO: what must hold (one per P1 that counts for `verdict`). */
  readonly conditions: readonly string[];
  /** Production's verdict: every blocker at production's severity, and on a rehearsal the cloud checks it could not run. */
  readonly production: { readonly verdict: Verdict; readonly conditions: readonly string[] };
  /** On a rehearsal: may this local run proceed (null on BigQuery). */
  readonly rehearsal: { readonly verdict: Verdict; readonly conditions: readonly string[] } | null;
  /** Checks that need Google Cloud and did not run, each with the command that runs it. */
  readonly notChecked: readonly NotChecked[];
  /** On a rehearsal: the plan projected onto the real feature store's table sizes (warehouse/real-sizes.ts), beside `cost` (the synthetic copy's). */
  readonly projection: (PlanProjection & { readonly basis: string }) | null;
  /** The code scan of the team's repository (`--code DIR`), or null. */
  readonly code: CodeScan | null;
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
