import { existsSync, mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { auditCatalogue } from '../../core/audit';
import { makeSnapshot } from '../../core/catalogue';
import { EXIT } from '../../core/errors';
import { applyPlan } from '../../core/execute/apply';
import { reconcilePlan } from '../../core/execute/reconcile';
import { verifyPlan } from '../../core/execute/verify';
import { buildPlan } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { writeEvidence } from '../../core/report/evidence';
import { writeReconcileReports } from '../../core/report/render';
import type { RunSummary } from '../../core/report/summary';
import { openEngine } from '../../engines';
import { FEATURES_DATASET, type Scale } from '../../warehouse/catalogue';
import { DEFAULT_DATABASE, localEngineOptions } from '../options';
import { todayUtc } from './plan';

interface Step {
  readonly name: string;
  readonly seconds: number;
  readonly line: string;
}

function outcomes(s: RunSummary): string {
  return Object.entries(s.byOutcome)
    .map(([o, n]) => `${o} ${n}`)
    .join(', ');
}

/**
 * The main job on the embedded warehouse: seed if absent, audit, plan, synthesize the stacks,
 * readiness, paper run, apply (only on GO), verify, reconcile, reports. It approves its own plan:
 * it exists for the local warehouse only and refuses any other engine.
 */
export function registerMain(program: Command): void {
  program
    .command('main')
    .description('The local end-to-end job (what `npm start` runs): seed if absent, audit, plan, readiness, paper run, apply, verify, reconcile, reports.')
    .option('--database <path>', 'DuckDB file of the local warehouse', DEFAULT_DATABASE)
    .addOption(new Option('--scale <scale>', 'catalogue to seed when the warehouse is absent').choices(['full', 'small']).default('full'))
    .option('--reports-dir <dir>', 'where the reports go', 'reports')
    .option('--stacks <dir>', 'where the synthesized stacks go (read by readiness)', 'cdktf.out')
    .option('--plan-out <file>', 'where the plan is written', '.bqx/plan.json')
    .option('--grace-start <date>', 'first day of the views’ grace period (default: today, UTC)')
    .option('--policy <file>', 'policy YAML (default: policy/m008.policy.yaml)')
    .option('--json', 'print the job summary (steps, counts, verdict, report paths) as JSON at the end, instead of the step lines')
    .action(async (opts) => {
      const json = Boolean(opts.json);
      const say = (text: string) => {
        if (!json) process.stdout.write(text);
      };
      const started = Date.now();
      const steps: Step[] = [];
      const time = async <T>(name: string, f: () => Promise<T>, line: (r: T) => string): Promise<T> => {
        const t0 = Date.now();
        const r = await f();
        const s: Step = { name, seconds: (Date.now() - t0) / 1000, line: line(r) };
        steps.push(s);
        say(`${name.padEnd(11)} ${s.seconds.toFixed(1).padStart(6)} s  ${s.line}\n`);
        return r;
      };
      const policy = loadPolicy(opts.policy);
      const database: string = opts.database;
      const reportsDir: string = opts.reportsDir;
      const metricsFile = path.join(reportsDir, 'metrics.prom');
      const eo = localEngineOptions(database);

      if (!existsSync(database)) {
        const { seedWarehouse } = await import('../../warehouse/seed');
        await time(
          'seed',
          () => seedWarehouse({ database, scale: opts.scale as Scale }),
          (r) => `${database}: ${r.featureTables} tables of ${FEATURES_DATASET} (${opts.scale}), ${(r.bytes / 2 ** 20).toFixed(1)} MiB`,
        );
      } else {
        say(`seed           -    warehouse ${database} exists; not reseeded\n`);
      }

      const engine = await openEngine(eo);
      let exitCode: number = EXIT.OK;
      try {
        const before = await time('audit', async () => auditCatalogue(policy, await engine.listTables()), (a) => `${a.summary.tables} tables, ${a.summary.nonCompliant} violate M008, ${a.summary.views} views`);

        const plan: Plan = await time(
          'plan',
          async () => {
            const snapshot = makeSnapshot(engine.kind, eo.project, eo.dataset, await engine.listTables());
            const p = await buildPlan(engine, { snapshot, policy, graceStart: opts.graceStart ?? todayUtc() });
            mkdirSync(path.dirname(path.resolve(opts.planOut)), { recursive: true });
            writeFileSync(opts.planOut, `${JSON.stringify(p, null, 2)}\n`);
            return p;
          },
          (p) =>
            `${opts.planOut}: ${Object.entries(p.summary.byAction)
              .map(([a, n]) => `${a} ${n}`)
              .join(', ')}; ${p.summary.views} views; hash ${p.planHash.slice(0, 12)}…`,
        );

        await time(
          'synth',
          async () => {
            const { synthesizeEnvironment } = await import('../../stacks/synthesize');
            const { loadEnvironment } = await import('../../config/environments');
            const { repoRoot } = await import('../../core/paths');
            return synthesizeEnvironment({ env: loadEnvironment('prod'), outdir: opts.stacks, repoRoot: repoRoot() });
          },
          (r) => `${opts.stacks}: ${Object.keys(r.resources).length} stacks, ${Object.values(r.resources).reduce((a, b) => a + b, 0)} resources (prod)`,
        );

        const { runReadiness } = await import('../../core/readiness/run');
        const readiness = await time(
          'readiness',
          () => runReadiness({ engine, plan, policyFile: opts.policy, stacksDir: opts.stacks, reportsDir }),
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
        if (paper.exitCode !== EXIT.OK) exitCode = paper.exitCode;

        const actionable = plan.operations.filter((o) => o.action === 'RENAME' || o.action === 'DEDUPE' || o.action === 'CONSOLIDATE').length;
        if (readiness.report.verdict !== 'GO') {
          say(`apply          -    not run: readiness is ${readiness.report.verdict} (see ${readiness.files?.markdown ?? 'the readiness report'})\n`);
          exitCode = readiness.exitCode;
        } else if (exitCode === EXIT.OK) {
          const applied = await time(
            'apply',
            async () => {
              const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, planSource: opts.planOut });
              await writeEvidence(r.summary, { reportsDir, metricsFile });
              return r;
            },
            (r) => (actionable === 0 ? `nothing left to do (${outcomes(r.summary)})` : `${r.summary.status}: ${outcomes(r.summary)}; ${r.summary.validation.passed}/${r.summary.validation.checks} checks`),
          );
          if (applied.exitCode !== EXIT.OK) exitCode = applied.exitCode;
          const verified = await time(
            'verify',
            async () => {
              const r = await verifyPlan(engine, plan, { planSource: opts.planOut });
              await writeEvidence(r.summary, { reportsDir, metricsFile });
              return r;
            },
            (r) => `${r.summary.status}: ${r.summary.validation.passed}/${r.summary.validation.checks} checks`,
          );
          if (verified.exitCode !== EXIT.OK && exitCode === EXIT.OK) exitCode = verified.exitCode;
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
        const after = await time('audit', async () => auditCatalogue(policy, await engine.listTables()), (a) => `${a.summary.nonCompliant} violate M008 (REVIEW leaves ${plan.summary.byAction.REVIEW}), ${a.summary.views} compatibility views`);

        const html = path.resolve(readiness.files?.html ?? path.join(reportsDir, 'index.html'));
        if (json) {
          process.stdout.write(
            `${JSON.stringify(
              {
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
              },
              null,
              2,
            )}\n`,
          );
        }
        say(
          [
            '',
            `M008 violations: ${before.summary.nonCompliant} before, ${after.summary.nonCompliant} after (${plan.summary.byAction.REVIEW} left for REVIEW)`,
            `total ${((Date.now() - started) / 1000).toFixed(1)} s; reports in ${reportsDir}/ (run-*.md/json, metrics.prom, readiness.md)`,
            `readiness: ${readiness.report.verdict}`,
            `HTML report: ${html}`,
            '',
          ].join('\n'),
        );
      } finally {
        await engine.close();
      }
      if (exitCode !== EXIT.OK) process.exitCode = exitCode;
    });
}
