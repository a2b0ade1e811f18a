import PQueue from 'p-queue';
import { BqxError } from '../errors';
import { isActionable, type Plan } from '../plan/types';
import type { Policy } from '../policy';
import { silentProgress } from '../report/progress';
import type { RunSummary, StatementPreview } from '../report/summary';
import type { Engine, RequiredPermission } from '../ports/engine';
import { firstActionableSource, permissionGaps, PERMISSION_HINT } from './permissions';
import { batchesOf, checkBatch, executeBatch, runBatch, sharedQueue, validateBatch } from './batch';
import { freshRunProgress, type ApplyOptions as BaseApplyOptions, type RunContext } from './context';
import { historyOf, planMayHaveChanged, readHistory, type PlanHistory } from './history';
import { foldLock, haltsSinceClear, HALTS_BEFORE_FREEZE, lockNameFor } from './lock';
import { compareWithPlan, describeMismatch } from './reconcile';
import { checkApproval, checkBudget, checkCatalogue, checkExpiration, dollars, previewSteps, type Finding } from './preflight';
import type { RunResult } from './run-common';
import { summaryEnd, withRun } from './run-shell';
import { stepsFor, viewsByOperation } from './steps';
import { SimulatedState, TrackedState } from './warehouse-state';

export { LedgerUnwritable, RunRefused } from './run-common';

export interface ApplyOptions extends BaseApplyOptions {
  /**
   * What the runner must hold (app/ fills it from config/runner-permissions.ts): asked of the engine
   * (`testPermissions`, read-only) before anything else, and a real run is refused with
   * PERMISSION_MISSING when one is missing. Engines that cannot ask (DuckDB) are not asked.
   */
  readonly requiredPermissions?: readonly RequiredPermission[];
}

export type ApplyResult = RunResult;

/**
 * Carries out a plan: paper (a simulated catalogue, nothing changes) or real (lock, preflight
 * refusals, per-operation gates, steps recorded in the ledger, validation after every batch).
 */
