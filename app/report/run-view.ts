/**
 * What a run did, as the HTML report shows it after `bqx main`: outcomes by action, validation,
 * reconciliation, compliance measured by real audits before and after, bytes and dollars, the column
 * audit and the extract job's change per pair. Built from the run summaries, not from the plan's
 * projection.
 */
import type { AuditSummary } from '../../core/audit';
import { bytesToUsd } from '../../core/cost';
import type { ReconcileResult } from '../../core/execute/reconcile';
import type { ColumnAuditSummary } from '../../core/naming/columns';
import type { RunSummary } from '../../core/report/summary';
import type { PairExtraction } from '../readiness/types';

export interface RunPhase {
  readonly mode: string;
  readonly status: string;
  readonly operations: number;
  /** action → outcome → operations. */
  readonly byAction: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly byOutcome: Readonly<Record<string, number>>;
  readonly checks: number;
  readonly passed: number;
  readonly bytes: number;
  readonly costUsd: number;
  readonly estimatedBytes: number;
  readonly estimatedCostUsd: number;
  readonly seconds: number;
  readonly halt: string | null;
  readonly refusal: string | null;
}

export interface MeasuredCompliance {
  readonly tables: number;
  readonly compliant: number;
  readonly nonCompliant: number;
  readonly views: number;
}

export interface RunView {
  readonly finishedAt: string;
  readonly seconds: number;
  readonly outcome: string;
  readonly steps: readonly { readonly name: string; readonly seconds: number; readonly line: string }[];
  readonly paper: RunPhase | null;
  readonly apply: RunPhase | null;
  /** Why apply did not run, when it did not. */
  readonly applySkipped: string | null;
  readonly verify: RunPhase | null;
  readonly reconcile: Readonly<Record<string, number>> | null;
  readonly compliance: { readonly before: MeasuredCompliance; readonly after: MeasuredCompliance };
  readonly columns: { readonly before: ColumnAuditSummary; readonly after: ColumnAuditSummary };
  readonly extraction: { readonly pair: string; readonly pairs: readonly PairExtraction[]; readonly manifests: string | null } | null;
  readonly budgetUsd: number;
  /** Report files of the folder (relative names), linked from the page. */
  readonly links: readonly string[];
  /** The directive's readiness documents, relative to the page. */
  readonly documents: readonly string[];
}

export function runPhase(s: RunSummary, pricePerTiBUsd: number): RunPhase {
  const byAction: Record<string, Record<string, number>> = {};
  for (const r of s.results) {
    const a = (byAction[r.action] ??= {});
    a[r.outcome] = (a[r.outcome] ?? 0) + 1;
  }
  return {
    mode: s.mode,
    status: s.status,
    operations: s.operations,
    byAction,
    byOutcome: { ...s.byOutcome },
    checks: s.validation.checks,
    passed: s.validation.passed,
    bytes: s.bytesProcessed,
    costUsd: bytesToUsd(s.bytesProcessed, pricePerTiBUsd),
    estimatedBytes: s.estimatedBytes,
    estimatedCostUsd: s.estimatedCostUsd,
    seconds: s.durationSeconds,
    halt: s.halt ? `after batch ${s.halt.batch}: ${s.halt.why}` : null,
    refusal: s.refusal ? `${s.refusal.code}: ${s.refusal.message}` : null,
  };
}

export function measured(a: AuditSummary): MeasuredCompliance {
  return { tables: a.tables, compliant: a.compliant, nonCompliant: a.nonCompliant, views: a.views };
}

export function reconcileCounts(r: ReconcileResult): Record<string, number> {
  return { ...r.counts };
}
