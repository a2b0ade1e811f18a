/**
 * The main job on the embedded warehouse (`npm start`): seed if absent, audit (tables and columns),
 * plan, synthesize the stacks, readiness (with the directive's six documents), what the extract job
 * reads, paper run, apply (only on GO), verify, reconcile, audit again, the per-pair manifests, and
 * the HTML report of what the run did. It approves its own plan: it exists for the local warehouse
 * only.
 */
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'fs';
import * as path from 'path';
import { auditCatalogue, type AuditResult } from '../core/audit';
import type { TableInfo } from '../core/catalogue';
import { discoveryRule, extractionBasis, extractionSetsOf } from '../core/extraction/discovery';
import { auditCatalogueColumns, type ColumnAuditResult, type ColumnAuditSummary } from '../core/naming/columns';
import { silentProgress, type Progress } from '../core/report/progress';
import { columnAuditLine } from './columns';
import { writeManifest } from './extraction';
import { reportLinks } from './readiness/run';
import type { PairExtraction } from './readiness/types';
import { renderReadinessHtml } from './report/html/readiness-page';
import { measured, reconcileCounts, runPhase, type RunPhase, type RunView } from './report/run-view';
import { elapsedTicker } from './report/terminal-progress';
import { BqxError, type OutcomeKind } from '../core/errors';
import { applyPlan } from '../core/execute/apply';
import { reconcilePlan, type ReconcileResult } from '../core/execute/reconcile';
import { verifyPlan } from '../core/execute/verify';
import { isActionable, type Plan } from '../core/plan/types';
import { loadPolicy, type Policy } from '../core/policy';
import { freezePlan, loadPlanFile } from '../core/plan/load';
import type { DuckDbEngineOptions, Engine } from '../core/ports/engine';
import { runOutcome, type RunSummary } from '../core/report/summary';
import type { Scale } from '../warehouse/catalogue';
import { repoRoot } from '../core/paths';
import { withEngine } from './engine';
import { synthesizeInWorker, type SynthSummary } from './synth';
import { loadEnvironment } from '../config/environments';
import { planWarehouse, todayUtc, writePlanFile, writePlanReview } from './plan';
import { reviewFileFor } from './plan-review';
import { outcomeOfVerdict } from './readiness/verdict';
import { verdictHeadline } from './readiness/production';
import { projectionLine } from './readiness/projection';
import { formatBytes } from './readiness/format';
import { writeEvidence } from './report/evidence';
import { writeReconcileReports } from './report/render';
import { interruptOnSignals } from './signals';

export interface MainJobOptions {
  /** The local warehouse (its dataset names and project are the environment's). */
  readonly engine: DuckDbEngineOptions;
  readonly scale: Scale;
  readonly reportsDir: string;
  readonly stacksDir: string;
  readonly planOut: string;
  readonly graceStart?: string;
  readonly policyFile?: string;
  /** Where the long steps report progress (the CLI passes a terminal's, silent when not a TTY). */
  readonly progress?: Progress;
  /** The CLI's verbs, for the readiness tool inventory. */
  readonly verbs?: readonly string[];
  /** The command line that re-runs the job (named when a signal stops it). */
  readonly resumeCommand?: string;
  /** A CLI process: after the job, signals no longer kill it before its result is printed. */
  readonly holdSignalsAfterRun?: boolean;
}

export interface MainJobStep {
  readonly name: string;
  readonly seconds: number;
  readonly line: string;
}

export interface MainJobResult {
  readonly database: string;
  readonly planFile: string;
  readonly planHash: string;
  /** The job continued an apply an earlier, interrupted run began (the counts before are that run's). */
  readonly resumed: boolean;
  readonly steps: MainJobStep[];
  readonly violations: { readonly before: number; readonly after: number; readonly review: number };
  /** Non-compliant distinct column names before and after (reports only). */
  readonly columns: { readonly before: ColumnSummary; readonly after: ColumnSummary };
  /** What the extract job reads for one pair (EURUSD when present), before and after, and the remap. */
  readonly extraction: PairExtraction | null;
  readonly views: number;
  readonly readiness: string;
  readonly reportsDir: string;
  readonly html: string;
  /** The readiness directive's six documents and their JSON. */
  readonly documents: readonly string[];
  readonly seconds: number;
  /** How the job ended, worst step first. */
  readonly outcome: OutcomeKind;
}