export async function applyPlan(engine: Engine, planInput: Plan | unknown, policy: Policy, opts: ApplyOptions): Promise<ApplyResult> {
  const paper = opts.mode === 'paper';
  const exec = policy.doc.execution;
  const lock = paper ? null : { ttlSeconds: exec.lockTtlSeconds, heartbeat: engine.maxParallelOperations > 1 };
  return withRun(engine, planInput, { mode: paper ? 'paper' : 'apply', planSource: opts.planSource, now: opts.now, lock }, {
    // Everything a refusal rests on is read before the run writes anything.
    preflight: async (pre) => {
      const { plan, planSource, summary } = pre;
      // First, before any other read: every permission the run needs, asked without changing anything.
      const gaps = await permissionGaps(engine, opts.requiredPermissions, firstActionableSource(plan));
      if (gaps?.missing.length) {
        const message = `the runner lacks ${gaps.missing.length} permission(s) the run needs: ${gaps.missing.join('; ')}`;
        if (!paper) throw new BqxError('PERMISSION_MISSING', message, PERMISSION_HINT, 'REFUSED');
        summary.warnings.push(`preflight (PERMISSION_MISSING): ${message}`);
      }
      if (gaps?.untested.length) summary.warnings.push(`preflight: permissions not asked before the run (the first batch finds them): ${gaps.untested.join('; ')}`);
      const views = viewsByOperation(plan);
      const ordered = [...plan.operations].sort((a, b) => a.seq - b.seq);
      // Byte estimates are dry runs (reads, changing nothing) that need only the ledger's history:
      // they run while the catalogue is listed, as many at once as the engine runs operations.
      const estimate = async (history: PlanHistory) => {
        const pendingOps = ordered.filter((o) => isActionable(o.action) && !historyOf(history, o.id).applied);
        const chosen = opts.maxOperations !== undefined ? pendingOps.slice(0, Math.max(0, opts.maxOperations)) : pendingOps;
        const bytesOf = new Map<string, number>();
        const statementsOf = new Map<string, StatementPreview[]>();
        const previews = new PQueue({ concurrency: Math.max(1, engine.maxParallelOperations) });
        await Promise.all(
          (paper ? ordered.filter((o) => isActionable(o.action)) : chosen).map((op) =>
            previews.add(async () => {
              const p = await previewSteps(engine, stepsFor(op, views.get(op.id) ?? [], historyOf(history, op.id).attempts + 1), exec.pricePerTiBUsd, op.estimatedBytes, paper);
              bytesOf.set(op.id, p.bytes);
              if (paper) statementsOf.set(op.id, p.statements);
            }),
          ),
        );
        return { chosen, bytesOf, statementsOf };
      };
      // Independent reads at once; a failure is reported in this order whichever came first.
      const historyP = readHistory(engine.ledger, plan.planHash);
      const [historyRead, tablesRead, datasetRead, estimated] = await Promise.allSettled([historyP, engine.listTables(), engine.datasetInfo(), historyP.then(estimate)]);
      const settled = <T>(r: PromiseSettledResult<T>): T => {
        if (r.status === 'rejected') throw r.reason;
        return r.value;
      };
      const history = settled(historyRead);
      const tables = settled(tablesRead);
      const dataset = settled(datasetRead);
      const { chosen, bytesOf, statementsOf } = settled(estimated);
      summary.estimatedBytes = chosen.reduce((n, o) => n + (bytesOf.get(o.id) ?? 0), 0);
      summary.estimatedCostUsd = dollars(summary.estimatedBytes, exec.pricePerTiBUsd);
      const budgetUsd = opts.budgetUsd ?? exec.budgetUsd;
      // Once this plan may have changed the warehouse, its catalogue fingerprint no longer describes
      // it, and each operation's gates and step checks (which read the warehouse) decide, as for
      // any resumed plan.
      const findings = [
        planMayHaveChanged(history) ? null : checkCatalogue(plan, tables, planSource),
        checkApproval(plan, chosen, opts.approve, planSource),
        checkBudget(chosen, bytesOf, budgetUsd, exec.pricePerTiBUsd, planSource),
        checkExpiration(dataset.defaultTableExpirationMs, engine.where.dataset, chosen.length),
      ].filter((f): f is Finding => f !== null);
      if (findings.length && !paper) await pre.refuse(findings[0], findings.slice(1));
      summary.warnings.push(...findings.map((f) => `preflight (${f.code}): ${f.message}`));
      return { ordered, chosen, tables, dataset, views, bytesOf, statementsOf, budgetUsd, history };
    },
    // Read again under the lock (while START is written): a run that finished between the preflight
    // and the lock counts.
    underLock: async (run, pre) => ({ ...pre, history: await readHistory(engine.ledger, run.plan.planHash) }),
    // The first two batches read their gates while START is written; they change nothing before it.
    overlapsStart: true,
    body: async (run, pre) => {
      const { plan, summary, clock, runId } = run;
      const progress = opts.progress ?? silentProgress;
      const history = pre.history;
      const ctx: RunContext = {
        engine,
        plan,
        policy,
        opts,
        paper,
        runId,
        clock,
        history,
        state: paper ? new SimulatedState(engine, pre.tables) : new TrackedState(engine, pre.tables),
        lock: run.lock,
        selected: new Set(pre.chosen.map((o) => o.id)),
        bytesOf: pre.bytesOf,
        viewsOf: pre.views,
        statementsOf: pre.statementsOf,
        budgetUsd: pre.budgetUsd,
        datasetExpirationMs: pre.dataset.defaultTableExpirationMs,
        ...freshRunProgress(),
      };
      const total = { done: 0, of: pre.ordered.length };
      // On an engine that runs operations in parallel, batches flow through one queue: an operation
      // of batch N+1 takes a slot as soon as one is free, while batch N's slowest operations still
      // run (the engine's queue would otherwise idle at every batch boundary), and batch N is
      // validated, once its last operation finished, while N+1 runs (and its records are made
      // durable). Halting is still per batch: batch N+2's operations change nothing before batch N
      // is validated (they enter once N has executed, to read their gates meanwhile), so a halt
      // found in batch N stops batch N+1 from starting any more operations (those it started
      // finish and are validated) and batch N+2 never changes anything. A serial engine (DuckDB)
      // validates each batch before the next starts.
      const pipelined = !paper && engine.maxParallelOperations > 1;
      if (!pipelined) {
        await run.started;
        for (const [batch, ops] of batchesOf(plan)) await runBatch(ctx, batch, ops, summary, progress, total);
      } else {
        const shared = sharedQueue(engine.maxParallelOperations);
        const validated: Promise<void>[] = [];
        const executed: Promise<unknown>[] = [];
        let previous: Promise<void> = Promise.resolve();
        try {
          for (const [i, [batch, ops]] of batchesOf(plan).entries()) {
            // Batch N+2 enters once batch N has executed: its operations read their gates while
            // N is validated, and change nothing before N is (runOperation's `changesAfter`);
            // batches 1 and 2 change nothing before START is durable.
            if (i >= 2) await executed[i - 2];
            const executing = executeBatch(ctx, batch, ops, summary, progress, total, shared, i >= 2 ? validated[i - 2] : run.started);
            executing.catch(() => undefined); // awaited in order below
            executed.push(executing);
            const before = previous;
            // A batch's validation reads start once it has executed; validations are recorded one
            // at a time, in batch order, and a batch's results with them.
            const validation = (async () => {
              const executed = await executing;
              const checked = checkBatch(ctx, executed);
              checked.catch(() => undefined); // awaited by validateBatch
              await before;
              await validateBatch(ctx, executed, summary, checked);
            })();
            validation.catch((e) => (ctx.fatal ??= e)); // a failed validation stops every queued operation
            validated.push(validation);
            previous = validation;
          }
          await previous;
        } finally {
          // Nothing of this run may still be running when the run shell ends (and releases the lock).
          await Promise.allSettled(shared.all);
          await shared.queue.onIdle();
          await Promise.allSettled(validated);
        }
      }
      progress.done();

      const failedOps = summary.byOutcome.FAILED ?? 0;
      const rejected = summary.byOutcome.REJECTED ?? 0;
      const interrupted = !paper && opts.signal?.aborted === true;
      summary.status = ctx.halted ? 'HALTED' : interrupted ? 'INTERRUPTED' : run.lock?.lost ? 'LOCK_LOST' : failedOps || rejected ? 'INCOMPLETE' : 'OK';
      if (interrupted) summary.interruption = { reason: String(opts.signal?.reason ?? 'signal'), at: clock().toISOString() };
      if (!paper && summary.status === 'OK' && (await skippedButGone(engine, plan, summary))) summary.status = 'DRIFT';
      const freezeAfterRepeatedHalts = async () => {
        if (!run.lock) return;
        const lockName = lockNameFor(engine.where.dataset);
        const state = foldLock(await engine.ledger.lockEvents(lockName));
        const halts = haltsSinceClear(await engine.ledger.runs(), state.clearedAt);
        if (halts >= HALTS_BEFORE_FREEZE) {
          await run.lock.freeze(`${halts} validation halts since the last clear; last: run ${runId}, batch ${summary.halt?.batch}: ${summary.halt?.why}`);
          summary.warnings.push(`the runner is now frozen after ${halts} halts; a person must run \`bqx unlock --clear-freeze\``);
        }
      };
      // Only a halted run has something to do between its END and the release of its lock.
      return summaryEnd(run, { summary }, ctx.halted ? freezeAfterRepeatedHalts : undefined);
    },
  });
}

/**
 * Operations skipped because the ledger records them applied must still show in the warehouse: one
 * whose outcome is gone (a view dropped, a rename undone by hand) is drift, named in the summary.
 */
async function skippedButGone(engine: Engine, plan: Plan, summary: RunSummary): Promise<boolean> {
  const skipped = new Set(summary.results.filter((r) => r.outcome === 'SKIPPED_ALREADY_APPLIED').map((r) => r.operationId));
  if (!skipped.size) return false;
  const { entries } = compareWithPlan(plan, (id) => skipped.has(id), await engine.listTables());
  const gone = entries.filter((e) => e.operationId !== null && skipped.has(e.operationId) && (e.status === 'MISSING' || e.status === 'DRIFT'));
  if (!gone.length) return false;
  summary.differences = gone.map(describeMismatch);
  summary.warnings.push(
    `${gone.length} table(s) or view(s) of operations the ledger records as applied are no longer as the apply left them (skipped, not redone): ${summary.differences.slice(0, 10).join('; ')}${gone.length > 10 ? '; …' : ''}; run \`bqx verify\` and \`bqx reconcile\` with this plan to see all of it`,
  );
  return true;
}
