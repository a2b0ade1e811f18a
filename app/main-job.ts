/**
 * The main job on the embedded warehouse (`npm start`): seed if absent, audit (tables and columns),
 * plan, synthesize the stacks, readiness (with the directive's six documents), what the extract job
 * reads, paper run, apply (only on GO), verify, reconcile, audit again, the per-pair manifests, and
 * the HTML report of what the run did. It approves its own plan: it exists for the local warehouse
 * only.
 */
import { existsSync, writeFileSync } from 'fs';
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
import type { OutcomeKind } from '../core/errors';
import { applyPlan } from '../core/execute/apply';
import { reconcilePlan } from '../core/execute/reconcile';
import { verifyPlan } from '../core/execute/verify';
import { isActionable, type Plan } from '../core/plan/types';
import { loadPolicy } from '../core/policy';
import type { DuckDbEngineOptions } from '../core/ports/engine';
import { runOutcome, type RunSummary } from '../core/report/summary';
import type { Scale } from '../warehouse/catalogue';
import { repoRoot } from '../core/paths';
import { withEngine } from './engine';
import { synthesize } from './synth';
import { planWarehouse, todayUtc, writePlanFile, writePlanReview } from './plan';
import { reviewFileFor } from './plan-review';
import { outcomeOfVerdict } from './readiness/verdict';
import { verdictHeadline } from './readiness/production';
import { projectionLine } from './readiness/projection';
import { formatBytes } from './readiness/format';
import { writeEvidence } from './report/evidence';
import { writeReconcileReports } from './report/render';

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

