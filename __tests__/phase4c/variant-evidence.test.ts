/**
 * Variant decisions on the seeded (small) warehouse use only the evidence the policy declares per
 * family: a level column's sample, or the twin rule. Families without a level column (regime, var,
 * csi, mkt) get realistic values planted in every numeric column of their un-suffixed tables, the
 * way a new user would (ranges of 0.2-0.5 on an index of 100), and the plan does not move.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import * as path from 'path';
import { runPlan } from '../../app/plan';
import { median } from '../../core/plan/facts';
import type { Plan } from '../../core/plan/types';
import { buildCatalogue, FEATURES_DATASET } from '../../warehouse/catalogue';
import { columnKind } from '../../warehouse/column-kinds';
import { engineOptions, open, seedSmall, tempDir } from '../duckdb/support';

const tmp = tempDir('variant-evidence');
let database: string;
let before: Plan;
const catalogue = buildCatalogue({ scale: 'small' });
const TWIN_RULE_FAMILIES = /^(regime_[a-z]{6}_\d+|var_corr_[a-z]{3}|csi_[a-z]+_[a-z]{3}|mkt_[a-z]+|mkt_reg_summary)$/;
const planted = catalogue.filter((t) => TWIN_RULE_FAMILIES.test(t.name) && t.content.rows > 0);

async function plan(n: number): Promise<Plan> {
  return (await runPlan({ engine: engineOptions(database), out: path.join(tmp.dir, `plan-${n}.json`), graceStart: '2026-11-21' })).plan;
}

beforeAll(async () => {
  ({ database } = await seedSmall(tmp.dir));
  before = await plan(1);
}, 300_000);
afterAll(() => tmp.cleanup());

const opOf = (p: Plan, source: string) => p.operations.find((o) => o.sources.includes(source))!;

test('a sampled variant always comes from a level column; twin-rule families are decided by their twins', () => {
  const sampled = before.operations.filter((o) => o.evidence?.variant?.column);
  expect(sampled.length).toBeGreaterThan(20);
  const notLevel = sampled.filter((o) => {
    const t = catalogue.find((x) => x.name === o.sources[0])!;
    const c = t.columns.find((x) => x.name === o.evidence?.variant?.column)!;
    return columnKind(c) !== 'level';
  });
  expect(notLevel.map((o) => `${o.sources[0]}.${o.evidence?.variant?.column}`)).toEqual([]);
  expect(planted.length).toBeGreaterThan(30);
  for (const t of planted) {
    const op = opOf(before, t.name);
    expect([t.name, op.evidence?.variant?.decidedBy, op.evidence?.variant?.column]).toEqual([t.name, expect.stringMatching(/^(twin-rule|identical-twin)$/), null]);
    expect([t.name, op.variant]).toEqual([t.name, 'idx']);
  }
  expect(opOf(before, 'regime_eurusd_45')).toMatchObject({ action: 'CONSOLIDATE', target: 'regime_idx_eurusd' });
  // A consolidation that folds in un-suffixed tables shows the evidence that decided them, not the named members'.
  const lagIdx = before.operations.filter((o) => o.action === 'CONSOLIDATE' && o.target?.startsWith('lag_idx_'));
  expect(lagIdx.length).toBeGreaterThan(0);
  for (const op of lagIdx) expect(op.evidence?.variant).toMatchObject({ decidedBy: 'sample', column: expect.stringMatching(/^close_lag_(45|90)$/) });
  expect(opOf(before, 'var_corr_aud')).toMatchObject({ action: 'DEDUPE', target: 'var_corr_idx_aud' });
  expect(opOf(before, 'mkt_vol')).toMatchObject({ action: 'RENAME', target: 'mkt_vol_idx' });
  expect(opOf(before, 'csi_rev_nzd')).toMatchObject({ action: 'REVIEW', reason: 'EMPTY_TABLE' });
});

test('realistic values planted in every numeric column of those families move no decision (the old first-numeric-column rule would have)', async () => {
  const engine = await open(database);
  let misled = 0;
  try {
    for (const t of planted) {
      const first = t.columns.find((c) => c.type === 'FLOAT64')!;
      if (median((await engine.sampleNumeric(t.name, first.name, 200)).map(Math.abs)) < 10) misled++;
    }
  } finally {
    await engine.close();
  }
  // With values that mean what their columns mean, "median of the first numeric column" calls every one of them bqx.
  expect(misled).toBe(planted.length);

  const instance = await DuckDBInstance.create(database);
  const conn = await instance.connect();
  try {
    // Their identical twins get the same values, so a duplicate stays a duplicate.
    const keys = new Set(planted.map((t) => t.content.key));
    for (const t of catalogue.filter((x) => keys.has(x.content.key))) {
      const sets = t.columns
        .filter((c) => c.type === 'FLOAT64')
        .map((c, k) => `"${c.name}" = 0.2 + 0.3 * ((epoch(interval_time)::BIGINT / 60 + ${k}) % 10) / 10`);
      await conn.run(`UPDATE "${FEATURES_DATASET}"."${t.name}" SET ${sets.join(', ')}`);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  const after = await plan(2);
  expect(after.catalogueFingerprint).toBe(before.catalogueFingerprint);
  expect(after.summary.byAction).toEqual(before.summary.byAction);
  for (const t of planted) {
    const [a, b] = [opOf(before, t.name), opOf(after, t.name)];
    expect([t.name, b.action, b.target, b.variant]).toEqual([t.name, a.action, a.target, a.variant]);
  }
});
