import { mkdirSync, readdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { catalogueFingerprint, type TableInfo } from '../../core/catalogue';
import type { Plan } from '../../core/plan/types';
import type { Engine, EngineOptions } from '../../core/ports/engine';
import { openAppEngine } from '../engine';
import { checkApis, checkBuckets, checkCredentials, checkJobs, checkPermissions, checkRenameLoss, cloudTargets } from './checks/cloud';
import type { BigQueryEngine } from '../../engines/bigquery/engine';
import { checkDependencies, checkLockfile } from './checks/dependencies';
import { checkColumnAudit } from './checks/columns';
import { checkExtractJob, extractJobSource } from './checks/extraction';
import type { DeployedJobs } from './checks/cloud';
import { writeReadinessDocuments } from './documents';
import { withEffort } from './effort';
import { toolInventory } from './inventory';
import { checkBudget, checkRunnerDataset, checkStacks, checkTargetDataset, costOf } from './checks/infrastructure';
import { checkPhases } from './checks/phases';
import { checkViewReaders } from './checks/view-readers';
import { checkCatalogue, checkPlan, checkPolicy } from './checks/tools';
import { complianceBeforeAfter } from './compliance';
import { Findings } from './findings';
import { googleApis } from './google-apis';
import { readinessMarkdown } from './markdown';
import { readDeclaredStacks, type DeclaredStacks } from './stacks';
import { READINESS_FORMAT, type ReadinessReport } from './types';
import { countByPriority, sortBlockers } from './verdict';
import { checkTeamCode } from './checks/code';
import { graceEndOf, reviewEntries, rollbackCommand } from './decisions';
import { realSizeProjection } from './projection';
import { modeOf, notCheckedBlocker, notCheckedOf, verdictsOf } from './production';
import { loadEnvironment } from '../../config/environments';
import { renderReadinessHtml } from '../report/html/readiness-page';

/** Production as the environment config declares it (the commands of NOT CHECKED items name it). */
const PRODUCTION = (() => {
  const prod = loadEnvironment('prod');
  return { project: prod.project, region: prod.region };
})();

export interface ReadinessOptions {
  /** Opened (and closed) here. Give this or `engine`. */
  readonly engineOptions?: EngineOptions;
  /** An engine the caller already opened; left open. */
  readonly engine?: Engine;
  /** A plan file (`bqx plan --out`), or an already-built plan. */
  readonly planFile?: string;
  readonly plan?: Plan;
  readonly policyFile?: string;
  /** Directory of the synthesized stacks. Default `cdktf.out`. */
  readonly stacksDir?: string;
  /** Where readiness.md, readiness.json and index.html go. Default `reports`; null writes nothing. */
  readonly reportsDir?: string | null;
  /** The HTML page. Default `<reportsDir>/index.html`. */
  readonly htmlFile?: string;
  /**
   * One base URL for Storage, Cloud Run, Resource Manager, Service Usage and IAM Credentials (a test
   * double). Env BQX_GOOGLE_API_ENDPOINT. An engine readiness opens gets it too (its project
   * permissions and impersonation); an engine given already opened keeps its own.
   */
  readonly googleApiEndpoint?: string;
  /**
   * Run as this service account (the runner): the engine readiness opens and the Google APIs act
   * as it by impersonation, so testIamPermissions answers for the runner. An engine given already
   * opened keeps its own identity, which the Google APIs then share.
   */
  readonly impersonateServiceAccount?: string;
  readonly now?: () => Date;
  /** The CLI's verbs (`warehouse fingerprint` for subcommands), for the tool inventory; null: not asked. */
  readonly verbs?: readonly string[];
  /** Also write the directive's six documents (Markdown) and one JSON here. */
  readonly outDir?: string;
  /** A checkout of the team's repository: the code scan feeds the inventory, dependencies and blockers. */
  readonly codeDir?: string;
}

export interface ReadinessOutcome {
  readonly report: ReadinessReport;
  readonly markdown: string;
  readonly files: { readonly markdown: string; readonly json: string; readonly html: string } | null;
  /** The six documents and the JSON, when `outDir` was given. */
  readonly documents: readonly string[] | null;
}

/** Reports in `dir` the HTML page links to (relative links only). */
export function reportLinks(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^run-.+\.(md|json)$|^readiness\.(md|json)$|^metrics\.prom$/.test(f))
    .sort();
}

