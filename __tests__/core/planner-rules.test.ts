/**
 * The planner's decision is a pure function of (snapshot, policy, facts, grace start): these tests
 * build snapshots and facts directly to reach cases a seeded warehouse does not contain.
 * The planner against the real DuckDB warehouse is tested in __tests__/phase4c/.
 */
import { makeSnapshot, type Column, type TableInfo } from '../../core/catalogue';
import { emptyFacts, type PlanningFacts } from '../../core/plan/facts';
import { computePlanHash } from '../../core/plan/hash';
import { validatePlan } from '../../core/plan/load';
import { decidePlan, gatherFacts } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { bqxLag, covCols, f, lagFacts, lagTables as tables, opFor, pair, plan, policy, policyWith, table, ts } from './plan-support';

describe('single-table decisions', () => {
  it('samples the variant, renames when the canonical name is free', () => {
    const facts = emptyFacts();
    facts.samples.set('cov_mom_audcad_audchf', { column: 'val1', values: [101, 99, 100] });
    const p = plan([table('cov_mom_audcad_audchf', covCols)], facts);
    const op = opFor(p, 'cov_mom_audcad_audchf');
    expect(op).toMatchObject({ action: 'RENAME', target: 'cov_mom_idx_audcad_audchf', reason: 'CANONICAL_FREE', variant: 'idx' });
    expect(op.evidence?.variant).toMatchObject({ column: 'val1', verdict: 'idx', decidedBy: 'sample', medianAbs: 100 });
    expect(p.views).toEqual([expect.objectContaining({ name: 'cov_mom_audcad_audchf', target: 'cov_mom_idx_audcad_audchf', graceEnd: '2026-12-31' })]);
  });

  it('dedupes against an identical twin and reviews a different one', () => {
    const facts = emptyFacts();
    facts.samples.set('cov_agg_audcad_audchf', { column: 'val1', values: [1, -2, 0.5] });
    facts.fingerprints.set('cov_agg_audcad_audchf', { rows: 10, hash: 'A' });
    facts.fingerprints.set('cov_agg_bqx_audcad_audchf', { rows: 10, hash: 'A' });
    const tables = [table('cov_agg_audcad_audchf', covCols), table('cov_agg_bqx_audcad_audchf', covCols), table('cov_agg_idx_audcad_audchf', covCols)];
    const same = opFor(plan(tables, facts), 'cov_agg_audcad_audchf');
    expect(same).toMatchObject({ action: 'DEDUPE', target: 'cov_agg_bqx_audcad_audchf', destructive: true, twin: { hash: 'A', rows: 10 } });

    facts.fingerprints.set('cov_agg_bqx_audcad_audchf', { rows: 10, hash: 'B' });
    facts.fingerprints.set('cov_agg_idx_audcad_audchf', { rows: 10, hash: 'C' });
    expect(opFor(plan(tables, facts), 'cov_agg_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'TARGET_EXISTS_DIFFERENT' });

    // The sample says bqx but the content is proven identical to the idx twin: the twin wins.
    facts.fingerprints.set('cov_agg_idx_audcad_audchf', { rows: 10, hash: 'A' });
    const viaTwin = opFor(plan(tables, facts), 'cov_agg_audcad_audchf');
    expect(viaTwin).toMatchObject({ action: 'DEDUPE', target: 'cov_agg_idx_audcad_audchf' });
    expect(viaTwin.evidence?.variant?.decidedBy).toBe('identical-twin');
  });

  it('drops a table only for a proven identical twin: same rows, hash and columns, and a table', () => {
    const source = 'cov_agg_audcad_audchf';
    const twin = 'cov_agg_bqx_audcad_audchf';
    const facts = (twinFp: { rows: number; hash: string } | null) => {
      const f = emptyFacts();
      f.samples.set(source, { column: 'val1', values: [1, -2, 0.5] });
      f.fingerprints.set(source, { rows: 10, hash: 'A' });
      if (twinFp) f.fingerprints.set(twin, twinFp);
      return f;
    };
    const decide = (twinTable: TableInfo, twinFp: { rows: number; hash: string } | null) => opFor(plan([table(source, covCols), twinTable], facts(twinFp)), source);
    expect(decide(table(twin, covCols), { rows: 10, hash: 'A' })).toMatchObject({ action: 'DEDUPE', target: twin });
    expect(decide(table(twin, covCols), { rows: 11, hash: 'A' })).toMatchObject({ action: 'REVIEW', reason: 'TARGET_EXISTS_DIFFERENT' });
    expect(decide(table(twin, covCols.slice(0, 4)), { rows: 10, hash: 'A' })).toMatchObject({ action: 'REVIEW', reason: 'TARGET_EXISTS_DIFFERENT' });
    expect(decide({ ...table(twin, covCols), kind: 'VIEW' }, { rows: 10, hash: 'A' })).toMatchObject({ action: 'REVIEW', reason: 'COLLISION' });
    expect(decide(table(twin, covCols), null)).toMatchObject({ action: 'REVIEW', reason: 'READ_ERROR' });
  });

  it('never guesses a variant: ambiguous, empty, unreadable and no level column are REVIEW', () => {
    const facts = emptyFacts();
    facts.samples.set('cov_vol_audcad_audchf', { column: 'val1', values: [30, 31, 29] });
    facts.samples.set('cov_reg_audcad_audchf', { column: 'val1', values: [] });
    facts.samples.set('cov_agg_audcad_audchf', { error: 'permission denied' });
    const p = plan(
      [
        table('cov_vol_audcad_audchf', covCols),
        table('cov_reg_audcad_audchf', covCols, 0),
        table('cov_agg_audcad_audchf', covCols),
        // cov's evidence is a level column (val1, val2): a cov table without one is not guessed.
        table('cov_mom_audcad_audchf', [ts, f('spread'), f('ratio')]),
        // A family the policy declares no evidence for.
        table('div_eurusd', [ts, pair, f('div_score_45')]),
        // Twin rule, but no twin to compare with.
        table('csi_mom_nzd', [ts, f('csi_mom_strength_45')]),
        table('csi_rev_nzd', [ts, f('csi_rev_strength_45')], 0),
      ],
      facts,
    );
    expect(opFor(p, 'cov_vol_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS' });
    expect(opFor(p, 'cov_reg_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'EMPTY_TABLE' });
    expect(opFor(p, 'cov_agg_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'READ_ERROR' });
    expect(opFor(p, 'cov_mom_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'NO_LEVEL_COLUMN' });
    expect(opFor(p, 'div_eurusd')).toMatchObject({ action: 'REVIEW', reason: 'NO_VARIANT_EVIDENCE' });
    expect(opFor(p, 'csi_mom_nzd')).toMatchObject({ action: 'REVIEW', reason: 'NO_TWIN_EVIDENCE' });
    expect(opFor(p, 'csi_rev_nzd')).toMatchObject({ action: 'REVIEW', reason: 'EMPTY_TABLE' });
    expect(p.views).toHaveLength(0);
  });

  it('two names with one canonical form collide and both go to REVIEW', () => {
    const cols = [ts, pair, f('reg_r2_45')];
    const p = plan([table('reg_eurusd_bqx', cols), table('REG_BQX_EURUSD', cols)], emptyFacts());
    expect(opFor(p, 'reg_eurusd_bqx')).toMatchObject({ action: 'REVIEW', reason: 'COLLISION' });
    expect(opFor(p, 'REG_BQX_EURUSD')).toMatchObject({ action: 'REVIEW', reason: 'COLLISION' });
    expect(p.views).toHaveLength(0);
  });

  it('unknown families and names with no canonical form are REVIEW, compliant ones KEEP', () => {
    const p = plan([table('eurusd_agg', [ts]), table('agg_bqx_xauusd', [ts]), table('agg_bqx_eurusd', [ts]), table('_bqx_scratch', [ts])], emptyFacts());
    expect(opFor(p, 'eurusd_agg')).toMatchObject({ action: 'REVIEW', reason: 'UNKNOWN_FAMILY' });
    expect(opFor(p, 'agg_bqx_xauusd')).toMatchObject({ action: 'REVIEW', reason: 'NO_CANONICAL_FORM' });
    expect(opFor(p, 'agg_bqx_eurusd')).toMatchObject({ action: 'KEEP', reason: 'COMPLIANT' });
    expect(opFor(p, '_bqx_scratch')).toMatchObject({ action: 'KEEP', reason: 'BOOKKEEPING' });
  });

  it('stops reading at the planning budget: what it could not read goes to REVIEW', async () => {
    const tight = policyWith('planningBudgetUsd: 10', 'planningBudgetUsd: 0');
    const reads: string[] = [];
    const source = {
      maxParallelOperations: 1,
      sampleNumeric: async (t: string) => (reads.push(t), [100]),
      contentFingerprint: async (t: string) => (reads.push(t), { rows: 1, hash: 'h' }),
      keyStats: async (t: string) => (reads.push(t), { rows: 1, distinctKeys: 1, nullKeys: 0 }),
      columnsAgreeOnKey: async () => ({}),
    };
    const tables = [table('cov_mom_audcad_audchf', covCols)];
    const input = { snapshot: makeSnapshot('test', 'bqx-ml', 'ds', tables), policy: tight, graceStart: '2026-12-01' };
    const facts = await gatherFacts(source, input);
    expect(reads).toEqual([]);
    expect(opFor(decidePlan(input, facts), 'cov_mom_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED' });
    const roomy = await gatherFacts(source, { ...input, policy });
    expect(reads).toEqual(['cov_mom_audcad_audchf']);
    expect(roomy.bytesRead).toBeGreaterThan(0);
  });

  it('reads nothing beyond the planning budget and says so', () => {
    const tight = policyWith('planningBudgetUsd: 10', 'planningBudgetUsd: 0');
    const facts = emptyFacts();
    facts.overBudget.add('cov_mom_audcad_audchf');
    const p = plan([table('cov_mom_audcad_audchf', covCols)], facts, tight);
    expect(opFor(p, 'cov_mom_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED' });
  });
});

describe('the twin rule, for families without a level column', () => {
  const csiCols = [ts, { name: 'currency', type: 'STRING' } as Column, f('csi_agg_strength_45'), f('csi_agg_rank_45')];
  const regimeCols = (w: number, bqx: boolean): Column[] => [ts, pair, f(`hl_range_${w}`), f('range_p33'), f('range_p66'), ...(bqx ? [f(`momentum_${w}`)] : [])];

  it('decides from a differing twin of the other variant, never from values; an identical twin is a DEDUPE', () => {
    const facts = emptyFacts();
    // Values that would read as "bqx" to a sample (a strength of 0.3): the twin rule does not read them.
    facts.samples.set('csi_agg_aud', { column: 'csi_agg_strength_45', values: [0.3, 0.2, 0.4] });
    facts.fingerprints.set('csi_agg_aud', { rows: 10, hash: 'I' });
    facts.fingerprints.set('csi_agg_bqx_aud', { rows: 10, hash: 'B' });
    const varCols = [ts, { name: 'currency', type: 'STRING' } as Column, f('corr_12_45'), f('family_coherence')];
    for (const n of ['var_corr_aud', 'var_corr_idx_aud']) facts.fingerprints.set(n, { rows: 10, hash: 'V' });
    facts.fingerprints.set('var_corr_bqx_aud', { rows: 10, hash: 'W' });
    const p = plan(
      [table('csi_agg_aud', csiCols), table('csi_agg_bqx_aud', csiCols), table('var_corr_aud', varCols), table('var_corr_idx_aud', varCols), table('var_corr_bqx_aud', varCols)],
      facts,
    );
    const csi = opFor(p, 'csi_agg_aud');
    expect(csi).toMatchObject({ action: 'RENAME', target: 'csi_agg_idx_aud', variant: 'idx' });
    expect(csi.evidence?.variant).toMatchObject({ column: null, verdict: 'not-sampled', decidedBy: 'twin-rule', legacyVariant: 'idx', twins: [{ table: 'csi_agg_bqx_aud', variant: 'bqx', same: false }] });
    const v = opFor(p, 'var_corr_aud');
    expect(v).toMatchObject({ action: 'DEDUPE', target: 'var_corr_idx_aud', variant: 'idx' });
    expect(v.evidence?.variant?.decidedBy).toBe('identical-twin');
  });

  it('a twin rule that disagrees with the documented legacy variant, or twins of every variant that differ, go to REVIEW', () => {
    const facts = emptyFacts();
    facts.fingerprints.set('csi_agg_aud', { rows: 10, hash: 'I' });
    facts.fingerprints.set('csi_agg_idx_aud', { rows: 10, hash: 'J' });
    const conflict = opFor(plan([table('csi_agg_aud', csiCols), table('csi_agg_idx_aud', csiCols)], facts), 'csi_agg_aud');
    expect(conflict).toMatchObject({ action: 'REVIEW', reason: 'LEGACY_VARIANT_CONFLICT' });
    facts.fingerprints.set('csi_agg_bqx_aud', { rows: 10, hash: 'B' });
    const both = opFor(plan([table('csi_agg_aud', csiCols), table('csi_agg_idx_aud', csiCols), table('csi_agg_bqx_aud', csiCols)], facts), 'csi_agg_aud');
    expect(both).toMatchObject({ action: 'REVIEW', reason: 'TARGET_EXISTS_DIFFERENT' });
    const unread = emptyFacts();
    unread.fingerprints.set('csi_agg_aud', { error: 'boom' });
    expect(opFor(plan([table('csi_agg_aud', csiCols), table('csi_agg_bqx_aud', csiCols)], unread), 'csi_agg_aud')).toMatchObject({ action: 'REVIEW', reason: 'READ_ERROR' });
  });

  it('window tables take the variant their same-window twins leave, and consolidate with it', () => {
    const facts = emptyFacts();
    for (const w of [45, 90]) {
      facts.fingerprints.set(`regime_eurusd_${w}`, { rows: 10, hash: `I${w}` });
      facts.fingerprints.set(`regime_bqx_eurusd_${w}`, { rows: 10, hash: `B${w}` });
      for (const v of ['', 'bqx_']) facts.keyStats.set(`regime_${v}eurusd_${w}`, { rows: 10, distinctKeys: 10, nullKeys: 0 });
    }
    const tables = [45, 90].flatMap((w) => [table(`regime_eurusd_${w}`, regimeCols(w, false)), table(`regime_bqx_eurusd_${w}`, regimeCols(w, true))]);
    const p = plan(tables, facts);
    expect(opFor(p, 'regime_eurusd_45')).toMatchObject({ action: 'CONSOLIDATE', target: 'regime_idx_eurusd', sources: ['regime_eurusd_45', 'regime_eurusd_90'] });
    expect(opFor(p, 'regime_eurusd_45').evidence?.variant).toMatchObject({ decidedBy: 'twin-rule', twins: [{ table: 'regime_bqx_eurusd_45', same: false }] });
    expect(opFor(p, 'regime_bqx_eurusd_45')).toMatchObject({ action: 'CONSOLIDATE', target: 'regime_bqx_eurusd' });
    // An un-suffixed window table identical to its bqx twin is a copy of it, folded into that consolidation.
    facts.fingerprints.set('regime_eurusd_90', { rows: 10, hash: 'B90' });
    const copy = plan(tables.map((t) => (t.name === 'regime_eurusd_90' ? { ...t, columns: regimeCols(90, true) } : t)), facts);
    expect(opFor(copy, 'regime_eurusd_90')).toMatchObject({ action: 'CONSOLIDATE', target: 'regime_bqx_eurusd' });
    expect(opFor(copy, 'regime_eurusd_90').consolidation?.windows.find((w) => w.window === 90)?.copies).toEqual(['regime_eurusd_90']);
  });
});

describe('consolidation', () => {
  it('folds proven copies in, keeps equal un-windowed columns once and suffixes the others', () => {
    const p = plan(tables, lagFacts({ pair: true, bqx_close: true, period_minutes: false }));
    const op = opFor(p, 'lag_bqx_eurusd_45');
    expect(op.action).toBe('CONSOLIDATE');
    expect(op.target).toBe('lag_bqx_eurusd');
    expect(op.sources).toEqual(['lag_bqx_eurusd_45', 'lag_bqx_eurusd_90', 'lag_bqx_eurusd_w45', 'lag_bqx_eurusd_w90']);
    expect(op.consolidation!.windows).toEqual([
      { window: 45, source: 'lag_bqx_eurusd_45', copies: ['lag_bqx_eurusd_w45'], presenceColumn: 'lag_present_45' },
      { window: 90, source: 'lag_bqx_eurusd_90', copies: ['lag_bqx_eurusd_w90'], presenceColumn: 'lag_present_90' },
    ]);
    expect(op.consolidation!.columns.map((c) => c.name)).toEqual(['interval_time', 'pair', 'bqx_close', 'bqx_lag_45', 'period_minutes_45', 'bqx_lag_90', 'period_minutes_90']);
    const w90 = p.views.find((v) => v.name === 'lag_bqx_eurusd_w90')!;
    expect(w90.filter).toBe('lag_present_90');
    expect(w90.columns).toEqual([
      { name: 'interval_time', column: 'interval_time' },
      { name: 'pair', column: 'pair' },
      { name: 'bqx_close', column: 'bqx_close' },
      { name: 'bqx_lag_90', column: 'bqx_lag_90' },
      { name: 'period_minutes', column: 'period_minutes_90' },
    ]);
    expect(p.views.map((v) => v.name).sort()).toEqual([...op.sources].sort());
  });

  it('refuses copies that differ, and a join key that is not unique', () => {
    const differ = lagFacts({ pair: true, bqx_close: true, period_minutes: false });
    differ.fingerprints.set('lag_bqx_eurusd_w90', { rows: 8, hash: 'other' });
    expect(plan(tables, differ).operations.filter((o) => o.action === 'REVIEW' && o.reason === 'COPIES_DIFFER')).toHaveLength(4);
    const dup = lagFacts({ pair: true, bqx_close: true, period_minutes: false });
    dup.keyStats.set('lag_bqx_eurusd_90', { rows: 8, distinctKeys: 7, nullKeys: 0 });
    expect(plan(tables, dup).operations.filter((o) => o.reason === 'JOIN_KEY_NOT_UNIQUE')).toHaveLength(4);
  });

  it('a copy that could not be read is a READ_ERROR, and PLANNING_BUDGET_EXCEEDED only when the budget left it unread', () => {
    const failed = lagFacts({ pair: true, bqx_close: true, period_minutes: false });
    failed.fingerprints.set('lag_bqx_eurusd_w90', { error: 'read failed' });
    // Another table went over the budget: that does not make this failed read a budget case.
    failed.overBudget.add('cov_mom_audcad_audchf');
    expect(opFor(plan(tables, failed), 'lag_bqx_eurusd_45')).toMatchObject({ action: 'REVIEW', reason: 'READ_ERROR' });
    const unread = lagFacts({ pair: true, bqx_close: true, period_minutes: false });
    unread.fingerprints.delete('lag_bqx_eurusd_w90');
    unread.overBudget.add('lag_bqx_eurusd_w90');
    expect(opFor(plan(tables, unread), 'lag_bqx_eurusd_45')).toMatchObject({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED' });
  });

  it('a lone window table is renamed to the consolidated name; a missing join key or unreadable key statistics stop the group', () => {
    const lone = plan([table('lag_bqx_eurusd_45', bqxLag(45))], lagFacts({}));
    expect(opFor(lone, 'lag_bqx_eurusd_45')).toMatchObject({ action: 'RENAME', reason: 'CANONICAL_FREE', target: 'lag_bqx_eurusd' });
    const noKey = tables.map((t) => ({ ...t, columns: t.columns.filter((c) => c.name !== 'interval_time') }));
    expect(opFor(plan(noKey, lagFacts({ pair: true, bqx_close: true, period_minutes: false })), 'lag_bqx_eurusd_45')).toMatchObject({ action: 'REVIEW', reason: 'SCHEMA_CONFLICT' });
    const unreadable = lagFacts({ pair: true, bqx_close: true, period_minutes: false });
    unreadable.keyStats.set('lag_bqx_eurusd_90', { error: 'read failed' });
    expect(plan(tables, unreadable).operations.filter((o) => o.reason === 'READ_ERROR')).toHaveLength(4);
  });

  it('refuses a consolidation whose target already exists', () => {
    const p = plan([...tables, table('lag_bqx_eurusd', bqxLag(45))], lagFacts({ pair: true, bqx_close: true, period_minutes: false }));
    expect(opFor(p, 'lag_bqx_eurusd_45')).toMatchObject({ action: 'REVIEW', reason: 'COLLISION' });
    expect(opFor(p, 'lag_bqx_eurusd')).toMatchObject({ action: 'KEEP' });
  });
});

describe('plan integrity', () => {
  let facts: PlanningFacts;
  beforeEach(() => {
    facts = emptyFacts();
    facts.samples.set('cov_mom_audcad_audchf', { column: 'val1', values: [100] });
  });
  const tables = [table('cov_mom_audcad_audchf', covCols), table('tmp_eurusd', [ts, pair, f('hour_sin')]), table('agg_bqx_eurusd', [ts])];

  it('is byte-identical for the same input and validates', () => {
    const a = JSON.stringify(plan(tables, facts));
    const b = JSON.stringify(plan([...tables].reverse(), facts));
    expect(a).toBe(b);
    expect(() => validatePlan(JSON.parse(a), 'p.json')).not.toThrow();
  });

  const resign = (p: Plan): Plan => ({ ...p, planHash: computePlanHash(p) });
  it.each<[string, (p: Plan) => unknown, RegExp]>([
    ['an edited plan (hash mismatch)', (p) => ({ ...p, graceDays: 1 }), /integrity check failed/],
    ['an unknown action', (p) => resign({ ...p, operations: p.operations.map((o, i) => (i === 0 ? { ...o, action: 'TRUNCATE' as never } : o)) }), /plan schema/],
    ['a truncated operation list', (p) => resign({ ...p, operations: p.operations.slice(1) }), /truncated or edited/],
    ['an injected identifier', (p) => resign({ ...p, operations: p.operations.map((o) => (o.action === 'RENAME' ? { ...o, target: 'x"; DROP TABLE y; --' } : o)) }), /not a valid identifier/],
    [
      'a collision',
      (p) => resign({ ...p, operations: p.operations.map((o) => (o.action === 'RENAME' ? { ...o, target: 'agg_bqx_eurusd' } : o)) }),
      /collision: agg_bqx_eurusd/,
    ],
    [
      'a rename cycle',
      (p) =>
        resign({
          ...p,
          operations: [
            ...p.operations.filter((o) => o.action !== 'RENAME' && o.sources[0] !== 'tmp_eurusd'),
            { ...p.operations.find((o) => o.action === 'RENAME' && o.sources[0] === 'cov_mom_audcad_audchf')!, target: 'tmp_eurusd' },
            { ...p.operations.find((o) => o.sources[0] === 'tmp_eurusd')!, target: 'cov_mom_audcad_audchf' },
          ],
          views: [],
        }),
      /rename cycle/,
    ],
    ['not a plan', () => ({ hello: 'world' }), /format/],
  ])('refuses %s', (_label, edit, message) => {
    const p = plan(tables, facts);
    expect(() => validatePlan(edit(p), 'p.json')).toThrow(message);
  });
});
