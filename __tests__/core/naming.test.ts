import { auditNames } from '../../core/audit';
import { canonicalWithVariant, judgeName, VIOLATION_CLASSES } from '../../core/naming/grammar';
import { compilePolicy, defaultPolicyPath, loadPolicy } from '../../core/policy';
import { readFileSync } from 'fs';
import { repoPath } from '../../core/paths';
import { buildCatalogue, ANOMALIES } from '../../warehouse/catalogue';

const policy = loadPolicy();
const judge = (n: string) => judgeName(policy, n);

describe('M008 grammar: compliant names of every family', () => {
  it.each([
    ['agg_bqx_eurusd', 'agg'],
    ['reg_idx_gbpusd', 'reg'],
    ['base_idx_eurusd', 'base'],
    ['cyc_bqx_eurusd', 'cyc'],
    ['tmp_idx_usdjpy', 'tmp'],
    ['lag_idx_eurusd', 'lag'],
    ['regime_bqx_eurusd', 'regime'],
    ['cov_agg_idx_audcad_eurusd', 'cov'],
    ['cov_mom_bqx_eurusd_gbpusd', 'cov'],
    ['tri_agg_bqx_aud_cad_usd', 'tri'],
    ['var_agg_idx_usd', 'var'],
    ['var_lag_bqx_jpy', 'var'],
    ['var_corr_idx_aud', 'var'],
    ['corr_etf_bqx_eurusd_spy', 'corr'],
    ['corr_etf_idx_eurusd_gld', 'corr'],
    ['csi_agg_bqx_usd', 'csi'],
    ['csi_cyc_bqx_aud', 'csi'],
    ['mkt_vol_bqx', 'mkt'],
    ['mkt_reg_bqx_summary', 'mkt'],
  ])('%s is compliant (%s)', (name, family) => {
    const v = judge(name);
    expect(v.violations).toEqual([]);
    expect(v.compliant).toBe(true);
    expect(v.family).toBe(family);
    expect(v.canonical).toBe(name);
  });
});

