/**
 * The one full-scale run: the 5,817-table catalogue through seed, audit, plan, apply, audit,
 * fingerprints and reconcile, through the real CLI in child processes (outside Jest's module
 * sandbox, which slows DuckDB's client code down about twofold). Everything else uses the small
 * catalogue.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Plan } from '../../core/plan/types';
import { repoPath } from '../../core/paths';
import { ANOMALIES } from '../../warehouse/catalogue';
import type { ExtractionReport } from '../../app/extraction';
import type { RemapResult } from '../../core/extraction/remap';

const BIN = repoPath('bin', 'bqx.js');
const GRACE_START = '2026-11-21';
let dir: string;
let db: string;

function bqx(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args, ...(args[0] === 'main' ? [] : ['--database', db])], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 512 * 2 ** 20,
    env: { ...process.env, BQX_FAILPOINTS: '' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
function json<T>(args: string[]): T {
  const r = bqx([...args, '--json']);
  if (r.code !== 0) throw new Error(`bqx ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

type Fingerprints = Record<string, { kind: string; rows: number; hash: string }>;
interface Audit {
  summary: { tables: number; nonCompliant: number; views: number; nonCompliantByFamily: Record<string, number> };
  tables: { name: string; compliant: boolean }[];
}

let seed: { featureTables: number; bytes: number; seconds: number };
let auditBefore: Audit;
let before: Fingerprints;
let plan: Plan;
let planText: string;

interface ColumnsAudit {
  columns: { name: string; table: string; compliant: boolean; violation: string | null }[];
  summary: { tables: number; columns: { total: number; nonCompliant: number; byViolation: Record<string, number> }; names: { total: number; nonCompliant: number; exceptions: number; byViolation: Record<string, number> } };
}
const PAIR = 'eurusd';
let columnsBefore: ColumnsAudit;
let extraction: ExtractionReport;
let remap: RemapResult;
/** Table → its columns, from a column audit's per-table entries (base tables only). */
const columnsByTable = (a: ColumnsAudit) => {
  const m = new Map<string, string[]>();
  for (const c of a.columns) m.set(c.table, [...(m.get(c.table) ?? []), c.name]);
  return m;
};
/** Facts §6.1, written out here independently: `{prefix}_{column}`, prefix = name without `_{pair}`, `__` → `_`. */
const trainingColumns = (tables: readonly string[], byTable: Map<string, string[]>) =>
  tables.flatMap((t) => (byTable.get(t) ?? []).filter((c) => c !== 'interval_time' && c !== 'pair').map((c) => `${t.split(`_${PAIR}`).join('').replace(/__/g, '_')}_${c}`));
const discovered = (name: string) =>
  name.includes(PAIR) || name.startsWith('tri_') || (name.startsWith('mkt_') && !name.endsWith('_summary')) || name.startsWith('var_') || name.startsWith('csi_');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-full-'));
  db = path.join(dir, 'warehouse.duckdb');
  seed = json(['warehouse', 'seed', '--scale', 'full']);
  auditBefore = json(['audit']);
  before = json(['warehouse', 'fingerprint']);
  json(['plan', '--out', path.join(dir, 'plan.json'), '--grace-start', GRACE_START]);
  planText = readFileSync(path.join(dir, 'plan.json'), 'utf8');
  plan = JSON.parse(planText) as Plan;
  columnsBefore = json(['audit', '--columns']);
  extraction = json(['extraction', '--pair', PAIR, '--plan', path.join(dir, 'plan.json')]);
  remap = json(['remap', '--pair', PAIR, '--plan', path.join(dir, 'plan.json')]);
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the seed holds the 5,817-table catalogue within its size budget', () => {
  process.stdout.write(`full seed: ${seed.seconds.toFixed(1)} s, ${(seed.bytes / 2 ** 20).toFixed(1)} MiB\n`);
  expect(seed.featureTables).toBe(5817);
  expect(seed.bytes).toBeLessThan(300 * 1e6);
  expect(statSync(db).size).toBe(seed.bytes);
});

test('the audit finds the 2,485 violations, family by family', () => {
  expect(auditBefore.summary.tables).toBe(5817);
  expect(auditBefore.summary.nonCompliant).toBe(2485);
  expect(auditBefore.summary.nonCompliantByFamily).toEqual({ corr: 448, cov: 1596, csi: 64, lag: 224, mkt: 6, regime: 112, tmp: 28, var: 7 });
});

