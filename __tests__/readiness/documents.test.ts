/**
 * `bqx readiness --out-dir DIR`: the readiness directive's six documents and one JSON, written from
 * the same report the verdict comes from; the six questions answered in the executive summary; the
 * extract-job check on the embedded warehouse.
 */
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { answersOf, documentNames, QUESTIONS, riskOf } from '../../app/readiness/documents';
import { toolInventory } from '../../app/readiness/inventory';
import { runReadiness, type ReadinessOutcome } from '../../app/readiness/run';
import type { ReadinessReport } from '../../app/readiness/types';
import { EXIT } from '../../scripts/exit-codes';
import { localEngineOptions } from '../../scripts/options';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { seedWarehouse } from '../../warehouse/seed';
import { bqx } from '../extraction/support';
import { PINNED_NOW, synthesizedStacks } from './support/stacks';
import { environmentInput } from '../../config/environments';
import { parseEnvironment } from '../../config/environment';
import { readDeclaredStacks } from '../../app/readiness/stacks';
import { synthesizeEnvironment } from '../../stacks/synthesize';

let work: string;
let pristine: string;
let planFile: string;
let copies = 0;

function freshCopy(): string {
  const db = path.join(work, `copy-${++copies}.duckdb`);
  copyFileSync(pristine, db);
  if (existsSync(`${pristine}.wal`)) copyFileSync(`${pristine}.wal`, `${db}.wal`);
  return db;
}

async function readiness(db: string, extra: { stacksDir?: string } = {}): Promise<ReadinessOutcome & { dir: string }> {
  const dir = path.join(work, `audit-${++copies}`);
  const out = await runReadiness({
    engineOptions: localEngineOptions(db),
    planFile,
    stacksDir: extra.stacksDir ?? synthesizedStacks().dir,
    reportsDir: path.join(work, `reports-${copies}`),
    outDir: dir,
    verbs: ['audit', 'plan', 'apply', 'verify', 'reconcile', 'rollback', 'unlock', 'readiness', 'synth', 'extraction', 'remap', 'warehouse fingerprint'],
    now: () => PINNED_NOW,
  });
  return { ...out, dir };
}

