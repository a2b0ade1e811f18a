/**
 * The consolidation of window tables: each REVIEW's detail word for word, the evidence shown, and
 * which un-windowed columns are kept once or suffixed per window. Pure (see plan-support.ts).
 */
import type { Column, TableInfo } from '../../core/catalogue';
import { emptyFacts } from '../../core/plan/facts';
import type { Plan } from '../../core/plan/types';
import { bqxLag, f, lagFacts, lagTables, opFor, pair, plan, table, ts } from './plan-support';

const agreeAll = { pair: true, bqx_close: true, period_minutes: true };
const reviews = (p: Plan) => p.operations.filter((o) => o.action === 'REVIEW').map((o) => ({ source: o.sources[0], reason: o.reason, detail: o.detail }));
const allReviewed = (reason: string, detail: string) => lagTables.map((t) => t.name).sort().map((s) => ({ source: s, reason, detail }));

describe('a consolidation that cannot go ahead reviews every member, saying why', () => {
  it('its target exists', () => {
    const p = plan([...lagTables, table('lag_bqx_eurusd', bqxLag(45))], lagFacts(agreeAll));
    expect(reviews(p)).toEqual(allReviewed('COLLISION', 'consolidation target lag_bqx_eurusd already exists (TABLE)'));
  });

  it('a window has no join key', () => {
    const noKey = lagTables.map((t) => (t.name.endsWith('90') ? { ...t, columns: t.columns.filter((c) => c.name !== 'interval_time') } : t));
    expect(reviews(plan(noKey, lagFacts(agreeAll)))).toEqual(allReviewed('SCHEMA_CONFLICT', 'lag_bqx_eurusd_90 has no join key interval_time'));
  });

  it('a copy was not read: a read error, or the budget when the budget left either unread', () => {
    const detail = 'could not compare lag_bqx_eurusd_w90 with lag_bqx_eurusd_90';
    const unread = lagFacts(agreeAll);
    unread.fingerprints.delete('lag_bqx_eurusd_w90');
    expect(reviews(plan(lagTables, unread))).toEqual(allReviewed('READ_ERROR', detail));
    const sourceUnread = lagFacts(agreeAll);
    sourceUnread.fingerprints.delete('lag_bqx_eurusd_90');
    expect(reviews(plan(lagTables, sourceUnread))).toEqual(allReviewed('READ_ERROR', detail));
    sourceUnread.overBudget.add('lag_bqx_eurusd_90');
    expect(reviews(plan(lagTables, sourceUnread))).toEqual(allReviewed('PLANNING_BUDGET_EXCEEDED', detail));
    unread.overBudget.add('lag_bqx_eurusd_w90');
    expect(reviews(plan(lagTables, unread))).toEqual(allReviewed('PLANNING_BUDGET_EXCEEDED', detail));
  });

  it('a copy differs in hash, in rows or in columns', () => {
    const detail = 'lag_bqx_eurusd_w90 is not an identical copy of lag_bqx_eurusd_90';
    const hash = lagFacts(agreeAll);
    hash.fingerprints.set('lag_bqx_eurusd_w90', { rows: 8, hash: 'other' });
    expect(reviews(plan(lagTables, hash))).toEqual(allReviewed('COPIES_DIFFER', detail));
    const rows = lagFacts(agreeAll);
    rows.fingerprints.set('lag_bqx_eurusd_w90', { rows: 9, hash: 'L90' });
    expect(reviews(plan(lagTables, rows))).toEqual(allReviewed('COPIES_DIFFER', detail));
    const columns = lagTables.map((t) => (t.name === 'lag_bqx_eurusd_w90' ? { ...t, columns: t.columns.slice(0, 4) } : t));
    expect(reviews(plan(columns, lagFacts(agreeAll)))).toEqual(allReviewed('COPIES_DIFFER', detail));
  });

  it('key statistics missing, unreadable, or a key with duplicates or nulls', () => {
    const missing = lagFacts(agreeAll);
    missing.keyStats.delete('lag_bqx_eurusd_90');
    expect(reviews(plan(lagTables, missing))).toEqual(allReviewed('READ_ERROR', 'key statistics of lag_bqx_eurusd_90 could not be read'));
    const dup = lagFacts(agreeAll);
    dup.keyStats.set('lag_bqx_eurusd_90', { rows: 8, distinctKeys: 7, nullKeys: 0 });
    expect(reviews(plan(lagTables, dup))).toEqual(allReviewed('JOIN_KEY_NOT_UNIQUE', 'lag_bqx_eurusd_90: 8 rows, 7 distinct and 0 null interval_time'));
    const nulls = lagFacts(agreeAll);
    nulls.keyStats.set('lag_bqx_eurusd_45', { rows: 10, distinctKeys: 10, nullKeys: 1 });
    expect(reviews(plan(lagTables, nulls))).toEqual(allReviewed('JOIN_KEY_NOT_UNIQUE', 'lag_bqx_eurusd_45: 10 rows, 10 distinct and 1 null interval_time'));
  });

  it('two columns of one window would get one name, or a column takes a presence column’s name', () => {
    // period_minutes differs across windows, so window 45's becomes period_minutes_45: taken by a source column.
    const clash = lagTables.map((t) => (t.name === 'lag_bqx_eurusd_45' || t.name === 'lag_bqx_eurusd_w45' ? { ...t, columns: [...t.columns, f('period_minutes_45')] } : t));
    expect(reviews(plan(clash, lagFacts({ ...agreeAll, period_minutes: false })))).toEqual(allReviewed('SCHEMA_CONFLICT', 'column period_minutes_45 would come from two windows'));
    const presence = lagTables.map((t) => (t.name.endsWith('90') ? { ...t, columns: [...t.columns, { name: 'lag_present_90', type: 'BOOL' } as Column] } : t));
    expect(reviews(plan(presence, lagFacts(agreeAll)))).toEqual(allReviewed('SCHEMA_CONFLICT', 'presence column lag_present_90 collides with a source column'));
  });
});

