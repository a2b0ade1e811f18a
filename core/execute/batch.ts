import PQueue from 'p-queue';
import type { LedgerRecord } from '../ledger/types';
import { isActionable, type Plan, type PlanOperation } from '../plan/types';
import type { Progress } from '../report/progress';
import { recordChecks, recordResult, type OperationResult, type RunSummary } from '../report/summary';
import type { RunContext } from './context';
import { historyOf } from './history';
import { BatchAborted, record, runOperation } from './operation';
import { TrackedState } from './warehouse-state';
import { paperChecks } from './paper-validate';
import { guarded } from './run-common';
import { prefetched, scoreChecks, validateOperation, validationReads, type ValidationCheck } from './validate';

export function batchesOf(plan: Plan): [number, PlanOperation[]][] {
  const m = new Map<number, PlanOperation[]>();
  for (const op of [...plan.operations].sort((a, b) => a.seq - b.seq)) {
    const list = m.get(op.batch) ?? [];
    list.push(op);
    m.set(op.batch, list);
  }
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

/** Records that are not changes (skips, rejections, paper verdicts) are written once per batch. */
function terminalRecord(ctx: RunContext, op: PlanOperation, r: OperationResult): LedgerRecord {
  return record(ctx, op, r.outcome, r.reason, { detail: r.detail, bytes: r.bytes, rows: r.rows });
}

/** What a batch's operations did, waiting to be validated. */
export interface ExecutedBatch {
  readonly batch: number;
  readonly results: OperationResult[];
  readonly checks: ValidationCheck[];
  readonly byId: Map<string, PlanOperation>;
  readonly concurrency: number;
  /**
   * A pipelined batch's records being made durable while it is validated (the validation reads the
   * warehouse, not the ledger): the batch counts as validated only once they are.
   */
  readonly durable?: Promise<void>;
}

/**
 * One queue for the operations of every batch of a pipelined run: an operation of batch N+1
 * takes the first free slot even while batch N's slowest operations still run (a batch no longer
 * waits for its slowest operation before the next one starts). The caller decides when a batch
 * may enter (apply.ts: batch N+2 only after batch N is validated).
 */
export interface SharedQueue {
  readonly queue: PQueue;
  /** Every operation entered so far, by id (dependencies may lie in an earlier batch). */
  readonly running: Map<string, Promise<unknown>>;
  /** The last operation of an earlier batch that touches each table or view name. */
  readonly lastByName: Map<string, Promise<unknown>>;
  /** Every operation entered, to wait for all of them before the run ends. */
  readonly all: Promise<unknown>[];
}

export function sharedQueue(concurrency: number): SharedQueue {
  return { queue: new PQueue({ concurrency: Math.max(1, concurrency) }), running: new Map(), lastByName: new Map(), all: [] };
}

/** Every table or view name an operation reads or changes. */
function namesOf(op: PlanOperation, views: readonly { name: string }[]): string[] {
  const consolidation = op.consolidation?.windows.flatMap((w) => [w.source, ...w.copies]) ?? [];
  return [...new Set([...op.sources, ...(op.target ? [op.target] : []), ...consolidation, ...views.map((v) => v.name)])];
}

/** Executes then validates one batch: the next batch starts only after this one is validated. */
export async function runBatch(ctx: RunContext, batch: number, ops: PlanOperation[], summary: RunSummary, progress: Progress, total: { done: number; of: number }): Promise<void> {
  const executed = !ctx.paper && ctx.engine.atomically && ctx.engine.atomicBatch ? await executeInTransactions(ctx, batch, ops, progress, total) : await executeBatch(ctx, batch, ops, summary, progress, total);
  await validateBatch(ctx, executed, summary);
}

/** Where a batch's operations put what they did. */
interface Collected {
  readonly results: OperationResult[];
  readonly checks: ValidationCheck[];
  readonly progress: Progress;
  readonly total: { done: number; of: number };
}

/** An operation's result, counted; records that are not changes wait in `terminal` for the batch's append. */
function noteResult(ctx: RunContext, op: PlanOperation, r: OperationResult, into: Collected, terminal: LedgerRecord[]): void {
  ctx.outcomes.set(op.id, { outcome: r.outcome, reason: r.reason });
  into.results.push(r);
  if (r.outcome !== 'APPLIED' && r.outcome !== 'FAILED') terminal.push(terminalRecord(ctx, op, r));
  into.total.done += 1;
  into.progress.update(into.total.done, into.total.of, `${r.outcome} ${op.action} ${op.sources[0] ?? ''}`);
}

/**
 * DEDUPE gates compare two fingerprints each: read them for the whole batch in one go where nothing
 * else can change the warehouse before the gates run (no earlier operation still running).
 */
async function primeDedupeGates(ctx: RunContext, ops: readonly PlanOperation[]): Promise<void> {
  const { engine } = ctx;
  if (ctx.paper || !engine.soleWriter || !engine.readMany || !(ctx.state instanceof TrackedState)) return;
  const names = ops.filter((o) => o.action === 'DEDUPE' && ctx.selected.has(o.id) && !historyOf(ctx.history, o.id).applied).flatMap((o) => [o.sources[0], o.target as string]);
  if (names.length) ctx.state.prime((await engine.readMany({ rowCounts: [], fingerprints: names, probes: [] })).fingerprints);
}

/**
 * A serial batch on an engine with batch transactions (DuckDB): its operations, their records and
 * the batch's terminal records commit as one transaction (a commit per batch, not per operation;
 * a crash loses the whole batch, which the next run then does again). An operation that fails
 * inside rolls the transaction back: the operations before it are done again in a transaction of
 * their own, its failure is recorded as when it fails in its own transaction, and the operations
 * after it go on in another: the ledger and the warehouse end as a transaction per operation
 * leaves them.
 */
async function executeInTransactions(ctx: RunContext, batch: number, ops: PlanOperation[], progress: Progress, total: { done: number; of: number }): Promise<ExecutedBatch> {
  await primeDedupeGates(ctx, ops);
  const into: Collected = { results: [], checks: [], progress, total };
  await inOneTransaction(ctx, ops, into);
  // The last failure's record, written after its rollback, is durable before the batch is validated.
  await guarded(() => ctx.engine.ledger.flush());
  into.results.sort((a, b) => a.seq - b.seq);
  return { batch, results: into.results, checks: into.checks, byId: new Map(ops.map((o) => [o.id, o])), concurrency: 1 };
}

async function inOneTransaction(ctx: RunContext, ops: readonly PlanOperation[], into: Collected): Promise<void> {
  if (!ops.length) return;
  const restore = savePoint(ctx, into);
  await ctx.lock?.renewIfDue();
  let failedAt = -1;
  try {
    ctx.inBatchTransaction = true;
    await ctx.engine.atomicBatch!(async () => {
      const terminal: LedgerRecord[] = [];
      for (const [i, op] of ops.entries()) {
        let r: OperationResult;
        try {
          r = await runOperation(ctx, op, into.checks);
        } catch (e) {
          if (e instanceof BatchAborted) failedAt = i;
          throw e;
        }
        noteResult(ctx, op, r, into, terminal);
      }
      await guarded(() => ctx.engine.ledger.append(terminal));
    });
  } catch (e) {
    restore();
    if (!(e instanceof BatchAborted) || failedAt < 0) throw e;
    ctx.inBatchTransaction = false;
    await inOneTransaction(ctx, ops.slice(0, failedAt), into);
    const terminal: LedgerRecord[] = [];
    noteResult(ctx, ops[failedAt], await e.recordFailure(), into, terminal);
    await guarded(() => ctx.engine.ledger.append(terminal));
    await inOneTransaction(ctx, ops.slice(failedAt + 1), into);
  } finally {
    ctx.inBatchTransaction = false;
  }
}

/** What a batch's transaction changes in the run's context, put back by the function returned when it rolls back. */
function savePoint(ctx: RunContext, into: Collected): () => void {
  const outcomes = new Map(ctx.outcomes);
  const before = new Map(ctx.before);
  const { committedUsd } = ctx;
  const [results, checks, done] = [into.results.length, into.checks.length, into.total.done];
  const state = ctx.state instanceof TrackedState ? ctx.state.snapshot() : null;
  const refill = <K, V>(m: Map<K, V>, from: Map<K, V>) => {
    m.clear();
    for (const [k, v] of from) m.set(k, v);
  };
  return () => {
    refill(ctx.outcomes, outcomes);
    refill(ctx.before, before);
    ctx.committedUsd = committedUsd;
    into.results.length = results;
    into.checks.length = checks;
    into.total.done = done;
    state?.();
  };
}

/**
 * Runs a batch's operations (gates, steps, ledger): on a queue of its own, or entered into the run's
 * shared queue (pipelined runs). Resolves when every operation of the batch has finished and every
 * record of the batch is durable. Results are recorded in the summary by `validateBatch`, batch by
 * batch in order.
 */
export async function executeBatch(
  ctx: RunContext,
  batch: number,
  ops: PlanOperation[],
  _summary: RunSummary,
  progress: Progress,
  total: { done: number; of: number },
  shared?: SharedQueue,
  /** Pipelined: the batch's operations read their gates at once but change nothing before this settles. */
  changesAfter?: Promise<unknown>,
): Promise<ExecutedBatch> {
  const { engine } = ctx;
  const concurrency = ctx.paper ? 1 : Math.max(1, engine.maxParallelOperations);
  const own = shared ? null : new PQueue({ concurrency });
  const queue = shared?.queue ?? own!;
  const running = shared?.running ?? new Map<string, Promise<unknown>>();
  if (queue.size === 0 && queue.pending === 0) await primeDedupeGates(ctx, ops);
  const into: Collected = { results: [], checks: [], progress, total };
  const { results, checks } = into;
  const pending: LedgerRecord[] = [];
  const body = async (op: PlanOperation) => {
    for (const dep of op.after ?? []) await running.get(dep)?.catch(() => undefined);
    let r: OperationResult;
    if (ctx.fatal) return;
    try {
      r = await runOperation(ctx, op, checks, changesAfter);
    } catch (e) {
      ctx.fatal ??= e;
      return;
    }
    noteResult(ctx, op, r, into, pending);
  };
  // Across batches, an operation waits for every earlier batch's operation on one of its names: on
  // any one table the operations run in the order they would batch after batch. (Within a batch
  // they run side by side, as always.)
  const enter = (op: PlanOperation): Promise<unknown> => {
    // KEEP and REVIEW change nothing and answer at once: not queued (p-queue takes each task from
    // the head of one array, quadratic in a batch of 33,000 KEEPs at 10x the catalogue).
    if (!isActionable(op.action)) return body(op);
    const earlier = shared ? namesOf(op, ctx.viewsOf.get(op.id) ?? []).map((n) => shared.lastByName.get(n)).filter((p): p is Promise<unknown> => p !== undefined) : [];
    return earlier.length ? Promise.all(earlier.map((p) => p.catch(() => undefined))).then(() => queue.add(() => body(op))) : queue.add(() => body(op));
  };
  const entered: [PlanOperation, Promise<unknown>][] = ops.map((op) => {
    const task = enter(op);
    running.set(op.id, task);
    shared?.all.push(task);
    return [op, task];
  });
  if (shared) for (const [op, task] of entered) if (isActionable(op.action)) for (const n of namesOf(op, ctx.viewsOf.get(op.id) ?? [])) shared.lastByName.set(n, task);
  await Promise.all(entered.map(([, t]) => t.catch(() => undefined)));
  if (own) await own.onIdle();
  // Operations that ended before waiting for `changesAfter` (skipped, already applied) record
  // nothing before it either.
  if (changesAfter) await changesAfter.catch((e) => (ctx.fatal ??= e));
  if (pending.length && !ctx.fatal) await guarded(() => engine.ledger.append(pending)).catch((e) => (ctx.fatal ??= e));
  // Every record of the batch is durable before it counts as validated (serially, before it is
  // validated and the next batch starts; pipelined, while its validation reads run).
  const flush = () => guarded(() => engine.ledger.flush()).catch((e) => {
    ctx.fatal ??= e;
    throw e;
  });
  let durable: Promise<void> | undefined;
  if (!ctx.fatal && shared) {
    durable = flush();
    durable.catch(() => undefined); // awaited by validateBatch
  } else if (!ctx.fatal) await flush().catch(() => undefined);
  if (ctx.fatal) throw ctx.fatal;

  const byId = new Map(ops.map((o) => [o.id, o]));
  results.sort((a, b) => a.seq - b.seq);
  return { batch, results, checks, byId, concurrency, durable };
}

/**
 * The checks of a batch's validation, from reads only: a pipelined run starts them once the batch
 * has executed, while earlier batches' validations are still being recorded.
 */
export async function checkBatch(ctx: RunContext, executed: ExecutedBatch): Promise<ValidationCheck[]> {
  const { engine } = ctx;
  const { results, byId, concurrency } = executed;
  // Reads only, so they run as wide as the operations did; checks keep the operations' order.
  const views = ctx.viewsOf;
  const validation = new PQueue({ concurrency });
  const applied = results.filter((r) => r.outcome === 'APPLIED').map((r) => byId.get(r.operationId)!);
  const reader = await prefetched(engine, applied.map((op) => validationReads(op, views.get(op.id) ?? [])));
  const perOperation = await Promise.all(
    results.map((r) =>
      validation.add(async () => {
        await ctx.lock?.keepAlive();
        const op = byId.get(r.operationId)!;
        if (r.outcome === 'APPLIED') return validateOperation(reader, op, views.get(op.id) ?? [], ctx.before);
        if (ctx.paper && r.reason === 'WOULD_APPLY') return paperChecks(ctx.state, op, views.get(op.id) ?? [], ctx.before);
        return [];
      }),
    ),
  );
  return perOperation.flatMap((list) => list as ValidationCheck[]);
}

/**
 * Validates what a batch did (its checks, read now or already by `checkBatch`), scores it, and
 * halts the run when the score or failures say so. Batches are recorded one at a time, in order.
 */
export async function validateBatch(ctx: RunContext, executed: ExecutedBatch, summary: RunSummary, checked: Promise<ValidationCheck[]> = checkBatch(ctx, executed)): Promise<void> {
  const { policy } = ctx;
  const { batch, results, checks } = executed;
  results.forEach((r) => recordResult(summary, r));
  checks.push(...(await checked));
  await executed.durable;
  const score = scoreChecks(batch, checks, (c) => c.kind === 'rows' || c.kind === 'coverage');
  recordChecks(summary, score, checks);
  const attempted = results.filter((r) => ['APPLIED', 'FAILED', 'REJECTED'].includes(r.outcome));
  const failed = attempted.filter((r) => r.outcome !== 'APPLIED').length;
  const exec = policy.doc.execution;
  const why: string[] = [];
  if (score.lostRows) why.push('rows lost or not covered');
  if (score.schemaChanged) why.push('a schema changed');
  if (score.score < exec.minValidationScore) why.push(`validation score ${score.score.toFixed(3)} < ${exec.minValidationScore}`);
  if (attempted.length && failed / attempted.length >= exec.haltFailureRatio) why.push(`${failed} of ${attempted.length} operations failed (≥ ${exec.haltFailureRatio * 100}%)`);
  if (why.length && !ctx.paper) {
    ctx.halted = true;
    summary.halt = { batch, why: why.join('; ') };
  } else if (why.length) {
    summary.warnings.push(`batch ${batch} would halt a real run: ${why.join('; ')}`);
  }
}
