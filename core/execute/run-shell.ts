import { assertDistinctDatasets, BqxError } from '../errors';
import { failpoint } from '../failpoints';
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
  /** A read verb (verify, reconcile): nothing is written, not the ledger's tables, not START/END; its record is its report. */
  readonly readOnly?: boolean;
}

/** What a run knows before its first write: the validated plan, its identity, and how to refuse. */
export interface PreRun {
  readonly engine: Engine;
  readonly plan: Plan;
  readonly planSource: string;
  readonly runId: string;
  readonly clock: () => Date;
  readonly summary: RunSummary;
  /**
   * Refuses the run. Before the first write (in `preflight`) nothing reaches the warehouse, not
   * even a ledger record; inside the body the refusal is recorded as the run's END.
   */
  refuse(f: Finding, also?: readonly Finding[]): Promise<never>;
}

/** What the body of a run sees: the pre-run, plus the lock it holds. */
export interface Run extends PreRun {
  readonly lock: RunLock | null;
  /**
   * Settles when the run's START record is durable (rejects when it could not be written). A body
   * with `overlapsStart` may read while START is written but changes and records nothing before
   * this settles; for any other body it has settled when the body starts (a read verb writes none).
   */
  readonly started: Promise<void>;
}

/** How a run ended: the ledger's END record (status and summary text) and what the verb returns. */
export interface RunEnd<T> {
  readonly value: T;
  readonly status: string;
  readonly record: string | null;
  /** Runs after END is durable and before the lock is released (e.g. freezing after repeated halts). */
  readonly afterEnd?: () => Promise<void>;
}

export interface RunSpec<P, T> {
  /** Read-only checks before the first write (reads of the catalogue, the ledger, the lock). */
  readonly preflight?: (run: PreRun) => Promise<P>;
  /**
   * Reads under the lock, before the body (e.g. the ledger again: a run that ended between the
   * preflight and the lock counts). They run while START is being written, which they must not
   * depend on; the body starts once both are done.
   */
  readonly underLock?: (run: Run, pre: P) => Promise<P>;
  /**
   * The body starts once the reads under the lock are done, while START may still be written: it
   * waits for `run.started` before its first change or record (apply: its first batches read their
   * gates meanwhile).
   */
  readonly overlapsStart?: boolean;
  readonly body: (run: Run, pre: P) => Promise<RunEnd<T>>;
}

/** The END of a run whose summary is its result. */
export function summaryEnd<T>(run: PreRun, value: T, afterEnd?: () => Promise<void>): RunEnd<T> {
  finishSummary(run.summary, run.clock());
  return { value, status: run.summary.status, record: compactSummary(run.summary), afterEnd };
}

export function checkRunnerDataset(engine: Engine): void {
  assertDistinctDatasets(engine.where);
}

/**
 * The lifecycle every verb that works on a plan shares. Nothing is written until every input is
 * valid and every read-only check passed: validate the plan, its dataset and the runner dataset,
 * run the verb's preflight (reads only; a refusal here leaves the warehouse untouched), probe the
 * lock. Then the first writes: the ledger's tables if absent, the lock, START; the body; END
 * (FAILED when the body throws); the lock is released whatever happens.
 */
