import type { TableInfo } from '../catalogue';
import type { TerminalOutcome } from '../ledger/types';
import type { CompatibilityView, Plan } from '../plan/types';
import type { Policy } from '../policy';
import type { Progress } from '../report/progress';
import type { StatementPreview } from '../report/summary';
import type { Engine } from '../ports/engine';
import type { PlanHistory } from './history';
import type { RunLock } from './lock';
import type { WarehouseState } from './warehouse-state';

export interface ApplyOptions {
  readonly mode: 'paper' | 'real';
  /** The plan hash a person approved (needed when any pending operation drops a table). */
  readonly approve?: string;
  readonly budgetUsd?: number;
  /** Only the first N pending operations (seq order) run; the rest are left for later runs. */
  readonly maxOperations?: number;
  /** How the plan is named in messages and hints (its file path). */
  readonly planSource?: string;
  readonly progress?: Progress;
  readonly now?: () => Date;
  /**
   * Aborted (a signal): no operation starts after it, an operation in flight stops at its next
   * step boundary (recorded FAILED/INTERRUPTED, resumed by the next run), the batch is validated.
   */
  readonly signal?: AbortSignal;
}

/** Everything one apply run knows and accumulates while it carries out the plan. */
export interface RunContext {
  readonly engine: Engine;
  readonly plan: Plan;
  readonly policy: Policy;
  readonly opts: ApplyOptions;
  readonly paper: boolean;
  readonly runId: string;
  readonly clock: () => Date;
  readonly history: PlanHistory;
  readonly state: WarehouseState;
  readonly lock: RunLock | null;
  readonly selected: ReadonlySet<string>;
  readonly bytesOf: Map<string, number>;
  readonly viewsOf: ReadonlyMap<string, CompatibilityView[]>;
  readonly statementsOf: Map<string, StatementPreview[]>;
  readonly budgetUsd: number;
  readonly datasetExpirationMs: number | null;
  readonly outcomes: Map<string, { outcome: TerminalOutcome; reason: string }>;
  /** Sources as this run found them before changing them (validation compares against them). */
  readonly before: Map<string, TableInfo>;
  committedUsd: number;
  halted: boolean;
  fatal: unknown;
  /**
   * Operations now run inside one transaction of the whole batch (Engine.atomicBatch): one that
   * fails throws BatchAborted instead of recording its failure, and no lease renewal is written
   * from inside (a rolled-back renewal would lose the lease).
   */
  inBatchTransaction: boolean;
}

/** What a run has done so far, as it stands before its first operation. */
export function freshRunProgress(): Pick<RunContext, 'outcomes' | 'before' | 'committedUsd' | 'halted' | 'fatal' | 'inBatchTransaction'> {
  return { outcomes: new Map(), before: new Map(), committedUsd: 0, halted: false, fatal: null, inBatchTransaction: false };
}
