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

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-full-'));
  db = path.join(dir, 'warehouse.duckdb');
  seed = json(['warehouse', 'seed', '--scale', 'full']);
  auditBefore = json(['audit']);
  before = json(['warehouse', 'fingerprint']);
  json(['plan', '--out', path.join(dir, 'plan.json'), '--grace-start', GRACE_START]);
  planText = readFileSync(path.join(dir, 'plan.json'), 'utf8');
  plan = JSON.parse(planText) as Plan;
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

test('the committed plan of the stacks is exactly what the planner makes of the local warehouse', () => {
  expect(readFileSync(repoPath('plans', 'phase-4c.plan.json'), 'utf8')).toBe(planText);
});

describe('after apply', () => {
  let after: Fingerprints;
  let auditAfter: Audit;
  beforeAll(() => {
    const r = bqx(['apply', path.join(dir, 'plan.json'), '--approve', plan.planHash, '--reports-dir', path.join(dir, 'reports'), '--metrics-file', path.join(dir, 'metrics.prom')]);
    if (r.code !== 0) throw new Error(`apply exited ${r.code}: ${r.stderr}\n${r.stdout.slice(-2000)}`);
    auditAfter = json(['audit']);
    after = json(['warehouse', 'fingerprint']);
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

  test('reconcile finds every table where the plan put it', () => {
    const r = json<{ counts: Record<string, number> }>(['reconcile', path.join(dir, 'plan.json'), '--reports-dir', path.join(dir, 'reports')]);
    expect(r.counts.DRIFT).toBe(0);
    expect(r.counts.MISSING).toBe(0);
    expect(r.counts.UNMANAGED).toBe(0);
    expect(r.counts.MATCHED).toBeGreaterThan(5817);
  });
});
