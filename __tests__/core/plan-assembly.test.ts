/**
 * The plan around the decisions: the namespace check (chains, cycles, two producers of one table),
 * order, sequence, batches, views, summary and grace period. Pure (see plan-support.ts).
 */
import { emptyFacts, type PlanningFacts } from '../../core/plan/facts';
import { resolveNamespace, type Draft } from '../../core/plan/planner';
import { covCols, f, lagFacts, lagTables, opFor, pair, plan, policyWith, table, ts } from './plan-support';

const draft = (action: Draft['action'], source: string, target: string | null): Draft => ({
  action,
  reason: action === 'KEEP' ? 'COMPLIANT' : 'CANONICAL_FREE',
  family: 'reg',
  sources: [source],
  target,
  variant: 'idx',
  twin: { table: 't', rows: 1, hash: 'h' },
  consolidation: { key: 'k', windows: [], columns: [], partitionBy: null, clusterBy: [] },
  viewColumns: new Map(),
});
const reviewed = { action: 'REVIEW', target: null, twin: undefined, consolidation: undefined, viewColumns: undefined };

describe('the resulting namespace', () => {
  it('refuses a rename whose target is itself going away (a chain), naming the chain', () => {
    const drafts = [draft('RENAME', 'a', 'b'), draft('RENAME', 'b', 'c'), draft('KEEP', 'k', null)];
    resolveNamespace(drafts);
    expect(drafts[0]).toMatchObject({ ...reviewed, reason: 'CHAIN', detail: 'rename chain a -> b -> c: b is itself going away and would be both a table and a view' });
    expect(drafts[1]).toMatchObject({ action: 'RENAME', target: 'c' });
    expect(drafts[2]).toMatchObject({ action: 'KEEP' });
  });

  it('refuses every rename of a cycle (the first names the cycle; once it is out, the others read as chains)', () => {
    const drafts = [draft('RENAME', 'a', 'b'), draft('DEDUPE', 'b', 'c'), draft('RENAME', 'c', 'a')];
    resolveNamespace(drafts);
    expect(drafts.map((d) => [d.action, d.reason, d.detail])).toEqual([
      ['REVIEW', 'CYCLE', 'rename cycle a -> b -> c'],
      ['REVIEW', 'CHAIN', 'rename chain b -> c -> a: c is itself going away and would be both a table and a view'],
      ['REVIEW', 'CHAIN', 'rename chain c -> a: a is itself going away and would be both a table and a view'],
    ]);
  });

  it('leaves alone what does not move, and an operation whose target is its own source', () => {
    const drafts = [draft('RENAME', 'a', 'k'), draft('KEEP', 'k', null), { ...draft('REVIEW', 'r', null), target: 'a' }, draft('CONSOLIDATE', 'x', 'x')];
    resolveNamespace(drafts);
    expect(drafts.map((d) => d.action)).toEqual(['RENAME', 'KEEP', 'REVIEW', 'CONSOLIDATE']);
  });

  it('refuses two operations producing one table, naming both', () => {
    const drafts = [draft('RENAME', 'a', 't'), { ...draft('CONSOLIDATE', 'b', 't'), sources: ['b1', 'b2'] }, draft('DEDUPE', 'c', 't'), draft('RENAME', 'd', 'u')];
    resolveNamespace(drafts);
    expect(drafts.map((d) => [d.action, d.reason, d.detail])).toEqual([
      ['REVIEW', 'COLLISION', 't would be produced by a, b1+b2'],
      ['REVIEW', 'COLLISION', 't would be produced by a, b1+b2'],
      ['DEDUPE', 'CANONICAL_FREE', undefined],
      ['RENAME', 'CANONICAL_FREE', undefined],
    ]);
  });

  it('a single table and a consolidation with one target both go to REVIEW, and neither gets a view', () => {
    const facts = lagFacts({ pair: true, bqx_close: true, period_minutes: true });
    facts.samples.set('lag_eurusd', { column: 'bqx_close', values: [1] });
    const p = plan([...lagTables, table('lag_eurusd', [ts, pair, f('bqx_close')])], facts);
    expect(opFor(p, 'lag_eurusd')).toMatchObject({ action: 'REVIEW', reason: 'COLLISION', detail: 'lag_bqx_eurusd would be produced by lag_eurusd, lag_bqx_eurusd_45+lag_bqx_eurusd_90+lag_bqx_eurusd_w45+lag_bqx_eurusd_w90' });
    expect(opFor(p, 'lag_bqx_eurusd_45')).toMatchObject({ action: 'REVIEW', reason: 'COLLISION', sources: ['lag_bqx_eurusd_45', 'lag_bqx_eurusd_90', 'lag_bqx_eurusd_w45', 'lag_bqx_eurusd_w90'] });
    expect(opFor(p, 'lag_bqx_eurusd_45').consolidation).toBeUndefined();
    expect(p.views).toEqual([]);
    expect(p.summary.byAction).toEqual({ KEEP: 0, RENAME: 0, DEDUPE: 0, CONSOLIDATE: 0, REVIEW: 2 });
  });
});

