import { EXIT } from '../errors';
import type { RunRecord } from '../ledger/types';
import { validatePlan } from '../plan/load';
import type { Plan } from '../plan/types';
import type { Policy } from '../policy';
import { silentProgress } from '../report/progress';
import { compactSummary, finishSummary, newSummary, type StatementPreview } from '../report/summary';
import type { Engine } from '../../engines/engine';
import { batchesOf, executeBatch, runBatch, validateBatch } from './batch';
import type { ApplyOptions, RunContext } from './context';
import { historyOf, readHistory } from './history';
import { newRunId } from './ids';
import { foldLock, haltsSinceClear, HALTS_BEFORE_FREEZE, lockNameFor, RunLock } from './lock';
import { checkApproval, checkBudget, checkCatalogue, checkExpiration, dollars, previewSteps, type Finding } from './preflight';
import { ACTIONABLE, appendRun, checkPlanDataset, guarded, RunRefused, type RunResult } from './run-common';
import { stepsFor, viewsByOperation } from './steps';
import { SimulatedState, TrackedState } from './warehouse-state';

export type { ApplyOptions } from './context';
export { ACTIONABLE, appendRun, checkPlanDataset, guarded, LedgerUnwritable, RunRefused } from './run-common';

export type ApplyResult = RunResult;

/**
 * Carries out a plan: paper (a simulated catalogue, nothing changes) or real (lock, preflight
 * refusals, per-operation gates, steps recorded in the ledger, validation after every batch).
 */
