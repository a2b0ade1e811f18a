import type { LedgerRecord, LedgerStore, RecordFilter, RunMode, RunRecord, TerminalOutcome } from '../ledger/types';
import { TERMINAL_OUTCOMES } from '../ledger/types';

/** What the ledger says about one operation, folded over every run of the plan in append order. */
export interface OperationHistory {
  /** Net state: the last of APPLIED / ROLLED_BACK is APPLIED. */
  applied: boolean;
  /** STARTED records in apply runs (the next attempt number is attempts + 1). */
  attempts: number;
  /** The newest apply attempt has no terminal outcome (the run died). */
  open: boolean;
  /** Steps recorded done since the last rollback (`reason|detail`). */
  stepsDone: Set<string>;
  /** Table → the backup its drop relied on (recorded since the last rollback). */
  backups: Map<string, string>;
  lastOutcome: TerminalOutcome | null;
  /** FAILED records of rollback runs: each failed undo gets fresh job ids next time. */
  undoFailures: number;
}

export interface PlanHistory {
  readonly ops: Map<string, OperationHistory>;
  readonly runs: RunRecord[];
  readonly modeOf: Map<string, RunMode>;
  /** Some change of this plan may be in the warehouse (the pre-apply fingerprint check no longer applies). */
  readonly touched: boolean;
}

const TERMINAL = new Set<string>(TERMINAL_OUTCOMES);

export function emptyHistory(): OperationHistory {
  return { applied: false, attempts: 0, open: false, stepsDone: new Set(), backups: new Map(), lastOutcome: null, undoFailures: 0 };
}

export function foldHistory(records: readonly LedgerRecord[], runs: readonly RunRecord[]): PlanHistory {
  const modeOf = new Map(runs.map((r) => [r.runId, r.mode]));
  const ops = new Map<string, OperationHistory>();
  for (const r of records) {
    const mode = modeOf.get(r.runId);
    if (mode !== 'apply' && mode !== 'rollback') continue;
    const h = ops.get(r.operationId) ?? emptyHistory();
    ops.set(r.operationId, h);
    if (mode === 'rollback') {
      if (r.state === 'ROLLED_BACK') {
        h.applied = false;
        h.open = false;
        h.stepsDone = new Set();
        h.backups = new Map();
        h.lastOutcome = 'ROLLED_BACK';
      } else if (r.state === 'FAILED') h.undoFailures += 1;
      continue;
    }
    if (r.state === 'STARTED') {
      h.attempts += 1;
      h.open = true;
    } else if (r.state === 'STEP_DONE') {
      h.stepsDone.add(`${r.reason}|${r.detail ?? ''}`);
      if (r.reason === 'BACKUP_TABLE' && r.detail) {
        const [table, backup] = r.detail.split('>');
        h.backups.set(table, backup);
      }
    } else if (TERMINAL.has(r.state)) {
      h.open = false;
      h.lastOutcome = r.state as TerminalOutcome;
      if (r.state === 'APPLIED') h.applied = true;
    }
  }
  const touched = [...ops.values()].some((h) => h.applied || h.open || h.stepsDone.size > 0);
  return { ops, runs: [...runs], modeOf, touched };
}

/**
 * Whether the warehouse may hold changes of this plan, so that the plan's catalogue fingerprint no
 * longer describes it: an operation recorded as applied or begun, or an apply run of this plan that
 * never ended (killed). Its records are written behind its steps and a crash can take them all; a
 * run that ended wrote every record before its END (appendRun settles the ledger first).
 */
export function planMayHaveChanged(history: PlanHistory): boolean {
  const ended = new Set(history.runs.filter((r) => r.event === 'END').map((r) => r.runId));
  return history.touched || history.runs.some((r) => r.mode === 'apply' && r.event === 'START' && !ended.has(r.runId));
}

/**
 * What `foldHistory` reads: records of apply and rollback runs (it skips every other run's), and
 * not those of KEEP operations, which never start: their outcomes (NOTHING_TO_DO in every paper run
 * and apply) are most of a plan's ledger, and grew every read by ~7,000 rows per `npm start`.
 */
export const HISTORY_RECORDS: RecordFilter = { runModes: ['apply', 'rollback'], exceptActions: ['KEEP'] };

export async function readHistory(store: LedgerStore, planHash: string): Promise<PlanHistory> {
  const [records, runs] = await Promise.all([store.records(planHash, HISTORY_RECORDS), store.runs(planHash)]);
  return foldHistory(records, runs);
}

export function historyOf(h: PlanHistory, opId: string): OperationHistory {
  return h.ops.get(opId) ?? emptyHistory();
}