/**
 * The readiness audit: tests every tool, phase, piece of infrastructure and dependency the plan
 * needs, lists blockers by priority and answers GO / CONDITIONAL GO / NO-GO. Writes
 * `readiness.md`, `readiness.json` and the HTML page unless `reportsDir` is null.
 */
export async function runReadiness(opts: ReadinessOptions): Promise<ReadinessOutcome> {
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  const googleApiEndpoint = opts.googleApiEndpoint ?? process.env.BQX_GOOGLE_API_ENDPOINT;
  const o = opts.engineOptions;
  const engine =
    opts.engine ??
    (o
      ? await openAppEngine(
          o.engine === 'bigquery'
            ? { ...o, googleApiEndpoint: o.googleApiEndpoint ?? googleApiEndpoint, impersonateServiceAccount: opts.impersonateServiceAccount ?? o.impersonateServiceAccount }
            : o,
        )
      : null);
  if (!engine) throw new Error('runReadiness needs engineOptions or an open engine');
  const stacksDir = opts.stacksDir ?? 'cdktf.out';
  const findings = new Findings();
  let report: ReadinessReport;
  try {
    // Tools: the policy, the catalogue, the plan.
    const policy = await checkPolicy(findings, opts.policyFile);
    const tables: TableInfo[] | null = await checkCatalogue(findings, engine);
    const plan = await checkPlan(findings, { planFile: opts.planFile, plan: opts.plan, engine, tables, policy });
    const columns = await checkColumnAudit(findings, policy, tables);

    // Phases: every operation class of the plan, rendered by the engine, executor present.
    const phases = await checkPhases(findings, engine, plan, policy);
    await checkViewReaders(findings, engine, plan, now());

    // Infrastructure.
    await checkTargetDataset(findings, engine, plan?.dataset ?? engine.where.dataset);
    await checkRunnerDataset(findings, engine);
    const cost = plan && policy ? costOf(plan, policy, phases.dryRunSample) : null;
    await checkBudget(findings, cost);
    let stacks: DeclaredStacks | null = null;
    await checkStacks(findings, engine, () => (stacks = readDeclaredStacks(stacksDir)), stacksDir, plan?.dataset ?? engine.where.dataset);

    // Dependencies (and, on Google Cloud, credentials, APIs, IAM, buckets, jobs).
    await checkDependencies(findings, engine.kind);
    await checkLockfile(findings);
    let deployed: DeployedJobs | null = null;
    if (engine.kind === 'bigquery') {
      // The BigQuery client library loads on BigQuery only: a local readiness (npm start) never needs it.
      const { renameLossFindings } = await import('../../engines/bigquery/rename-loss');
      // The Google APIs act as the engine does (the runner, impersonated), so every answer is the runner's.
      const apis = googleApis({ endpoint: googleApiEndpoint, identity: (engine as BigQueryEngine).identity });
      const region = engine.where.location.includes('-') ? engine.where.location : 'us-central1';
      const targets = cloudTargets(engine.where.project, region, plan?.dataset ?? engine.where.dataset, stacks);
      if (await checkCredentials(findings, apis)) {
        await checkApis(findings, apis, targets);
        const sample =
          plan?.operations.find((o) => o.action === 'RENAME')?.sources[0] ??
          plan?.operations.find((o) => o.action !== 'KEEP' && o.action !== 'REVIEW')?.sources[0] ??
          tables?.find((t) => t.kind === 'TABLE')?.name ??
          null;
        await checkPermissions(findings, engine, sample);
        await checkBuckets(findings, apis, targets, now());
        deployed = await checkJobs(findings, apis, targets);
        const bq = engine as BigQueryEngine;
        await checkRenameLoss(findings, (tables) => renameLossFindings(bq.jobs, bq.catalog, { project: bq.where.project, dataset: bq.where.dataset, runnerDataset: bq.where.runnerDataset }, tables), plan);
      }
    }

    // The extract job: duplicate features a name-only discovery reads during the grace period.
    const declared = stacks as DeclaredStacks | null;
    const extraction = await checkExtractJob(findings, {
      engineKind: engine.kind,
      policy,
      tables,
      plan,
      job: extractJobSource(engine.kind, declared, deployed),
      stagingBucket: declared?.buckets.find((b) => b.role === 'staging')?.name ?? declared?.buckets.find((b) => /staging/.test(b.name))?.name ?? null,
    });

    // The team's own code: generators, consumers, discoveries (production's blockers).
    const code = opts.codeDir !== undefined ? await checkTeamCode(findings, { dir: opts.codeDir, plan, policy }) : null;

    // What needs the cloud and did not run here: listed, never left out.
    const mode = modeOf(engine.kind);
    const target = { project: mode === 'rehearsal' ? PRODUCTION.project : engine.where.project, dataset: plan?.dataset ?? engine.where.dataset, region: PRODUCTION.region, planFile: opts.planFile ?? null };
    const notChecked = notCheckedOf(mode, target);
    await findings.run({ id: 'infrastructure.cloud', section: 'infrastructure', title: 'checks that need Google Cloud' }, (scope) => {
      scope.skip();
      const nb = notCheckedBlocker(mode, notChecked, target);
      if (nb) findings.blockers.push({ ...nb, check: 'infrastructure.cloud' });
      return `NOT CHECKED ${mode === 'rehearsal' ? 'on a rehearsal' : 'by readiness'}: ${notChecked.map((x) => `${x.what} (${x.command})`).join('; ')}`;
    });

    const blockers = sortBlockers(findings.blockers).map(withEffort);
    const verdicts = verdictsOf(mode, blockers);
    const policyOk = policy !== null;
    report = {
      format: READINESS_FORMAT,
      generatedAt: now().toISOString(),
      mode,
      verdict: verdicts.acted,
      conditions: verdicts.rehearsal?.conditions ?? verdicts.production.conditions,
      production: verdicts.production,
      rehearsal: verdicts.rehearsal,
      notChecked,
      projection: mode === 'rehearsal' && plan && policy ? realSizeProjection(plan, policy) : null,
      code,
      engine: { kind: engine.kind, ...engine.where },
      currentFingerprint: tables ? catalogueFingerprint(tables) : null,
      plan: plan
        ? {
            file: opts.planFile ?? null,
            planHash: plan.planHash,
            engine: plan.engine,
            dataset: plan.dataset,
            catalogueFingerprint: plan.catalogueFingerprint,
            tables: plan.tableCount,
            byAction: plan.summary.byAction,
            byReason: plan.summary.byReason,
            views: plan.views.length,
            graceEnd: graceEndOf(plan),
            review: reviewEntries(plan),
            rollback: rollbackCommand(opts.planFile ?? null, plan.planHash),
          }
        : null,
      cost,
      compliance: tables && policyOk ? complianceBeforeAfter(policy, tables, plan) : null,
      columns,
      extraction,
      inventory: toolInventory(findings.checks, opts.verbs ?? null),
      checks: findings.checks,
      blockers,
      counts: { ...countByPriority(blockers), checks: findings.checks.length, failed: findings.checks.filter((c) => c.status === 'fail').length },
      durationMs: Date.now() - started,
    };
  } finally {
    if (!opts.engine) await engine.close();
  }

  const markdown = readinessMarkdown(report);
  let files: ReadinessOutcome['files'] = null;
  if (opts.reportsDir !== null) {
    const dir = path.resolve(opts.reportsDir ?? 'reports');
    const html = path.resolve(opts.htmlFile ?? path.join(dir, 'index.html'));
    mkdirSync(dir, { recursive: true });
    mkdirSync(path.dirname(html), { recursive: true });
    files = { markdown: path.join(dir, 'readiness.md'), json: path.join(dir, 'readiness.json'), html };
    writeFileSync(files.markdown, markdown);
    writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
    // Run reports of apply/verify/rollback written to the same folder are linked (relative links only).
    const links = path.dirname(html) === dir ? reportLinks(dir) : [];
    writeFileSync(files.html, renderReadinessHtml(report, { links }));
  }
  const documents = opts.outDir !== undefined ? writeReadinessDocuments(opts.outDir, report) : null;
  return { report, markdown, files, documents };
}