describe('M008 grammar: every violation class', () => {
  it.each([
    ['cov_agg_audcad_audchf', ['MISSING_VARIANT'], null, 'cov_agg_{variant}_audcad_audchf'],
    ['cov_lag_audusd_eurusd', ['MISSING_VARIANT'], null, 'cov_lag_{variant}_audusd_eurusd'],
    ['lag_eurusd_45', ['MISSING_VARIANT', 'WINDOW_IN_TABLE_NAME'], null, 'lag_{variant}_eurusd'],
    ['lag_idx_eurusd_w90', ['WINDOW_IN_TABLE_NAME'], 'lag_idx_eurusd', 'lag_idx_eurusd'],
    ['regime_eurusd_90', ['MISSING_VARIANT', 'WINDOW_IN_TABLE_NAME'], null, 'regime_{variant}_eurusd'],
    ['regime_bqx_eurusd_45', ['WINDOW_IN_TABLE_NAME'], 'regime_bqx_eurusd', 'regime_bqx_eurusd'],
    ['tmp_eurusd', ['MISSING_VARIANT'], 'tmp_idx_eurusd', 'tmp_idx_eurusd'],
    ['var_corr_aud', ['MISSING_VARIANT'], null, 'var_corr_{variant}_aud'],
    ['mkt_vol', ['MISSING_VARIANT'], null, 'mkt_vol_{variant}'],
    ['mkt_reg_summary', ['MISSING_VARIANT'], null, 'mkt_reg_{variant}_summary'],
    ['corr_ibkr_eurusd_spy', ['LEGACY_ALIAS'], 'corr_etf_idx_eurusd_spy', 'corr_etf_idx_eurusd_spy'],
    ['corr_bqx_ibkr_eurusd_spy', ['LEGACY_ALIAS'], 'corr_etf_bqx_eurusd_spy', 'corr_etf_bqx_eurusd_spy'],
    ['csi_agg_aud', ['MISSING_VARIANT'], null, 'csi_agg_{variant}_aud'],
    ['tri_agg_bqx_aud_usd_cad', ['UNSORTED_ENTITIES'], 'tri_agg_bqx_aud_cad_usd', 'tri_agg_bqx_aud_cad_usd'],
    ['cov_agg_idx_gbpusd_audcad', ['UNSORTED_ENTITIES'], 'cov_agg_idx_audcad_gbpusd', 'cov_agg_idx_audcad_gbpusd'],
    ['reg_eurusd_bqx', ['VARIANT_IN_WRONG_SLOT'], 'reg_bqx_eurusd', 'reg_bqx_eurusd'],
    ['agg_EURUSD_idx', ['UPPERCASE', 'VARIANT_IN_WRONG_SLOT'], 'agg_idx_eurusd', 'agg_idx_eurusd'],
    ['AGG_BQX_EURUSD', ['UPPERCASE'], 'agg_bqx_eurusd', 'agg_bqx_eurusd'],
    ['agg_bqx_xauusd', ['UNKNOWN_TOKEN'], null, null],
    ['cov_foo_idx_audcad_eurusd', ['UNKNOWN_TOKEN'], null, null],
    ['cov_agg_idx_eurusd_eurusd', ['UNKNOWN_TOKEN'], null, null],
    ['cov_agg_idx_bqx_eurusd_gbpusd', ['VARIANT_IN_WRONG_SLOT'], null, null],
    ['eurusd_agg', ['UNKNOWN_FAMILY'], null, null],
    ['agg_eurusd', ['MISSING_VARIANT'], null, 'agg_{variant}_eurusd'],
  ])('%s → %j', (name, violations, canonical, template) => {
    const v = judge(name);
    expect(v.compliant).toBe(false);
    expect(v.violations).toEqual(violations);
    expect(v.canonical).toBe(canonical);
    expect(v.canonicalTemplate).toBe(template);
  });

  it('covers every violation class above', () => {
    const seen = new Set(
      ['cov_agg_audcad_audchf', 'lag_eurusd_45', 'corr_ibkr_eurusd_spy', 'tri_agg_bqx_aud_usd_cad', 'reg_eurusd_bqx', 'AGG_BQX_EURUSD', 'agg_bqx_xauusd', 'eurusd_agg'].flatMap(
        (n) => judge(n).violations,
      ),
    );
    expect([...seen].sort()).toEqual([...VIOLATION_CLASSES].sort());
  });

  it('fills the variant once data has decided it', () => {
    expect(canonicalWithVariant(judge('cov_agg_audcad_audchf'), 'bqx')).toBe('cov_agg_bqx_audcad_audchf');
    expect(canonicalWithVariant(judge('lag_eurusd_45'), 'idx')).toBe('lag_idx_eurusd');
    expect(canonicalWithVariant(judge('eurusd_agg'), 'idx')).toBeNull();
  });
});

describe('hostile input never crashes the audit', () => {
  const hostile = [
    '',
    ' ',
    'agg_bqx_eurusd; DROP TABLE x',
    "agg_bqx_eurusd'",
    'agg_bqx_"eurusd"',
    'agg bqx eurusd',
    '`agg_bqx_eurusd`',
    'agg__eurusd',
    '_',
    '__',
    'agg_bqx_eurusd_',
    '_agg',
    'ü_bqx_eurusd',
    'x'.repeat(5000),
    '\u0000',
    'agg_bqx_eurusd\n',
  ];
  it.each(hostile.map((h) => [JSON.stringify(h).slice(0, 60), h]))('%s', (_label, name) => {
    const v = judge(name);
    expect(typeof v.compliant).toBe('boolean');
    expect(v.violations.length === 0).toBe(v.compliant);
    if (!/^[A-Za-z0-9_]+$/.test(name)) expect(v.violations).toEqual(['UNKNOWN_FAMILY']);
    else if (!name.startsWith('_')) expect(v.compliant).toBe(false);
  });
  it('names with quotes, ; or spaces are UNKNOWN_FAMILY with no canonical form', () => {
    for (const n of ["a'b", 'agg_bqx_eurusd;', 'agg bqx', '"x"']) {
      const v = judge(n);
      expect(v.violations).toEqual(['UNKNOWN_FAMILY']);
      expect(v.canonical).toBeNull();
    }
  });
  it('empty tokens are UNKNOWN_TOKEN and give no canonical form', () => {
    const v = judge('agg__bqx_eurusd');
    expect(v.violations).toContain('UNKNOWN_TOKEN');
    expect(v.canonical).toBeNull();
  });
  it('bookkeeping names (leading _) are outside the standard', () => {
    const r = auditNames(policy, ['_bqx_ledger', 'agg_bqx_eurusd']);
    expect(r.summary.bookkeeping).toBe(1);
    expect(r.summary.tables).toBe(1);
  });
});

