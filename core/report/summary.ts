import type { OutcomeKind } from '../errors';
import type { RunMode, TerminalOutcome } from '../ledger/types';
import type { GateVerdict } from '../execute/gates';
import type { BatchScore, ValidationCheck } from '../execute/validate';

/**
 * How a run ended. INCOMPLETE: some operations failed or were refused; INTERRUPTED: a signal
 * stopped it at a safe point; DRIFT: it finished, but the warehouse does not match the plan.
 */
export type RunStatus = 'OK' | 'HALTED' | 'REFUSED' | 'FAILED' | 'LOCK_LOST' | 'INCOMPLETE' | 'INTERRUPTED' | 'DRIFT';

/** One statement as paper mode prints it. */
export interface StatementPreview {
  readonly step: string;
  readonly sql: readonly string[];
  readonly bytes: number | null;
  readonly costUsd: number | null;
}

export interface OperationResult {
  readonly operationId: string;
  readonly seq: number;
  readonly batch: number;
  readonly action: string;
  readonly sources: readonly string[];
  readonly target: string | null;
  readonly outcome: TerminalOutcome;
  readonly reason: string;
  readonly detail: string | null;
  readonly bytes: number;
  readonly rows: number;
  readonly gates?: readonly GateVerdict[];
  readonly statements?: readonly StatementPreview[];
}

export interface RunSummary {
  readonly runId: string;
  readonly planHash: string;
  readonly mode: RunMode;
  readonly engine: string;
  readonly dataset: string;
  status: RunStatus;
  readonly startedAt: string;
  endedAt: string;
  durationSeconds: number;
  operations: number;
  byOutcome: Record<string, number>;
  /** `${outcome}/${reason}` → count. */
  byReason: Record<string, number>;
  rowsProcessed: number;
  bytesProcessed: number;
  estimatedBytes: number;
  estimatedCostUsd: number;
  validation: { checks: number; passed: number; score: number; batches: BatchScore[]; failures: ValidationCheck[] };
  halt: { batch: number; why: string } | null;
  refusal: { code: string; message: string; hint: string | null } | null;
  /** Tables and views that are not as the plan expects them (verify, rollback), one line each. */
  differences: string[];
  /** Set when a signal stopped the run at a safe point. */
  interruption: { reason: string; at: string } | null;
  /** Preflight findings that paper mode reports instead of refusing. */
  warnings: string[];
  results: OperationResult[];
}

export function newSummary(init: { runId: string; planHash: string; mode: RunMode; engine: string; dataset: string; startedAt: Date }): RunSummary {
  return {
    ...init,
    startedAt: init.startedAt.toISOString(),
    status: 'OK',
    endedAt: init.startedAt.toISOString(),
    durationSeconds: 0,
    operations: 0,
    byOutcome: {},
    byReason: {},
    rowsProcessed: 0,
    bytesProcessed: 0,
    estimatedBytes: 0,
    estimatedCostUsd: 0,
    validation: { checks: 0, passed: 0, score: 1, batches: [], failures: [] },
    halt: null,
    refusal: null,
    interruption: null,
    differences: [],
    warnings: [],
    results: [],
  };
}

export function recordResult(s: RunSummary, r: OperationResult): void {
  s.results.push(r);
  s.operations += 1;
  s.byOutcome[r.outcome] = (s.byOutcome[r.outcome] ?? 0) + 1;
  const k = `${r.outcome}/${r.reason}`;
  s.byReason[k] = (s.byReason[k] ?? 0) + 1;
  s.rowsProcessed += r.outcome === 'APPLIED' || r.outcome === 'ROLLED_BACK' ? r.rows : 0;
  s.bytesProcessed += r.bytes;
}

export function recordChecks(s: RunSummary, score: BatchScore, checks: readonly ValidationCheck[]): void {
  s.validation.batches.push(score);
  s.validation.checks += score.checks;
  s.validation.passed += score.passed;
  s.validation.score = s.validation.checks ? s.validation.passed / s.validation.checks : 1;
  s.validation.failures.push(...checks.filter((c) => !c.ok));
}

export function finishSummary(s: RunSummary, endedAt: Date): RunSummary {
  s.endedAt = endedAt.toISOString();
  s.durationSeconds = Math.max(0, (endedAt.getTime() - Date.parse(s.startedAt)) / 1000);
  return s;
}

/** The run record's summary: counts only, so the ledger row stays small. */
export function compactSummary(s: RunSummary): string {
  const { results: _r, validation, ...rest } = s;
  return JSON.stringify({
    ...rest,
    differences: rest.differences.slice(0, 50),
    validation: { checks: validation.checks, passed: validation.passed, score: validation.score, failures: validation.failures.slice(0, 20) },
  });
}

/**
 * What a finished run means for whoever started it. A paper run changes nothing and is OK whatever
 * it found. A run that stopped with some operations applied (or failed half-way) is INCOMPLETE;
 * one whose only non-successes were gate refusals changed nothing and is REFUSED.
 */
export function runOutcome(s: Pick<RunSummary, 'mode' | 'status' | 'byOutcome'>): OutcomeKind {
  if (s.mode === 'paper') return 'OK';
  const changed = (s.byOutcome.APPLIED ?? 0) + (s.byOutcome.FAILED ?? 0) + (s.byOutcome.ROLLED_BACK ?? 0);
  switch (s.status) {
    case 'OK':
      return 'OK';
    case 'HALTED':
      return 'HALTED';
    case 'REFUSED':
      return 'REFUSED';
    case 'INTERRUPTED':
      return 'INTERRUPTED';
    case 'DRIFT':
      return 'DRIFT';
    case 'FAILED':
      return 'FAILURE';
    case 'LOCK_LOST':
      return 'INCOMPLETE';
    case 'INCOMPLETE':
      return changed > 0 ? 'INCOMPLETE' : 'REFUSED';
  }
}
