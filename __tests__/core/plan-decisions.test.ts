/**
 * What the planner writes for a person to read: each REVIEW's reason and detail word for word, the
 * evidence of each decision, and the branches of the single-table and consolidation decisions.
 * Pure: small snapshots and facts built here (see plan-support.ts).
 */
import type { TableInfo } from '../../core/catalogue';
import { emptyFacts, type PlanningFacts } from '../../core/plan/facts';
import type { PlanOperation } from '../../core/plan/types';
import { covCols, f, opFor, pair, plan, table, ts } from './plan-support';

/** The fields a reviewer reads of an operation. */
const said = (op: PlanOperation) => ({ action: op.action, reason: op.reason, target: op.target, detail: op.detail });
const source = 'cov_mom_audcad_audchf';
const idxTwin = 'cov_mom_idx_audcad_audchf';
const bqxTwin = 'cov_mom_bqx_audcad_audchf';
const sampled = (values: number[], extra: (facts: PlanningFacts) => void = () => {}): PlanningFacts => {
  const facts = emptyFacts();
  facts.samples.set(source, { column: 'val1', values });
  extra(facts);
  return facts;
};

describe('names the planner leaves for a person', () => {
  it('says why each name cannot be planned', () => {
    const p = plan(
      [
        table('cov-mom audcad', covCols),
        table('xauusd_agg_45', [ts]),
        { ...table('agg_eurusd_bqx', [ts]), kind: 'EXTERNAL' },
        table('agg_xauusd_45', [ts]),
        { ...table('cov_mom_idx_audcad_audchf', covCols), kind: 'VIEW' },
      ],
      emptyFacts(),
    );
    expect(p.operations.map(said)).toEqual([
      { action: 'REVIEW', reason: 'NOT_A_TABLE', target: null, detail: 'EXTERNAL tables cannot be renamed' },
      { action: 'REVIEW', reason: 'NO_CANONICAL_FORM', target: null, detail: 'window 45 belongs in column names, not the table name; "xauusd" is not a pair' },
      { action: 'REVIEW', reason: 'UNSUPPORTED_NAME', target: null, detail: 'not a plain identifier (letters, digits and "_"): the runner never puts it into SQL; rename it by hand, then re-plan' },
      { action: 'REVIEW', reason: 'UNKNOWN_FAMILY', target: null, detail: '"xauusd" starts no family of the standard' },
    ]);
    // A view of the dataset is no table of the plan.
    expect(p.tableCount).toBe(4);
    expect(p.summary.tables).toBe(4);
  });

  it('gives a name-decided variant its own evidence: bqx from the name, idx from the policy default', () => {
    const p = plan([table('reg_eurusd_bqx', [ts, pair, f('reg_r2_45')]), table('tmp_eurusd', [ts, pair, f('hour_sin')])], emptyFacts());
    expect(opFor(p, 'reg_eurusd_bqx')).toMatchObject({
      action: 'RENAME',
      target: 'reg_bqx_eurusd',
      variant: 'bqx',
      evidence: { variant: { column: null, sampled: 0, medianAbs: null, verdict: 'bqx', decidedBy: 'name' } },
    });
    expect(opFor(p, 'tmp_eurusd')).toMatchObject({
      action: 'RENAME',
      target: 'tmp_idx_eurusd',
      variant: 'idx',
      evidence: { variant: { column: null, sampled: 0, medianAbs: null, verdict: 'idx', decidedBy: 'policy-default' } },
    });
  });

  it('a window table of a type that does not consolidate is planned alone, under its canonical name', () => {
    const facts = emptyFacts();
    facts.samples.set('agg_eurusd_45', { column: 'agg_mean_45', values: [2, 3] });
    const op = opFor(plan([table('agg_eurusd_45', [ts, pair, f('agg_mean_45')])], facts), 'agg_eurusd_45');
    expect(op).toMatchObject({ action: 'RENAME', reason: 'CANONICAL_FREE', target: 'agg_bqx_eurusd', variant: 'bqx' });
    expect(op.evidence?.variant).toEqual({ column: 'agg_mean_45', sampled: 2, medianAbs: 2.5, verdict: 'bqx', decidedBy: 'sample' });
  });

  it('a lag table with two windows in its name is a single table, not a consolidation member', () => {
    const facts = emptyFacts();
    facts.samples.set('lag_eurusd_45_90', { column: 'bqx_close', values: [1] });
    const op = opFor(plan([table('lag_eurusd_45_90', [ts, pair, f('bqx_close')])], facts), 'lag_eurusd_45_90');
    expect(op).toMatchObject({ action: 'RENAME', target: 'lag_bqx_eurusd', sources: ['lag_eurusd_45_90'] });
    expect(op.consolidation).toBeUndefined();
  });
});

