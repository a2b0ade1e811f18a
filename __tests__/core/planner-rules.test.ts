/**
 * The planner's decision is a pure function of (snapshot, policy, facts, grace start): these tests
 * build snapshots and facts directly to reach cases a seeded warehouse does not contain.
 * The planner against the real DuckDB warehouse is tested in __tests__/phase4c/.
 */
import { readFileSync } from 'fs';
import { makeSnapshot, type Column, type TableInfo } from '../../core/catalogue';
import { emptyFacts, type PlanningFacts } from '../../core/plan/facts';
import { computePlanHash } from '../../core/plan/hash';
import { validatePlan } from '../../core/plan/load';
import { decidePlan, gatherFacts } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { compilePolicy, loadPolicy } from '../../core/policy';
import { repoPath } from '../../core/paths';

const policy = loadPolicy();
const ts: Column = { name: 'interval_time', type: 'TIMESTAMP' };
const pair: Column = { name: 'pair', type: 'STRING' };
const f = (name: string): Column => ({ name, type: 'FLOAT64' });

function table(name: string, columns: Column[], rowCount = 10): TableInfo {
  return { name, kind: 'TABLE', columns, rowCount, bytes: rowCount * columns.length * 8, partitionBy: 'interval_time', clusterBy: ['pair'] };
}
function plan(tables: TableInfo[], facts: PlanningFacts, p = policy): Plan {
  return decidePlan({ snapshot: makeSnapshot('test', 'bqx-ml', 'ds', tables), policy: p, graceStart: '2026-12-01' }, facts);
}
const opFor = (p: Plan, source: string) => p.operations.find((o) => o.sources.includes(source))!;
const covCols = [ts, { name: 'pair1', type: 'STRING' } as Column, { name: 'pair2', type: 'STRING' } as Column, f('val1'), f('val2')];

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

  it('never guesses a variant: ambiguous, empty, unreadable and no numeric column are REVIEW', () => {
    const facts = emptyFacts();
    facts.samples.set('cov_vol_audcad_audchf', { column: 'val1', values: [30, 31, 29] });
    facts.samples.set('csi_rev_nzd', { column: 'x_45', values: [] });
    facts.samples.set('csi_agg_nzd', { error: 'permission denied' });
    facts.samples.set('csi_mom_nzd', { column: null, values: [] });
    const p = plan(
      [
        table('cov_vol_audcad_audchf', covCols),
        table('csi_rev_nzd', [ts, f('x_45')], 0),
        table('csi_agg_nzd', [ts, f('x_45')]),
        table('csi_mom_nzd', [ts, { name: 'label', type: 'STRING' }]),
      ],
      facts,
    );
    expect(opFor(p, 'cov_vol_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS' });
    expect(opFor(p, 'csi_rev_nzd')).toMatchObject({ action: 'REVIEW', reason: 'EMPTY_TABLE' });
    expect(opFor(p, 'csi_agg_nzd')).toMatchObject({ action: 'REVIEW', reason: 'READ_ERROR' });
    expect(opFor(p, 'csi_mom_nzd')).toMatchObject({ action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS' });
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
    const text = readFileSync(repoPath('policy', 'm008.policy.yaml'), 'utf8');
    const tight = compilePolicy(text.replace('planningBudgetUsd: 10', 'planningBudgetUsd: 0'), 'tight');
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
    const text = readFileSync(repoPath('policy', 'm008.policy.yaml'), 'utf8');
    const tight = compilePolicy(text.replace('planningBudgetUsd: 10', 'planningBudgetUsd: 0'), 'tight');
    const facts = emptyFacts();
    facts.overBudget.add('cov_mom_audcad_audchf');
    const p = plan([table('cov_mom_audcad_audchf', covCols)], facts, tight);
    expect(opFor(p, 'cov_mom_audcad_audchf')).toMatchObject({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED' });
  });
});

describe('consolidation', () => {
  const bqxLag = (w: number): Column[] => [ts, pair, f('bqx_close'), f(`bqx_lag_${w}`), { name: 'period_minutes', type: 'INT64' }];
  function lagFacts(agree: Record<string, boolean>): PlanningFacts {
    const facts = emptyFacts();
    for (const n of ['lag_bqx_eurusd_45', 'lag_bqx_eurusd_w45']) facts.fingerprints.set(n, { rows: 10, hash: 'L45' });
    for (const n of ['lag_bqx_eurusd_90', 'lag_bqx_eurusd_w90']) facts.fingerprints.set(n, { rows: 8, hash: 'L90' });
    facts.keyStats.set('lag_bqx_eurusd_45', { rows: 10, distinctKeys: 10, nullKeys: 0 });
    facts.keyStats.set('lag_bqx_eurusd_90', { rows: 8, distinctKeys: 8, nullKeys: 0 });
    facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_90', agree);
    return facts;
  }
  const tables = [
    table('lag_bqx_eurusd_45', bqxLag(45)),
    table('lag_bqx_eurusd_w45', bqxLag(45)),
    table('lag_bqx_eurusd_90', bqxLag(90), 8),
    table('lag_bqx_eurusd_w90', bqxLag(90), 8),
  ];

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
  const facts = emptyFacts();
  facts.samples.set('cov_mom_audcad_audchf', { column: 'val1', values: [100] });
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