test("the plan's classes match the Phase 4C table, and only the planted anomalies land in REVIEW", () => {
  const ops = plan.operations;
  const by = (family: string, action: string) => ops.filter((o) => o.family === family && o.action === action);
  const sources = (list: typeof ops) => list.reduce((n, o) => n + o.sources.length, 0);

  expect(sources(by('cov', 'RENAME')) + sources(by('cov', 'DEDUPE'))).toBe(1596 - 1);
  expect(by('cov', 'DEDUPE').every((o) => o.reason === 'IDENTICAL_TWIN' && o.twin)).toBe(true);
  const consolidations = ops.filter((o) => o.action === 'CONSOLIDATE');
  expect(consolidations).toHaveLength(112);
  expect(sources(consolidations)).toBe(336);
  expect(by('lag', 'CONSOLIDATE')).toHaveLength(56);
  expect(by('regime', 'CONSOLIDATE')).toHaveLength(56);
  expect(by('var', 'DEDUPE').map((o) => o.sources[0]).sort()).toEqual(['aud', 'cad', 'chf', 'eur', 'gbp', 'jpy', 'usd'].map((c) => `var_corr_${c}`));
  expect(by('corr', 'DEDUPE')).toHaveLength(448 - 1);
  expect(by('csi', 'RENAME')).toHaveLength(64 - 1);
  expect(by('mkt', 'RENAME').map((o) => o.target).sort()).toEqual(
    ['mkt_corr_idx', 'mkt_dispersion_idx', 'mkt_reg_idx_summary', 'mkt_regime_idx', 'mkt_sentiment_idx', 'mkt_vol_idx'],
  );
  expect(by('tmp', 'RENAME').every((o) => /^tmp_idx_[a-z]{6}$/.test(o.target ?? ''))).toBe(true);
  expect(by('tmp', 'RENAME')).toHaveLength(28);

  const review = ops.filter((o) => o.action === 'REVIEW');
  expect(review.map((o) => [o.sources[0], o.reason]).sort()).toEqual(ANOMALIES.map((a) => [a.table, a.expectedReason]).sort());
  expect(plan.views).toHaveLength(2485 - review.length);
});

test('the column audit of the 5,817 tables: every class the facts describe, counted per column and per distinct name', () => {
  const s = columnsBefore.summary;
  process.stdout.write(
    `full column audit: ${s.columns.total} columns of ${s.tables} tables, ${s.names.total} names; names WINDOW ${s.names.byViolation.WINDOW_VIOLATION}, PATTERN ${s.names.byViolation.PATTERN_VIOLATION}, exceptions ${s.names.exceptions}; columns WINDOW ${s.columns.byViolation.WINDOW_VIOLATION}, PATTERN ${s.columns.byViolation.PATTERN_VIOLATION}\n`,
  );
  expect(s.tables).toBe(5817);
  expect(columnsBefore.columns).toHaveLength(s.columns.total);
  expect(s.columns.nonCompliant).toBe(columnsBefore.columns.filter((c) => !c.compliant).length);
  expect(s.names.byViolation.WINDOW_VIOLATION).toBeGreaterThan(0);
  expect(s.names.byViolation.PATTERN_VIOLATION).toBeGreaterThan(0);
  // Every COV agg/align table holds spread_zscore (window-less), every lag_bqx table ema_45 or ema_90.
  expect(columnsBefore.columns.filter((c) => c.name === 'spread_zscore').every((c) => c.violation === 'WINDOW_VIOLATION')).toBe(true);
  expect(new Set(columnsBefore.columns.filter((c) => c.violation === 'PATTERN_VIOLATION' && /^ema_/.test(c.name)).map((c) => c.table)).size).toBe(112);
});

test('the committed plan of the stacks is exactly what the planner makes of the local warehouse', () => {
  expect(readFileSync(repoPath('plans', 'phase-4c.plan.json'), 'utf8')).toBe(planText);
});

let columnsAfter: ColumnsAudit;
let fingerprintsAfter: Fingerprints;
let fingerprintsBefore: Fingerprints;

