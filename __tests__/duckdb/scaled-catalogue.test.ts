/**
 * The scaled catalogues of the linearity bench (bench/scale.ts), checked without seeding them:
 * `2x` is exactly two copies of the full catalogue, family by family, and its synthetic tokens are
 * accepted only by the scaled policy copy.
 */
import { readFileSync } from 'fs';
import { judgeName } from '../../core/naming/grammar';
import { auditNames } from '../../core/audit';
import { compilePolicy, defaultPolicyPath, loadPolicy } from '../../core/policy';
import { anomaliesOf, ANOMALIES, buildCatalogue, copyName, copyToken, scaleFactor, syntheticTokens, type CatalogueTable } from '../../warehouse/catalogue';
import { generateColumns, keyEntities } from '../../warehouse/content';
import { scaledPolicyText } from '../../warehouse/scaled-policy';

const full = buildCatalogue({ scale: 'full' });
const twice = buildCatalogue({ scale: '2x' });
const policy2x = compilePolicy(scaledPolicyText('2x'), 'scaled policy 2x');
const realPolicy = loadPolicy();

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) out[key(t)] = (out[key(t)] ?? 0) + 1;
  return out;
}

const times = (counts: Record<string, number>, k: number) => Object.fromEntries(Object.entries(counts).map(([f, n]) => [f, n * k]));
/** Tables sharing a content key: legacy twins and `_w` copies. */
const sharedKeys = (tables: readonly CatalogueTable[]) => Object.values(countBy(tables, (t) => t.content.key)).filter((n) => n > 1).length;

