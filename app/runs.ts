/**
 * The executor's verbs as the CLI and the main job call them: load the policy and the plan, open
 * the engine, run core's verb, and leave the evidence (Markdown/JSON report, metrics textfile, the
 * structured log line the alerts match). A refused run leaves its evidence too.
 */
import type { BqxError } from '../core/errors';
import { applyPlan, type ApplyOptions } from '../core/execute/apply';
import { lockNameFor, unlock, type LockState } from '../core/execute/lock';
import { newRunId } from '../core/execute/ids';
import { reconcilePlan, type ReconcileResult } from '../core/execute/reconcile';
import { rollbackPlan } from '../core/execute/rollback';
import { RunRefused } from '../core/execute/run-common';
import { summaryOfFailedRun } from '../core/execute/run-shell';
import { verifyPlan } from '../core/execute/verify';
import { firstActionableSource, requirePermissions } from '../core/execute/permissions';
import { loadPlanFile } from '../core/plan/load';
import { loadPolicy, type Policy } from '../core/policy';
import type { Progress } from '../core/report/progress';
import type { RunSummary } from '../core/report/summary';
import { runnerRequiredPermissions, withEngine } from './engine';
import type { RunnerVerb } from '../config/runner-permissions';
import type { Engine, EngineOptions, RequiredPermission } from '../core/ports/engine';
import type { Plan } from '../core/plan/types';
import { writeEvidence, type EvidenceFiles } from './report/evidence';
import { writeReconcileReports } from './report/render';
import { logRunEnd } from './report/runner-log';
import { ensureWritableDir, ensureWritableFile } from './output-paths';
import { interruptOnSignals } from './signals';
import { projectionLine, realSizeProjection } from './readiness/projection';

/**
 * The permission preflight of a verb that touches the warehouse: refused (PERMISSION_MISSING,
 * nothing changed) when the runner lacks a permission of the verb's share of the table; engines
 * that cannot ask (DuckDB) are not asked. `required` defaults to the table's (tests pass others).
 */
export function verbPreflight(engine: Engine, verb: Exclude<RunnerVerb, 'apply'>, plan: Plan | null, required: readonly RequiredPermission[] = runnerRequiredPermissions(verb)): Promise<string[]> {
  return requirePermissions(engine, required, verb, plan ? firstActionableSource(plan) : undefined);
}

/** `bqx unlock` on an open engine (after its preflight). */
export async function unlockWith(engine: Engine, opts: { clearFreeze: boolean; force: boolean; now?: Date }): Promise<UnlockResult> {
  await engine.ledger.init();
  const lockName = lockNameFor(engine.where.dataset);
  const r = await unlock(engine.ledger, lockName, { clearFreeze: opts.clearFreeze, force: opts.force, runId: newRunId(), ...(opts.now ? { now: opts.now } : {}) });
  return { lock: lockName, holder: r.before.holder, frozen: r.before.frozen, actions: r.actions };
}

export interface EvidenceOptions {
  readonly reportsDir: string;
  readonly metricsFile: string;
}

export interface RunVerbResult {
  readonly summary: RunSummary;
  readonly files: EvidenceFiles;
  /** Set when the run was refused before any change (its evidence is written all the same). */
  readonly refusal: BqxError | null;
}

/** Where the evidence goes must be writable before the run starts (nothing is changed otherwise). */
export function checkEvidencePaths(evidence: EvidenceOptions): void {
  ensureWritableDir(evidence.reportsDir, 'reports directory', { create: false });
  ensureWritableFile(evidence.metricsFile, 'metrics file', { create: false });
}

async function evidenceOf(summary: RunSummary, evidence: EvidenceOptions): Promise<EvidenceFiles> {
  logRunEnd(summary);
  return writeEvidence(summary, evidence);
}

/** Runs a core verb; a refusal becomes a result with its evidence, anything else propagates. */
async function evidenced(evidence: EvidenceOptions, run: () => Promise<RunSummary>): Promise<RunVerbResult> {
  try {
    const summary = await run();
    return { summary, files: await evidenceOf(summary, evidence), refusal: null };
  } catch (e) {
    if (e instanceof RunRefused) return { summary: e.summary, files: await evidenceOf(e.summary, evidence), refusal: e };
    // A run that stopped on an error still leaves its report (what it did before it stopped).
    const failed = summaryOfFailedRun(e);
    if (failed) await evidenceOf(failed, evidence).catch(() => undefined);
    throw e;
  }
}

export interface ApplyInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly policyFile?: string;
  readonly evidence: EvidenceOptions;
  readonly mode: ApplyOptions['mode'];
  readonly approve?: string;
  readonly budgetUsd?: number;
  readonly maxOperations?: number;
  readonly progress?: Progress;
  /** The command line that re-runs this run (printed when a signal interrupts it). */
  readonly resumeCommand?: string;
  /** A CLI process: after the run, signals no longer kill it before its result is printed. */
  readonly holdSignalsAfterRun?: boolean;
}