export interface ColumnSummary {
  readonly names: number;
  readonly nonCompliant: number;
  readonly windowViolations: number;
  readonly patternViolations: number;
  readonly exceptions: number;
  readonly nonCompliantColumns: number;
}

function columnSummary(s: ColumnAuditSummary): ColumnSummary {
  return {
    names: s.names.total,
    nonCompliant: s.names.nonCompliant,
    windowViolations: s.names.byViolation.WINDOW_VIOLATION,
    patternViolations: s.names.byViolation.PATTERN_VIOLATION,
    exceptions: s.names.exceptions,
    nonCompliantColumns: s.columns.nonCompliant,
  };
}

const num = (x: number) => x.toLocaleString('en-US');

function outcomes(s: RunSummary): string {
  return Object.entries(s.byOutcome)
    .map(([o, n]) => `${o} ${n}`)
    .join(', ');
}

/** The job's progress record beside the plan: an apply that began and did not finish is resumed, not re-planned. */
interface MainRunState {
  readonly format: 'bqx-main-run/v1';
  readonly planHash: string;
  /** The audits from before the first apply (a resumed run reports these, not the half-applied warehouse's). */
  readonly before: AuditResult['summary'];
  readonly columnsBefore: ColumnAuditSummary;
  readonly finished: boolean;
}

export function mainRunStateFile(planOut: string): string {
  return `${planOut}.run.json`;
}

function readRunState(planOut: string): MainRunState | null {
  try {
    const s = JSON.parse(readFileSync(mainRunStateFile(planOut), 'utf8')) as MainRunState;
    return s.format === 'bqx-main-run/v1' ? s : null;
  } catch {
    return null;
  }
}

/** Writes exactly the state's fields: the audits handed in may carry more (the listing: megabytes nobody reads back). */
function writeRunState(planOut: string, { planHash, before, columnsBefore, finished }: Omit<MainRunState, 'format'>): void {
  const state: MainRunState = { format: 'bqx-main-run/v1', planHash, before, columnsBefore, finished };
  writeFileSync(mainRunStateFile(planOut), `${JSON.stringify(state, null, 2)}\n`);
}

/** A signal stopped the job at a safe point (between steps, or inside apply at an operation boundary). */
function interrupted(after: string, resumeCommand: string): BqxError {
  return new BqxError(
    'INTERRUPTED',
    `the main job stopped at a safe point after ${after}; the ledger and the run report say what was done, the lock is released`,
    `resume with \`${resumeCommand}\`: it finds the run in progress and continues the same plan`,
    'INTERRUPTED',
  );
}

/** Where steps report: their lines, the progress display, and the stop signal they check after finishing. */
interface StepLog {
  readonly progress: Progress;
  readonly steps: MainJobStep[];
  readonly say: (line: string) => void;
  readonly stop: AbortSignal;
  readonly resumeCommand: string;
}

/** What every step of the job shares: the engine, the policy, where it reports, and the stop signal. */
interface MainJob extends StepLog {
  readonly opts: MainJobOptions;
  readonly policy: Policy;
  readonly engine: Engine;
  readonly metricsFile: string;
  outcome: OutcomeKind;
}

function worse(job: MainJob, o: OutcomeKind): void {
  if (job.outcome === 'OK') job.outcome = o;
}

