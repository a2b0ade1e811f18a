/** Outcomes form a closed set; every plan entry ends with exactly one terminal outcome per run. */
export const TERMINAL_OUTCOMES = ['APPLIED', 'SKIPPED_ALREADY_APPLIED', 'SKIPPED', 'REJECTED', 'FAILED', 'ROLLED_BACK', 'PAPER'] as const;
export type TerminalOutcome = (typeof TERMINAL_OUTCOMES)[number];
/** Non-terminal records: an attempt began, or one step of it finished. */
export type ProgressState = 'STARTED' | 'STEP_DONE';
export type LedgerState = TerminalOutcome | ProgressState;

export interface LedgerRecord {
  readonly runId: string;
  readonly planHash: string;
  readonly operationId: string;
  readonly seq: number;
  readonly action: string;
  readonly state: LedgerState;
  /** Reason code (closed enum, see core/execute/reasons.ts) or step name for STEP_DONE. */
  readonly reason: string;
  readonly detail: string | null;
  readonly attempt: number;
  readonly bytes: number;
  readonly rows: number | null;
  readonly jobId: string | null;
  /** ISO-8601 UTC. */
  readonly at: string;
}

export type RunMode = 'apply' | 'paper' | 'rollback' | 'verify' | 'reconcile';

export interface RunRecord {
  readonly runId: string;
  readonly planHash: string;
  readonly mode: RunMode;
  readonly event: 'START' | 'END';
  readonly status: string | null;
  /** JSON text of the run summary on END. */
  readonly summary: string | null;
  readonly at: string;
}

export type LockEventKind = 'ACQUIRE' | 'RENEW' | 'RELEASE' | 'TAKEOVER' | 'FREEZE' | 'CLEAR';

export interface LockEvent {
  readonly lockName: string;
  /** Strictly increasing per lock; a conditional append succeeds only on head + 1. */
  readonly seq: number;
  readonly event: LockEventKind;
  readonly runId: string;
  /** host:pid of the holder. */
  readonly holder: string;
  readonly expiresAt: string;
  readonly detail: string | null;
  readonly at: string;
}

/**
 * Which records a reader needs (core/execute/history.ts decides). An engine narrows its read by it
 * where that is cheap, and may return more (the reader skips them), never fewer.
 */
export interface RecordFilter {
  /** Only records of runs whose START has one of these modes. */
  readonly runModes?: readonly RunMode[];
  /** Leave out records of operations with these actions. */
  readonly exceptActions?: readonly string[];
}

/**
 * Append-only storage for the ledger, run records and lock events, kept in the warehouse itself
 * (a schema/dataset of the runner's own). Engines implement it; nothing is ever updated in place.
 */
export interface LedgerStore {
  /** Creates the runner's dataset and tables if absent. */
  init(): Promise<void>;
  /**
   * Optional, instead of `init`: the same creation in two stages. `lockReady` resolves once the
   * lock's own table exists (the run shell claims the lock then, while the other tables are still
   * being created); `done` once every table does, as `init`.
   */
  initStaged?(): { readonly lockReady: Promise<void>; readonly done: Promise<void> };
  /**
   * Appends records. An engine may write them behind (DuckDB with its next step, BigQuery in
   * coalesced INSERT jobs): a failed write is then thrown by a later call, at the latest `flush`.
   */
  append(records: readonly LedgerRecord[]): Promise<void>;
  /** Resolves when every appended record is durable; throws if one could not be written. */
  flush(): Promise<void>;
  /**
   * Called before a destructive step (a drop): resolves when every record appended so far is
   * durable, or will commit atomically with the next step (DuckDB writes pending records in the
   * step's own transaction). A backup's record therefore never trails the drop that relies on it.
   */
  settle(): Promise<void>;
  /**
   * Reads (records, runs, lockEvents) work before `init` and return nothing when the runner's
   * dataset or tables do not exist yet: a run refused before its first write creates nothing.
   */
  records(planHash?: string, filter?: RecordFilter): Promise<LedgerRecord[]>;
  appendRun(record: RunRecord): Promise<void>;
  runs(planHash?: string): Promise<RunRecord[]>;
  lockEvents(lockName: string): Promise<LockEvent[]>;
  /** Appends `event` only if the lock's newest seq is `event.seq - 1`; false when someone else won. */
  appendLockIf(event: LockEvent): Promise<boolean>;
}