const read = (dir: string, f: string) => readFileSync(path.join(dir, f), 'utf8');
/** The directive's file names, dated by the pinned clock (2026-…: see support/stacks PINNED_NOW). */
const DOCUMENTS = documentNames(PINNED_NOW.toISOString());

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-readiness-docs-'));
  pristine = path.join(work, 'pristine.duckdb');
  await seedWarehouse({ database: pristine, scale: 'small' });
  planFile = path.join(work, 'plan.json');
  expect((await bqx(['plan', '--database', pristine, '--out', planFile, '--grace-start', '2026-11-21'])).code).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the six readiness documents', () => {
  let go: Awaited<ReturnType<typeof readiness>>;
  beforeAll(async () => {
    go = await readiness(freshCopy());
  });

  test('six Markdown documents and one JSON, the JSON holding the very report and its answers', () => {
    expect(go.documents).toEqual(Object.values(DOCUMENTS).map((f) => path.join(go.dir, f)));
    expect(readdirSync(go.dir).sort()).toEqual(Object.values(DOCUMENTS).sort());
    const json = JSON.parse(read(go.dir, DOCUMENTS.json));
    expect(json.format).toBe('bqx-readiness-audit/v1');
    expect(json.report).toEqual(JSON.parse(JSON.stringify(go.report)));
    expect(json.answers).toEqual(JSON.parse(JSON.stringify(answersOf(go.report))));
  });

  test('the executive summary answers the six questions explicitly, in at most three pages', () => {
    const md = read(go.dir, DOCUMENTS.summary);
    expect(md.split('\n').length).toBeLessThanOrEqual(165);
    QUESTIONS.forEach((q, i) => {
      const section = md.split(`## ${i + 1}. ${q}\n`)[1]?.split(/^## /m)[0];
      expect(section).toBeDefined();
      expect(section!.trim().split('\n')[0]).toMatch(/^\*\*.+\*\*$/);
    });
    const a = answersOf(go.report);
    expect(go.report.verdict).toBe('GO');
    // Answered for production, with what the rehearsal proved and could not.
    expect(md).toContain(`**Production verdict: CONDITIONAL GO. Risk: ${riskOf(go.report.blockers)}.**`);
    expect(md).toContain('**Rehearsal verdict: GO**');
    expect(md).toContain(`**${a.answers[0].answer}**`);
    expect(a.answers[0].answer).toMatch(/^Not with zero delays: production is CONDITIONAL GO, \d condition\(s\)/);
    expect(a.answers[0].answer).toContain('The rehearsal on the synthetic copy is GO');
    expect(a.answers[1].answer).not.toMatch(/Nothing is missing/);
    expect(a.answers[1].answer).toContain('8 production check(s) were NOT CHECKED here');
    expect(a.answers[4].answer).toMatch(/^HIGH/);
    // The dependency answer names the extract job's duplicates, with the number from the report.
    expect(md).toContain(`${go.report.extraction!.duplicatesDuringGrace} duplicate feature table(s)`);
  });

  test('each document carries the report’s own values', () => {
    const r = go.report;
    const inventory = read(go.dir, DOCUMENTS.inventory);
    for (const t of r.inventory) expect(inventory).toContain(`| \`${t.verb}\` | yes | ${t.ready === 'not checked' ? 'not checked' : t.ready.toUpperCase()} |`);
    expect(r.inventory.length).toBeGreaterThanOrEqual(16);
    const phase = read(go.dir, DOCUMENTS.phase);
    expect(phase).toContain(`| RENAME | ${r.plan!.byAction.RENAME} | \`bqx apply\` | PASS | LOW |`);
    expect(phase).toContain(`| CONSOLIDATE | ${r.plan!.byAction.CONSOLIDATE} |`);
    expect(phase).toContain(`| VIEWS | ${r.plan!.views} |`);
    const deps = read(go.dir, DOCUMENTS.dependencies);
    for (const p of r.extraction!.pairs) expect(deps).toContain(`| ${p.pair.toUpperCase()} | ${p.before} | ${p.after} | ${p.nameOnlyGrace} | ${p.duplicatesDuringGrace} | ${p.duplicatesBefore} |`);
    expect(deps).toMatch(/table_type = 'BASE TABLE'/);
    const blockers = read(go.dir, DOCUMENTS.blockers);
    for (const b of r.blockers) {
      expect(blockers).toContain(b.title.slice(0, 60));
      expect(b.delay).toBeTruthy();
      expect(b.workaround).toBeTruthy();
    }
    expect(read(go.dir, DOCUMENTS.infrastructure)).toContain('budget room');
  });

  test('every document names the engine and says REHEARSAL; the blocker analysis uses the directive’s per-item format', () => {
    for (const f of Object.values(DOCUMENTS).filter((x) => x.endsWith('.md'))) {
      const text = read(go.dir, f);
      expect(text).toContain('REHEARSAL on a synthetic copy: the embedded DuckDB warehouse');
      expect(text).toContain('REHEARSAL GO (this local run may proceed) · PRODUCTION CONDITIONAL GO · duckdb:');
    }
    const blockers = read(go.dir, DOCUMENTS.blockers);
    for (const field of ['Status', 'Impact', 'Estimated delay', 'Mitigation', 'Workaround', 'Recommended action']) expect(blockers.match(new RegExp(`^- \\*\\*${field}:\\*\\* `, 'gm'))).toHaveLength(go.report.blockers.length);
    expect(blockers).toContain('OPEN: blocks production (this rehearsal may proceed)');
    expect(read(go.dir, DOCUMENTS.infrastructure)).toContain('## NOT CHECKED');
    expect(read(go.dir, DOCUMENTS.inventory)).toContain('NOT CHECKED: the team’s code was not scanned');
  });

  test('on the embedded warehouse the extract job’s duplicates are reported at production’s severity (P1), per pair, without stopping the rehearsal', () => {
    const b = go.report.blockers.find((x) => x.code === 'EXTRACT_DUPLICATES')!;
    expect(b).toMatchObject({ priority: 'P1', scope: 'production', check: 'dependencies.extract-job' });
    const x = go.report.extraction!;
    expect(x.jobDiscovery).toMatchObject({ mode: 'name-only', fixed: false });
    expect(x.pairs.map((p) => p.pair).sort()).toEqual(['audcad', 'audchf', 'eurusd', 'gbpusd', 'nzdusd']);
    expect(x.pairs.every((p) => p.duplicatesDuringGrace > 0 && p.remap !== null)).toBe(true);
    expect(b.title).toContain(`${x.duplicatesDuringGrace} duplicate feature tables`);
  });
});

