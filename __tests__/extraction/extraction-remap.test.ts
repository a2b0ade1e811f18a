/**
 * `bqx extraction` and `bqx remap` on the small catalogue (447 tables), before and after a real
 * apply. The sets are checked against what the warehouse really holds after the apply and against
 * the catalogue's own content description (tables with the same content key hold the same rows),
 * not against the code's own reasoning.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { runApply } from '../../app/runs';
import type { ExtractionReport } from '../../app/extraction';
import { remapBasis, remapCounts, remapPair, type RemapResult } from '../../core/extraction/remap';
import { discoveryRule } from '../../core/extraction/discovery';
import { loadPolicy } from '../../core/policy';
import type { Plan } from '../../core/plan/types';
import type { TableInfo } from '../../core/catalogue';
import { openDuckDbEngine } from '../../engines/duckdb/engine';
import { EXIT } from '../../scripts/exit-codes';
import { localEngineOptions } from '../../scripts/options';
import { buildCatalogue } from '../../warehouse/catalogue';
import { seedWarehouse } from '../../warehouse/seed';
import { bqx } from './support';

const PAIR = 'eurusd';
let work: string;
let pristine: string;
let applied: string;
let planFile: string;
let plan: Plan;
let afterListing: TableInfo[];
const catalogue = buildCatalogue({ scale: 'small' });
const contentKey = new Map(catalogue.map((t) => [t.name, `${t.content.key}${t.content.perturbed ? '#perturbed' : ''}`]));

/** The job's rule as facts §6.1 states it, written out independently of the policy. */
const discovered = (name: string, pair: string) =>
  name.includes(pair) || name.startsWith('tri_') || (name.startsWith('mkt_') && !name.endsWith('_summary')) || name.startsWith('var_') || name.startsWith('csi_');
/** Facts §6.1: prefix = the table name with `_{pair}` removed and `__` → `_`. */
const training = (table: string, pair: string, column: string) => `${table.split(`_${pair}`).join('').replace(/__/g, '_')}_${column}`;

async function listing(db: string): Promise<TableInfo[]> {
  const engine = await openDuckDbEngine(localEngineOptions(db));
  try {
    return await engine.listTables();
  } finally {
    await engine.close();
  }
}