/**
 * Runs `f` with SIGINT/SIGTERM turned into a stop at the next safe point; `holdAfterRun` (the CLI):
 * a signal after that no longer kills the process before its result is printed.
 */
async function interruptible<T>(what: string, holdAfterRun: boolean | undefined, f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = interruptOnSignals(what, process.stderr, { holdAfterRun });
  try {
    return await f(stop.signal);
  } finally {
    stop.dispose();
  }
}

function noteResume(summary: RunSummary, command: string | undefined): RunSummary {
  if (summary.interruption && command) summary.warnings.push(`interrupted at a safe point: resume with \`${command}\``);
  return summary;
}

/**
 * A paper run on the embedded warehouse also says what the same plan would read and take at the
 * real feature store's size (labelled PROJECTED; null on BigQuery, whose figures are real).
 */
export async function runApply(input: ApplyInput): Promise<RunVerbResult & { projection: string | null }> {
  const policy = loadPolicy(input.policyFile);
  const plan = loadPlanFile(input.planFile);
  checkEvidencePaths(input.evidence);
  const projection = input.mode === 'paper' && input.engine.engine !== 'bigquery' ? projectionLine(realSizeProjection(plan, policy)) : null;
  return { ...(await applyOn(input, plan, policy)), projection };
}

function applyOn(input: ApplyInput, plan: Plan, policy: Policy): Promise<RunVerbResult> {
  return interruptible(input.mode === 'paper' ? 'the paper run' : 'the apply', input.holdSignalsAfterRun, (signal) =>
    withEngine(input.engine, (engine) =>
      evidenced(input.evidence, async () => {
        const opts = {
          mode: input.mode,
          approve: input.approve,
          budgetUsd: input.budgetUsd,
          maxOperations: input.maxOperations,
          planSource: input.planFile,
          progress: input.progress,
          signal,
          requiredPermissions: runnerRequiredPermissions('apply'),
        };
        return noteResume((await applyPlan(engine, plan, policy, opts)).summary, input.resumeCommand);
      }),
    ),
  );
}

export interface RollbackInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly policyFile?: string;
  readonly evidence: EvidenceOptions;
  readonly approve?: string;
  readonly progress?: Progress;
  readonly resumeCommand?: string;
  readonly holdSignalsAfterRun?: boolean;
}

export async function runRollback(input: RollbackInput): Promise<RunVerbResult & { restoredExactly: boolean | null }> {
  const policy = loadPolicy(input.policyFile);
  const plan = loadPlanFile(input.planFile);
  checkEvidencePaths(input.evidence);
  let restoredExactly: boolean | null = null;
  const r = await interruptible('the rollback', input.holdSignalsAfterRun, (signal) =>
    withEngine(input.engine, async (engine) => {
      // Refused before anything changes when the runner lacks what the rollback needs.
      await verbPreflight(engine, 'rollback', plan);
      return evidenced(input.evidence, async () => {
        const out = await rollbackPlan(engine, plan, policy, { approve: input.approve, planSource: input.planFile, progress: input.progress, signal });
        restoredExactly = out.restoredExactly;
        return noteResume(out.summary, input.resumeCommand);
      });
    }),
  );
  return { ...r, restoredExactly };
}

export interface VerifyInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly evidence: EvidenceOptions;
}

export async function runVerify(input: VerifyInput): Promise<RunVerbResult> {
  const plan = loadPlanFile(input.planFile);
  checkEvidencePaths(input.evidence);
  // A read verb: the warehouse is opened read-only and nothing is written to it (its record is the report).
  return withEngine({ ...input.engine, readOnly: true }, async (engine) => {
    await verbPreflight(engine, 'verify', plan);
    return evidenced(input.evidence, async () => (await verifyPlan(engine, plan, { planSource: input.planFile })).summary);
  });
}

export interface ReconcileInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly reportsDir: string;
}

export async function runReconcile(input: ReconcileInput): Promise<{ result: ReconcileResult; files: { markdown: string; json: string } }> {
  const plan = loadPlanFile(input.planFile);
  ensureWritableDir(input.reportsDir, 'reports directory', { create: false });
  return withEngine({ ...input.engine, readOnly: true }, async (engine) => {
    await verbPreflight(engine, 'reconcile', plan);
    const result = await reconcilePlan(engine, plan, { planSource: input.planFile });
    return { result, files: writeReconcileReports(input.reportsDir, result) };
  });
}

export interface UnlockResult {
  readonly lock: string;
  readonly holder: LockState['holder'];
  readonly frozen: LockState['frozen'];
  readonly actions: string[];
}

export async function runUnlock(input: { engine: EngineOptions; clearFreeze: boolean; force: boolean }): Promise<UnlockResult> {
  return withEngine(input.engine, async (engine) => {
    await verbPreflight(engine, 'unlock', null);
    return unlockWith(engine, { clearFreeze: input.clearFreeze, force: input.force });
  });
}