describe('a single table against the twin its variant names', () => {
  it('a sample the budget did not allow', () => {
    const facts = emptyFacts();
    facts.overBudget.add(source);
    const op = opFor(plan([table(source, covCols)], facts), source);
    expect(said(op)).toEqual({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED', target: null, detail: 'the planning budget did not allow sampling this table' });
    expect(op.evidence).toEqual({ variant: { column: null, sampled: 0, medianAbs: null, verdict: 'error', decidedBy: 'none' } });
  });

  it('a target that exists as a view', () => {
    const p = plan([table(source, covCols), { ...table(idxTwin, covCols), kind: 'VIEW' }], sampled([100]));
    expect(said(opFor(p, source))).toEqual({ action: 'REVIEW', reason: 'COLLISION', target: null, detail: `${idxTwin} exists as a VIEW` });
    expect(opFor(p, source).evidence?.variant).toMatchObject({ verdict: 'idx', decidedBy: 'sample' });
  });

  it('content that could not be compared: a read error, or the budget when either table was left unread for it', () => {
    const tables = [table(source, covCols), table(idxTwin, covCols)];
    const detail = `content of ${source} and ${idxTwin} could not be compared`;
    const unread = sampled([100], (facts) => facts.fingerprints.set(idxTwin, { rows: 10, hash: 'A' }));
    expect(said(opFor(plan(tables, unread), source))).toEqual({ action: 'REVIEW', reason: 'READ_ERROR', target: null, detail });
    const failed = sampled([100], (facts) => (facts.fingerprints.set(source, { rows: 10, hash: 'A' }), facts.fingerprints.set(idxTwin, { error: 'boom' })));
    expect(said(opFor(plan(tables, failed), source))).toMatchObject({ reason: 'READ_ERROR', detail });
    const sourceOver = sampled([100], (facts) => (facts.overBudget.add(source), facts.fingerprints.set(idxTwin, { rows: 10, hash: 'A' })));
    expect(said(opFor(plan(tables, sourceOver), source))).toEqual({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED', target: null, detail });
    const twinOver = sampled([100], (facts) => (facts.overBudget.add(idxTwin), facts.fingerprints.set(source, { rows: 10, hash: 'A' })));
    expect(said(opFor(plan(tables, twinOver), source))).toEqual({ action: 'REVIEW', reason: 'PLANNING_BUDGET_EXCEEDED', target: null, detail });
  });

  it('a target whose content differs, word for word', () => {
    const facts = sampled([100], (x) => (x.fingerprints.set(source, { rows: 10, hash: 'A' }), x.fingerprints.set(idxTwin, { rows: 10, hash: 'B' })));
    const op = opFor(plan([table(source, covCols), table(idxTwin, covCols)], facts), source);
    expect(said(op)).toEqual({ action: 'REVIEW', reason: 'TARGET_EXISTS_DIFFERENT', target: null, detail: `${idxTwin} exists and its content differs from ${source}` });
    expect(op.variant).toBeNull();
  });

  it('a DEDUPE carries the twin, both fingerprints, the sample that named the twin and a view of the twin’s columns', () => {
    const facts = sampled([100], (x) => (x.fingerprints.set(source, { rows: 10, hash: 'A' }), x.fingerprints.set(idxTwin, { rows: 10, hash: 'A' })));
    const p = plan([table(source, covCols), table(idxTwin, covCols)], facts);
    const op = opFor(p, source);
    expect(op).toMatchObject({ action: 'DEDUPE', reason: 'IDENTICAL_TWIN', family: 'cov', sources: [source], target: idxTwin, variant: 'idx', destructive: true, batch: 1 });
    expect(op.twin).toEqual({ table: idxTwin, rows: 10, hash: 'A' });
    expect(op.evidence).toEqual({
      variant: { column: 'val1', sampled: 1, medianAbs: 100, verdict: 'idx', decidedBy: 'sample' },
      fingerprints: [
        { table: source, rows: 10, hash: 'A' },
        { table: idxTwin, rows: 10, hash: 'A' },
      ],
    });
    expect(p.views).toEqual([{ name: source, target: idxTwin, operationId: op.id, columns: covCols.map((c) => ({ name: c.name, column: c.name })), filter: null, graceEnd: '2026-12-31' }]);
  });

  it('a name that carries its variant dedupes against its canonical twin, decided by the name', () => {
    const cols = [ts, pair, f('reg_r2_45')];
    const facts = emptyFacts();
    facts.fingerprints.set('reg_eurusd_bqx', { rows: 10, hash: 'R' });
    facts.fingerprints.set('reg_bqx_eurusd', { rows: 10, hash: 'R' });
    const op = opFor(plan([table('reg_eurusd_bqx', cols), table('reg_bqx_eurusd', cols)], facts), 'reg_eurusd_bqx');
    expect(op).toMatchObject({ action: 'DEDUPE', target: 'reg_bqx_eurusd', variant: 'bqx' });
    expect(op.evidence?.variant).toEqual({ column: null, sampled: 0, medianAbs: null, verdict: 'bqx', decidedBy: 'name' });
  });

  it('an ambiguous sample still dedupes against a twin proven identical, never against a view or an unread one', () => {
    const tables = (bqxKind: TableInfo['kind']) => [table(source, covCols), { ...table(bqxTwin, covCols), kind: bqxKind }];
    const facts = sampled([30], (x) => (x.fingerprints.set(source, { rows: 10, hash: 'A' }), x.fingerprints.set(bqxTwin, { rows: 10, hash: 'A' })));
    const op = opFor(plan(tables('TABLE'), facts), source);
    expect(op).toMatchObject({ action: 'DEDUPE', target: bqxTwin, variant: 'bqx' });
    expect(op.evidence?.variant).toEqual({ column: 'val1', sampled: 1, medianAbs: 30, verdict: 'ambiguous', decidedBy: 'identical-twin' });
    const ambiguous = { action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS', target: null, detail: 'median |val1| = 30 is between 10 and 50' };
    expect(said(opFor(plan(tables('VIEW'), facts), source))).toEqual(ambiguous);
    for (const unread of [source, bqxTwin]) {
      const missing = sampled([30], (x) => x.fingerprints.set(unread === source ? bqxTwin : source, { rows: 10, hash: 'A' }));
      expect(said(opFor(plan(tables('TABLE'), missing), source))).toEqual(ambiguous);
    }
  });

  it('a twin with the same hash but other rows or columns is no copy', () => {
    const facts = sampled([30], (x) => (x.fingerprints.set(source, { rows: 10, hash: 'A' }), x.fingerprints.set(bqxTwin, { rows: 9, hash: 'A' })));
    expect(opFor(plan([table(source, covCols), table(bqxTwin, covCols)], facts), source)).toMatchObject({ action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS' });
    facts.fingerprints.set(bqxTwin, { rows: 10, hash: 'A' });
    expect(opFor(plan([table(source, covCols), table(bqxTwin, covCols.slice(1))], facts), source)).toMatchObject({ action: 'REVIEW', reason: 'VARIANT_AMBIGUOUS' });
  });

  it('the variant evidence a REVIEW shows when the sample decides nothing', () => {
    const failed = emptyFacts();
    failed.samples.set(source, { error: 'permission denied' });
    const op = opFor(plan([table(source, covCols)], failed), source);
    expect(said(op)).toEqual({ action: 'REVIEW', reason: 'READ_ERROR', target: null, detail: 'sampling failed: permission denied' });
    expect(op.evidence).toEqual({ variant: { column: null, sampled: 0, medianAbs: null, verdict: 'error', decidedBy: 'none' } });
  });
});
