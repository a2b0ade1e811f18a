/**
 * The real feature store's size kept beside the synthetic copy (warehouse/real-sizes.ts), and the
 * committed Phase 4C plan projected onto it (core/plan/projection.ts).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { TIB } from '../../core/cost';
import { loadPlanFile } from '../../core/plan/load';
import { BENCH_TIME_MODEL, projectPlan } from '../../core/plan/projection';
import { buildCatalogue, FEATURES_DATASET } from '../../warehouse/catalogue';
import { REAL_BYTES, realSizeOf } from '../../warehouse/real-sizes';
import { seedWarehouse } from '../../warehouse/seed';
import { bqx } from '../extraction/support';

const PLAN = path.join(__dirname, '..', '..', 'plans', 'phase-4c.plan.json');

test('the 5,817 tables add up to the reference facts’ 1,479.13 GB; a COV table is smaller than a REG table', () => {
  const names = buildCatalogue({ scale: 'full' }).map((t) => t.name);
  expect(names).toHaveLength(5817);
  const total = names.reduce((a, n) => a + realSizeOf(n).bytes, 0);
  expect(Math.abs(total - REAL_BYTES)).toBeLessThan(names.length);
  expect(realSizeOf('cov_agg_audcad_eurusd').bytes).toBeLessThan(realSizeOf('reg_bqx_eurusd').bytes);
  expect(realSizeOf('lag_eurusd_45').rows).toBe(2_150_000);
});

test('the committed plan at real size: bytes, dollars and wall clock from the bench’s time model', () => {
  const plan = loadPlanFile(PLAN);
  const p = projectPlan(plan, realSizeOf, { ...BENCH_TIME_MODEL, pricePerTiBUsd: 6.25 });
  expect(p.tables).toBe(5817);
  expect(Math.abs(p.tableBytes - REAL_BYTES)).toBeLessThan(5817);
  // Consolidations read their windows' sources (not the copies); dedupes re-read their source.
  const consolidated = plan.operations.filter((o) => o.action === 'CONSOLIDATE').flatMap((o) => o.consolidation!.windows.map((w) => w.source));
  expect(p.consolidationBytes).toBe(consolidated.reduce((a, s) => a + realSizeOf(s).bytes, 0));
  const deduped = plan.operations.filter((o) => o.action === 'DEDUPE').flatMap((o) => o.sources);
  expect(p.fingerprintBytes).toBe(deduped.reduce((a, s) => a + realSizeOf(s).bytes, 0));
  expect(p.usd).toBeCloseTo((p.bytes / TIB) * 6.25, 10);
  expect(p.wallSeconds).toBe(Math.max(p.jobSeconds / BENCH_TIME_MODEL.jobSlots, p.longestOperationSeconds));
  expect(p.jobs.ddl).toBeGreaterThan(plan.summary.byAction.RENAME);
  // Far above the synthetic copy's own estimate, which is what the rehearsal reads.
  expect(p.bytes).toBeGreaterThan(plan.summary.estimatedBytes * 1000);
});

test('the seed keeps each feature table’s real size as metadata (_bqx_catalog.real_sizes)', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bqx-real-sizes-'));
  try {
    const db = path.join(work, 'w.duckdb');
    const stats = await seedWarehouse({ database: db, scale: 'small' });
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    const rows = (await conn.runAndReadAll(`SELECT table_name, real_bytes, real_rows FROM "_bqx_catalog"."real_sizes" WHERE dataset = '${FEATURES_DATASET}' ORDER BY table_name`)).getRowObjects();
    conn.closeSync();
    instance.closeSync();
    expect(rows).toHaveLength(stats.featureTables);
    const lag = rows.find((r) => r.table_name === 'lag_eurusd_45')!;
    expect(Number(lag.real_bytes)).toBe(realSizeOf('lag_eurusd_45').bytes);
    expect(Number(lag.real_rows)).toBe(2_150_000);
    // The paper run prints the real-size projection beside the synthetic copy's own figures.
    const planFile = path.join(work, 'plan.json');
    expect((await bqx(['plan', '--database', db, '--out', planFile, '--grace-start', '2026-11-21'])).code).toBe(0);
    const paper = await bqx(['apply', planFile, '--dry-run', '--database', db, '--reports-dir', path.join(work, 'reports')]);
    expect(paper.code).toBe(0);
    expect(paper.out).toMatch(/synthetic copy above; PROJECTED for this plan’s \d+ tables at their real size \(the feature store has 5,817, 1\.48 TB\), [\d.]+ TB: reads [\d.]+ GiB \(\$[\d.]+/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