describe('scaled catalogue 2x (not seeded)', () => {
  test('scale factors', () => {
    expect([scaleFactor('small'), scaleFactor('full'), scaleFactor('2x'), scaleFactor('5x'), scaleFactor('10x')]).toEqual([1, 1, 2, 5, 10]);
  });

  test('holds 2 x 5,817 distinct tables, and every family of the audit exactly twice the full catalogue', () => {
    expect(full).toHaveLength(5817);
    expect(twice).toHaveLength(11634);
    expect(new Set(twice.map((t) => t.name)).size).toBe(11634);
    const family = (t: CatalogueTable) => judgeName(policy2x, t.name).family;
    expect(countBy(twice, family)).toEqual(times(countBy(full, (t) => judgeName(realPolicy, t.name).family), 2));
  });

  test('twins, window tables, variants and empty tables grow x2 as well', () => {
    expect(sharedKeys(twice)).toBe(2 * sharedKeys(full));
    const windowed = (ts: readonly CatalogueTable[]) => ts.filter((t) => judgeName(ts === full ? realPolicy : policy2x, t.name).windows.length > 0).length;
    expect(windowed(twice)).toBe(2 * windowed(full));
    expect(countBy(twice, (t) => t.content.variant)).toEqual(times(countBy(full, (t) => t.content.variant), 2));
    expect(twice.filter((t) => t.content.rows === 0)).toHaveLength(2);
  });

  test('copy 0 is the full catalogue itself; copy 1 the same tables under synthetic tokens', () => {
    const names = new Set(twice.map((t) => t.name));
    const byName = new Map(twice.map((t) => [t.name, t]));
    // One comparison of the serialized lists (per-table toEqual costs seconds).
    expect(JSON.stringify(full.map((t) => byName.get(t.name)))).toBe(JSON.stringify(full));
    const copied = full.map((t) => ({ ...t, name: copyName(t.name, 1), content: { ...t.content, key: copyName(t.content.key.replace(/#.*$/, ''), 1) + (/#.*$/.exec(t.content.key)?.[0] ?? '') } }));
    expect(JSON.stringify(copied.map((t) => byName.get(t.name)))).toBe(JSON.stringify(copied));
    expect(names.has('cov_agg_qbaqbb_qbaqbc')).toBe(true); // cov_agg_audcad_audchf in copy 1
    expect(copyName('tri_agg_bqx_aud_cad_usd', 1)).toBe('tri_agg_bqx_qba_qbb_qbh');
    expect(copyName('corr_ibkr_eurusd_spy', 1)).toBe('corr_ibkr_qbdqbh_zbf');
    expect(copyName('mkt_reg_bqx_summary', 1)).toBe('mkt_regqb_bqx_summary');
  });

  test('the three anomalies are planted in every copy and nowhere else', () => {
    const planted = twice.filter((t) => t.anomaly).map((t) => [t.name, t.anomaly]);
    expect(planted.sort()).toEqual(anomaliesOf('2x').map((a) => [a.table, a.kind]).sort());
    expect(anomaliesOf('2x').map((a) => a.table)).toEqual([...ANOMALIES.map((a) => a.table), 'cov_vol_qbaqbb_qbaqbc', 'corr_ibkr_qbdqbh_zbf', 'csi_rev_qbg']);
    const ambiguous = twice.find((t) => t.name === 'cov_vol_qbaqbb_qbaqbc');
    expect(ambiguous?.content).toMatchObject({ variant: 'ambiguous', key: 'cov_vol_qbaqbb_qbaqbc#ambiguous' });
    expect(twice.find((t) => t.name === 'corr_ibkr_qbdqbh_zbf')?.content.perturbed).toBe(true);
  });

  test('the scaled policy copy accepts every synthetic token; the real policy knows none of them', () => {
    const audit = auditNames(policy2x, twice.map((t) => t.name));
    expect(audit.summary.nonCompliant).toBe(2 * 2485);
    for (const t of twice) expect(judgeName(policy2x, t.name).violations).not.toContain('UNKNOWN_TOKEN');
    expect(judgeName(realPolicy, 'cov_agg_bqx_qbaqbb_qbaqbc').violations).toContain('UNKNOWN_TOKEN');
    expect(judgeName(policy2x, 'cov_agg_bqx_qbaqbb_qbaqbc').compliant).toBe(true);
  });

  test('the policy copy is the real policy plus the tokens, and the real file stays as it is', () => {
    const text = readFileSync(defaultPolicyPath(), 'utf8');
    expect(scaledPolicyText('full')).toBe(text);
    const extra = syntheticTokens(2);
    expect(extra.pair).toHaveLength(28);
    expect(policy2x.doc.tokens.pair).toEqual([...realPolicy.doc.tokens.pair, ...extra.pair]);
    expect(policy2x.doc.tokens.ccy).toEqual([...realPolicy.doc.tokens.ccy, ...extra.ccy]);
    expect(policy2x.doc.tokens.etf).toEqual([...realPolicy.doc.tokens.etf, ...extra.etf]);
    expect(policy2x.doc.families.mkt.types).toEqual([...(realPolicy.doc.families.mkt.types ?? []), ...extra.mktType]);
    const { tokens: a, families: fa, ...restScaled } = policy2x.doc;
    const { tokens: b, families: fb, ...restReal } = realPolicy.doc;
    expect(restScaled).toEqual(restReal);
    expect(a.window).toEqual(b.window);
    expect(readFileSync(defaultPolicyPath(), 'utf8')).toBe(text);
  });

  test('synthetic tokens keep order within a copy and never contain a real token', () => {
    const sorted = ['audcad', 'audchf', 'eurusd'];
    expect(sorted.map((p) => copyToken('pair', p, 3))).toEqual([...sorted.map((p) => copyToken('pair', p, 3))].sort());
    const real = [...realPolicy.doc.tokens.pair, ...realPolicy.doc.tokens.ccy];
    for (const t of syntheticTokens(10).pair) for (const r of real) expect(t.includes(r)).toBe(false);
  });

  test('rows of a synthetic table name its own entities', () => {
    expect(keyEntities('cov_agg_bqx_qbaqbb_qbaqbc')).toEqual({ pairs: ['qbaqbb', 'qbaqbc'], currencies: [], etfs: [] });
    const t = twice.find((x) => x.name === 'corr_etf_idx_qbdqbh_zbf') as CatalogueTable;
    const cols = generateColumns({ tableName: t.name, content: t.content }, t.columns);
    const at = (name: string) => cols[t.columns.findIndex((c) => c.name === name)][0];
    expect([at('fx_pair'), at('ibkr_instrument')]).toEqual(['qbdqbh', 'ZBF']);
    const v = twice.find((x) => x.name === 'var_corr_qba') as CatalogueTable;
    const vc = generateColumns({ tableName: v.name, content: v.content }, v.columns);
    expect(['p1', 'p2', 'p3'].map((n) => vc[v.columns.findIndex((c) => c.name === n)][0])).toEqual(['qbaqbh', 'qbdqba', 'qbeqba']);
  });
});
