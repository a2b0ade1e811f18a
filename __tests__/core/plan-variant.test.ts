/**
 * Which variant a name without one has (core/plan/variant-evidence.ts), word for word: the level
 * column's sample at the thresholds, the twin rule's comparisons, and each REVIEW's detail.
 */
import type { Column, TableInfo } from '../../core/catalogue';
import { emptyFacts, median, type PlanningFacts } from '../../core/plan/facts';
import { judgeName } from '../../core/naming/grammar';
import type { Policy } from '../../core/policy';
import { decideVariant, levelColumn, sameColumns, usesTwinRule, variantFromLevel, type TwinSet } from '../../core/plan/variant-evidence';
import { covCols, f, pair, policy, policyWith, table, ts } from './plan-support';

const NOT_SAMPLED = { column: null, sampled: 0, medianAbs: null, verdict: 'not-sampled' };
const csiCols: Column[] = [ts, { name: 'currency', type: 'STRING' }, f('csi_agg_strength_45')];
const decide = (t: TableInfo, facts: PlanningFacts, twins: TwinSet[] = [], others: TableInfo[] = [], p: Policy = policy) =>
  decideVariant(p, facts, new Map([t, ...others].map((x) => [x.name, x])), t, judgeName(p, t.name), twins);
const sample = (values: number[], name = 'cov_mom_audcad_audchf') => {
  const facts = emptyFacts();
  facts.samples.set(name, { column: 'val1', values });
  return variantFromLevel(policy, facts, table(name, covCols));
};

describe('a level column’s sample', () => {
  it('is bqx below 10, idx above 50, ambiguous from 10 to 50 inclusive', () => {
    expect(sample([9.999])).toMatchObject({ variant: 'bqx', evidence: { verdict: 'bqx', decidedBy: 'sample', medianAbs: 9.999 } });
    expect(sample([10])).toMatchObject({ variant: null, reason: 'VARIANT_AMBIGUOUS', detail: 'median |val1| = 10 is between 10 and 50' });
    expect(sample([50])).toMatchObject({ variant: null, reason: 'VARIANT_AMBIGUOUS', detail: 'median |val1| = 50 is between 10 and 50' });
    expect(sample([50.001])).toMatchObject({ variant: 'idx', evidence: { verdict: 'idx', decidedBy: 'sample' } });
    expect(sample([10]).evidence).toEqual({ column: 'val1', sampled: 1, medianAbs: 10, verdict: 'ambiguous', decidedBy: 'none' });
  });

  it('takes the median of absolute values, rounded to a millionth', () => {
    expect(sample([-100, -120, 3]).evidence).toEqual({ column: 'val1', sampled: 3, medianAbs: 100, verdict: 'idx', decidedBy: 'sample' });
    expect(sample([1 / 3, 1 / 3]).evidence.medianAbs).toBe(0.333333);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });

  it('an empty table, an empty sample, a failed or a missing sample', () => {
    const facts = emptyFacts();
    facts.samples.set('cov_mom_audcad_audchf', { column: 'val1', values: [100] });
    expect(variantFromLevel(policy, facts, table('cov_mom_audcad_audchf', covCols, 0))).toEqual({
      variant: null,
      reason: 'EMPTY_TABLE',
      detail: 'the table has no rows, so its variant cannot be read from data',
      evidence: { column: 'val1', sampled: 0, medianAbs: null, verdict: 'empty', decidedBy: 'none' },
    });
    expect(sample([])).toMatchObject({ reason: 'EMPTY_TABLE', evidence: { verdict: 'empty' } });
    expect(variantFromLevel(policy, emptyFacts(), table('cov_mom_audcad_audchf', covCols))).toEqual({
      variant: null,
      reason: 'READ_ERROR',
      detail: 'sampling failed: no sample',
      evidence: { column: null, sampled: 0, medianAbs: null, verdict: 'error', decidedBy: 'none' },
    });
    // A sample taken although the table was later refused for the budget still counts.
    facts.overBudget.add('cov_mom_audcad_audchf');
    expect(variantFromLevel(policy, facts, table('cov_mom_audcad_audchf', covCols))).toMatchObject({ variant: 'idx' });
  });

  it('the level column: the first of the family’s patterns the schema has, numeric, with the name’s window', () => {
    const lag = (cols: Column[], name = 'lag_eurusd_45') => levelColumn(policy, table(name, cols), judgeName(policy, name));
    expect(lag([ts, f('bqx_close'), f('bqx_lag_45'), f('close_lag_45')])).toBe('close_lag_45');
    expect(lag([ts, f('bqx_close'), f('bqx_lag_90')])).toBe('bqx_close');
    expect(lag([ts, f('xbqx_close'), f('bqx_closex')])).toBeNull();
    expect(lag([ts, { name: 'bqx_close', type: 'STRING' }])).toBeNull();
    expect(lag([ts, { name: 'bqx_close', type: 'INT64' }])).toBe('bqx_close');
    expect(lag([ts, { name: 'bqx_close', type: 'NUMERIC' }])).toBe('bqx_close');
    // Without a window in the name, any window's column.
    expect(lag([ts, f('bqx_lag_720')], 'lag_eurusd')).toBe('bqx_lag_720');
    expect(lag([ts, f('bqx_lag_')], 'lag_eurusd')).toBeNull();
  });

  it('the twin rule applies to a family that declares it, only without a level column', () => {
    const rule = (name: string, cols: Column[], p: Policy = policy) => usesTwinRule(p, table(name, cols), judgeName(p, name));
    expect(rule('csi_agg_aud', csiCols)).toBe(true);
    expect(rule('cov_mom_audcad_audchf', covCols)).toBe(false);
    const both = policyWith('cov: { levelColumns: [val1, val2] }', 'cov: { levelColumns: [val1, val2], twinRule: true }');
    expect(rule('cov_mom_audcad_audchf', covCols, both)).toBe(false);
    expect(rule('cov_mom_audcad_audchf', [ts, f('spread')], both)).toBe(true);
  });

  it('same columns: names, types and order', () => {
    const a = table('a', [ts, f('x')]);
    expect(sameColumns(a, table('b', [ts, f('x')]))).toBe(true);
    expect(sameColumns(a, table('b', [f('x'), ts]))).toBe(false);
    expect(sameColumns(a, table('b', [ts, { name: 'x', type: 'INT64' }]))).toBe(false);
    expect(sameColumns(a, table('b', [ts, f('x'), f('y')]))).toBe(false);
    expect(sameColumns(table('b', [ts, f('x'), f('y')]), a)).toBe(false);
  });
});