describe('audit of the catalogue model', () => {
  it('finds the 2,485 violations of the full catalogue, from the grammar', () => {
    const names = buildCatalogue({ scale: 'full' }).map((t) => t.name);
    expect(names).toHaveLength(5817);
    const r = auditNames(policy, names);
    expect(r.summary.nonCompliant).toBe(2485);
    expect(r.summary.nonCompliantByFamily).toEqual({ corr: 448, cov: 1596, csi: 64, lag: 224, mkt: 6, regime: 112, tmp: 28, var: 7 });
    expect(r.tables.every((t) => t.compliant === (t.violations.length === 0))).toBe(true);
  });
  it('the small catalogue has every family and every anomaly', () => {
    const names = buildCatalogue({ scale: 'small' }).map((t) => t.name);
    const r = auditNames(policy, names);
    for (const f of ['corr', 'cov', 'csi', 'lag', 'mkt', 'regime', 'tmp', 'var', 'tri', 'agg', 'base', 'cyc', 'ext']) {
      expect(r.summary.byFamily[f]?.total ?? 0).toBeGreaterThan(0);
    }
    for (const a of ANOMALIES) expect(names).toContain(a.table);
  });
});

describe('the policy file is the one place rules live', () => {
  const text = readFileSync(repoPath('policy', 'm008.policy.yaml'), 'utf8');
  it('a changed rule changes verdicts and the policy hash', () => {
    const edited = compilePolicy(text.replace('variantlessTypes: [tmp]', 'variantlessTypes: []'), 'edited');
    expect(edited.hash).not.toBe(policy.hash);
    expect(judgeName(edited, 'tmp_eurusd').canonical).toBeNull();
    expect(judgeName(policy, 'tmp_eurusd').canonical).toBe('tmp_idx_eurusd');
  });
  it('an invalid policy is refused with the field named', () => {
    expect(() => compilePolicy(text.replace('defaultVariant: idx', 'defaultVariant: foo'), 'bad.yaml')).toThrow(/bad.yaml.*defaultVariant/);
    expect(() => compilePolicy('version: [', 'broken.yaml')).toThrow(/broken.yaml is not valid YAML/);
  });
});

describe('verdicts are given once per compiled policy and name', () => {
  test('the same frozen verdict again; another compiled policy judges on its own, equally', () => {
    const policy = loadPolicy();
    const first = judgeName(policy, 'cov_agg_eurusd_gbpusd');
    expect(judgeName(policy, 'cov_agg_eurusd_gbpusd')).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.violations) && Object.isFrozen(first.notes) && Object.isFrozen(first.entities)).toBe(true);
    // The same file loaded again is the same compiled policy; the same text from another source is another.
    expect(loadPolicy()).toBe(policy);
    const other = compilePolicy(readFileSync(defaultPolicyPath(), 'utf8'), 'a copy');
    expect(other).not.toBe(policy);
    const again = judgeName(other, 'cov_agg_eurusd_gbpusd');
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  test('a policy compiled from other rules gives its own verdict for a name already judged under the first', () => {
    const policy = loadPolicy();
    expect(judgeName(policy, 'zz_tmp_table').bookkeeping).toBe(false);
    const text = readFileSync(defaultPolicyPath(), 'utf8');
    const changed = compilePolicy(text.replace(/^bookkeepingPrefix:.*$/m, 'bookkeepingPrefix: zz_'), 'changed');
    expect(judgeName(changed, 'zz_tmp_table').bookkeeping).toBe(true);
    expect(judgeName(policy, 'zz_tmp_table').bookkeeping).toBe(false);
  });
});
