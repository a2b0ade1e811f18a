import { BqxError } from '../errors';
import type { RunMode, RunRecord } from '../ledger/types';
import { validatePlan } from '../plan/load';
import type { Plan } from '../plan/types';
import type { Engine } from '../ports/engine';
import { compactSummary, finishSummary, newSummary, type RunSummary } from '../report/summary';
import { newRunId } from './ids';
import { lockNameFor, RunLock } from './lock';
import type { Finding } from './preflight';
import { appendRun, checkPlanDataset, guarded, RunRefused } from './run-common';

export interface RunShellOptions {
  readonly mode: RunMode;
  /** How the plan is named in messages and hints (its file path). */
  readonly planSource?: string;
  readonly now?: () => Date;
  /** Hold the runner's lock for the whole run (verbs that change the warehouse); null: no lock. */
  readonly lock: { readonly ttlSeconds: number; readonly heartbeat: boolean } | null;
}

/** What the body of a run sees: the validated plan, its identity and the pieces every run shares. */
export interface Run {
  readonly engine: Engine;
  readonly plan: Plan;
  readonly planSource: string;
  readonly runId: string;
  readonly clock: () => Date;
  readonly summary: RunSummary;
  readonly lock: RunLock | null;
  /** Ends the run as refused (before any change): records END REFUSED and throws RunRefused. */
  refuse(f: Finding, also?: readonly Finding[]): Promise<never>;
}

/** How a run ended: the ledger's END record (status and summary text) and what the verb returns. */
export interface RunEnd<T> {
  readonly value: T;
  readonly status: string;
  readonly record: string | null;
  /** Runs after END is durable and before the lock is released (e.g. freezing after repeated halts). */
  readonly afterEnd?: () => Promise<void>;
}

/** The END of a run whose summary is its result. */
export function summaryEnd<T>(run: Run, value: T, afterEnd?: () => Promise<void>): RunEnd<T> {
  finishSummary(run.summary, run.clock());
  return { value, status: run.summary.status, record: compactSummary(run.summary), afterEnd };
}

/**
 * The lifecycle every verb that works on a plan shares: validate the plan and its dataset, give the
 * run an id and a summary, make sure the ledger exists, take the lock (if the verb changes the
 * warehouse), record START, run the body, record END (FAILED when the body throws), release.
 */
export async function withRun<T>(engine: Engine, planInput: Plan | unknown, opts: RunShellOptions, body: (run: Run) => Promise<RunEnd<T>>): Promise<T> {
  const planSource = opts.planSource ?? 'plan';
  const plan = validatePlan(planInput, planSource);
  checkPlanDataset(plan, engine, planSource);
  const clock = opts.now ?? (() => new Date());
  const runId = newRunId(clock());
  const summary = newSummary({ runId, planHash: plan.planHash, mode: opts.mode, engine: engine.kind, dataset: engine.where.dataset, startedAt: clock() });
  const record = (event: 'START' | 'END', status: string | null, text: string | null): RunRecord => ({
    runId,
    planHash: plan.planHash,
    mode: opts.mode,
    event,
    status,
    summary: text,
    at: clock().toISOString(),
  });
  await guarded(() => engine.ledger.init());
  const lock = opts.lock
    ? (await RunLock.acquire({ store: engine.ledger, lockName: lockNameFor(engine.where.dataset), runId, ttlSeconds: opts.lock.ttlSeconds, now: clock })).lock
    : null;
  if (lock && opts.lock?.heartbeat) lock.startHeartbeat();
  let ended = false;
  const run: Run = {
    engine,
    plan,
    planSource,
    runId,
    clock,
    summary,
    lock,
    async refuse(f, also = []) {
      summary.status = 'REFUSED';
      summary.refusal = { code: f.code, message: f.message, hint: f.hint };
      summary.warnings.push(...also.map((x) => x.message));
      finishSummary(summary, clock());
      await appendRun(engine.ledger, record('END', 'REFUSED', compactSummary(summary)));
      ended = true;
      throw new RunRefused(f, summary);
    },
  };
  try {
    await appendRun(engine.ledger, record('START', null, null));
    const end = await body(run);
    await appendRun(engine.ledger, record('END', end.status, end.record));
    ended = true;
    await end.afterEnd?.();
    return end.value;
  } catch (e) {
    if (!ended && !(e instanceof RunRefused)) {
      summary.status = 'FAILED';
      finishSummary(summary, clock());
      await engine.ledger.appendRun(record('END', 'FAILED', compactSummary(summary))).catch(() => undefined);
    }
    throw e;
  } finally {
    await lock?.release().catch(() => undefined);
  }
}

/** Thrown by a body that finds its lock lost mid-run. */
export function lockLost(verb: string, why: string): BqxError {
  return new BqxError('LOCK_LOST', `${verb} lost its lock: ${why}`, `re-run \`bqx ${verb}\`; finished operations are recognised`, 'FAILURE');
}