describe('after apply', () => {
  let after: Fingerprints;
  let auditAfter: Audit;
  beforeAll(() => {
    const r = bqx(['apply', path.join(dir, 'plan.json'), '--approve', plan.planHash, '--reports-dir', path.join(dir, 'reports'), '--metrics-file', path.join(dir, 'metrics.prom')]);
    if (r.code !== 0) throw new Error(`apply exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-2000)}`);
    auditAfter = json(['audit']);
    after = json(['warehouse', 'fingerprint']);
    fingerprintsAfter = after;
    fingerprintsBefore = before;
    columnsAfter = json(['audit', '--columns']);
  }, 600_000);

  test('the audit reports no violation outside REVIEW, and every old name is a view', () => {
    expect(auditAfter.summary.nonCompliant).toBe(3);
    expect(auditAfter.tables.filter((t) => !t.compliant).map((t) => t.name).sort()).toEqual(ANOMALIES.map((a) => a.table).sort());
    expect(auditAfter.summary.views).toBe(2482);
  });

  test('every row of every old name reads the same through its view (content fingerprints)', () => {
    const names = Object.keys(before);
    expect(names).toHaveLength(5817);
    const changed = names.filter((n) => !after[n] || after[n].rows !== before[n].rows || after[n].hash !== before[n].hash);
    expect(changed).toEqual([]);
    const nowViews = names.filter((n) => after[n].kind === 'VIEW');
    expect(nowViews).toHaveLength(2482);
  });

  test('EURUSD: the remap maps every old training column, reaches every new one of the applied warehouse, and merges only copies of one feature', () => {
    const before = columnsByTable(columnsBefore);
    const after = columnsByTable(columnsAfter);
    const c = remap.counts;
    process.stdout.write(
      `EURUSD extraction: name-only ${extraction.nameOnly.before} before (${extraction.before.tables.length} features), ${extraction.after.tables.length} after, ${extraction.summary.duplicatesDuringGrace} views during the grace period; remap RENAMED ${c.RENAMED}, MERGED ${c.MERGED}, UNCHANGED ${c.UNCHANGED}, added ${c.added}\n`,
    );
    // The extraction sets against the catalogue and the applied warehouse.
    const oldTables = [...extraction.before.tables, ...extraction.duplicatesByName.filter((d) => d.when === 'before').map((d) => d.name)];
    expect(oldTables.sort()).toEqual([...before.keys()].filter(discovered).sort());
    expect(extraction.after.tables).toEqual([...after.keys()].filter(discovered).sort());
    expect(extraction.duplicatesByName.filter((d) => d.when === 'grace').map((d) => d.name).sort()).toEqual(Object.keys(fingerprintsAfter).filter((n) => fingerprintsAfter[n].kind === 'VIEW' && discovered(n)).sort());
    // Each feature once before: no two tables of `before` hold the same content.
    const hashes = extraction.before.tables.map((t) => fingerprintsBefore[t].hash);
    expect(new Set(hashes).size).toBe(hashes.length);

    // Every old column mapped, once; every new column reached (the window-presence markers aside).
    const oldColumns = trainingColumns(oldTables, before);
    expect(remap.mappings.map((m) => m.old).sort()).toEqual(oldColumns.sort());
    const newColumns = new Set(trainingColumns(extraction.after.tables, after));
    const reached = new Set(remap.mappings.map((m) => m.new));
    expect([...reached].filter((n) => !newColumns.has(n))).toEqual([]);
    expect([...newColumns].filter((n) => !reached.has(n)).sort()).toEqual(remap.added);
    expect(remap.added.every((n) => /_present_(45|90)$/.test(n))).toBe(true);

    // No new column from two sources unless MERGED; merged sources are one feature's copies.
    const tableOf = new Map<string, string>();
    for (const t of oldTables) for (const col of trainingColumns([t], before)) tableOf.set(col, t);
    const opOf = new Map(plan.operations.flatMap((o) => [...o.sources, ...(o.consolidation?.windows.flatMap((w) => w.copies) ?? [])].map((s) => [s, o] as const)));
    const groups = new Map<string, typeof remap.mappings>();
    for (const m of remap.mappings) groups.set(m.new, [...(groups.get(m.new) ?? []), m]);
    for (const [, list] of groups) {
      if (list.length === 1) {
        expect(list[0].kind).toBe(list[0].old === list[0].new ? 'UNCHANGED' : 'RENAMED');
        continue;
      }
      expect(list.every((m) => m.kind === 'MERGED')).toBe(true);
      const tables = list.map((m) => tableOf.get(m.old) as string);
      const ops = new Set(tables.map((t) => opOf.get(t)));
      const dedupe = tables.every((t) => ['DEDUPE', 'KEEP'].includes(opOf.get(t)?.action ?? ''));
      if (dedupe) {
        // A legacy twin and its canonical copy hold the same rows.
        expect(new Set(tables.map((t) => fingerprintsBefore[t].hash)).size).toBe(1);
      } else {
        // A consolidation: the windows and their _w copies of one (type, variant, pair).
        expect(ops.size).toBe(1);
        expect([...ops][0]?.action).toBe('CONSOLIDATE');
      }
    }
    expect(c.RENAMED).toBeGreaterThan(0);
    expect(c.MERGED).toBeGreaterThan(0);
    expect(c.RENAMED + c.MERGED + c.UNCHANGED).toBe(oldColumns.length);
  });

  test('reconcile finds every table where the plan put it', () => {
    const r = json<{ counts: Record<string, number> }>(['reconcile', path.join(dir, 'plan.json'), '--reports-dir', path.join(dir, 'reports')]);
    expect(r.counts.DRIFT).toBe(0);
    expect(r.counts.MISSING).toBe(0);
    expect(r.counts.UNMANAGED).toBe(0);
    expect(r.counts.MATCHED).toBeGreaterThan(5817);
  });
});
