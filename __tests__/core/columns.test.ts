/**
 * The M008 column grammar (core/naming/columns.ts) read from the policy: every class, the
 * documented exceptions, targets, hostile input, and the policy's own validation of the section.
 */
import { readFileSync } from 'fs';
import { auditCatalogueColumns, auditColumnNames, columnGrammar, judgeColumn } from '../../core/naming/columns';
import { compilePolicy, loadPolicy } from '../../core/policy';
import { buildCatalogue } from '../../warehouse/catalogue';

const policy = loadPolicy();
const grammar = columnGrammar(policy);
const judge = (n: unknown) => judgeColumn(grammar, n);

describe('column grammar', () => {
  it.each(['agg_mean_45', 'reg_lin_term_180', 'vol_atr_720', 'mom_bqx_2880', 'close_lag_45', 'spread_lag_45', 'corr_12_180', 'lag_present_45', 'range_p33_90'])(
    '%s is a compliant feature column',
    (name) => {
      expect(judge(name)).toMatchObject({ compliant: true, violation: null, rule: 'feature' });
    },
  );

  it.each(['interval_time', 'pair', 'pair1', 'pair2', 'curr1', 'curr3', 'base_curr', 'quote_curr', 'cross_curr'])('%s is a reserved metadata column', (name) => {
    expect(judge(name)).toMatchObject({ compliant: true, violation: null, rule: 'reserved' });
  });

  test('source_value is exempt (the validator’s list)', () => {
    expect(judge('source_value')).toMatchObject({ compliant: true, rule: 'exempt' });
  });

  it.each(['spread_zscore', 'range_regime', 'period_minutes', 'corr_30min', 'momentum_p33', 'mean_reversion_signal'])('%s has no trailing window: WINDOW_VIOLATION', (name) => {
    expect(judge(name)).toMatchObject({ compliant: false, violation: 'WINDOW_VIOLATION', rule: 'violation' });
  });

  it.each(['bqx_45', 'ema_45', 'momentum_45', 'dir_180', 'pos_360', 'volatility_90', 'agg__45'])('%s ends in a number but does not fit the pattern: PATTERN_VIOLATION', (name) => {
    expect(judge(name)).toMatchObject({ compliant: false, violation: 'PATTERN_VIOLATION' });
  });

  test('spread and ratio lack a window; the policy documents them as exceptions, with the reason', () => {
    const bare = compilePolicy(readFileSync(policy.source, 'utf8').replace(/spread, ratio,/, ''), 'test');
    expect(judgeColumn(columnGrammar(bare), 'spread')).toMatchObject({ compliant: false, violation: 'WINDOW_VIOLATION' });
    expect(judgeColumn(columnGrammar(bare), 'ratio')).toMatchObject({ compliant: false, violation: 'WINDOW_VIOLATION' });
    const v = judge('spread');
    expect(v).toMatchObject({ compliant: true, violation: null, rule: 'exception' });
    expect(v.exception).toMatch(/window-dependent in BQX tables/);
    expect(judge('hour_sin').exception).toMatch(/calendar/);
  });

  it.each(['spread_lag_1', 'spread_lag_60', 'agg_mean_46', 'agg_mean_045'])('%s fits the pattern but its trailing number is not a window: WINDOW_VIOLATION', (name) => {
    expect(judge(name)).toMatchObject({ compliant: false, violation: 'WINDOW_VIOLATION', rule: 'violation' });
    expect(judge(name).note).toMatch(/is not a window \(45, 90, 180/);
  });

  test('each PATTERN_VIOLATION gets the compliant name the policy proposes, when it has one', () => {
    expect(judge('ema_45').proposal).toBe('mom_ema_45');
    expect(judge('bqx_45').proposal).toBe('mom_bqx_45');
    expect(judge('volatility_90').proposal).toBe('vol_volatility_90');
    expect(judge('ema_45').note).toMatch(/propose mom_ema_45/);
    expect(judge('agg__45').proposal).toBeNull();
    expect(judge('agg_mean_45').proposal).toBeNull();
    for (const name of ['ema_45', 'bqx_45', 'sma_90', 'momentum_45', 'dir_180', 'pos_360']) expect(judge(judge(name).proposal).compliant).toBe(true);
  });

  test('departures from the team decision (validator pattern, every window-less name accepted) are listed by name, with why', () => {
    const r = auditColumnNames(policy, ['spread_zscore', 'spread_lag_1', 'ema_45', 'agg_mean_45', 'spread', 'interval_time', 'range_regime_code']);
    expect(r.departures).toEqual([
      { name: 'range_regime_code', team: 'accepted', tool: 'stricter', why: expect.stringMatching(/^window-less, and not a documented exception/) },
      { name: 'spread_lag_1', team: 'accepted', tool: 'stricter', why: expect.stringMatching(/trailing 1 is not a window .*validator accepts any trailing number/) },
      { name: 'spread_zscore', team: 'accepted', tool: 'stricter', why: expect.stringMatching(/^window-less, and not a documented exception/) },
    ]);
    // A team that had not accepted its window-less names: the tool's documented exceptions are looser.
    const strictTeam = compilePolicy(readFileSync(policy.source, 'utf8').replace('windowlessAccepted: true', 'windowlessAccepted: false'), 'test');
    const looser = auditColumnNames(strictTeam, ['spread', 'hour_sin', 'spread_zscore']).departures;
    expect(looser.map((d) => [d.name, d.tool])).toEqual([['hour_sin', 'looser'], ['spread', 'looser']]);
  });

  test('targets: target_{variant}{window}_h{horizon} within the 7×7 matrix', () => {
    expect(judge('target_bqx45_h15')).toMatchObject({ compliant: true, rule: 'target' });
    expect(judge('target_idx2880_h105')).toMatchObject({ compliant: true, rule: 'target' });
    expect(judge('target_bqx_45_h15')).toMatchObject({ compliant: false, violation: 'PATTERN_VIOLATION' });
    expect(judge('target_bqx45_h16')).toMatchObject({ compliant: false, violation: 'PATTERN_VIOLATION' });
    expect(judge('target_bqx46_h15').note).toMatch(/window 46/);
    expect(judge('target_abc45_h15').note).toMatch(/variant "abc"/);
    expect(judge('target_bqx045_h15').compliant).toBe(false);
    expect(judge('target_bqx45')).toMatchObject({ compliant: false, violation: 'PATTERN_VIOLATION' });
  });

  test('uppercase is a PATTERN_VIOLATION even when the letters would fit', () => {
    expect(judge('Agg_Mean_45')).toMatchObject({ compliant: false, violation: 'PATTERN_VIOLATION' });
    expect(judge('Spread')).toMatchObject({ compliant: false, violation: 'PATTERN_VIOLATION' });
  });

  it.each([
    ['empty', '', /empty/],
    ['leading space', ' agg_mean_45', /not a column identifier/],
    ['SQL injection', 'agg_mean_45; DROP TABLE x', /not a column identifier/],
    ['quote', "o'brien_1", /not a column identifier/],
    ['leading digit', '45_agg_mean', /not a column identifier/],
    ['dashes', 'agg-mean-45', /not a column identifier/],
    ['5,000 characters', 'x'.repeat(5000), null],
    ['NUL byte', 'agg_mean_45\u0000', /not a column identifier/],
    ['a long hostile name', `'; ${'x'.repeat(3000)}`, /not a column identifier/],
  ])('hostile input (%s) is a verdict, not a throw', (_label, name, note) => {
    const v = judge(name);
    if (note) expect(v).toMatchObject({ compliant: false, violation: 'INVALID_NAME' });
    else expect(v.compliant).toBe(false);
    if (note) expect(v.note).toMatch(note);
    expect((v.note ?? '').length).toBeLessThan(200);
  });

  test('non-strings do not crash', () => {
    expect(judge(undefined).compliant).toBe(false);
    expect(judge(45).violation).toBe('INVALID_NAME');
  });
});

describe('the policy validates its column and extraction sections', () => {
  const text = readFileSync(policy.source, 'utf8');
  const compile = (t: string) => () => compilePolicy(t, 'test.yaml');

  test('an invalid regular expression is POLICY_INVALID naming the field', () => {
    expect(compile(text.replace("featurePattern: '^[a-z]+_[a-z0-9_]+_[0-9]+$'", "featurePattern: '^[a-z+'"))).toThrow(/columns.featurePattern: not a valid regular expression/);
  });
  test('an exception that ends in a window needs none and is refused', () => {
    expect(compile(text.replace('names: [currency,', 'names: [agg_mean_45, currency,'))).toThrow(/end in a window and need no exception: agg_mean_45/);
  });
  test('an exception listed twice is refused', () => {
    expect(compile(text.replace('names: [currency,', 'names: [spread, currency,'))).toThrow(/listed more than once: spread/);
  });
  test('a discovery group needs exactly one of contains or prefix; the manifest path needs {pair}', () => {
    expect(compile(text.replace('- { name: tri, prefix: tri_ }', '- { name: tri, prefix: tri_, contains: tri }'))).toThrow(/exactly one of contains or prefix/);
    expect(compile(text.replace('manifestPath: "manifests/{pair}/extraction.json"', 'manifestPath: "manifests/extraction.json"'))).toThrow(/extraction.manifestPath/);
  });
});

describe('column audits', () => {
  test('a list of names: one entry per line, counts per class', () => {
    const r = auditColumnNames(policy, ['agg_mean_45', 'spread', 'spread_zscore', 'ema_45', 'interval_time', 'target_bqx45_h15', 'bad name', 'agg_mean_45']);
    expect(r.columns.map((c) => [c.name, c.violation])).toEqual([
      ['agg_mean_45', null],
      ['spread', null],
      ['spread_zscore', 'WINDOW_VIOLATION'],
      ['ema_45', 'PATTERN_VIOLATION'],
      ['interval_time', null],
      ['target_bqx45_h15', null],
      ['bad name', 'INVALID_NAME'],
      ['agg_mean_45', null],
    ]);
    expect(r.columns.every((c) => c.table === undefined)).toBe(true);
    expect(r.summary.columns).toMatchObject({ total: 8, compliant: 5, nonCompliant: 3, exceptions: 1, byViolation: { WINDOW_VIOLATION: 1, PATTERN_VIOLATION: 1, INVALID_NAME: 1 } });
    expect(r.summary.names.total).toBe(7);
    expect(r.names.find((n) => n.name === 'agg_mean_45')?.occurrences).toBe(2);
  });

  test('the local catalogue exhibits every class the facts describe, in the tables that hold them', () => {
    const tables = buildCatalogue({ scale: 'small' }).map((t) => ({ name: t.name, kind: 'TABLE', columns: t.columns }));
    const r = auditCatalogueColumns(policy, tables);
    const verdict = (name: string) => r.names.find((n) => n.name === name);
    expect(verdict('spread_zscore')).toMatchObject({ violation: 'WINDOW_VIOLATION' });
    expect(verdict('range_p33')).toMatchObject({ violation: 'WINDOW_VIOLATION' });
    expect(verdict('ema_45')).toMatchObject({ violation: 'PATTERN_VIOLATION' });
    expect(verdict('momentum_45')).toMatchObject({ violation: 'PATTERN_VIOLATION' });
    expect(verdict('spread')).toMatchObject({ compliant: true, rule: 'exception' });
    // Per table: every column of every table, with its table.
    expect(r.columns).toHaveLength(tables.reduce((n, t) => n + t.columns.length, 0));
    expect(r.columns.find((c) => c.table === 'lag_bqx_eurusd_45' && c.name === 'ema_45')).toEqual({ name: 'ema_45', table: 'lag_bqx_eurusd_45', compliant: false, violation: 'PATTERN_VIOLATION' });
    expect(r.summary.tables).toBe(447);
    expect(verdict('spread_zscore')!.occurrences).toBe(tables.filter((t) => t.columns.some((c) => c.name === 'spread_zscore')).length);
    expect(r.summary.columns.nonCompliant).toBe(r.columns.filter((c) => !c.compliant).length);
    // The window set is enforced on feature columns: 8 of the 9 spread_lag_N of every COV lag table fail.
    const lagTables = tables.filter((t) => t.columns.some((c) => c.name === 'spread_lag_1')).length;
    expect(r.columns.filter((c) => c.name.startsWith('spread_lag_') && c.violation === 'WINDOW_VIOLATION')).toHaveLength(8 * lagTables);
    expect(verdict('spread_lag_45')).toMatchObject({ compliant: true, rule: 'feature' });
    // Every documented exception names a column the catalogue holds.
    expect(r.unusedExceptions).toEqual([]);
    expect(auditCatalogueColumns(policy, tables.slice(0, 1)).unusedExceptions.length).toBeGreaterThan(0);
    // Departures from the team's decision: stricter only (window-less statistics, lag counts), each by name.
    expect(r.departures.every((d) => d.tool === 'stricter' && d.team === 'accepted')).toBe(true);
    expect(r.departures.map((d) => d.name)).toEqual(expect.arrayContaining(['spread_lag_1', 'spread_lag_60', 'spread_zscore', 'period_minutes', 'corr_30min']));
    expect(r.departures.map((d) => d.name)).not.toContain('ema_45');
    expect(verdict('ema_45')!.proposal).toBe('mom_ema_45');
  });

  test('views and bookkeeping tables are not judged', () => {
    const r = auditCatalogueColumns(policy, [
      { name: 'agg_bqx_eurusd', kind: 'TABLE', columns: [{ name: 'agg_mean_45' }] },
      { name: 'cov_agg_audcad_audchf', kind: 'VIEW', columns: [{ name: 'spread_zscore' }] },
      { name: '_bqx_ledger', kind: 'TABLE', columns: [{ name: 'Weird Column' }] },
    ]);
    expect(r.summary).toMatchObject({ tables: 1, views: 1, tablesWithViolations: 0 });
    expect(r.summary.columns.nonCompliant).toBe(0);
  });
});