/** Runs a step and prints its line; `tick`: the step reports no progress of its own, so its elapsed time is shown. */
async function timed<T>(job: StepLog, name: string, f: () => Promise<T>, line: (r: T) => string, tick = true): Promise<T> {
  const t0 = Date.now();
  const stop = tick ? elapsedTicker(job.progress, name) : () => undefined;
  let r: T;
  try {
    r = await f();
  } finally {
    stop();
  }
  const s: MainJobStep = { name, seconds: (Date.now() - t0) / 1000, line: line(r) };
  job.steps.push(s);
  job.say(`${name.padEnd(11)} ${s.seconds.toFixed(1).padStart(6)} s  ${s.line}\n`);
  if (job.stop.aborted) throw interrupted(name, job.resumeCommand);
  return r;
}

/** A step whose result was recorded by the interrupted run: shown, not re-run. */
function recalled(job: StepLog, name: string, line: string): void {
  const s: MainJobStep = { name, seconds: 0, line };
  job.steps.push(s);
  job.say(`${s.name.padEnd(11)} ${'-'.padStart(6)}    ${s.line}\n`);
}

async function seedIfAbsent(log: StepLog, opts: MainJobOptions): Promise<void> {
  const { database } = opts.engine;
  if (existsSync(database)) {
    log.say(`seed           -    warehouse ${database} exists; not reseeded\n`);
    return;
  }
  const { seedWarehouse } = await import('../warehouse/seed');
  await timed(
    log,
    'seed',
    () => seedWarehouse({ database, scale: opts.scale, signal: log.stop }),
    (r) => `${database}: ${r.featureTables} tables of ${opts.engine.dataset} (${opts.scale}), ${(r.bytes / 2 ** 20).toFixed(1)} MiB`,
  );
}

/** The run in progress: its state file is unfinished, its plan is the plan file, and the ledger holds an apply of it. */
async function runInProgress(job: MainJob): Promise<{ state: MainRunState; plan: Plan } | null> {
  const state = readRunState(job.opts.planOut);
  if (!state || state.finished || !existsSync(job.opts.planOut)) return null;
  const plan = freezePlan(loadPlanFile(job.opts.planOut));
  if (plan.planHash !== state.planHash) return null;
  const runs = await job.engine.ledger.runs(plan.planHash);
  return runs.some((r) => r.mode === 'apply' && r.event === 'START') ? { state, plan } : null;
}

interface Audits {
  readonly before: AuditResult['summary'];
  readonly columnsBefore: ColumnAuditSummary;
}

async function auditBefore(job: MainJob): Promise<Audits & { listing: TableInfo[] }> {
  let listing: TableInfo[] = [];
  const before = await timed(
    job,
    'audit',
    async () => auditCatalogue(job.policy, (listing = await job.engine.listTables())),
    (a) => `${a.summary.tables} tables, ${a.summary.nonCompliant} violate M008, ${a.summary.views} views`,
  );
  const columns = await timed(job, 'columns', async () => auditCatalogueColumns(job.policy, listing), (c) => `${columnAuditLine(c)} (reports only)`);
  return { before: before.summary, columnsBefore: columns.summary, listing };
}

async function makePlan(job: MainJob): Promise<Plan> {
  const { planOut } = job.opts;
  return timed(
    job,
    'plan',
    async () => {
      // Frozen: every later step validates it, and validation of a frozen plan is done once.
      const p = freezePlan(await planWarehouse(job.engine, job.policy, job.opts.graceStart ?? todayUtc(), job.progress));
      writePlanFile(p, planOut);
      writePlanReview(p, reviewFileFor(planOut));
      return p;
    },
    (p) =>
      `${planOut} (review: ${reviewFileFor(planOut)}): ${Object.entries(p.summary.byAction)
        .map(([a, n]) => `${a} ${n}`)
        .join(', ')}; ${p.summary.views} views; hash ${p.planHash.slice(0, 12)}…`,
    false,
  );
}