describe('the consolidated table', () => {
  it('carries every member’s fingerprint and the variant evidence of the names', () => {
    const op = opFor(plan(lagTables, lagFacts(agreeAll)), 'lag_bqx_eurusd_45');
    expect(op).toMatchObject({ action: 'CONSOLIDATE', reason: 'WINDOW_TABLES', family: 'lag', variant: 'bqx', destructive: true });
    expect(op.evidence).toEqual({
      variant: { column: null, sampled: 0, medianAbs: null, verdict: 'bqx', decidedBy: 'name' },
      fingerprints: [
        { table: 'lag_bqx_eurusd_45', rows: 10, hash: 'L45' },
        { table: 'lag_bqx_eurusd_90', rows: 8, hash: 'L90' },
        { table: 'lag_bqx_eurusd_w45', rows: 10, hash: 'L45' },
        { table: 'lag_bqx_eurusd_w90', rows: 8, hash: 'L90' },
      ],
    });
    // The windows' sources are read (not their copies).
    const bytes = (n: string) => lagTables.find((t) => t.name === n)!.bytes;
    expect(op.estimatedBytes).toBe(bytes('lag_bqx_eurusd_45') + bytes('lag_bqx_eurusd_90'));
  });

  it('shows the evidence of a member whose variant came from data, not of one named with it', () => {
    const facts = lagFacts(agreeAll);
    facts.samples.set('lag_eurusd_90', { column: 'bqx_lag_90', values: [0.5, 1.5] });
    facts.fingerprints.set('lag_eurusd_90', { rows: 8, hash: 'L90' });
    const tables = [...lagTables.filter((t) => t.name !== 'lag_bqx_eurusd_w90'), table('lag_eurusd_90', bqxLag(90), 8)];
    const op = opFor(plan(tables, facts), 'lag_bqx_eurusd_45');
    expect(op.sources).toEqual(['lag_bqx_eurusd_45', 'lag_bqx_eurusd_90', 'lag_bqx_eurusd_w45', 'lag_eurusd_90']);
    expect(op.evidence?.variant).toEqual({ column: 'bqx_lag_90', sampled: 2, medianAbs: 1, verdict: 'bqx', decidedBy: 'sample' });
  });

  it('keeps an un-windowed column once only where every window agrees on it with the same type', () => {
    const windowed = (w: number, extra: Column[]): TableInfo => table(`lag_bqx_eurusd_${w}`, [ts, pair, f(`bqx_lag_${w}`), ...extra]);
    const tables = [
      windowed(45, [f('same'), f('differ'), f('typed'), f('only45'), f('unread'), f('gap')]),
      windowed(90, [f('same'), f('differ'), { name: 'typed', type: 'INT64' }, f('unread')]),
      windowed(180, [f('same'), f('differ'), { name: 'typed', type: 'INT64' }, f('unread'), f('gap')]),
    ];
    const facts = emptyFacts();
    for (const t of tables) facts.keyStats.set(t.name, { rows: 10, distinctKeys: 10, nullKeys: 0 });
    facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_90', { pair: true, same: true, differ: true, typed: true });
    facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_180', { pair: true, same: true, differ: false, typed: true, gap: true });
    const op = opFor(plan(tables, facts), 'lag_bqx_eurusd_45');
    const from = Object.fromEntries(op.consolidation!.columns.map((c) => [c.name, c.from.map((x) => `${x.window}:${x.column}`).join(' ')]));
    expect(from).toEqual({
      interval_time: '45:interval_time 90:interval_time 180:interval_time',
      pair: '45:pair 90:pair 180:pair',
      same: '45:same 90:same 180:same',
      bqx_lag_45: '45:bqx_lag_45',
      differ_45: '45:differ',
      typed_45: '45:typed',
      // A column only one window has is kept under its own name.
      only45: '45:only45',
      // No agreement read for it: suffixed.
      unread_45: '45:unread',
      // Window 90 lacks it: suffixed, although 45 and 180 agree.
      gap_45: '45:gap',
      bqx_lag_90: '90:bqx_lag_90',
      differ_90: '90:differ',
      typed_90: '90:typed',
      unread_90: '90:unread',
      bqx_lag_180: '180:bqx_lag_180',
      differ_180: '180:differ',
      typed_180: '180:typed',
      unread_180: '180:unread',
      gap_180: '180:gap',
    });
    expect(op.consolidation!.columns.find((c) => c.name === 'typed_90')?.type).toBe('INT64');
    // An agreement that could not be read keeps nothing once.
    facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_90', { error: 'boom' });
    const names = opFor(plan(tables, facts), 'lag_bqx_eurusd_45').consolidation!.columns.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['pair_45', 'pair_90', 'same_45', 'same_90', 'same_180', 'only45']));
  });

  it('takes the key’s type and the first window’s layout, or the policy’s when the table has none', () => {
    const dated = (t: TableInfo): TableInfo => ({ ...t, columns: t.columns.map((c) => (c.name === 'interval_time' ? { ...c, type: 'DATE' } : c)), partitionBy: null, clusterBy: [] });
    const op = opFor(plan(lagTables.map(dated), lagFacts(agreeAll)), 'lag_bqx_eurusd_45');
    expect(op.consolidation).toMatchObject({ key: 'interval_time', partitionBy: 'interval_time', clusterBy: ['pair'] });
    expect(op.consolidation!.columns[0]).toEqual({ name: 'interval_time', type: 'DATE', from: [{ window: 45, column: 'interval_time' }, { window: 90, column: 'interval_time' }] });
    const own = lagTables.map((t) => ({ ...t, partitionBy: 'day', clusterBy: ['bqx_close', 'pair'] }));
    expect(opFor(plan(own, lagFacts(agreeAll)), 'lag_bqx_eurusd_45').consolidation).toMatchObject({ partitionBy: 'day', clusterBy: ['bqx_close', 'pair'] });
  });

  it('a lone window table is renamed with the evidence of its name and a view of its own columns', () => {
    const facts = lagFacts({});
    const p = plan([lagTables[0]], facts);
    const op = opFor(p, 'lag_bqx_eurusd_45');
    expect(op).toMatchObject({ action: 'RENAME', reason: 'CANONICAL_FREE', family: 'lag', target: 'lag_bqx_eurusd', variant: 'bqx', destructive: false, estimatedBytes: 0 });
    expect(op.evidence).toEqual({ variant: { column: null, sampled: 0, medianAbs: null, verdict: 'bqx', decidedBy: 'name' } });
    expect(p.views).toEqual([{ name: 'lag_bqx_eurusd_45', target: 'lag_bqx_eurusd', operationId: op.id, columns: bqxLag(45).map((c) => ({ name: c.name, column: c.name })), filter: null, graceEnd: '2026-12-31' }]);
  });

  it('an un-suffixed window table whose variant is not decided is reviewed alone, saying why', () => {
    const facts = lagFacts(agreeAll);
    facts.samples.set('lag_eurusd_90', { column: 'bqx_lag_90', values: [20, 30] });
    const p = plan([...lagTables, table('lag_eurusd_90', bqxLag(90), 8)], facts);
    const op = opFor(p, 'lag_eurusd_90');
    expect(op).toMatchObject({ action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS', detail: 'variant of lag_eurusd_90 not decided: median |bqx_lag_90| = 25 is between 10 and 50' });
    expect(op.evidence?.variant).toMatchObject({ verdict: 'ambiguous', decidedBy: 'none' });
    expect(opFor(p, 'lag_bqx_eurusd_45').action).toBe('CONSOLIDATE');
    const noEvidence = lagFacts(agreeAll);
    noEvidence.samples.set('lag_eurusd_90', { column: 'bqx_lag_90', values: [] });
    expect(opFor(plan([...lagTables, table('lag_eurusd_90', bqxLag(90), 0)], noEvidence), 'lag_eurusd_90')).toMatchObject({
      reason: 'EMPTY_TABLE',
      detail: 'variant of lag_eurusd_90 not decided: the table has no rows, so its variant cannot be read from data',
    });
  });
});

