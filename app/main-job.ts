/**
 * The main job on the embedded warehouse (`npm start`): seed if absent, audit, plan, synthesize the
 * stacks, readiness, paper run, apply (only on GO), verify, reconcile, audit again, reports. It
 * approves its own plan: it exists for the local warehouse only.
 */
import { existsSync } from 'fs';
import * as path from 'path';
import { auditCatalogue, type AuditResult } from '../core/audit';
import type { OutcomeKind } from '../core/errors';
import { applyPlan } from '../core/execute/apply';
import { reconcilePlan } from '../core/execute/reconcile';
import { verifyPlan } from '../core/execute/verify';
import { isActionable, type Plan } from '../core/plan/types';
import { loadPolicy } from '../core/policy';
import type { EngineOptions } from '../core/ports/engine';
import { runOutcome, type RunSummary } from '../core/report/summary';
import type { Scale } from '../warehouse/catalogue';
import { repoRoot } from '../core/paths';
import { withEngine } from './engine';
import { synthesize } from './synth';
import { planWarehouse, todayUtc, writePlanFile } from './plan';
import { outcomeOfVerdict } from './readiness/verdict';
import { writeEvidence } from './report/evidence';
import { writeReconcileReports } from './report/render';

export interface MainJobOptions {
  /** The local warehouse (its dataset names and project are the environment's). */
  readonly engine: EngineOptions;
  readonly scale: Scale;
  readonly reportsDir: string;
  readonly stacksDir: string;
  readonly planOut: string;
  readonly graceStart?: string;
  readonly policyFile?: string;
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
  readonly views: number;
  readonly readiness: string;
  readonly reportsDir: string;
  readonly html: string;
  readonly seconds: number;
  /** How the job ended, worst step first. */
  readonly outcome: OutcomeKind;
}

function outcomes(s: RunSummary): string {
  return Object.entries(s.byOutcome)
    .map(([o, n]) => `${o} ${n}`)
    .join(', ');
}

/** Runs the job; `say` receives each step's line as it finishes (the CLI prints them, or not with --json). */
export async function runMainJob(opts: MainJobOptions, say: (line: string) => void = () => undefined): Promise<MainJobResult> {
  const started = Date.now();
  const steps: MainJobStep[] = [];
  const time = async <T>(name: string, f: () => Promise<T>, line: (r: T) => string): Promise<T> => {
    const t0 = Date.now();
    const r = await f();
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
    const before = await time('audit', async () => auditCatalogue(policy, await engine.listTables()), (a) => `${a.summary.tables} tables, ${a.summary.nonCompliant} violate M008, ${a.summary.views} views`);

    const plan: Plan = await time(
      'plan',
      async () => {
        const p = await planWarehouse(engine, policy, opts.graceStart ?? todayUtc());
        writePlanFile(p, opts.planOut);
        return p;
      },
      (p) =>
        `${opts.planOut}: ${Object.entries(p.summary.byAction)
          .map(([a, n]) => `${a} ${n}`)
          .join(', ')}; ${p.summary.views} views; hash ${p.planHash.slice(0, 12)}…`,
    );

    await time(
      'synth',
      () => synthesize({ env: 'prod', outdir: opts.stacksDir, repoRoot: repoRoot() }),
      (r) => `${opts.stacksDir}: ${Object.keys(r.resources).length} stacks, ${Object.values(r.resources).reduce((a, b) => a + b, 0)} resources (prod)`,
    );

    const { runReadiness } = await import('./readiness/run');
    const readiness = await time(
      'readiness',
      () => runReadiness({ engine, plan, policyFile: opts.policyFile, stacksDir: opts.stacksDir, reportsDir }),
      (r) => `${r.report.verdict}${r.report.blockers.length ? ` (${r.report.blockers.length} blockers)` : ''}`,
    );

    const paper = await time(
      'paper run',
      async () => {
        const r = await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash, planSource: opts.planOut });
        await writeEvidence(r.summary, { reportsDir, metricsFile });
        return r;
      },
      (r) => `${r.summary.status}: ${outcomes(r.summary)}; ${r.summary.validation.passed}/${r.summary.validation.checks} checks`,
    );
    worse(runOutcome(paper.summary));

    const actionable = plan.operations.filter((o) => isActionable(o.action)).length;
    if (readiness.report.verdict !== 'GO') {
      say(`apply          -    not run: readiness is ${readiness.report.verdict} (see ${readiness.files?.markdown ?? 'the readiness report'})\n`);
      worse(outcomeOfVerdict(readiness.report.verdict));
    } else if (outcome === 'OK') {
      const applied = await time(
        'apply',
        async () => {
          const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, planSource: opts.planOut });
          await writeEvidence(r.summary, { reportsDir, metricsFile });
          return r;
        },
        (r) => (actionable === 0 ? `nothing left to do (${outcomes(r.summary)})` : `${r.summary.status}: ${outcomes(r.summary)}; ${r.summary.validation.passed}/${r.summary.validation.checks} checks`),
      );
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
      worse(runOutcome(verified.summary));
    }

    await time(
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
      async () => auditCatalogue(policy, await engine.listTables()),
      (a) => `${a.summary.nonCompliant} violate M008 (REVIEW leaves ${plan.summary.byAction.REVIEW}), ${a.summary.views} compatibility views`,
    );

    const html = path.resolve(readiness.files?.html ?? path.join(reportsDir, 'index.html'));
    const result: MainJobResult = {
      database,
      planFile: opts.planOut,
      planHash: plan.planHash,
      steps,
      violations: { before: before.summary.nonCompliant, after: after.summary.nonCompliant, review: plan.summary.byAction.REVIEW },
      views: after.summary.views,
      readiness: readiness.report.verdict,
      reportsDir,
      html,
      seconds: (Date.now() - started) / 1000,
      outcome,
    };
    say(
      [
        '',
        `M008 violations: ${result.violations.before} before, ${result.violations.after} after (${result.violations.review} left for REVIEW)`,
        `total ${result.seconds.toFixed(1)} s; reports in ${reportsDir}/ (run-*.md/json, metrics.prom, readiness.md)`,
        `readiness: ${result.readiness}`,
        `HTML report: ${html}`,
        '',
      ].join('\n'),
    );
    return result;
  });
}
