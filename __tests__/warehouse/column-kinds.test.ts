/**
 * The seeded values mean what their columns mean, across the whole catalogue: every column of every
 * table of the full 5,817-table catalogue has a known kind and every value lies in its kind's range;
 * only level columns carry the variant's signature.
 */
import { buildCatalogue, type CatalogueTable } from '../../warehouse/catalogue';
import { columnKind, kindAllows, type ColumnKind } from '../../warehouse/column-kinds';
import { generateColumns } from '../../warehouse/content';
import { median } from '../../core/plan/facts';

const catalogue = buildCatalogue({ scale: 'full' });
const columnsOf = (t: CatalogueTable) => generateColumns({ tableName: t.name, content: t.content }, t.columns);

test('every column of the full catalogue has a kind, and every value lies in its range', () => {
  const unknown = new Set<string>();
  const outOfRange: string[] = [];
  const seen = new Map<ColumnKind, number>();
  for (const t of catalogue) {
    const data = columnsOf(t);
    t.columns.forEach((c, k) => {
      const kind = columnKind(c);
      if (!kind) return void unknown.add(c.name);
      seen.set(kind, (seen.get(kind) ?? 0) + data[k].length);
      const bad = data[k].find((v) => !kindAllows(kind, t.content.variant, v));
      if (bad !== undefined && outOfRange.length < 10) outOfRange.push(`${t.name}.${c.name} (${kind}) = ${String(bad)}`);
    });
  }
  expect([...unknown]).toEqual([]);
  expect(outOfRange).toEqual([]);
  // Every kind the seed knows is present, so no range above is vacuous.
  for (const kind of ['level', 'correlation', 'fraction', 'dispersion', 'zscore', 'change', 'ratio', 'threshold-low', 'threshold-high', 'regime-code', 'signal', 'count', 'rank', 'halflife', 'window', 'cyclic', 'minute-of-day'] as ColumnKind[]) {
    expect([kind, (seen.get(kind) ?? 0) > 0]).toEqual([kind, true]);
  }
});

test('percentile thresholds are ordered per row: p33 < p66', () => {
  let pairs = 0;
  for (const t of catalogue.filter((x) => x.name.startsWith('regime_'))) {
    const data = columnsOf(t);
    const at = new Map(t.columns.map((c, k) => [c.name, data[k] as number[]]));
    for (const [name, low] of at) {
      if (!name.endsWith('_p33')) continue;
      const high = at.get(name.replace(/_p33$/, '_p66')) as number[];
      low.forEach((v, i) => expect(v).toBeLessThan(high[i]));
      pairs++;
    }
  }
  expect(pairs).toBe(56 * 2 + 56 * 3);
});

test('z-scores are centred on 0; only level columns tell IDX from BQX', () => {
  const z: number[] = [];
  const medianAbs = new Map<string, number[]>();
  for (const t of catalogue.filter((x) => x.content.variant === 'idx' || x.content.variant === 'bqx')) {
    const data = columnsOf(t);
    t.columns.forEach((c, k) => {
      const kind = columnKind(c);
      if (kind === 'zscore') for (const v of data[k] as number[]) z.push(v);
      // Counts, ranks and half-lives are large by nature and carry no variant either.
      if (c.type !== 'FLOAT64' || !kind || ['count', 'rank', 'halflife'].includes(kind) || data[k].length === 0) return;
      const key = `${kind === 'level' ? 'level' : 'other'}|${t.content.variant}`;
      if (!medianAbs.has(key)) medianAbs.set(key, []);
      medianAbs.get(key)!.push(median((data[k] as number[]).map(Math.abs)));
    });
  }
  expect(Math.abs(z.reduce((a, b) => a + b, 0) / z.length)).toBeLessThan(0.05);
  expect((medianAbs.get('level|idx') as number[]).reduce((a, b) => Math.min(a, b))).toBeGreaterThan(50);
  expect((medianAbs.get('level|bqx') as number[]).reduce((a, b) => Math.max(a, b))).toBeLessThan(10);
  // No other numeric column of an IDX table looks like an indexed price: the variant is not in it.
  expect((medianAbs.get('other|idx') as number[]).reduce((a, b) => Math.max(a, b))).toBeLessThan(10);
});

test('the duplicates and the three planted anomalies are still there', () => {
  const byName = new Map(catalogue.map((t) => [t.name, t]));
  const same = (a: string, b: string) => JSON.stringify(columnsOf(byName.get(a)!)) === JSON.stringify(columnsOf(byName.get(b)!));
  expect(same('lag_eurusd_45', 'lag_idx_eurusd_w45')).toBe(true);
  expect(same('var_corr_aud', 'var_corr_idx_aud')).toBe(true);
  expect(same('cov_agg_audcad_audchf', 'cov_agg_bqx_audcad_audchf')).toBe(true);
  expect(same('corr_ibkr_eurusd_spy', 'corr_etf_idx_eurusd_spy')).toBe(false);
  expect(byName.get('csi_rev_nzd')!.content.rows).toBe(0);
  expect(byName.get('cov_vol_audcad_audchf')!.content.variant).toBe('ambiguous');
});
