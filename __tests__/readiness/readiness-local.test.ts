/**
 * `bqx readiness` on the local engine: a freshly seeded small DuckDB warehouse and its plan, the
 * platform's stacks synthesized for real, and problems planted one at a time.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeSnapshot } from '../../core/catalogue';
import { EXIT, exitCodeOf } from '../../scripts/exit-codes';
import { outcomeOfVerdict } from '../../app/readiness/verdict';
import { buildPlan } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { runReadiness, type ReadinessOptions, type ReadinessOutcome } from '../../app/readiness/run';
import { runMainJob } from '../../app/main-job';
import { checkLockfile } from '../../app/readiness/checks/dependencies';
import { Findings } from '../../app/readiness/findings';
import { backupNameFor } from '../../core/execute/ids';
import { openDuckDbEngine } from '../../engines/duckdb/engine';
import { main } from '../../scripts/cli';
import { environmentDefaults, localEngineOptions } from '../../scripts/options';
import type { DuckDbEngineOptions } from '../../core/ports/engine';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { seedWarehouse } from '../../warehouse/seed';
import { testNeeding } from '../support/needs';
import { chromiumMissingReason, dumpDom, screenshot } from './support/chromium';
import { PINNED_NOW, synthesizedStacks } from './support/stacks';

const DEFAULT_PROJECT = environmentDefaults().project;

const policy = loadPolicy();
let work: string;
let pristine: string;
let planFile: string;
let plan: Plan;

const optionsFor = (database: string): DuckDbEngineOptions => localEngineOptions(database);

async function planOf(database: string): Promise<Plan> {
  const engine = await openDuckDbEngine(optionsFor(database));
  try {
    const tables = await engine.listTables();
    return await buildPlan(engine, { snapshot: makeSnapshot('duckdb', DEFAULT_PROJECT, FEATURES_DATASET, tables), policy, graceStart: '2026-11-21' });
  } finally {
    await engine.close();
  }
}

let copies = 0;
function freshCopy(): string {
  const db = path.join(work, `copy-${++copies}.duckdb`);
  copyFileSync(pristine, db);
  if (existsSync(`${pristine}.wal`)) copyFileSync(`${pristine}.wal`, `${db}.wal`);
  return db;
}

/** Runs SQL on a closed warehouse file (plants a problem the way an operator's change would). */
async function sql(database: string, statement: string): Promise<void> {
  const instance = await DuckDBInstance.create(database);
  const conn = await instance.connect();
  try {
    await conn.run(statement);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function readiness(database: string, extra: Partial<ReadinessOptions> = {}): Promise<ReadinessOutcome> {
  return runReadiness({
    engineOptions: optionsFor(database),
    planFile,
    stacksDir: synthesizedStacks().dir,
    reportsDir: path.join(work, `reports-${++copies}`),
    now: () => PINNED_NOW,
    ...extra,
  });
}

const blocker = (o: ReadinessOutcome, code: string) => o.report.blockers.find((b) => b.code === code);

/** The text a person sees: the DOM without style, tags and entities. */
function visible(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<title>[\s\S]*?<\/title>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-readiness-local-'));
  pristine = path.join(work, 'pristine.duckdb');
  await seedWarehouse({ database: pristine, scale: 'small' });
  plan = await planOf(pristine);
  planFile = path.join(work, 'plan.json');
  writeFileSync(planFile, `${JSON.stringify(plan, null, 2)}\n`);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bqx readiness on the local warehouse', () => {
  let go: ReadinessOutcome;
  // The GO outcome is read once for the tests that look at it, whichever of them runs.
  beforeAll(async () => {
    go = await readiness(freshCopy());
  });

  test('a freshly seeded small warehouse with its plan: REHEARSAL GO (exit 0), production CONDITIONAL GO, reports written', async () => {
    expect(go.report.mode).toBe('rehearsal');
    // Nothing stops the local run; production's blockers keep production's severity.
    expect(go.report.blockers.filter((b) => (b.priority === 'P0' || b.priority === 'P1') && b.scope !== 'production')).toEqual([]);
    expect(go.report.verdict).toBe('GO');
    expect(go.report.rehearsal?.verdict).toBe('GO');
    expect(exitCodeOf(outcomeOfVerdict(go.report.verdict))).toBe(EXIT.OK);
    // The extract job's name-only discovery is a code change that must ship first: P1 on the local engine too.
    expect(blocker(go, 'EXTRACT_DUPLICATES')).toMatchObject({ priority: 'P1', scope: 'production' });
    expect(blocker(go, 'PRODUCTION_NOT_CHECKED')).toMatchObject({ priority: 'P1', scope: 'production' });
    expect(go.report.production.verdict).toBe('CONDITIONAL GO');
    expect(go.report.notChecked.map((x) => x.id)).toEqual(['credentials', 'apis', 'permissions', 'gcs', 'cloud-run', 'rename-loss', 'quotas', 'cost-tracking']);
    expect(go.report.notChecked.every((x) => /^(bqx|gcloud) /.test(x.command))).toBe(true);
    expect(go.report.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['dependencies.extract-job']);
    // Every part of the audit ran, not just the cheap ones.
    const ids = go.report.checks.map((c) => c.id);
    for (const id of ['tools.policy', 'tools.plan', 'phases.rename', 'phases.dedupe', 'phases.consolidate', 'phases.views', 'phases.validation', 'infrastructure.dataset', 'infrastructure.budget', 'infrastructure.stacks', 'dependencies.node', 'dependencies.packages', 'dependencies.lockfile']) {
      expect(ids).toContain(id);
    }
    for (const cls of ['rename', 'dedupe', 'consolidate', 'views', 'validation']) expect(go.report.checks.find((c) => c.id === `phases.${cls}`)?.status).toBe('pass');
    expect(go.report.plan?.planHash).toBe(plan.planHash);
    // Compliance: before from the warehouse, after from the plan's resulting names.
    const c = go.report.compliance!;
    expect(c.before.nonCompliant).toBeGreaterThan(0);
    expect(c.after!.nonCompliant).toBe(plan.summary.byAction.REVIEW);
    expect(c.after!.tables).toBeLessThan(c.before.tables); // dedupes and consolidations remove tables
    // Reports: Markdown of at most ~150 lines, JSON identical to the report, HTML.
    expect(go.markdown.split('\n').length).toBeLessThanOrEqual(150);
    expect(go.markdown).toMatch(/^# Readiness: REHEARSAL GO \(this local run may proceed\) · PRODUCTION CONDITIONAL GO$/m);
    expect(go.markdown).toContain('REHEARSAL on a synthetic copy');
    expect(go.markdown).toContain('## NOT CHECKED (needs Google Cloud)');
    expect(JSON.parse(readFileSync(go.files!.json, 'utf8'))).toEqual(JSON.parse(JSON.stringify(go.report)));
    expect(readFileSync(go.files!.html, 'utf8')).toContain('id="verdict"');
  });

  test('a default table expiration on the features dataset is P0 DATASET_EXPIRATION → NO-GO (exit 10)', async () => {
    const db = freshCopy();
    await sql(db, `UPDATE "_bqx_catalog"."dataset_options" SET default_table_expiration_ms = 86400000 WHERE dataset = '${FEATURES_DATASET}'`);
    const out = await readiness(db);
    expect(out.report.verdict).toBe('NO-GO');
    expect(exitCodeOf(outcomeOfVerdict(out.report.verdict))).toBe(EXIT.NO_GO);
    expect(blocker(out, 'DATASET_EXPIRATION')).toMatchObject({ priority: 'P0', check: 'infrastructure.dataset' });
    expect(blocker(out, 'DATASET_EXPIRATION')!.title).toContain('default table expiration of 1 day(s)');
  });

  test('a plan made from another catalogue is P0 PLAN_STALE → NO-GO', async () => {
    const other = path.join(work, 'other.duckdb');
    await seedWarehouse({ database: other, scale: 'small', rows: 30 });
    const otherPlan = await planOf(other);
    expect(otherPlan.catalogueFingerprint).not.toBe(plan.catalogueFingerprint);
    const otherFile = path.join(work, 'other-plan.json');
    writeFileSync(otherFile, JSON.stringify(otherPlan));
    const out = await readiness(freshCopy(), { planFile: otherFile });
    expect(out.report.verdict).toBe('NO-GO');
    expect(blocker(out, 'PLAN_STALE')).toMatchObject({ priority: 'P0', check: 'tools.plan' });
    expect(blocker(out, 'PLAN_STALE')!.mitigation).toMatch(/table\(s\) differ/);
  });

  test('a budget too small for the consolidations is P1 BUDGET_TOO_SMALL → CONDITIONAL GO (exit 11) with the condition listed', async () => {
    expect(plan.operations.filter((o) => o.action === 'CONSOLIDATE').reduce((n, o) => n + o.estimatedBytes, 0)).toBeGreaterThan(0);
    const tight = path.join(work, 'tight.policy.yaml');
    writeFileSync(tight, readFileSync(policy.source, 'utf8').replace(/^(\s*budgetUsd:)\s*[\d.]+/m, '$1 0.0000001'));
    const out = await readiness(freshCopy(), { policyFile: tight });
    expect(out.report.verdict).toBe('CONDITIONAL GO');
    expect(exitCodeOf(outcomeOfVerdict(out.report.verdict))).toBe(EXIT.CONDITIONAL_GO);
    expect(out.report.blockers.filter((b) => b.priority === 'P0')).toEqual([]);
    expect(blocker(out, 'BUDGET_TOO_SMALL')).toMatchObject({ priority: 'P1', check: 'infrastructure.budget' });
    expect(out.report.conditions.join('\n')).toMatch(/budget/);
    expect(out.markdown).toMatch(/^Rehearsal: \*\*CONDITIONAL GO\*\*/m);
    expect(out.markdown).toMatch(/^- .*budget/m);
  });

  test('an invalid plan file is P0 and a missing plan is P1 (phases not assessed)', async () => {
    const broken = path.join(work, 'broken-plan.json');
    writeFileSync(broken, readFileSync(planFile, 'utf8').slice(0, 500));
    const bad = await readiness(freshCopy(), { planFile: broken });
    expect(bad.report.verdict).toBe('NO-GO');
    expect(bad.report.blockers.find((b) => b.check === 'tools.plan')?.priority).toBe('P0');
    const none = await readiness(freshCopy(), { planFile: undefined });
    expect(none.report.verdict).toBe('CONDITIONAL GO');
    expect(blocker(none, 'NO_PLAN')?.priority).toBe('P1');
    expect(none.report.checks.find((c) => c.id === 'phases')?.status).toBe('skip');
  });

  test('a statement the engine refuses in rehearsal is a P0 of its phase (NO-GO)', async () => {
    // A table left in the runner dataset under the name the first DEDUPE's backup will take: the
    // backup step would fail, and the rehearsal (a rolled-back transaction) finds it before any run.
    const db = freshCopy();
    const dedupe = [...plan.operations].sort((a, b) => a.seq - b.seq).find((o) => o.action === 'DEDUPE')!;
    const runner = environmentDefaults().runnerDataset;
    await sql(db, `CREATE SCHEMA IF NOT EXISTS "${runner}"; CREATE TABLE "${runner}"."${backupNameFor(dedupe.id, dedupe.sources[0], 1)}" (x INTEGER)`);
    const out = await readiness(db);
    expect(out.report.verdict).toBe('NO-GO');
    expect(out.report.blockers.find((b) => b.check === 'phases.dedupe')).toMatchObject({ code: 'PHASE_NOT_READY', priority: 'P0' });
    expect(out.report.blockers.find((b) => b.check === 'phases.dedupe')?.title).toContain('refuses a statement');
    expect(out.report.checks.find((c) => c.id === 'phases.rename')?.status).toBe('pass');
    // The rehearsal changed nothing: the dataset is as planned (no PLAN_STALE), and a clean copy is GO.
    expect(blocker(out, 'PLAN_STALE')).toBeUndefined();
  });

  test('installed packages that differ from package-lock.json are a blocker (runtime P1, dev P3)', async () => {
    const root = mkdtempSync(path.join(work, 'lock-'));
    const pkg = (name: string, version: string) => {
      mkdirSync(path.join(root, 'node_modules', name), { recursive: true });
      writeFileSync(path.join(root, 'node_modules', name, 'package.json'), JSON.stringify({ name, version }));
    };
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ dependencies: { zod: '^3.0.0', commander: '^12.0.0' }, devDependencies: { jest: '^29.0.0' } }));
    writeFileSync(
      path.join(root, 'package-lock.json'),
      JSON.stringify({ packages: { 'node_modules/zod': { version: '3.25.76' }, 'node_modules/commander': { version: '12.1.0' }, 'node_modules/jest': { version: '29.7.0' } } }),
    );
    pkg('zod', '3.25.76');
    pkg('commander', '12.0.1');
    pkg('jest', '29.6.0');
    const f = new Findings();
    await checkLockfile(f, root);
    expect(f.blockers.map((b) => [b.code, b.priority, b.title])).toEqual([
      ['LOCKFILE_DRIFT', 'P1', 'commander 12.0.1 is installed, package-lock.json pins 12.1.0'],
      ['LOCKFILE_DRIFT', 'P3', 'jest 29.6.0 is installed, package-lock.json pins 29.7.0'],
    ]);
    // This repository's own install matches its lockfile (CI installs with npm ci).
    const own = new Findings();
    await checkLockfile(own);
    expect(own.blockers).toEqual([]);
    expect(own.checks[0].status).toBe('pass');
  });

  test('the CLI verb prints the verdict and exits 0 for GO, 10 for NO-GO', async () => {
    const db = freshCopy();
    const run = async (args: string[]) => {
      const chunks: string[] = [];
      const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (chunks.push(String(s)), true));
      const before = process.exitCode;
      try {
        const code = await main(['node', 'bqx', 'readiness', '--database', db, '--plan', planFile, '--stacks', synthesizedStacks().dir, '--reports-dir', path.join(work, `cli-${++copies}`), ...args]);
        return { code, out: chunks.join('') };
      } finally {
        spy.mockRestore();
        process.exitCode = before;
      }
    };
    const ok = await run(['--json']);
    expect(ok.code).toBe(EXIT.OK);
    expect(JSON.parse(ok.out).verdict).toBe('GO');
    await sql(db, `UPDATE "_bqx_catalog"."dataset_options" SET default_table_expiration_ms = 3600000 WHERE dataset = '${FEATURES_DATASET}'`);
    const nogo = await run([]);
    expect(nogo.code).toBe(EXIT.NO_GO);
    expect(nogo.out).toMatch(/^# Readiness: REHEARSAL NO-GO \(this local run may not proceed\) · PRODUCTION NO-GO$/m);
    expect(nogo.out).toContain('index.html');
  });

  testNeeding(chromiumMissingReason(), 'the HTML report renders in headless Chromium with the verdict, before/after numbers and cost at the top', async () => {
    const r = go.report;
    const dom = await dumpDom(go.files!.html);
    const text = (id: string) => {
      const m = dom.match(new RegExp(`id="${id}"[^>]*>([^<]*)<`));
      return m ? m[1] : null;
    };
    expect(text('verdict')).toBe('GO');
    // Rehearsal or production, said at the top; both verdicts; what was not checked; decisions and dates.
    expect(visible(dom)).toMatch(/^REHEARSAL on a synthetic copy/);
    expect(text('production-verdict')).toBe('PRODUCTION CONDITIONAL GO');
    expect(visible(dom)).toContain('NOT CHECKED (8)');
    expect(text('grace-end')).toBe(r.plan!.graceEnd);
    expect(text('rollback-command')).toBe(`bqx rollback ${planFile} --approve ${r.plan!.planHash}`);
    for (const x of r.plan!.review) expect(visible(dom)).toContain(x.table);
    expect(visible(dom)).toMatch(/EA 1,968 .*BA 2,042 .*here/);
    const fmt = (n: number) => n.toLocaleString('en-US');
    expect(text('compliance-before')).toBe(`${fmt(r.compliance!.before.compliant)} / ${fmt(r.compliance!.before.tables)}`);
    expect(text('compliance-after')).toBe(`${fmt(r.compliance!.after!.compliant)} / ${fmt(r.compliance!.after!.tables)}`);
    const usd = r.cost!.estimatedCostUsd;
    expect(text('kpi-cost-estimate')).toBe(usd === 0 ? '$0.00' : usd < 0.01 ? '&lt; $0.01' : `$${usd.toFixed(2)}`);
    // One compliance card with the headline numbers (the family table does not repeat them).
    expect(dom.match(/id="compliance-before"/g)).toHaveLength(1);
    expect(dom.match(/>M008 compliance</g)).toHaveLength(1);
    // The estimate is a tiny share of the budget: said in words, never drawn as an empty bar.
    const share = dom.match(/id="kpi-cost-share"[^>]*>([\s\S]*?)<\/div>/)![1];
    expect(visible(share)).toMatch(/^< 0\.0001% of the \$15\.00 budget: too small to draw$|^\d[\d.]*% of the \$15\.00 budget: too small to draw$/);
    expect(share).not.toContain('<svg');
    // What the readiness found about columns and the extract job is on the page too.
    expect(visible(dom)).toContain(`${r.extraction!.duplicatesDuringGrace} duplicate feature tables across 5 pairs`);
    expect(visible(dom)).toMatch(/Column audit \(reports only\)/i);
    // The summary (verdict, blockers, compliance, operations, cost) comes before any details table.
    const order = ['id="verdict"', 'id="kpi-blockers"', 'id="kpi-compliance"', 'id="kpi-operations"', 'id="kpi-cost"', 'class="details"'].map((s) => dom.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // Self-contained: no external asset of any kind.
    expect(dom).not.toMatch(/<(script|link|img)\b[^>]*(src|href)=/i);

    const png = path.join(process.env.BQX_SCREENSHOT_DIR ?? work, 'readiness-go.png');
    await screenshot(go.files!.html, png);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.length).toBeGreaterThan(10_000);
  });

  // One `bqx main` run on a fresh copy, shared by the tests that look at it (each starts it if
  // it has not run yet, so either passes or fails alone).
  const progressLabels: string[] = [];
  const mainReports = () => path.join(work, 'main-reports');
  let mainRun: ReturnType<typeof runMainJob> | null = null;
  const mainJob = () =>
    (mainRun ??= runMainJob({
      progress: { update: (done: number, total: number, label: string) => void progressLabels.push(`${done}/${total} ${label}`), done: () => void progressLabels.push('done') },
      engine: optionsFor(freshCopy()),
      scale: 'small',
      reportsDir: mainReports(),
      stacksDir: path.join(work, 'main-stacks'),
      planOut: path.join(work, 'main-plan.json'),
      graceStart: '2026-11-21',
    }));

  testNeeding(chromiumMissingReason(), 'after `bqx main` the HTML report shows what the run did, opened in headless Chromium', async () => {
    const result = await mainJob();
    const reportsDir = mainReports();
    expect(result.outcome).toBe('OK');
    const applied = JSON.parse(readFileSync(path.join(reportsDir, 'run-apply.json'), 'utf8'));
    const verified = JSON.parse(readFileSync(path.join(reportsDir, 'run-verify.json'), 'utf8'));
    const reconciled = JSON.parse(readFileSync(path.join(reportsDir, 'run-reconcile.json'), 'utf8'));
    const readinessJson = JSON.parse(readFileSync(path.join(reportsDir, 'readiness.json'), 'utf8'));

    const dom = await dumpDom(result.html);
    const text = (id: string) => visible(dom.match(new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</(span|div|b)>`))?.[1] ?? '');
    const seen = visible(dom);
    const fmt = (n: number) => n.toLocaleString('en-US');
    // What the run did, from the run's own reports, not the plan's projection.
    expect(text('run-status')).toBe('RUN OK');
    expect(text('verdict')).toBe('GO');
    expect(text('run-applied')).toBe(fmt(applied.byOutcome.APPLIED));
    expect(text('run-skipped')).toBe(fmt(applied.byOutcome.SKIPPED));
    expect(text('run-failed')).toBe('0');
    expect(text('validation-passed')).toBe(`${fmt(applied.validation.passed + verified.validation.passed)} / ${fmt(applied.validation.checks + verified.validation.checks)}`);
    expect(visible(dom.match(/id="reconcile"[^>]*>([\s\S]*?)<\/div>/)![1])).toBe(`MATCHED ${fmt(reconciled.counts.MATCHED)} · DRIFT 0 · MISSING 0 · UNMANAGED 0`);
    // Compliance measured by real audits before and after the run.
    const tablesBefore = readinessJson.compliance.before.tables;
    const tablesAfter = readinessJson.compliance.after.tables; // the plan's projection, which the run must meet
    expect(text('compliance-before')).toBe(`${fmt(tablesBefore - result.violations.before)} / ${fmt(tablesBefore)}`);
    expect(text('compliance-after')).toBe(`${fmt(tablesAfter - result.violations.after)} / ${fmt(tablesAfter)}`);
    expect(result.violations.after).toBe(3);
    expect(dom.match(/id="compliance-before"/g)).toHaveLength(1);
    // By action and outcome.
    const byAction = (action: string, outcome: string) => applied.results.filter((x: { action: string; outcome: string }) => x.action === action && x.outcome === outcome).length;
    expect(seen).toMatch(new RegExp(`RENAME ${byAction('RENAME', 'APPLIED')} – ${byAction('RENAME', 'APPLIED')}`));
    expect(seen).toMatch(new RegExp(`CONSOLIDATE ${byAction('CONSOLIDATE', 'APPLIED')} – ${byAction('CONSOLIDATE', 'APPLIED')}`));
    // Bytes and dollars: the share of the budget in words, no empty bar.
    expect(text('run-cost')).toBe(applied.bytesProcessed === 0 ? '$0.00' : '< $0.01');
    expect(dom.match(/id="run-cost-share"[^>]*>([\s\S]*?)<\/div>/)![1]).not.toContain('<svg');
    // The column audit before and after, and the extract job per pair, as the job measured them.
    expect(seen).toContain(`WINDOW_VIOLATION ${result.columns.before.windowViolations} ${result.columns.after.windowViolations}`);
    expect(seen).toContain(`PATTERN_VIOLATION ${result.columns.before.patternViolations} ${result.columns.after.patternViolations}`);
    const eurusd = readinessJson.extraction.pairs.find((p: { pair: string }) => p.pair === 'eurusd');
    expect(seen).toContain(`EURUSD ${eurusd.before} ${eurusd.after} ${eurusd.duplicatesDuringGrace} ${eurusd.duplicatesBefore} ${fmt(eurusd.remap.RENAMED)} ${fmt(eurusd.remap.MERGED)} ${fmt(eurusd.remap.UNCHANGED)}`);
    expect(seen).toContain("table_type = 'BASE TABLE'");
    // Every run-*.md is linked, and every link resolves to a file next to the page.
    const links = [...dom.matchAll(/<a href="([^"]+)"/g)].map((m) => decodeURI(m[1]));
    const runReports = readdirSync(reportsDir).filter((f) => /^run-.+\.md$/.test(f));
    expect(runReports.sort()).toEqual(['run-apply.md', 'run-paper.md', 'run-reconcile.md', 'run-verify.md']);
    for (const f of runReports) expect(links).toContain(f);
    // The directive's deliverables under its own dated file names.
    for (const doc of ['BA_AUDIT_SUMMARY', 'EXECUTION_BLOCKER_ANALYSIS']) {
      expect(links.filter((l) => new RegExp(`^readiness-audit/${doc}_\\d{4}-?\\d{2}-?\\d{2}\\.md$`).test(l))).toHaveLength(1);
    }
    for (const l of links) expect(existsSync(path.join(path.dirname(result.html), l))).toBe(true);
    // The manifests the runner leaves for the job.
    expect(JSON.parse(readFileSync(path.join(reportsDir, 'staging', 'manifests', 'eurusd', 'extraction.json'), 'utf8')).tables).toHaveLength(eurusd.after);
    // No duplicate ids, nothing external.
    const ids = [...dom.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.filter((x, i) => ids.indexOf(x) !== i)).toEqual([]);
    expect(dom).not.toMatch(/<(script|link|img)\b[^>]*(src|href)=/i);

    const png = path.join(process.env.BQX_SCREENSHOT_DIR ?? work, 'run-report.png');
    await screenshot(result.html, png, 1280, 1800);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.length).toBeGreaterThan(20_000);
  }, 180_000);

  test('the main job reports progress during its long steps (plan, paper run and apply count; the others show their elapsed time)', async () => {
    expect((await mainJob()).outcome).toBe('OK');
    const labels = progressLabels.join('\n');
    expect(labels).toMatch(/^\d+\/\d+ plan: /m);
    expect(progressLabels.filter((l) => /^\d+\/\d+ /.test(l) && !/^0\/0 /.test(l) && !/plan: /.test(l)).length).toBeGreaterThan(2); // batches of the paper run and the apply
    for (const step of ['synth', 'readiness', 'verify', 'reconcile']) expect(labels).toMatch(new RegExp(`^0/0 ${step} … \\d+ s$`, 'm'));
    expect(progressLabels.filter((l) => l === 'done').length).toBeGreaterThanOrEqual(8);
  }, 180_000);
});