/** The resumed run's audits and plan: as the interrupted run recorded them before its first apply. */
function recallRun(job: MainJob, { state, plan }: { state: MainRunState; plan: Plan }): Audits & { plan: Plan } {
  recalled(job, 'audit', `${state.before.tables} tables, ${state.before.nonCompliant} violate M008, ${state.before.views} views (before the first apply, as the interrupted run recorded them)`);
  recalled(job, 'columns', `${state.columnsBefore.names.nonCompliant} of ${state.columnsBefore.names.total} column names non-compliant (before the first apply)`);
  recalled(job, 'plan', `resuming the run in progress: ${job.opts.planOut}, hash ${plan.planHash.slice(0, 12)}… (an apply of it began and did not finish; not re-planned)`);
  return { before: state.before, columnsBefore: state.columnsBefore, plan };
}

/** The environment whose stacks the job synthesizes (the views of its committed plan, from the repository). */
const SYNTH_ENV = 'prod';

/** A path with its directory's symbolic links resolved (the file itself may not exist yet). */
function canonicalPath(file: string): string {
  const abs = path.resolve(file);
  try {
    return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
  }
}

/**
 * Whether the job writes a file the synthesis reads (`--plan-out` at the environment's committed
 * plan or views handoff file): then the synthesis must wait for the plan step, as it reads them.
 */
export function jobWritesSynthInput(opts: Pick<MainJobOptions, 'planOut'>): boolean {
  const { views } = loadEnvironment(SYNTH_ENV);
  const reads = new Set([views.planFile, views.appliedFile].filter((f): f is string => f !== undefined).map((f) => canonicalPath(path.join(repoRoot(), f))));
  return [opts.planOut, reviewFileFor(opts.planOut), mainRunStateFile(opts.planOut)].some((f) => reads.has(canonicalPath(f)));
}

/** A synthesis under way: started with the job (alongside seed, open, audit and plan) unless it must follow the plan. */
interface PendingSynth {
  readonly alongside: boolean;
  result: Promise<SynthSummary> | null;
}

const startSynth = (opts: MainJobOptions): Promise<SynthSummary> => {
  const result = synthesizeInWorker({ env: SYNTH_ENV, outdir: opts.stacksDir, repoRoot: repoRoot() });
  // Awaited at the synth step (or when the job ends early): an early failure is not an unhandled rejection meanwhile.
  result.catch(() => undefined);
  return result;
};

async function synthStacks(job: MainJob, pending: PendingSynth): Promise<void> {
  const { stacksDir } = job.opts;
  await timed(
    job,
    'synth',
    () => (pending.result ??= startSynth(job.opts)),
    (r) =>
      `${stacksDir}: ${Object.keys(r.resources).length} stacks, ${Object.values(r.resources).reduce((a, b) => a + b, 0)} resources (${SYNTH_ENV}; ${r.seconds.toFixed(1)} s` +
      `${r.inWorker ? ' in a worker thread' : ''}${pending.alongside ? ', alongside the steps above' : ''})`,
  );
}

async function readinessOf(job: MainJob, plan: Plan) {
  const { runReadiness } = await import('./readiness/run');
  const { reportsDir, stacksDir, policyFile, verbs } = job.opts;
  const auditDir = path.join(reportsDir, 'readiness-audit');
  return timed(
    job,
    'readiness',
    () => runReadiness({ engine: job.engine, plan, policyFile, stacksDir, reportsDir, outDir: auditDir, verbs }),
    (r) => `${verdictHeadline(r.report)}${r.report.blockers.length ? ` (${r.report.blockers.length} blockers)` : ''}; six documents in ${auditDir}/`,
  );
}

type Readiness = Awaited<ReturnType<typeof readinessOf>>;