describe('the consolidated table, more cases', () => {
  it('one window with a copy is a consolidation (the copy is dropped), not a rename', () => {
    const p = plan(lagTables.slice(0, 2), lagFacts({}));
    const op = opFor(p, 'lag_bqx_eurusd_45');
    expect(op).toMatchObject({ action: 'CONSOLIDATE', sources: ['lag_bqx_eurusd_45', 'lag_bqx_eurusd_w45'] });
    expect(op.consolidation!.windows).toEqual([{ window: 45, source: 'lag_bqx_eurusd_45', copies: ['lag_bqx_eurusd_w45'], presenceColumn: 'lag_present_45' }]);
    expect(p.views.map((v) => [v.name, v.filter])).toEqual([
      ['lag_bqx_eurusd_45', 'lag_present_45'],
      ['lag_bqx_eurusd_w45', 'lag_present_45'],
    ]);
  });

  it('a column the first window lacks is suffixed, whatever an agreement record says', () => {
    const tables = [45, 90, 180].map((w) => table(`lag_bqx_eurusd_${w}`, [ts, f(`bqx_lag_${w}`), ...(w === 45 ? [] : [f('late')])]));
    const facts = emptyFacts();
    for (const t of tables) facts.keyStats.set(t.name, { rows: 10, distinctKeys: 10, nullKeys: 0 });
    facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_90', { late: true });
    facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_180', { late: true });
    const names = opFor(plan(tables, facts), 'lag_bqx_eurusd_45').consolidation!.columns.map((c) => c.name);
    expect(names).toEqual(['interval_time', 'bqx_lag_45', 'bqx_lag_90', 'late_90', 'bqx_lag_180', 'late_180']);
  });

  it('of two members whose variant came from data, the evidence of the first by name is shown', () => {
    const facts = emptyFacts();
    facts.samples.set('lag_eurusd_90', { column: 'bqx_lag_90', values: [2] });
    facts.samples.set('lag_eurusd_45', { column: 'bqx_lag_45', values: [1] });
    for (const n of ['lag_eurusd_45', 'lag_eurusd_90']) facts.keyStats.set(n, { rows: 10, distinctKeys: 10, nullKeys: 0 });
    const op = opFor(plan([table('lag_eurusd_90', bqxLag(90)), table('lag_eurusd_45', bqxLag(45))], facts), 'lag_eurusd_45');
    expect(op).toMatchObject({ action: 'CONSOLIDATE', target: 'lag_bqx_eurusd' });
    expect(op.evidence?.variant).toMatchObject({ column: 'bqx_lag_45', medianAbs: 1 });
  });

  it('a window table named idx shows idx as its name’s evidence', () => {
    const facts = emptyFacts();
    facts.keyStats.set('lag_idx_eurusd_45', { rows: 10, distinctKeys: 10, nullKeys: 0 });
    const op = opFor(plan([table('lag_idx_eurusd_45', bqxLag(45))], facts), 'lag_idx_eurusd_45');
    expect(op).toMatchObject({ action: 'RENAME', target: 'lag_idx_eurusd', variant: 'idx' });
    expect(op.evidence?.variant).toEqual({ column: null, sampled: 0, medianAbs: null, verdict: 'idx', decidedBy: 'name' });
  });
});