test('a P0 makes the summary say no, HIGH, and the blockers document give its delay and workaround', async () => {
  const db = freshCopy();
  const instance = await DuckDBInstance.create(db);
  const conn = await instance.connect();
  await conn.run(`UPDATE "_bqx_catalog"."dataset_options" SET default_table_expiration_ms = 86400000 WHERE dataset = '${FEATURES_DATASET}'`);
  conn.closeSync();
  instance.closeSync();
  const out = await readiness(db);
  expect(out.report.verdict).toBe('NO-GO');
  const md = read(out.dir, DOCUMENTS.summary);
  expect(md).toContain('**Production verdict: NO-GO. Risk: HIGH.**');
  expect(md).toMatch(/## 1\. Can we start now, with zero delays\?\n\n\*\*No: NO-GO, 1 P0 blocker\(s\) prevent execution\. The rehearsal/);
  expect(md).toMatch(/## 3\. Are there infrastructure blockers\?\n\n\*\*2 blocking/);
  expect(md).toContain('default table expiration of 1 day(s)');
  const blockers = read(out.dir, DOCUMENTS.blockers);
  expect(blockers).toMatch(/## P0 \(1\)[\s\S]*default table expiration[\s\S]*minutes \(one bq update\)[\s\S]*none: renamed tables could be deleted at once/);
});

test('the stacks declaring EXTRACTION_DISCOVERY=base-tables on the extract job clear the finding', async () => {
  const { dir } = synthesizedStacks();
  const stacks = path.join(work, 'stacks-fixed');
  for (const s of readdirSync(path.join(dir, 'stacks')).filter((s) => !s.startsWith('views'))) cpSync(path.join(dir, 'stacks', s), path.join(stacks, 'stacks', s), { recursive: true });
  const file = path.join(stacks, 'stacks', 'pipeline', 'cdk.tf.json');
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const job = Object.values(json.resource.google_cloud_run_v2_job as Record<string, { labels: Record<string, string>; template: { template: { containers: { env: { name: string; value: string }[] }[] } } }>).find((j) => j.labels.job === 'extract')!;
  job.template.template.containers[0].env.push({ name: 'EXTRACTION_DISCOVERY', value: 'base-tables' });
  writeFileSync(file, JSON.stringify(json));
  const out = await readiness(freshCopy(), { stacksDir: stacks });
  expect(out.report.blockers.find((b) => b.code === 'EXTRACT_DUPLICATES')).toBeUndefined();
  expect(out.report.extraction!.jobDiscovery).toMatchObject({ mode: 'base-tables', fixed: true });
  expect(out.report.checks.find((c) => c.id === 'dependencies.extract-job')?.status).toBe('pass');
});

test('jobs.extract.discovery in the config reaches readiness through the synthesized stacks', async () => {
  const input = environmentInput('prod');
  input.jobs.extract.discovery = 'manifest';
  const stacks = path.join(work, 'stacks-manifest');
  synthesizeEnvironment({ env: parseEnvironment(input, 'prod'), outdir: stacks, plan: null, now: PINNED_NOW });
  const out = await readiness(freshCopy(), { stacksDir: stacks });
  expect(out.report.blockers.find((b) => b.code === 'EXTRACT_DUPLICATES')).toBeUndefined();
  expect(out.report.extraction!.jobDiscovery).toEqual({ mode: 'manifest', source: "the stacks' job bqx-ml-extract", fixed: true });
  // The manifest readiness names is the one the stacks tell the job to read.
  expect(readDeclaredStacks(stacks)!.jobs.find((j) => j.role === 'extract')!.env.EXTRACTION_MANIFEST).toBe(out.report.extraction!.manifestPath);
  // The committed config (name-only) leaves the finding in place (P1 for production on the embedded warehouse too).
  const committed = await readiness(freshCopy());
  expect(committed.report.extraction!.jobDiscovery).toMatchObject({ mode: 'name-only', fixed: false });
  expect(committed.report.blockers.find((b) => b.code === 'EXTRACT_DUPLICATES')?.mitigation).toContain('set jobs.extract.discovery in config/environments.ts');
});

test('a tool missing from the CLI is "no" in the inventory and named in answer 2', () => {
  const checks = [{ id: 'dependencies.extract-job', section: 'dependencies' as const, title: 't', status: 'pass' as const, detail: '', durationMs: 1 }];
  const inv = toolInventory(checks, ['audit', 'plan', 'apply', 'verify', 'reconcile', 'rollback', 'unlock', 'readiness', 'synth', 'extraction', 'warehouse fingerprint']);
  expect(inv.find((t) => t.verb === 'bqx remap')).toMatchObject({ present: false, ready: 'pass' });
  expect(inv.find((t) => t.verb === 'bqx extraction')).toMatchObject({ present: true, ready: 'pass' });
  expect(inv.find((t) => t.verb === 'bqx verify')).toMatchObject({ present: true, ready: 'not checked' });
  expect(inv.filter((t) => t.present === false).map((t) => t.verb)).toEqual(['bqx remap']);
  const report = { mode: 'production', verdict: 'GO', production: { verdict: 'GO', conditions: [] }, rehearsal: null, notChecked: [], code: null, blockers: [], inventory: inv, checks, counts: { P0: 0, P1: 0, P2: 0, P3: 0, checks: 1, failed: 0 }, extraction: null, cost: null } as unknown as ReadinessReport;
  const a = answersOf(report);
  expect(a.answers[1].answer).toMatch(/^1 tool\(s\) of the inventory are missing/);
  expect(a.answers[1].points.join('\n')).toContain('bqx remap is not in the CLI');
});

test('bqx readiness --out-dir writes them through the CLI and names them', async () => {
  const dir = path.join(work, 'cli-audit');
  mkdirSync(dir, { recursive: true });
  const r = await bqx(['readiness', '--database', freshCopy(), '--plan', planFile, '--stacks', synthesizedStacks().dir, '--reports-dir', path.join(work, 'cli-reports'), '--out-dir', dir]);
  expect(r.code).toBe(EXIT.OK);
  // Dated by the run's own clock.
  const D = documentNames(JSON.parse(read(dir, readdirSync(dir).find((f) => f.endsWith('.json'))!)).report.generatedAt);
  expect(r.out).toContain(`Readiness documents: ${path.join(dir, D.summary)}`);
  const json = JSON.parse(read(dir, D.json));
  // Through the CLI the inventory knows the CLI's own verbs.
  expect(json.report.inventory.every((t: { present: boolean }) => t.present === true)).toBe(true);
  expect(read(dir, D.inventory)).not.toContain('not asked');
});

test('--code DIR: the team’s scripts in the inventory, the required scripts, data dependencies with dates, production blockers', async () => {
  const fixtures = path.join(__dirname, '..', 'scan', 'fixtures', 'team-repo');
  const dir = path.join(work, 'audit-code');
  const out = await runReadiness({ engineOptions: localEngineOptions(freshCopy()), planFile, stacksDir: synthesizedStacks().dir, reportsDir: path.join(work, 'reports-code'), outDir: dir, codeDir: fixtures, now: () => PINNED_NOW });
  const r = out.report;
  // The team's code blocks production, never the rehearsal.
  expect(r.verdict).toBe('GO');
  expect(r.production.verdict).toBe('CONDITIONAL GO');
  expect(r.blockers.find((b) => b.code === 'CODE_WRITES_RETIRED_NAME')).toMatchObject({ priority: 'P1', scope: 'production', check: 'dependencies.team-code' });
  expect(r.blockers.find((b) => b.code === 'CODE_DISCOVERY_READS_VIEWS')?.mitigation).toContain('pipelines/training/parallel_feature_testing.py:14');
  const inventory = read(dir, DOCUMENTS.inventory);
  expect(inventory).toContain('| BLOCKED | `scripts/generate_cov_tables.py` | python | generation | yes |');
  expect(inventory).toContain('| BLOCKED | `Dockerfile.extract` | dockerfile | build | no |');
  expect(inventory).toMatch(/\| MISSING \| LAG consolidation \(224 → 56\) \|/);
  const phase = read(dir, DOCUMENTS.phase);
  expect(phase).toMatch(/\| validation of row counts and schemas before\/after \| PRESENT \| scripts\/validate_m008_renames\.py:1 \|/);
  const deps = read(dir, DOCUMENTS.dependencies);
  expect(deps).toMatch(/\| `scripts\/generate_var_lag\.py:16` \| consumer \| READS_RETIRED_NAME \| 2 \| lag_bqx_eurusd_45 \| 2026-12-21 \|/);
  expect(deps).toMatch(/\| `scripts\/generate_cov_tables\.py:31` \| generator \| WRITES_RETIRED_NAME \|/);
  expect(answersOf(r).answers[1].answer).toContain('Phase 4C script(s) the directive requires are not in the team’s code');
});

test('the HTML report says REHEARSAL, both verdicts, NOT CHECKED, the REVIEW tables and who decides, the grace end, the rollback, the team’s counts, real-size projections; per-pair rows fold', async () => {
  const out = await readiness(freshCopy());
  const r = out.report;
  const html = readFileSync(out.files!.html, 'utf8');
  const text = html.replace(/<style[\s\S]*?<\/style>/g, ' ').replace(/<[^>]+>/g, ' ').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/\s+/g, ' ');
  expect(html).toContain('id="mode" data-mode="rehearsal"');
  expect(text).toContain('REHEARSAL on a synthetic copy');
  expect(html).toMatch(/id="production-verdict" data-verdict="CONDITIONAL GO">PRODUCTION CONDITIONAL GO</);
  expect(html).toMatch(/id="verdict" data-verdict="GO">GO</);
  for (const x of r.notChecked) expect(text).toContain(x.command.replace(/\s+/g, ' '));
  expect(r.plan!.review.length).toBe(3);
  for (const x of r.plan!.review) {
    expect(text).toContain(x.table);
    expect(text).toContain(x.decides);
  }
  expect(html).toContain(`id="grace-end">${r.plan!.graceEnd}<`);
  expect(r.plan!.graceEnd).toBe('2026-12-21');
  expect(html).toContain(`id="rollback-command">bqx rollback ${planFile} --approve ${r.plan!.planHash}<`);
  expect(text).toMatch(/The team counted 1,968 violations .* and 2,042 .* counts 2,485/);
  expect(text).toContain('CORR 0 224 448');
  // Real size beside the synthetic copy, each labelled.
  expect(r.projection!.tables).toBe(r.plan!.tables);
  expect(r.projection!.bytes).toBeGreaterThan(r.cost!.estimatedBytes * 1000);
  expect(text).toContain('Cost details (the plan’s estimate, synthetic copy)');
  expect(text).toMatch(/PROJECTED for this plan’s 447 tables at their real size \(the feature store has 5,817, 1\.48 TB\)/);
  // Five pairs with different figures: five rows; equal figures would share one.
  const rows = html.split('id="extraction"')[1].split('</table>')[0].match(/<tr>/g) ?? [];
  const distinct = new Set(r.extraction!.pairs.map((p) => [p.before, p.after, p.duplicatesDuringGrace, p.duplicatesBefore, p.remap?.RENAMED, p.remap?.MERGED, p.remap?.UNCHANGED].join('/'))).size;
  expect(rows.length).toBe(distinct + 1);
});