describe('order, batches and summary', () => {
  // Three renames (families reg, tmp, cov), a dedupe, a keep and a review.
  let facts: PlanningFacts;
  beforeEach(() => {
    facts = emptyFacts();
    facts.samples.set('cov_mom_audcad_audchf', { column: 'val1', values: [100] });
    facts.samples.set('cov_agg_audcad_audchf', { column: 'val1', values: [100] });
    facts.fingerprints.set('cov_agg_audcad_audchf', { rows: 10, hash: 'A' });
    facts.fingerprints.set('cov_agg_idx_audcad_audchf', { rows: 10, hash: 'A' });
    facts.bytesRead = 1234;
  });
  const tables = [
    table('tmp_eurusd', [ts, pair, f('hour_sin')]),
    table('reg_eurusd_bqx', [ts, pair, f('reg_r2_45')]),
    table('reg_gbpusd_bqx', [ts, pair, f('reg_r2_45')]),
    table('cov_mom_audcad_audchf', covCols),
    table('cov_agg_audcad_audchf', covCols),
    table('cov_agg_idx_audcad_audchf', covCols),
    table('eurusd_agg', [ts]),
  ];

  it('orders by action, then family, then source; numbers every operation and batches only the actionable ones', () => {
    const p = plan(tables, facts, policyWith('batchSize: 100', 'batchSize: 2'));
    expect(p.operations.map((o) => [o.seq, o.batch, o.action, o.sources[0]])).toEqual([
      [1, 1, 'RENAME', 'cov_mom_audcad_audchf'],
      [2, 1, 'RENAME', 'reg_eurusd_bqx'],
      [3, 2, 'RENAME', 'reg_gbpusd_bqx'],
      [4, 2, 'RENAME', 'tmp_eurusd'],
      [5, 3, 'DEDUPE', 'cov_agg_audcad_audchf'],
      [6, 0, 'KEEP', 'cov_agg_idx_audcad_audchf'],
      [7, 0, 'REVIEW', 'eurusd_agg'],
    ]);
    expect(p.operations.map((o) => o.destructive)).toEqual([false, false, false, false, true, false, false]);
    // A KEEP carries no detail at all; a REVIEW its reason's.
    expect('detail' in p.operations[5]).toBe(false);
    expect(p.operations[6].detail).toBe('"eurusd" starts no family of the standard');
  });

  it('sums what it counts and sorts the views by name', () => {
    const p = plan(tables, facts);
    expect(p.summary).toEqual({
      tables: 7,
      byAction: { KEEP: 1, RENAME: 4, DEDUPE: 1, CONSOLIDATE: 0, REVIEW: 1 },
      byReason: { CANONICAL_FREE: 4, COMPLIANT: 1, IDENTICAL_TWIN: 1, UNKNOWN_FAMILY: 1 },
      sourcesByAction: { KEEP: 1, RENAME: 4, DEDUPE: 1, CONSOLIDATE: 0, REVIEW: 1 },
      views: 5,
      estimatedBytes: 0,
      estimatedCostUsd: 0,
      planningBytes: 1234,
    });
    expect(p.views.map((v) => v.name)).toEqual(['cov_agg_audcad_audchf', 'cov_mom_audcad_audchf', 'reg_eurusd_bqx', 'reg_gbpusd_bqx', 'tmp_eurusd']);
    expect(p).toMatchObject({ format: 'bqx-plan/v1', engine: 'test', project: 'bqx-ml', dataset: 'ds', tableCount: 7, graceStart: '2026-12-01', graceDays: 30 });
  });

  it('prices the bytes a consolidation reads, rounded to a millionth of a dollar', () => {
    const big = lagTables.map((t) => ({ ...t, bytes: 2 ** 40 / 3 }));
    const p = plan(big, lagFacts({ pair: true, bqx_close: true, period_minutes: true }));
    expect(p.summary.estimatedBytes).toBe((2 * 2 ** 40) / 3);
    expect(p.summary.estimatedCostUsd).toBe(4.166667);
  });

  it('ends the grace period graceDays after its start, across a month and a year', () => {
    expect(plan(tables, facts, undefined, '2026-12-15').views[0].graceEnd).toBe('2027-01-14');
    expect(() => plan(tables, facts, undefined, 'someday')).toThrow('invalid date someday');
  });
});

describe('kept tables', () => {
  it('a KEEP carries its name’s family and variant, and no target', () => {
    const p = plan([table('agg_bqx_eurusd', [ts]), table('_bqx_scratch', [ts])], emptyFacts());
    expect(opFor(p, 'agg_bqx_eurusd')).toMatchObject({ action: 'KEEP', reason: 'COMPLIANT', family: 'agg', variant: 'bqx', target: null, batch: 0, destructive: false });
    expect(opFor(p, '_bqx_scratch')).toMatchObject({ action: 'KEEP', reason: 'BOOKKEEPING', target: null });
  });
});
