import { existsSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { BqxError } from '../../core/errors';
import type { Engine } from '../../core/ports/engine';
import { ANOMALIES, buildCatalogue, FEATURES_DATASET } from '../../warehouse/catalogue';
import { seedWarehouse, type SeedStats } from '../../warehouse/seed';
import { open, seedSmall, tempDir } from './support';

const catalogue = buildCatalogue({ scale: 'small' });
const family = (name: string) => name.split('_')[0];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let tmp: ReturnType<typeof tempDir>;
let database: string;
let stats: SeedStats;
let engine: Engine;

beforeAll(async () => {
  tmp = tempDir('seed');
  ({ database, stats } = await seedSmall(tmp.dir));
  engine = await open(database);
});
afterAll(async () => {
  await engine?.close();
  tmp.cleanup();
});

describe('small seed', () => {
  test('reports what it built', () => {
    expect(stats.featureTables).toBe(447);
    expect(stats.tables).toBeGreaterThan(447);
    expect(stats.bytes).toBe(statSync(database).size);
    expect(stats.seconds).toBeGreaterThan(0);
  });

  test('every catalogue table exists with its columns, per family', async () => {
    const tables = await engine.listTables();
    expect(tables.filter((t) => t.kind === 'TABLE')).toHaveLength(catalogue.length);
    const count = (names: string[]) => names.reduce<Record<string, number>>((m, n) => ({ ...m, [family(n)]: (m[family(n)] ?? 0) + 1 }), {});
    expect(count(tables.map((t) => t.name))).toEqual(count(catalogue.map((t) => t.name)));
    const byName = new Map(tables.map((t) => [t.name, t]));
    for (const c of catalogue) {
      const t = byName.get(c.name);
      expect(t?.columns).toEqual(c.columns);
      expect(t?.partitionBy).toBe('interval_time');
      expect(t?.clusterBy).toEqual(c.clusterBy);
      expect(t?.rowCount).toBe(c.content.rows);
    }
  });

  test('row counts from metadata equal count(*)', async () => {
    for (const name of ['lag_eurusd_45', 'csi_rev_nzd', 'tri_agg_bqx_aud_chf_usd']) {
      expect((await engine.getTable(name))?.rowCount).toBe(await engine.rowCount(name));
    }
  });

  test('twins sharing a content key have equal fingerprints', async () => {
    const pairs: [string, string][] = [
      ['lag_eurusd_45', 'lag_idx_eurusd_w45'],
      ['lag_bqx_gbpusd_90', 'lag_bqx_gbpusd_w90'],
      ['var_corr_aud', 'var_corr_idx_aud'],
      ['corr_bqx_ibkr_eurusd_gld', 'corr_etf_bqx_eurusd_gld'],
      ['cov_agg_audcad_audchf', 'cov_agg_bqx_audcad_audchf'],
    ];
    for (const [a, b] of pairs) {
      const [fa, fb] = [await engine.contentFingerprint(a), await engine.contentFingerprint(b)];
      expect(fa.rows).toBe(24);
      expect(fa).toEqual(fb);
    }
    // Different keys differ.
    expect(await engine.contentFingerprint('lag_eurusd_45')).not.toEqual(await engine.contentFingerprint('lag_eurusd_90'));
  });

  test('the planted anomalies are in the data', async () => {
    expect(ANOMALIES.map((a) => a.table).every((n) => catalogue.some((t) => t.name === n))).toBe(true);
    // Perturbed twin: same rows but one value.
    const perturbed = await engine.contentFingerprint('corr_ibkr_eurusd_spy');
    const twin = await engine.contentFingerprint('corr_etf_idx_eurusd_spy');
    expect(perturbed.rows).toBe(twin.rows);
    expect(perturbed.hash).not.toBe(twin.hash);
    const agree = await engine.columnsAgreeOnKey('corr_ibkr_eurusd_spy', 'corr_etf_idx_eurusd_spy', 'interval_time', ['corr_30min', 'corr_60min', 'fx_pair']);
    expect(agree).toEqual({ corr_30min: false, corr_60min: true, fx_pair: true });
    // Empty table.
    expect(await engine.rowCount('csi_rev_nzd')).toBe(0);
    expect(await engine.sampleNumeric('csi_rev_nzd', 'csi_rev_strength_45', 10)).toEqual([]);
    // Ambiguous values sit between the BQX and IDX ranges.
    const amb = await engine.sampleNumeric('cov_vol_audcad_audchf', 'val1', 100);
    const m = median(amb.map(Math.abs));
    expect(m).toBeGreaterThan(10);
    expect(m).toBeLessThan(50);
  });

  test('variants: idx values around 100, bqx around 0', async () => {
    const idx = await engine.sampleNumeric('agg_idx_eurusd', 'agg_mean_45', 24);
    const bqx = await engine.sampleNumeric('agg_bqx_eurusd', 'agg_mean_45', 24);
    expect(idx).toHaveLength(24);
    expect(Math.min(...idx)).toBeGreaterThanOrEqual(95);
    expect(Math.max(...idx)).toBeLessThanOrEqual(105);
    expect(Math.max(...bqx.map(Math.abs))).toBeLessThanOrEqual(5);
    expect(new Set(bqx).size).toBeGreaterThan(20);
  });

  test('bqx_close agrees across windows, period_minutes does not', async () => {
    const agree = await engine.columnsAgreeOnKey('lag_bqx_eurusd_45', 'lag_bqx_eurusd_90', 'interval_time', ['bqx_close', 'period_minutes', 'pair']);
    expect(agree).toEqual({ bqx_close: true, period_minutes: false, pair: true });
    // They share 22 of 24 minutes (the 90 window starts 2 minutes later).
    const cov = await engine.coverage('lag_bqx_eurusd_45', ['lag_bqx_eurusd_90'], 'interval_time');
    expect(cov).toEqual({ targetKeys: 24, unionKeys: 24, missing: 2, extra: 2 });
  });

  test('key columns are constant per table', async () => {
    expect(await engine.keyStats('cov_agg_audcad_audchf', 'pair1')).toEqual({ rows: 24, distinctKeys: 1, nullKeys: 0 });
    expect(await engine.keyStats('lag_eurusd_45', 'interval_time')).toEqual({ rows: 24, distinctKeys: 24, nullKeys: 0 });
    expect(await engine.nullCounts('tri_agg_bqx_aud_chf_usd', ['base_curr', 'quote_curr', 'cross_curr', 'tri_error'])).toEqual({
      base_curr: 0,
      quote_curr: 0,
      cross_curr: 0,
      tri_error: 0,
    });
  });

  test('datasets: every other dataset is a schema with metadata; scratch datasets expire', async () => {
    expect(await engine.datasetInfo()).toEqual({ name: FEATURES_DATASET, exists: true, location: 'us-central1', defaultTableExpirationMs: null });
    expect((await engine.datasetInfo('bqx_ml_v3_staging')).defaultTableExpirationMs).toBe(7 * 86_400_000);
    // The same expiration as the stacks declare for prod (config/environments.ts).
    expect((await engine.datasetInfo('bqx_ml_v3_temp')).defaultTableExpirationMs).toBe(2 * 86_400_000);
    expect((await engine.datasetInfo('bqx_bq_uscen1_v2')).exists).toBe(true);
    expect(await engine.datasetInfo('no_such_dataset')).toEqual({ name: 'no_such_dataset', exists: false, location: null, defaultTableExpirationMs: null });
  });
});

describe('seed guards and determinism', () => {
  test('refuses to overwrite without force; a second seed gives the same content', async () => {
    await expect(seedWarehouse({ database, scale: 'small' })).rejects.toMatchObject({ code: 'WAREHOUSE_EXISTS', kind: 'BAD_INPUT' });
    const second = path.join(tmp.dir, 'nested', 'dir', 'second.duckdb');
    await seedWarehouse({ database: second, scale: 'small' });
    expect(existsSync(second)).toBe(true);
    const other = await open(second);
    try {
      const mine: Record<string, string> = {};
      const theirs: Record<string, string> = {};
      for (const t of catalogue) {
        mine[t.name] = (await engine.contentFingerprint(t.name)).hash;
        theirs[t.name] = (await other.contentFingerprint(t.name)).hash;
      }
      expect(theirs).toEqual(mine);
      // Distinct content keys give distinct fingerprints (no accidental collisions in the generator).
      expect(new Set(Object.values(mine)).size).toBe(new Set(catalogue.map((t) => `${t.content.key}${t.content.perturbed ? '#p' : ''}`)).size);
    } finally {
      await other.close();
    }
    // --force replaces it.
    const forced = await seedWarehouse({ database: second, scale: 'small', force: true, rows: 5 });
    expect(forced.rows).toBeLessThan(stats.rows);
  });

  test('a missing warehouse is an error that says to seed', async () => {
    const err = await open(path.join(tmp.dir, 'absent.duckdb')).catch((e) => e);
    expect(err).toBeInstanceOf(BqxError);
    expect(err).toMatchObject({ code: 'WAREHOUSE_MISSING', kind: 'BAD_INPUT' });
    expect(err.hint).toMatch(/bqx warehouse seed/);
    expect(existsSync(path.join(tmp.dir, 'absent.duckdb'))).toBe(false);
  });
});

test('a file that is not a DuckDB database is refused clearly', async () => {
  const junk = path.join(tmp.dir, 'junk.duckdb');
  writeFileSync(junk, 'this is not a database\n'.repeat(1000));
  const err = await open(junk).catch((e) => e);
  expect(err).toMatchObject({ code: 'WAREHOUSE_NOT_DUCKDB', kind: 'BAD_INPUT' });
  expect(err.message).toContain(junk);
});