export async function withRun<P, T>(engine: Engine, planInput: Plan | unknown, opts: RunShellOptions, spec: RunSpec<P, T>): Promise<T> {
  const planSource = opts.planSource ?? 'plan';
  const plan = validatePlan(planInput, planSource);
  checkPlanDataset(plan, engine, planSource);
  checkRunnerDataset(engine);
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
  /** START as issued (null before): a refusal inside the body writes its END once START is durable. */
  let starting: Promise<void> | null = null;
  let ended = false;
  const refuse = async (f: Finding, also: readonly Finding[] = []): Promise<never> => {
    summary.status = 'REFUSED';
    summary.refusal = { code: f.code, message: f.message, hint: f.hint };
    summary.warnings.push(...also.map((x) => x.message));
    finishSummary(summary, clock());
    if (starting && (await starting.then(() => true, () => false))) {
      await appendRun(engine.ledger, record('END', 'REFUSED', compactSummary(summary)));
      ended = true;
    }
    throw new RunRefused(f, summary);
  };
  const pre: PreRun = { engine, plan, planSource, runId, clock, summary, refuse };

  const lockName = lockNameFor(engine.where.dataset);
  let checked: P;
  // The lock is probed (a read) beside the preflight; a refusal of the preflight still comes first,
  // and a lease that was held when the preflight began is looked at again once it is done.
  const probe = () => RunLock.probe(engine.ledger, lockName, clock());
  const probing = opts.lock ? probe() : null;
  probing?.catch(() => undefined);
  try {
    checked = spec.preflight ? await spec.preflight(pre) : (undefined as P);
    await probing?.catch((e: unknown) => (e instanceof BqxError && e.code === 'LOCK_HELD' ? probe() : Promise.reject(e)));
  } catch (e) {
    if (e instanceof RunRefused) throw e;
    if (e instanceof BqxError && e.kind === 'REFUSED') {
      // A lock refusal (held, frozen) before any write: the run's summary says so too.
      summary.status = 'REFUSED';
      summary.refusal = { code: e.code, message: e.message, hint: e.hint ?? null };
      finishSummary(summary, clock());
      throw new RunRefused({ code: e.code, message: e.message, hint: e.hint, kind: 'REFUSED' }, summary);
    }
    throw e;
  }

  if (opts.readOnly) return readOnlyRun(pre, checked, spec, summary, clock);
  const lock = await initAndLock(engine, opts, lockName, runId, clock);
  if (lock && opts.lock?.heartbeat) lock.startHeartbeat();
  const startWrite = appendRun(engine.ledger, record('START', null, null));
  startWrite.catch(() => undefined); // awaited below
  starting = startWrite;
  const run: Run = { ...pre, lock, started: startWrite };
  try {
    const reading = spec.underLock ? spec.underLock(run, checked) : Promise.resolve(checked);
    const [wrote, read] = await Promise.allSettled([spec.overlapsStart ? Promise.resolve() : startWrite, reading]);
    if (wrote.status === 'rejected') throw wrote.reason;
    if (read.status === 'rejected') {
      await startWrite; // a START that failed is the failure to report
      throw read.reason;
    }
    const end = await spec.body(run, read.value);
    await startWrite; // END never before START
    if (end.afterEnd || !lock) {
      await appendRun(engine.ledger, record('END', end.status, end.record));
    } else {
      // Nothing to do between END and the release: the lock is given back while END is written,
      // once every ledger record is durable. A crash between the two leaves a run without END,
      // which the next run treats as a killed one (its records are all there).
      await guarded(() => engine.ledger.flush());
      const [ending] = await Promise.allSettled([appendRun(engine.ledger, record('END', end.status, end.record)), lock.release().catch(() => undefined)]);
      if (ending.status === 'rejected') throw ending.reason;
    }
    ended = true;
    await failpoint('run.ended');
    await end.afterEnd?.();
    return end.value;
  } catch (e) {
    if (!ended && !(e instanceof RunRefused)) {
      noteFailure(e, summary, clock);
      await startWrite.catch(() => undefined);
      await engine.ledger.appendRun(record('END', 'FAILED', compactSummary(summary))).catch(() => undefined);
    }
    throw e;
  } finally {
    await lock?.release().catch(() => undefined);
  }
}

/**
 * The run's first writes: the runner's tables if absent, then the lock. A store that creates its
 * tables in stages lets the lock be claimed once the lock's own table exists, while the others are
 * still being created; the run goes on (START) only when both are done. A lock claimed while the
 * rest of the creation then fails is released before the failure is thrown.
 */
async function initAndLock(engine: Engine, opts: RunShellOptions, lockName: string, runId: string, clock: () => Date): Promise<RunLock | null> {
  const staged = engine.ledger.initStaged?.();
  const acquire = (ttlSeconds: number) => RunLock.acquire({ store: engine.ledger, lockName, runId, ttlSeconds, now: clock });
  if (!staged || !opts.lock) {
    await guarded(() => staged?.done ?? engine.ledger.init());
    return opts.lock ? (await acquire(opts.lock.ttlSeconds)).lock : null;
  }
  staged.done.catch(() => undefined); // awaited below
  await guarded(() => staged.lockReady);
  const [created, acquired] = await Promise.allSettled([guarded(() => staged.done), acquire(opts.lock.ttlSeconds)]);
  if (created.status === 'rejected') {
    if (acquired.status === 'fulfilled') await acquired.value.lock.release().catch(() => undefined);
    throw created.reason;
  }
  if (acquired.status === 'rejected') throw acquired.reason;
  return acquired.value.lock;
}

/** The body of a read verb: no lock, no ledger writes; a failure still leaves its summary for the report. */
async function readOnlyRun<P, T>(pre: PreRun, checked: P, spec: RunSpec<P, T>, summary: RunSummary, clock: () => Date): Promise<T> {
  try {
    return (await spec.body({ ...pre, lock: null, started: Promise.resolve() }, checked)).value;
  } catch (e) {
    if (!(e instanceof RunRefused)) noteFailure(e, summary, clock);
    throw e;
  }
}

const failedRuns = new WeakMap<object, RunSummary>();

/** The summary of a run an error stopped: FAILED, with why, kept for its report. */
function noteFailure(e: unknown, summary: RunSummary, clock: () => Date): void {
  summary.status = 'FAILED';
  summary.warnings.push(`the run stopped: ${(e as Error)?.message ?? String(e)}`);
  finishSummary(summary, clock());
  if (typeof e === 'object' && e !== null) failedRuns.set(e, summary);
}

/** The summary of the run an error ended (status FAILED), so its report can still be written. */
export function summaryOfFailedRun(e: unknown): RunSummary | null {
  return typeof e === 'object' && e !== null ? (failedRuns.get(e) ?? null) : null;
}

/** Thrown by a body that finds its lock lost mid-run. */
export function lockLost(verb: string, why: string): BqxError {
  return new BqxError('LOCK_LOST', `${verb} lost its lock: ${why}`, `re-run \`bqx ${verb}\`; finished operations are recognised`, 'INCOMPLETE');
}