/** What the extract job reads: from readiness's own check (one computation, one source). */
function extractionLine(job: MainJob, readiness: Readiness): { focus: PairExtraction | null; pairs: readonly PairExtraction[] } {
  const pairs = readiness.report.extraction?.pairs ?? [];
  const focus = pairs.find((p) => p.pair === 'eurusd') ?? pairs[0] ?? null;
  if (focus) {
    const x = readiness.report.extraction!;
    recalled(
      job,
      'extraction',
      `${focus.pair.toUpperCase()}: ${num(focus.before)} tables before, ${num(focus.after)} after, each feature once; a name-only discovery reads ${num(focus.duplicatesDuringGrace)} views twice during the grace period ` +
        `(${pairs.length} pairs: ${num(x.duplicatesDuringGrace)}; job discovery: ${x.jobDiscovery.mode})` +
        (focus.remap ? `; remap ${num(focus.remap.RENAMED)} RENAMED, ${num(focus.remap.MERGED)} MERGED, ${num(focus.remap.UNCHANGED)} UNCHANGED` : ''),
    );
  }
  return { focus, pairs };
}

async function paperRun(job: MainJob, plan: Plan, readiness: Readiness): Promise<RunSummary> {
  const r = await timed(
    job,
    'paper run',
    async () => {
      const out = await applyPlan(job.engine, plan, job.policy, { mode: 'paper', approve: plan.planHash, planSource: job.opts.planOut, progress: job.progress, signal: job.stop });
      await writeEvidence(out.summary, { reportsDir: job.opts.reportsDir, metricsFile: job.metricsFile });
      return out;
    },
    (out) =>
      `${out.summary.status}: ${outcomes(out.summary)}; ${out.summary.validation.passed}/${out.summary.validation.checks} checks` +
      (readiness.report.projection ? `; synthetic copy estimated ${formatBytes(out.summary.estimatedBytes)}; ${projectionLine(readiness.report.projection)}` : ''),
    false,
  );
  worse(job, runOutcome(r.summary));
  return r.summary;
}

/** Apply (only on GO after an OK paper run), then verify. The run state is written before the first change. */
async function applyAndVerify(job: MainJob, plan: Plan, audits: Audits, readiness: Readiness): Promise<{ apply: RunPhase | null; verify: RunPhase | null; skipped: string | null }> {
  const price = job.policy.doc.execution.pricePerTiBUsd;
  // The job applies on the verdict of this run: the rehearsal's on the embedded warehouse (a
  // production blocker such as the extract job's discovery does not stop a local rehearsal).
  if (readiness.report.verdict !== 'GO') {
    job.say(`apply          -    not run: readiness is ${readiness.report.verdict} (see ${readiness.files?.markdown ?? 'the readiness report'})\n`);
    worse(job, outcomeOfVerdict(readiness.report.verdict));
    return { apply: null, verify: null, skipped: `readiness is ${readiness.report.verdict}` };
  }
  if (job.outcome !== 'OK') return { apply: null, verify: null, skipped: 'the paper run did not end OK' };
  const actionable = plan.operations.filter((o) => isActionable(o.action)).length;
  writeRunState(job.opts.planOut, { planHash: plan.planHash, ...audits, finished: false });
  const applied = await timed(
    job,
    'apply',
    async () => {
      const r = await applyPlan(job.engine, plan, job.policy, { mode: 'real', approve: plan.planHash, planSource: job.opts.planOut, progress: job.progress, signal: job.stop });
      await writeEvidence(r.summary, { reportsDir: job.opts.reportsDir, metricsFile: job.metricsFile });
      return r;
    },
    (r) => (actionable === 0 ? `nothing left to do (${outcomes(r.summary)})` : `${r.summary.status}: ${outcomes(r.summary)}; ${r.summary.validation.passed}/${r.summary.validation.checks} checks`),
    false,
  );
  worse(job, runOutcome(applied.summary));
  const verified = await timed(
    job,
    'verify',
    async () => {
      const r = await verifyPlan(job.engine, plan, { planSource: job.opts.planOut });
      await writeEvidence(r.summary, { reportsDir: job.opts.reportsDir, metricsFile: job.metricsFile });
      return r;
    },
    (r) => `${r.summary.status}: ${r.summary.validation.passed}/${r.summary.validation.checks} checks`,
  );
  worse(job, runOutcome(verified.summary));
  if (applied.summary.status === 'OK') writeRunState(job.opts.planOut, { planHash: plan.planHash, ...audits, finished: true });
  return { apply: runPhase(applied.summary, price), verify: runPhase(verified.summary, price), skipped: null };
}