describe('the evidence a family declares', () => {
  it('none: the policy names the family', () => {
    expect(decide(table('div_eurusd', [ts, pair, f('div_score_45')]), emptyFacts())).toEqual({
      variant: null,
      reason: 'NO_VARIANT_EVIDENCE',
      detail: 'the policy declares no variant evidence for family div (variantDetection.evidence)',
      evidence: { ...NOT_SAMPLED, decidedBy: 'none' },
    });
  });

  it('level columns the schema lacks, and no twin rule', () => {
    expect(decide(table('cov_mom_audcad_audchf', [ts, f('spread')]), emptyFacts())).toEqual({
      variant: null,
      reason: 'NO_LEVEL_COLUMN',
      detail: 'none of the level columns val1, val2 is in the schema, and family cov declares no twin rule',
      evidence: { ...NOT_SAMPLED, decidedBy: 'none' },
    });
  });
});

describe('the twin rule', () => {
  const own = table('csi_agg_aud', csiCols);
  const bqx = table('csi_agg_bqx_aud', csiCols);
  const idx = table('csi_agg_idx_aud', csiCols);
  const twins: TwinSet[] = [
    { variant: 'idx', names: ['csi_agg_idx_aud'] },
    { variant: 'bqx', names: ['csi_agg_bqx_aud'] },
  ];
  const facts = (prints: Record<string, string | null>): PlanningFacts => {
    const x = emptyFacts();
    for (const [n, h] of Object.entries(prints)) x.fingerprints.set(n, h === null ? { error: 'boom' } : { rows: 10, hash: h });
    return x;
  };

  it('an empty table cannot be compared', () => {
    expect(decide(table('csi_agg_aud', csiCols, 0), facts({}), twins, [bqx])).toEqual({
      variant: null,
      reason: 'EMPTY_TABLE',
      detail: 'the table has no rows: the twin rule cannot compare its content',
      evidence: { ...NOT_SAMPLED, decidedBy: 'none', legacyVariant: 'idx' },
    });
  });

  it('no twin table exists: a view or a missing name is none', () => {
    const view = { ...bqx, kind: 'VIEW' as const };
    expect(decide(own, facts({ csi_agg_aud: 'A' }), twins, [view])).toEqual({
      variant: null,
      reason: 'NO_TWIN_EVIDENCE',
      detail: 'the schema has no level column, and no twin of any variant exists to compare with (twin rule)',
      evidence: { ...NOT_SAMPLED, decidedBy: 'none', legacyVariant: 'idx' },
    });
    const both = policyWith('cov: { levelColumns: [val1, val2] }', 'cov: { levelColumns: [val1, val2], twinRule: true }');
    expect(decide(table('cov_mom_audcad_audchf', [ts, f('spread')]), emptyFacts(), [], [], both)).toMatchObject({
      reason: 'NO_TWIN_EVIDENCE',
      detail: 'the schema has none of its level columns (val1, val2), and no twin of any variant exists to compare with (twin rule)',
    });
  });

  it('content that could not be compared: a read error, or the budget for either table', () => {
    const detail = 'content of csi_agg_aud and its twin csi_agg_bqx_aud could not be compared';
    const none = { variant: null, evidence: { ...NOT_SAMPLED, decidedBy: 'none', legacyVariant: 'idx' } };
    expect(decide(own, facts({ csi_agg_bqx_aud: 'B' }), twins, [bqx])).toEqual({ ...none, reason: 'READ_ERROR', detail });
    expect(decide(own, facts({ csi_agg_aud: 'A', csi_agg_bqx_aud: null }), twins, [bqx])).toEqual({ ...none, reason: 'READ_ERROR', detail });
    const overOwn = facts({ csi_agg_bqx_aud: 'B' });
    overOwn.overBudget.add('csi_agg_aud');
    expect(decide(own, overOwn, twins, [bqx])).toMatchObject({ reason: 'PLANNING_BUDGET_EXCEEDED', detail });
    const overTwin = facts({ csi_agg_aud: 'A' });
    overTwin.overBudget.add('csi_agg_bqx_aud');
    expect(decide(own, overTwin, twins, [bqx])).toMatchObject({ reason: 'PLANNING_BUDGET_EXCEEDED', detail });
  });

  it('an identical twin names the variant and the table it copies', () => {
    expect(decide(own, facts({ csi_agg_aud: 'A', csi_agg_idx_aud: 'I', csi_agg_bqx_aud: 'A' }), twins, [idx, bqx])).toEqual({
      variant: 'bqx',
      identicalTwin: 'csi_agg_bqx_aud',
      evidence: {
        ...NOT_SAMPLED,
        decidedBy: 'identical-twin',
        twins: [
          { table: 'csi_agg_idx_aud', variant: 'idx', same: false },
          { table: 'csi_agg_bqx_aud', variant: 'bqx', same: true },
        ],
        legacyVariant: 'idx',
      },
    });
    // Same hash, other rows: no copy.
    const rows = facts({ csi_agg_aud: 'A' });
    rows.fingerprints.set('csi_agg_bqx_aud', { rows: 11, hash: 'A' });
    expect(decide(own, rows, twins, [bqx])).toMatchObject({ variant: 'idx', evidence: { decidedBy: 'twin-rule', twins: [{ table: 'csi_agg_bqx_aud', variant: 'bqx', same: false }] } });
  });

  it('twins of every variant that differ, and a rule that disagrees with the legacy variant, word for word', () => {
    expect(decide(own, facts({ csi_agg_aud: 'A', csi_agg_idx_aud: 'I', csi_agg_bqx_aud: 'B' }), twins, [idx, bqx])).toMatchObject({
      variant: null,
      reason: 'TARGET_EXISTS_DIFFERENT',
      detail: 'twins of every variant exist and differ from csi_agg_aud: csi_agg_idx_aud, csi_agg_bqx_aud',
      evidence: { twins: [{ table: 'csi_agg_idx_aud' }, { table: 'csi_agg_bqx_aud' }] },
    });
    expect(decide(own, facts({ csi_agg_aud: 'A', csi_agg_idx_aud: 'I' }), twins, [idx])).toEqual({
      variant: null,
      reason: 'LEGACY_VARIANT_CONFLICT',
      detail: "the twin rule says bqx (csi_agg_idx_aud differs) but the family's documented legacy variant is idx",
      evidence: { ...NOT_SAMPLED, decidedBy: 'none', twins: [{ table: 'csi_agg_idx_aud', variant: 'idx', same: false }], legacyVariant: 'idx' },
    });
  });

  it('without a documented legacy variant, the remaining variant stands', () => {
    const free = policyWith('csi: { twinRule: true, legacyVariant: idx }', 'csi: { twinRule: true }');
    expect(decide(own, facts({ csi_agg_aud: 'A', csi_agg_idx_aud: 'I' }), twins, [idx], free)).toEqual({
      variant: 'bqx',
      evidence: { ...NOT_SAMPLED, decidedBy: 'twin-rule', twins: [{ table: 'csi_agg_idx_aud', variant: 'idx', same: false }] },
    });
    expect(decide(table('csi_agg_aud', csiCols, 0), facts({}), twins, [], free).evidence).toEqual({ ...NOT_SAMPLED, decidedBy: 'none' });
  });

  it('with more variants than twins compared, several remain: no decision', () => {
    const three = policyWith('variants: [idx, bqx]', 'variants: [idx, bqx, raw]');
    const withRaw = [...twins, { variant: 'raw', names: ['csi_agg_raw_aud'] }];
    expect(decide(own, facts({ csi_agg_aud: 'A', csi_agg_bqx_aud: 'B' }), withRaw, [bqx], three)).toMatchObject({
      variant: null,
      reason: 'NO_TWIN_EVIDENCE',
      detail: 'only csi_agg_bqx_aud exists to compare with: variants idx, raw remain (twin rule)',
      evidence: { twins: [{ table: 'csi_agg_bqx_aud', variant: 'bqx', same: false }] },
    });
  });
});