async function json<T>(args: string[]): Promise<T> {
  const r = await bqx([...args, '--json']);
  if (r.code !== 0) throw new Error(`bqx ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-extraction-'));
  pristine = path.join(work, 'pristine.duckdb');
  await seedWarehouse({ database: pristine, scale: 'small' });
  planFile = path.join(work, 'plan.json');
  const r = await bqx(['plan', '--database', pristine, '--out', planFile, '--grace-start', '2026-11-21']);
  expect(r.code).toBe(0);
  plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
  applied = path.join(work, 'applied.duckdb');
  copyFileSync(pristine, applied);
  if (existsSync(`${pristine}.wal`)) copyFileSync(`${pristine}.wal`, `${applied}.wal`);
  const run = await runApply({ engine: localEngineOptions(applied), planFile, evidence: { reportsDir: path.join(work, 'reports'), metricsFile: path.join(work, 'metrics.prom') }, mode: 'real', approve: plan.planHash });
  expect(run.summary.status).toBe('OK');
  afterListing = await listing(applied);
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bqx extraction --pair eurusd --plan PLAN', () => {
  let before: ExtractionReport;
  beforeAll(async () => {
    before = await json<ExtractionReport>(['extraction', '--pair', 'EURUSD', '--plan', planFile, '--database', pristine]);
  });

  test('the JSON has the pair, before and after table lists and the duplicates by name', () => {
    expect(before.pair).toBe(PAIR);
    expect(Object.keys(before)).toEqual(expect.arrayContaining(['pair', 'before', 'after', 'duplicatesByName']));
    expect(Object.keys(before.before)).toEqual(['tables']);
    expect(before.planHash).toBe(plan.planHash);
  });

  test('before: every base table a name-only discovery reads, minus the legacy copies; each feature once', () => {
    const byName = catalogue.map((t) => t.name).filter((n) => discovered(n, PAIR));
    const copies = before.duplicatesByName.filter((d) => d.when === 'before');
    expect([...before.before.tables, ...copies.map((d) => d.name)].sort()).toEqual(byName.sort());
    expect(before.nameOnly.before).toBe(byName.length);
    // Each feature once: no two tables of `before` hold the same content.
    const keys = before.before.tables.map((n) => contentKey.get(n));
    expect(new Set(keys).size).toBe(keys.length);
    // Every copy left out holds exactly the content of the table it is a copy of, which is read.
    for (const d of copies) {
      expect(contentKey.get(d.name)).toBe(contentKey.get(d.sameAs!));
      expect(before.before.tables).toContain(d.sameAs);
      expect(d.tableType).toBe('BASE TABLE');
    }
    expect(copies.map((d) => d.kind).sort()).toEqual(expect.arrayContaining(['LEGACY_TWIN', 'WINDOW_COPY']));
    // The planted twin that differs is a feature of its own: read, not a duplicate.
    expect(before.before.tables).toContain('corr_ibkr_eurusd_spy');
  });

  test('after: exactly the base tables the warehouse holds for the pair once the plan is applied; the views are the duplicates', () => {
    const tables = afterListing.filter((t) => t.kind === 'TABLE' && discovered(t.name, PAIR)).map((t) => t.name).sort();
    const views = afterListing.filter((t) => t.kind === 'VIEW' && discovered(t.name, PAIR)).map((t) => t.name).sort();
    expect(before.after.tables).toEqual(tables);
    const grace = before.duplicatesByName.filter((d) => d.when === 'grace');
    expect(grace.map((d) => d.name).sort()).toEqual(views);
    expect(grace.every((d) => d.kind === 'COMPATIBILITY_VIEW' && d.tableType === 'VIEW' && before.after.tables.includes(d.sameAs!))).toBe(true);
    expect(before.nameOnly.grace).toBe(tables.length + views.length);
    expect(views.length).toBeGreaterThan(0);
  });

  test('after the apply: the same answer with the plan, and without it the catalogue as it is (views = duplicates)', async () => {
    const withPlan = await json<ExtractionReport>(['extraction', '--pair', PAIR, '--plan', planFile, '--database', applied]);
    expect(withPlan.before).toEqual(before.before);
    expect(withPlan.after).toEqual(before.after);
    expect(withPlan.duplicatesByName).toEqual(before.duplicatesByName);
    const now = await json<ExtractionReport>(['extraction', '--pair', PAIR, '--database', applied]);
    expect(now.planHash).toBeNull();
    expect(now.before.tables).toEqual(before.after.tables);
    expect(now.after.tables).toEqual(before.after.tables);
    // Without the plan, each view's twin is read from its SQL.
    expect(now.duplicatesByName.map((d) => [d.name, d.sameAs])).toEqual(before.duplicatesByName.filter((d) => d.when === 'grace').map((d) => [d.name, d.sameAs]));
  });

  test('--manifest-dir writes the manifest at the policy’s path, with the tables the job must read', async () => {
    const dir = path.join(work, 'staging');
    const r = await bqx(['extraction', '--pair', PAIR, '--plan', planFile, '--database', applied, '--manifest-dir', dir]);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifests', PAIR, 'extraction.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'bqx-extraction-manifest/v1', pair: PAIR, planHash: plan.planHash, dataset: plan.dataset, tables: before.after.tables });
    expect(r.out).toMatch(/written to .*manifests\/eurusd\/extraction\.json/);
  });

  test('the text says what is read before, after and during the grace period, and how the job fixes it', async () => {
    const r = await bqx(['extraction', '--pair', PAIR, '--plan', planFile, '--database', pristine]);
    expect(r.out).toContain(`before: ${before.before.tables.length} base tables, each feature once`);
    expect(r.out).toContain(`after:  ${before.after.tables.length} base tables`);
    expect(r.out).toMatch(/table_type = 'BASE TABLE'/);
  });

  test('bad input is exit 2 with the input named: unknown pair, plan of another dataset, missing plan', async () => {
    const pair = await bqx(['extraction', '--pair', 'eurxyz', '--database', pristine]);
    expect(pair.code).toBe(EXIT.BAD_INPUT);
    expect(pair.err).toMatch(/--pair "eurxyz": "eurxyz" is not a pair of the policy/);
    const other = path.join(work, 'other-dataset.plan.json');
    writeFileSync(other, readFileSync(planFile, 'utf8'));
    const elsewhere = await bqx(['extraction', '--pair', PAIR, '--plan', planFile, '--database', pristine, '--dataset', 'bqx_ml_v3_models']);
    expect(elsewhere.code).toBe(EXIT.BAD_INPUT);
    expect(elsewhere.err).toMatch(/is for dataset bqx_ml_v3_features_v2, the engine reads bqx_ml_v3_models/);
    const missing = await bqx(['extraction', '--pair', PAIR, '--plan', path.join(work, 'nope.json'), '--database', pristine]);
    expect(missing.code).toBe(EXIT.BAD_INPUT);
    expect(missing.err).toMatch(/nope\.json/);
  });
});

describe('bqx remap --plan PLAN --pair eurusd', () => {
  let remap: RemapResult;
  let extraction: ExtractionReport;
  beforeAll(async () => {
    remap = await json<RemapResult>(['remap', '--plan', planFile, '--pair', PAIR, '--database', pristine]);
    extraction = await json<ExtractionReport>(['extraction', '--pair', PAIR, '--plan', planFile, '--database', pristine]);
  });

  test('every training column of the old extraction set is mapped, once', () => {
    const oldTables = [...extraction.before.tables, ...extraction.duplicatesByName.filter((d) => d.when === 'before').map((d) => d.name)];
    const expected = catalogue
      .filter((t) => oldTables.includes(t.name))
      .flatMap((t) => t.columns.filter((c) => c.name !== 'interval_time' && c.name !== 'pair').map((c) => training(t.name, PAIR, c.name)));
    expect(remap.mappings.map((m) => m.old).sort()).toEqual(expected.sort());
    expect(new Set(remap.mappings.map((m) => m.old)).size).toBe(remap.mappings.length);
    expect(Object.keys(remap.mappings[0]).sort()).toEqual(['kind', 'new', 'old']);
  });

  test('every training column of the applied warehouse is reached, except the consolidations’ window markers', () => {
    const tables = afterListing.filter((t) => t.kind === 'TABLE' && discovered(t.name, PAIR));
    const newColumns = new Set(tables.flatMap((t) => t.columns.filter((c) => c.name !== 'interval_time' && c.name !== 'pair').map((c) => training(t.name, PAIR, c.name))));
    const reached = new Set(remap.mappings.map((m) => m.new));
    expect([...reached].filter((n) => !newColumns.has(n))).toEqual([]);
    const unreached = [...newColumns].filter((n) => !reached.has(n)).sort();
    expect(unreached).toEqual(remap.added);
    expect(unreached.length).toBeGreaterThan(0);
    expect(unreached.every((n) => /_present_(45|90)$/.test(n))).toBe(true);
  });

  test('a new column has two sources only when MERGED, and merged sources hold the same content', () => {
    const byNew = new Map<string, typeof remap.mappings>();
    for (const m of remap.mappings) byNew.set(m.new, [...(byNew.get(m.new) ?? []), m]);
    for (const [, list] of byNew) {
      if (list.length > 1) expect(list.every((m) => m.kind === 'MERGED')).toBe(true);
      else expect(list[0].kind).toBe(list[0].old === list[0].new ? 'UNCHANGED' : 'RENAMED');
    }
    // A legacy twin and its canonical copy: same content key, one new column.
    expect(remap.mappings.find((m) => m.old === 'cov_agg_gbpusd_spread')).toEqual({ old: 'cov_agg_gbpusd_spread', new: 'cov_agg_bqx_gbpusd_spread', kind: 'MERGED' });
    expect(remap.mappings.find((m) => m.old === 'cov_agg_bqx_gbpusd_spread')).toEqual({ old: 'cov_agg_bqx_gbpusd_spread', new: 'cov_agg_bqx_gbpusd_spread', kind: 'MERGED' });
    expect(contentKey.get('cov_agg_eurusd_gbpusd')).toBe(contentKey.get('cov_agg_bqx_eurusd_gbpusd'));
    // A _w45 copy and its window table land in the consolidated table's window column.
    expect(remap.mappings.filter((m) => m.new === 'lag_bqx_ema_45').map((m) => m.old).sort()).toEqual(['lag_bqx_45_ema_45', 'lag_bqx_w45_ema_45']);
    // A window-less column of two windows gets the window it came from.
    expect(remap.mappings.find((m) => m.old === 'regime_bqx_90_range_p33')).toEqual({ old: 'regime_bqx_90_range_p33', new: 'regime_bqx_range_p33_90', kind: 'RENAMED' });
    // A rename without a twin, and a kept table.
    expect(remap.mappings.find((m) => m.old === 'cov_agg_audcad_spread')).toEqual({ old: 'cov_agg_audcad_spread', new: 'cov_agg_bqx_audcad_spread', kind: 'RENAMED' });
    expect(remap.mappings.find((m) => m.old === 'agg_bqx_agg_mean_45')).toEqual({ old: 'agg_bqx_agg_mean_45', new: 'agg_bqx_agg_mean_45', kind: 'UNCHANGED' });
    expect(remap.counts.RENAMED + remap.counts.MERGED + remap.counts.UNCHANGED).toBe(remap.mappings.length);
    expect(remap.counts.RENAMED).toBeGreaterThan(0);
    expect(remap.counts.MERGED).toBeGreaterThan(0);
  });

  test('readiness counts every pair as the remap does (remapCounts: the counts without the mapping list), before and after the apply', async () => {
    const rule = discoveryRule(loadPolicy());
    for (const db of [pristine, applied]) {
      const basis = remapBasis(rule, await listing(db), plan);
      for (const pair of rule.pairs) expect(remapCounts(basis, pair)).toEqual(remapPair(basis, pair).counts);
    }
    expect(remapCounts(remapBasis(rule, await listing(pristine), plan), PAIR)).toEqual(remap.counts);
  });

  test('the same mapping after the apply (the views keep the old columns)', async () => {
    const later = await json<RemapResult>(['remap', '--plan', planFile, '--pair', PAIR, '--database', applied]);
    expect(later.mappings).toEqual(remap.mappings);
    expect(later.added).toEqual(remap.added);
  });
});

describe('bqx remap --features FILE', () => {
  test('rewrites the list to the new names on stdout, keeps comments, lists a merged pair once and reports merges', async () => {
    const file = path.join(work, 'selected.txt');
    writeFileSync(file, '# top features\nlag_bqx_45_ema_45\nlag_bqx_w45_ema_45\ncov_agg_audcad_spread\nagg_bqx_agg_mean_45\ntarget_bqx45_h15\n');
    const r = await bqx(['remap', '--plan', planFile, '--pair', PAIR, '--database', pristine, '--features', file]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toBe('# top features\nlag_bqx_ema_45\ncov_agg_bqx_audcad_spread\nagg_bqx_agg_mean_45\ntarget_bqx45_h15\n');
    expect(r.err).toMatch(/merged: lag_bqx_45_ema_45, lag_bqx_w45_ema_45 -> lag_bqx_ema_45/);
    expect(r.err).toMatch(/1 renamed, 2 merged, 1 unchanged, 1 not feature columns/);
  });

  test('a name it does not know is refused: exit 2, every unknown name listed, nothing on stdout', async () => {
    const file = path.join(work, 'unknown.txt');
    writeFileSync(file, 'lag_bqx_45_ema_45\nagg_mean_45\ncov_agg_audcad_spraed\n');
    const r = await bqx(['remap', '--plan', planFile, '--pair', PAIR, '--database', pristine, '--features', file]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/2 name\(s\) are not training columns of eurusd .*: agg_mean_45( \(nearest: [^)]*\))?; cov_agg_audcad_spraed \(nearest: cov_agg_audcad_spread/);
    // Pair-level prefixes drop the pair, so lag_bqx_45_ema_45 is a column of every pair; but EURUSD's
    // column of the EURUSD×GBPUSD covariance (cov_agg_gbpusd_…) is not one of GBPUSD's.
    writeFileSync(file, 'lag_bqx_45_ema_45\ncov_agg_gbpusd_spread\n');
    const other = await bqx(['remap', '--plan', planFile, '--pair', 'gbpusd', '--database', pristine, '--features', file]);
    expect(other.code).toBe(EXIT.BAD_INPUT);
    expect(other.err).toMatch(/1 name\(s\) are not training columns of gbpusd .*: cov_agg_gbpusd_spread( \(nearest: [^)]*\))?$/m);
  });

  test('a JSON list, names that keep the pair, ledger-style {table}_{column}, and a consolidation\'s ADDED columns', async () => {
    const file = path.join(work, 'selected.json');
    writeFileSync(file, JSON.stringify(['lag_bqx_eurusd_45_ema_45', 'cov_agg_audcad_eurusd_spread', 'agg_bqx_eurusd_agg_mean_45', 'lag_bqx_lag_present_45']));
    const r = await bqx(['remap', '--plan', planFile, '--pair', PAIR, '--database', pristine, '--features', file]);
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.out)).toEqual(['lag_bqx_ema_45', 'cov_agg_bqx_audcad_spread', 'agg_bqx_agg_mean_45', 'lag_bqx_lag_present_45']);
    expect(r.err).toMatch(/1 added by a consolidation/);
    writeFileSync(file, '["lag_bqx_45_ema_45", 3]');
    const bad = await bqx(['remap', '--plan', planFile, '--pair', PAIR, '--database', pristine, '--features', file]);
    expect(bad.code).toBe(EXIT.BAD_INPUT);
    expect(bad.err).toMatch(/JSON but not an array of names/);
  });

  test('an unreadable features file is exit 2 naming it', async () => {
    const r = await bqx(['remap', '--plan', planFile, '--pair', PAIR, '--database', pristine, '--features', path.join(work, 'absent.txt')]);
    expect(r.code).toBe(EXIT.BAD_INPUT);
    expect(r.err).toMatch(/cannot read --features .*absent\.txt/);
  });
});