async function reconcileStep(job: MainJob, plan: Plan): Promise<ReconcileResult> {
  const r = await timed(
    job,
    'reconcile',
    async () => {
      const out = await reconcilePlan(job.engine, plan, { planSource: job.opts.planOut });
      writeReconcileReports(job.opts.reportsDir, out);
      return out;
    },
    (out) =>
      Object.entries(out.counts)
        .map(([s, n]) => `${s} ${n}`)
        .join(', '),
  );
  // Compatibility views an earlier, finished run left are not this plan's (it was made after them): reported, not drift.
  const off = r.entries.filter((e) => e.status !== 'MATCHED' && !(e.status === 'UNMANAGED' && e.detail?.startsWith('VIEW ')));
  if (off.length || r.notApplied.length) worse(job, 'DRIFT');
  return r;
}

/** The audits after apply, and the manifests the runner leaves (the staging bucket's layout: what the job must read). */
async function auditAfter(job: MainJob, plan: Plan, pairs: readonly PairExtraction[], applied: boolean): Promise<{ after: AuditResult; columnsAfter: ColumnAuditResult; manifestsDir: string | null }> {
  let listing: TableInfo[] = [];
  const after = await timed(
    job,
    'audit',
    async () => auditCatalogue(job.policy, (listing = await job.engine.listTables())),
    (a) => `${a.summary.nonCompliant} violate M008 (REVIEW leaves ${plan.summary.byAction.REVIEW}), ${a.summary.views} compatibility views`,
  );
  const manifestsDir = applied ? path.join(job.opts.reportsDir, 'staging') : null;
  const columnsAfter = await timed(
    job,
    'columns',
    async () => {
      if (manifestsDir) {
        const basis = extractionBasis(discoveryRule(job.policy), listing, plan);
        for (const p of pairs) writeManifest(manifestsDir, extractionSetsOf(basis, p.pair), job.engine.where);
      }
      return auditCatalogueColumns(job.policy, listing);
    },
    (c) => `${columnAuditLine(c)}${manifestsDir && pairs.length ? `; extraction manifests of ${pairs.length} pairs in ${manifestsDir}/manifests/` : ''}`,
  );
  return { after, columnsAfter, manifestsDir };
}

function closingLines(result: MainJobResult, focus: PairExtraction | null): string {
  return [
    '',
    `M008 violations: ${result.violations.before} before, ${result.violations.after} after (${result.violations.review} left for REVIEW)`,
    `column names: ${result.columns.before.nonCompliant} of ${result.columns.before.names} non-compliant before, ${result.columns.after.nonCompliant} of ${result.columns.after.names} after (reports only: renaming columns is not part of Phase 4C)`,
    ...(focus
      ? [
          `extract job: before the first apply it must read base tables only (table_type = 'BASE TABLE') or the per-pair manifest; right after apply, rewrite feature lists with bqx remap --plan ${result.planFile} --pair ${focus.pair} --features FILE`,
        ]
      : []),
    `total ${result.seconds.toFixed(1)} s; reports in ${result.reportsDir}/ (run-*.md/json, metrics.prom, readiness.md, readiness-audit/)`,
    `readiness: ${result.readiness}`,
    `HTML report: ${result.html}`,
    '',
  ].join('\n');
}

/**
 * Runs the job; `say` receives each step's line as it finishes (the CLI prints them, or not with
 * --json). SIGINT/SIGTERM stop it at the next safe point (an interrupted apply ends INTERRUPTED, its
 * report written and the lock released) and it throws INTERRUPTED with the resume command; run
 * again, it finds the apply in progress and resumes that plan instead of planning anew.
 */
