import { auditNames } from '../../core/audit';
import { loadPolicy } from '../../core/policy';
import { seedWarehouse, type SeedStats } from '../../warehouse/seed';
import { open, tempDir } from './support';
import * as path from 'path';

// The one full-scale test: seeds the 5,817-table catalogue once and audits it through the engine.
let tmp: ReturnType<typeof tempDir>;
let stats: SeedStats;

beforeAll(async () => {
  tmp = tempDir('full');
  stats = await seedWarehouse({ database: path.join(tmp.dir, 'full.duckdb'), scale: 'full' });
}, 180_000);
afterAll(() => tmp.cleanup());

test('the full seed holds 5,817 feature tables within the size budget', () => {
  process.stdout.write(`full seed ${stats.seconds.toFixed(1)} s, ${(stats.bytes / 2 ** 20).toFixed(1)} MiB\n`);
  expect(stats.featureTables).toBe(5817);
  expect(stats.bytes).toBeLessThan(300 * 1e6);
});

test('the audit of the full warehouse finds the 2,485 non-compliant tables', async () => {
  const engine = await open(stats.database);
  try {
    const started = Date.now();
    const tables = await engine.listTables();
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(tables).toHaveLength(5817);
    expect(tables.every((t) => t.kind === 'TABLE' && t.columns.length > 0 && t.partitionBy === 'interval_time')).toBe(true);
    const audit = auditNames(loadPolicy(), tables.map((t) => t.name));
    expect(audit.summary.tables).toBe(5817);
    expect(audit.summary.nonCompliant).toBe(2485);
    expect(audit.summary.nonCompliantByFamily).toEqual({ corr: 448, cov: 1596, csi: 64, lag: 224, mkt: 6, regime: 112, tmp: 28, var: 7 });
    expect(tables.filter((t) => t.rowCount === 0).map((t) => t.name)).toEqual(['csi_rev_nzd']);
  } finally {
    await engine.close();
  }
});