export async function applyPlan(engine: Engine, planInput: Plan | unknown, policy: Policy, opts: ApplyOptions): Promise<ApplyResult> {
  const planSource = opts.planSource ?? 'plan';
  const plan = validatePlan(planInput, planSource);
  checkPlanDataset(plan, engine, planSource);
  const clock = opts.now ?? (() => new Date());
  const paper = opts.mode === 'paper';
  const exec = policy.doc.execution;
  const runId = newRunId(clock());
  const progress = opts.progress ?? silentProgress;
  const summary = newSummary({ runId, planHash: plan.planHash, mode: paper ? 'paper' : 'apply', engine: engine.kind, dataset: engine.where.dataset, startedAt: clock() });
  await guarded(() => engine.ledger.init());

  const lockName = lockNameFor(engine.where.dataset);
  const lock = paper ? null : (await RunLock.acquire({ store: engine.ledger, lockName, runId, ttlSeconds: exec.lockTtlSeconds, now: clock })).lock;
  if (lock && engine.maxParallelOperations > 1) lock.startHeartbeat();
  const run = (event: 'START' | 'END', status: string | null, s: string | null): RunRecord => ({ runId, planHash: plan.planHash, mode: summary.mode, event, status, summary: s, at: clock().toISOString() });
  try {
    await appendRun(engine.ledger, run('START', null, null));
    const history = await readHistory(engine.ledger, plan.planHash);
    const ordered = [...plan.operations].sort((a, b) => a.seq - b.seq);
    const pendingOps = ordered.filter((o) => ACTIONABLE.has(o.action) && !historyOf(history, o.id).applied);
    const chosen = opts.maxOperations !== undefined ? pendingOps.slice(0, Math.max(0, opts.maxOperations)) : pendingOps;
    const tables = await engine.listTables();
    const dataset = await engine.datasetInfo();
    const views = viewsByOperation(plan);
    const bytesOf = new Map<string, number>();
    const statementsOf = new Map<string, StatementPreview[]>();
    for (const op of paper ? ordered.filter((o) => ACTIONABLE.has(o.action)) : chosen) {
      const p = await previewSteps(engine, stepsFor(op, views.get(op.id) ?? [], historyOf(history, op.id).attempts + 1), exec.pricePerTiBUsd, op.estimatedBytes, paper);
      bytesOf.set(op.id, p.bytes);
      if (paper) statementsOf.set(op.id, p.statements);
    }
    summary.estimatedBytes = chosen.reduce((n, o) => n + (bytesOf.get(o.id) ?? 0), 0);
    summary.estimatedCostUsd = dollars(summary.estimatedBytes, exec.pricePerTiBUsd);
    const budgetUsd = opts.budgetUsd ?? exec.budgetUsd;

    const findings = [
      history.touched ? null : checkCatalogue(plan, tables, planSource),
      checkApproval(plan, chosen, opts.approve, planSource),
      checkBudget(chosen, bytesOf, budgetUsd, exec.pricePerTiBUsd, planSource),
      checkExpiration(dataset.defaultTableExpirationMs, engine.where.dataset, chosen.length),
    ].filter((f): f is Finding => f !== null);
    if (findings.length && !paper) {
      const f = findings[0];
      summary.status = 'REFUSED';
      summary.refusal = { code: f.code, message: f.message, hint: f.hint };
      summary.warnings.push(...findings.slice(1).map((x) => x.message));
      finishSummary(summary, clock());
      await appendRun(engine.ledger, run('END', 'REFUSED', compactSummary(summary)));
      throw new RunRefused(f, summary);
    }
    summary.warnings.push(...findings.map((f) => `preflight (${f.code}): ${f.message}`));

    const ctx: RunContext = {
      engine,
      plan,
      policy,
      opts,
      paper,
      runId,
      clock,
      history,
      state: paper ? new SimulatedState(engine, tables) : new TrackedState(engine, tables),
      lock,
      selected: new Set(chosen.map((o) => o.id)),
      bytesOf,
      viewsOf: views,
      statementsOf,
      budgetUsd,
      datasetExpirationMs: dataset.defaultTableExpirationMs,
      outcomes: new Map(),
      before: new Map(),
      committedUsd: 0,
      halted: false,
      fatal: null,
    };
    const total = { done: 0, of: ordered.length };
    // On an engine that runs operations in parallel, a batch's validation overlaps the next batch's
    // operations (the engine's own queue would otherwise idle at every batch boundary). At most one
    // batch is ever unvalidated: a halt found in batch N stops batch N+1 from starting any more
    // operations (those it started finish and are validated), and batch N+2 never starts. A
    // serial engine (DuckDB) validates each batch before the next starts.
    const pipelined = !paper && engine.maxParallelOperations > 1;
    let validating: Promise<void> | null = null;
    for (const [batch, ops] of batchesOf(plan)) {
      if (!pipelined) {
        await runBatch(ctx, batch, ops, summary, progress, total);
        continue;
      }
      const executed = await executeBatch(ctx, batch, ops, summary, progress, total);
      if (validating) await validating;
      validating = validateBatch(ctx, executed, summary);
      validating.catch(() => undefined); // awaited below or in the next round; never unhandled
    }
    if (validating) await validating;
    progress.done();

    const failedOps = summary.byOutcome.FAILED ?? 0;
    const rejected = summary.byOutcome.REJECTED ?? 0;
    summary.status = ctx.halted ? 'HALTED' : lock?.lost ? 'LOCK_LOST' : failedOps || rejected ? 'INCOMPLETE' : 'OK';
    finishSummary(summary, clock());
    await appendRun(engine.ledger, run('END', summary.status, compactSummary(summary)));
    if (ctx.halted && lock) {
      const state = foldLock(await engine.ledger.lockEvents(lockName));
      const halts = haltsSinceClear(await engine.ledger.runs(), state.clearedAt);
      if (halts >= HALTS_BEFORE_FREEZE) {
        await lock.freeze(`${halts} validation halts since the last clear; last: run ${runId}, batch ${summary.halt?.batch}: ${summary.halt?.why}`);
        summary.warnings.push(`the runner is now frozen after ${halts} halts; a person must run \`bqx unlock --clear-freeze\``);
      }
    }
    const exitCode = paper
      ? EXIT.OK
      : ctx.halted
        ? EXIT.HALTED
        : failedOps || lock?.lost
          ? EXIT.FAILURE
          : rejected
            ? EXIT.REFUSED
            : EXIT.OK;
    return { summary, exitCode };
  } catch (e) {
    if (!(e instanceof RunRefused) && summary.status !== 'REFUSED') {
      summary.status = 'FAILED';
      finishSummary(summary, clock());
      await engine.ledger.appendRun(run('END', 'FAILED', compactSummary(summary))).catch(() => undefined);
    }
    throw e;
  } finally {
    await lock?.release().catch(() => undefined);
  }
}