export async function runMainJob(opts: MainJobOptions, say: (line: string) => void = () => undefined): Promise<MainJobResult> {
  const started = Date.now();
  const steps: MainJobStep[] = [];
  const resumeCommand = opts.resumeCommand ?? `bqx main --database ${opts.engine.database}`;
  const signals = interruptOnSignals('the main job', process.stderr, { holdAfterRun: opts.holdSignalsAfterRun });
  const log: StepLog = { progress: opts.progress ?? silentProgress, steps, say, stop: signals.signal, resumeCommand };
  // The synthesis reads the repository (code, config, the committed plan), none of the warehouse: it
  // runs in a worker thread while this thread seeds, opens the warehouse, audits and plans.
  const alongside = !jobWritesSynthInput(opts);
  const synth: PendingSynth = { alongside, result: alongside ? startSynth(opts) : null };
  try {
    await seedIfAbsent(log, opts);
    return await withEngine(opts.engine, async (engine, policy) => {
      const job: MainJob = { ...log, opts, policy, engine, metricsFile: path.join(opts.reportsDir, 'metrics.prom'), outcome: 'OK' };
      const resumed = await runInProgress(job);
      const { plan, ...audits } = resumed ? recallRun(job, resumed) : await auditBefore(job).then(async (a) => ({ ...a, plan: await makePlan(job) }));
      await synthStacks(job, synth);
      const readiness = await readinessOf(job, plan);
      const { focus, pairs } = extractionLine(job, readiness);
      const paper = await paperRun(job, plan, readiness);
      const phases = await applyAndVerify(job, plan, audits, readiness);
      const reconciled = await reconcileStep(job, plan);
      const { after, columnsAfter, manifestsDir } = await auditAfter(job, plan, pairs, phases.apply !== null);
      const html = path.resolve(readiness.files?.html ?? path.join(opts.reportsDir, 'index.html'));
      const result: MainJobResult = {
        database: opts.engine.database,
        planFile: opts.planOut,
        planHash: plan.planHash,
        resumed: resumed !== null,
        steps,
        violations: { before: audits.before.nonCompliant, after: after.summary.nonCompliant, review: plan.summary.byAction.REVIEW },
        columns: { before: columnSummary(audits.columnsBefore), after: columnSummary(columnsAfter.summary) },
        extraction: focus,
        views: after.summary.views,
        readiness: verdictHeadline(readiness.report),
        reportsDir: opts.reportsDir,
        html,
        documents: readiness.documents ?? [],
        seconds: (Date.now() - started) / 1000,
        outcome: job.outcome,
      };
      // The page shows what the run did (not the pre-apply projection), and links every report.
      const price = job.policy.doc.execution.pricePerTiBUsd;
      const run: RunView = {
        finishedAt: new Date().toISOString(),
        seconds: result.seconds,
        outcome: job.outcome,
        steps,
        paper: runPhase(paper, price),
        apply: phases.apply,
        applySkipped: phases.skipped,
        verify: phases.verify,
        reconcile: reconcileCounts(reconciled),
        compliance: { before: measured(audits.before), after: measured(after.summary) },
        columns: { before: audits.columnsBefore, after: columnsAfter.summary },
        extraction: focus ? { pair: focus.pair, pairs, manifests: manifestsDir ? path.relative(path.dirname(html), path.join(manifestsDir, 'manifests')) : null } : null,
        budgetUsd: job.policy.doc.execution.budgetUsd,
        links: path.dirname(html) === path.resolve(opts.reportsDir) ? reportLinks(opts.reportsDir) : [],
        documents: (readiness.documents ?? []).map((d) => path.relative(path.dirname(html), d)),
      };
      writeFileSync(html, renderReadinessHtml(readiness.report, { run }));
      say(closingLines(result, focus));
      return result;
    }, () => loadPolicy(opts.policyFile));
  } finally {
    // A job that ends before its synth step still lets the synthesis finish writing the stacks whole.
    await synth.result?.catch(() => undefined);
    signals.dispose();
  }
}
