import { BqxError, type OutcomeKind } from '../errors';
import type { LedgerRecord, LedgerStore, RunRecord, TerminalOutcome } from '../ledger/types';
import type { Plan, PlanOperation } from '../plan/types';
import type { OperationResult, RunSummary } from '../report/summary';
import type { Engine } from '../ports/engine';

/** What every executor verb returns: its summary (its status says how the run ended). */
export interface RunResult {
  readonly summary: RunSummary;
}

/** A refusal before any change; carries the summary so the CLI can still write its report. */
export class RunRefused extends BqxError {
  constructor(
    f: { code: string; message: string; hint?: string; kind: OutcomeKind },
    readonly summary: RunSummary,
  ) {
    super(f.code, f.message, f.hint, f.kind);
  }
}

/** The ledger must take every record; if it cannot, the run stops. */
export class LedgerUnwritable extends BqxError {
  constructor(cause: unknown) {
    const text = (cause as Error)?.message ?? String(cause);
    const code = (cause as NodeJS.ErrnoException)?.code;
    const hint =
      code === 'ENOSPC' || /No space left|ENOSPC|disk is full|out of disk/i.test(text)
        ? 'the disk holding the warehouse (or its .wal file) is full: free space, then re-run the same command; finished work is recognised and skipped'
        : code === 'EACCES' || /permission denied|access denied|accessDenied|403/i.test(text)
          ? 'this identity may not write the runner dataset: grant it (see RUNBOOK, identities), then re-run; finished work is recognised and skipped'
          : 'restore write access to the runner dataset, then re-run: finished work is recognised and skipped';
    super('LEDGER_UNWRITABLE', `the ledger cannot be written (${text.split('\n')[0]}); the run stopped`, hint, 'UNAVAILABLE');
  }
}

export function checkPlanDataset(plan: Plan, engine: Engine, planSource: string): void {
  if (plan.dataset !== engine.where.dataset) {
    throw new BqxError('PLAN_ELSEWHERE', `plan ${planSource} is for dataset ${plan.dataset}, but the engine targets ${engine.where.dataset}`, `pass --dataset ${plan.dataset}, or make a plan for ${engine.where.dataset}`, 'REFUSED');
  }
}

export async function guarded<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw new LedgerUnwritable(e);
  }
}

export async function appendRun(store: LedgerStore, r: RunRecord): Promise<void> {
  await guarded(() => store.appendRun(r));
}

/** One ledger record of an operation attempt, as every run (apply, rollback) writes it. */
export function operationRecord(
  run: { readonly runId: string; readonly planHash: string; readonly at: string },
  op: PlanOperation,
  attempt: number,
  state: LedgerRecord['state'],
  reason: string,
  extra: Partial<LedgerRecord> = {},
): LedgerRecord {
  return {
    runId: run.runId,
    planHash: run.planHash,
    operationId: op.id,
    seq: op.seq,
    action: op.action,
    state,
    reason,
    detail: null,
    attempt,
    bytes: 0,
    rows: null,
    jobId: null,
    at: run.at,
    ...extra,
  };
}

/** An operation's result line in a run summary. */
export function operationResult(op: PlanOperation, outcome: TerminalOutcome, reason: string, detail: string | null, extra: Partial<OperationResult> = {}): OperationResult {
  return { operationId: op.id, seq: op.seq, batch: op.batch, action: op.action, sources: op.sources, target: op.target, outcome, reason, detail, bytes: 0, rows: 0, ...extra };
}