/** Runs the job; `say` receives each step's line as it finishes (the CLI prints them, or not with --json). */
export async function runMainJob(opts: MainJobOptions, say: (line: string) => void = () => undefined): Promise<MainJobResult> {
  const started = Date.now();
  const steps: MainJobStep[] = [];
  const progress = opts.progress ?? silentProgress;
  /** Runs a step; `tick`: the step reports no progress of its own, so its elapsed time is shown. */
  const time = async <T>(name: string, f: () => Promise<T>, line: (r: T) => string, tick = true): Promise<T> => {
    const t0 = Date.now();
    const stop = tick ? elapsedTicker(progress, name) : () => undefined;
    let r: T;
    try {
      r = await f();
    } finally {
      stop();
    }
    const s: MainJobStep = { name, seconds: (Date.now() - t0) / 1000, line: line(r) };
    steps.push(s);
    say(`${name.padEnd(11)} ${s.seconds.toFixed(1).padStart(6)} s  ${s.line}\n`);
    return r;
  };
  const policy = loadPolicy(opts.policyFile);
  const { database } = opts.engine;
  const { reportsDir } = opts;
  const metricsFile = path.join(reportsDir, 'metrics.prom');

  if (!existsSync(database)) {
    const { seedWarehouse } = await import('../warehouse/seed');
    await time(
      'seed',
      () => seedWarehouse({ database, scale: opts.scale }),
      (r) => `${database}: ${r.featureTables} tables of ${opts.engine.dataset} (${opts.scale}), ${(r.bytes / 2 ** 20).toFixed(1)} MiB`,
    );
  } else {
    say(`seed           -    warehouse ${database} exists; not reseeded\n`);
  }

  return withEngine(opts.engine, async (engine) => {
    let outcome: OutcomeKind = 'OK';
    const worse = (o: OutcomeKind) => {
      if (outcome === 'OK') outcome = o;
    };
    let listing: TableInfo[] = [];
    const before = await time(
      'audit',
      async () => auditCatalogue(policy, (listing = await engine.listTables())),
      (a) => `${a.summary.tables} tables, ${a.summary.nonCompliant} violate M008, ${a.summary.views} views`,
    );
    const columnsBefore: ColumnAuditResult = await time('columns', async () => auditCatalogueColumns(policy, listing), (c) => `${columnAuditLine(c)} (reports only)`);

    const plan: Plan = await time(
      'plan',
      async () => {
        const p = await planWarehouse(engine, policy, opts.graceStart ?? todayUtc(), progress);
        writePlanFile(p, opts.planOut);
        writePlanReview(p, reviewFileFor(opts.planOut));
        return p;
      },
      (p) =>
        `${opts.planOut} (review: ${reviewFileFor(opts.planOut)}): ${Object.entries(p.summary.byAction)
          .map(([a, n]) => `${a} ${n}`)
          .join(', ')}; ${p.summary.views} views; hash ${p.planHash.slice(0, 12)}…`,
      false,
    );

    await time(
      'synth',
      () => synthesize({ env: 'prod', outdir: opts.stacksDir, repoRoot: repoRoot() }),
      (r) => `${opts.stacksDir}: ${Object.keys(r.resources).length} stacks, ${Object.values(r.resources).reduce((a, b) => a + b, 0)} resources (prod)`,
    );

    const { runReadiness } = await import('./readiness/run');
    const auditDir = path.join(reportsDir, 'readiness-audit');
    const readiness = await time(
      'readiness',
      () => runReadiness({ engine, plan, policyFile: opts.policyFile, stacksDir: opts.stacksDir, reportsDir, outDir: auditDir, verbs: opts.verbs }),
      (r) => `${verdictHeadline(r.report)}${r.report.blockers.length ? ` (${r.report.blockers.length} blockers)` : ''}; six documents in ${auditDir}/`,
    );

    // What the extract job reads: from readiness's own check (one computation, one source).
    const pairs = readiness.report.extraction?.pairs ?? [];
    const focus = pairs.find((p) => p.pair === 'eurusd') ?? pairs[0] ?? null;
    if (focus) {
      const x = readiness.report.extraction!;
      const s: MainJobStep = {
        name: 'extraction',
        seconds: 0,
        line:
          `${focus.pair.toUpperCase()}: ${num(focus.before)} tables before, ${num(focus.after)} after, each feature once; a name-only discovery reads ${num(focus.duplicatesDuringGrace)} views twice during the grace period ` +
          `(${pairs.length} pairs: ${num(x.duplicatesDuringGrace)}; job discovery: ${x.jobDiscovery.mode})` +
          (focus.remap ? `; remap ${num(focus.remap.RENAMED)} RENAMED, ${num(focus.remap.MERGED)} MERGED, ${num(focus.remap.UNCHANGED)} UNCHANGED` : ''),
      };
      steps.push(s);
      say(`${s.name.padEnd(11)} ${'-'.padStart(6)}    ${s.line}\n`);
    }

    const paper = await time(
      'paper run',
      async () => {
        const r = await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash, planSource: opts.planOut, progress });
        await writeEvidence(r.summary, { reportsDir, metricsFile });
        return r;
      },
      (r) =>
        `${r.summary.status}: ${outcomes(r.summary)}; ${r.summary.validation.passed}/${r.summary.validation.checks} checks` +
        (readiness.report.projection ? `; synthetic copy estimated ${formatBytes(r.summary.estimatedBytes)}; ${projectionLine(readiness.report.projection)}` : ''),
      false,
    );
    worse(runOutcome(paper.summary));

    const actionable = plan.operations.filter((o) => isActionable(o.action)).length;
    const price = policy.doc.execution.pricePerTiBUsd;
    let applyPhase: RunPhase | null = null;
    let verifyPhase: RunPhase | null = null;
    let applySkipped: string | null = null;
    // The job applies on the verdict of this run: the rehearsal's on the embedded warehouse (a
    // production blocker such as the extract job's discovery does not stop a local rehearsal).
    if (readiness.report.verdict !== 'GO') {
      applySkipped = `readiness is ${readiness.report.verdict}`;
      say(`apply          -    not run: readiness is ${readiness.report.verdict} (see ${readiness.files?.markdown ?? 'the readiness report'})\n`);
      worse(outcomeOfVerdict(readiness.report.verdict));
    } else if (outcome !== 'OK') {
      applySkipped = 'the paper run did not end OK';
    } else {
      const applied = await time(
        'apply',
        async () => {
          const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, planSource: opts.planOut, progress });
          await writeEvidence(r.summary, { reportsDir, metricsFile });
          return r;
        },
        (r) => (actionable === 0 ? `nothing left to do (${outcomes(r.summary)})` : `${r.summary.status}: ${outcomes(r.summary)}; ${r.summary.validation.passed}/${r.summary.validation.checks} checks`),
        false,
      );
      applyPhase = runPhase(applied.summary, price);
      worse(runOutcome(applied.summary));
      const verified = await time(
        'verify',
        async () => {
          const r = await verifyPlan(engine, plan, { planSource: opts.planOut });
          await writeEvidence(r.summary, { reportsDir, metricsFile });
          return r;
        },
        (r) => `${r.summary.status}: ${r.summary.validation.passed}/${r.summary.validation.checks} checks`,
      );
      verifyPhase = runPhase(verified.summary, price);
      worse(runOutcome(verified.summary));
    }

    const reconciled = await time(
      'reconcile',
      async () => {
        const r = await reconcilePlan(engine, plan, { planSource: opts.planOut });
        writeReconcileReports(reportsDir, r);
        return r;
      },
      (r) =>
        Object.entries(r.counts)
          .map(([s, n]) => `${s} ${n}`)
          .join(', '),
    );
    const after: AuditResult = await time(
      'audit',
      async () => auditCatalogue(policy, (listing = await engine.listTables())),
      (a) => `${a.summary.nonCompliant} violate M008 (REVIEW leaves ${plan.summary.byAction.REVIEW}), ${a.summary.views} compatibility views`,
    );
    // The manifests the runner leaves after apply, in the staging bucket's layout: what the job must read.
    const manifestsDir = applyPhase ? path.join(reportsDir, 'staging') : null;
    const columnsAfter: ColumnAuditResult = await time(
      'columns',
      async () => {
        if (manifestsDir) {
          const basis = extractionBasis(discoveryRule(policy), listing, plan);
          for (const p of pairs) writeManifest(manifestsDir, extractionSetsOf(basis, p.pair), engine.where);
        }
        return auditCatalogueColumns(policy, listing);
      },
      (c) => `${columnAuditLine(c)}${manifestsDir && pairs.length ? `; extraction manifests of ${pairs.length} pairs in ${manifestsDir}/manifests/` : ''}`,
    );

    const html = path.resolve(readiness.files?.html ?? path.join(reportsDir, 'index.html'));
    const documents = (readiness.documents ?? []).map((d) => path.relative(path.dirname(html), d));
    const result: MainJobResult = {
      database,
      planFile: opts.planOut,
      planHash: plan.planHash,
      steps,
      violations: { before: before.summary.nonCompliant, after: after.summary.nonCompliant, review: plan.summary.byAction.REVIEW },
      columns: { before: columnSummary(columnsBefore.summary), after: columnSummary(columnsAfter.summary) },
      extraction: focus,
      views: after.summary.views,
      readiness: verdictHeadline(readiness.report),
      reportsDir,
      html,
      documents: readiness.documents ?? [],
      seconds: (Date.now() - started) / 1000,
      outcome,
    };
    // The page shows what the run did (not the pre-apply projection), and links every report.
    const run: RunView = {
      finishedAt: new Date().toISOString(),
      seconds: result.seconds,
      outcome,
      steps,
      paper: runPhase(paper.summary, price),
      apply: applyPhase,
      applySkipped,
      verify: verifyPhase,
      reconcile: reconcileCounts(reconciled),
      compliance: { before: measured(before.summary), after: measured(after.summary) },
      columns: { before: columnsBefore.summary, after: columnsAfter.summary },
      extraction: focus ? { pair: focus.pair, pairs, manifests: manifestsDir ? path.relative(path.dirname(html), path.join(manifestsDir, 'manifests')) : null } : null,
      budgetUsd: policy.doc.execution.budgetUsd,
      links: path.dirname(html) === path.resolve(reportsDir) ? reportLinks(reportsDir) : [],
      documents,
    };
    writeFileSync(html, renderReadinessHtml(readiness.report, { run }));
    say(
      [
        '',
        `M008 violations: ${result.violations.before} before, ${result.violations.after} after (${result.violations.review} left for REVIEW)`,
        `column names: ${result.columns.before.nonCompliant} of ${result.columns.before.names} non-compliant before, ${result.columns.after.nonCompliant} of ${result.columns.after.names} after (reports only: renaming columns is not part of Phase 4C)`,
        ...(focus
          ? [
              `extract job: before the first apply it must read base tables only (table_type = 'BASE TABLE') or the per-pair manifest; right after apply, rewrite feature lists with bqx remap --plan ${opts.planOut} --pair ${focus.pair} --features FILE`,
            ]
          : []),
        `total ${result.seconds.toFixed(1)} s; reports in ${reportsDir}/ (run-*.md/json, metrics.prom, readiness.md, readiness-audit/)`,
        `readiness: ${result.readiness}`,
        `HTML report: ${html}`,
        '',
      ].join('\n'),
    );
    return result;
  });
}
