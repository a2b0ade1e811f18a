import { DuckDBInstance } from '@duckdb/node-api';
import type { Column } from '../../core/catalogue';
import type { ConsolidationSpec } from '../../core/plan/types';
import type { Engine, Step } from '../../core/ports/engine';
import { open, seedSmall, tempDir } from './support';

let tmp: ReturnType<typeof tempDir>;
let database: string;
let engine: Engine;

beforeAll(async () => {
  tmp = tempDir('steps');
  ({ database } = await seedSmall(tmp.dir));
  engine = await open(database);
});
afterAll(async () => {
  await engine?.close();
  tmp.cleanup();
});

const run = (step: Step) => engine.run(step, { jobId: `test-${step.kind}-${Math.random().toString(36).slice(2)}` });
const identity = (cols: readonly Column[]) => cols.map((c) => ({ name: c.name, column: c.name }));

test('RENAME_TABLE then a compatibility view returns the old columns and rows', async () => {
  const before = (await engine.getTable('regime_eurusd_45'))!;
  const fp = await engine.contentFingerprint('regime_eurusd_45');
  const rename: Step = { kind: 'RENAME_TABLE', from: 'regime_eurusd_45', to: 'regime_idx_eurusd' };
  expect(engine.render(rename).join('\n')).toContain('ALTER TABLE "bqx_ml_v3_features_v2"."regime_eurusd_45" RENAME TO "regime_idx_eurusd"');
  expect(await engine.estimateBytes(rename)).toBe(0);
  await run(rename);
  expect(await engine.getTable('regime_eurusd_45')).toBeNull();
  const after = (await engine.getTable('regime_idx_eurusd'))!;
  expect(after.columns).toEqual(before.columns);
  expect([after.partitionBy, after.clusterBy]).toEqual(['interval_time', ['pair']]);
  expect(await engine.contentFingerprint('regime_idx_eurusd')).toEqual(fp);

  const view: Step = { kind: 'CREATE_VIEW', name: 'regime_eurusd_45', target: 'regime_idx_eurusd', columns: identity(before.columns), filter: null };
  expect(engine.render(view)).toEqual([
    `CREATE OR REPLACE VIEW "bqx_ml_v3_features_v2"."regime_eurusd_45" AS SELECT ${before.columns.map((c) => `"${c.name}" AS "${c.name}"`).join(', ')} FROM "bqx_ml_v3_features_v2"."regime_idx_eurusd"`,
  ]);
  await run(view);
  const probed = await engine.probe('regime_eurusd_45');
  expect(probed).toEqual({ columns: before.columns, rows: 24 });
  expect(await engine.contentFingerprint('regime_eurusd_45')).toEqual(fp);
  const listed = (await engine.listTables()).find((t) => t.name === 'regime_eurusd_45')!;
  expect(listed.kind).toBe('VIEW');
  expect(listed.viewQuery).toMatch(/^SELECT .* FROM .*regime_idx_eurusd/);

  await run({ kind: 'DROP_VIEW', name: 'regime_eurusd_45' });
  await expect(engine.probe('regime_eurusd_45')).rejects.toMatchObject({ code: 'PROBE_FAILED' });
});

test('probe fails clearly when a view no longer resolves', async () => {
  const cols = (await engine.getTable('tmp_gbpusd'))!.columns;
  await run({ kind: 'CREATE_VIEW', name: 'tmp_gbpusd_view', target: 'tmp_gbpusd', columns: identity(cols), filter: null });
  expect((await engine.probe('tmp_gbpusd_view')).rows).toBe(24);
  await run({ kind: 'DROP_TABLE', name: 'tmp_gbpusd' });
  await expect(engine.probe('tmp_gbpusd_view')).rejects.toThrow(/tmp_gbpusd_view does not resolve/);
});

test('BACKUP_TABLE, DROP_TABLE, RESTORE_TABLE round-trip content and metadata', async () => {
  const fp = await engine.contentFingerprint('mom_bqx_eurusd');
  const info = (await engine.getTable('mom_bqx_eurusd'))!;
  const backup: Step = { kind: 'BACKUP_TABLE', name: 'mom_bqx_eurusd', backupName: 'bk_mom_bqx_eurusd' };
  expect(await engine.estimateBytes(backup)).toBe(info.bytes);
  expect(info.bytes).toBeGreaterThan(0);
  expect((await run(backup)).rowsAffected).toBe(24);
  await run({ kind: 'DROP_TABLE', name: 'mom_bqx_eurusd' });
  expect(await engine.getTable('mom_bqx_eurusd')).toBeNull();
  await expect(engine.rowCount('mom_bqx_eurusd')).rejects.toThrow(/mom_bqx_eurusd/);
  const restored = await run({ kind: 'RESTORE_TABLE', backupName: 'bk_mom_bqx_eurusd', name: 'mom_bqx_eurusd' });
  expect(restored.rowsAffected).toBe(24);
  expect(await engine.contentFingerprint('mom_bqx_eurusd')).toEqual(fp);
  const back = (await engine.getTable('mom_bqx_eurusd'))!;
  expect([back.columns, back.partitionBy, back.clusterBy]).toEqual([info.columns, info.partitionBy, info.clusterBy]);
  expect((await engine.datasetInfo('bqx_ml_v3_migration')).exists).toBe(true);
});

test('CONSOLIDATE joins the window tables; per-window views return exactly the old rows', async () => {
  const w45 = (await engine.getTable('lag_bqx_eurusd_45'))!;
  const w90 = (await engine.getTable('lag_bqx_eurusd_90'))!;
  const fp45 = await engine.contentFingerprint('lag_bqx_eurusd_45');
  const fp90 = await engine.contentFingerprint('lag_bqx_eurusd_90');
  const shared = ['interval_time', 'pair', 'bqx_close'];
  const columns: ConsolidationSpec['columns'] = [
    ...shared.map((name) => ({ name, type: w45.columns.find((c) => c.name === name)!.type, from: [{ window: 45, column: name }, { window: 90, column: name }] })),
    ...[w45, w90].flatMap((t, k) =>
      t.columns
        .filter((c) => !shared.includes(c.name))
        .map((c) => ({ name: c.name === 'period_minutes' ? `period_minutes_w${[45, 90][k]}` : c.name, type: c.type, from: [{ window: [45, 90][k], column: c.name }] })),
    ),
  ];
  const spec: ConsolidationSpec = {
    key: 'interval_time',
    windows: [
      { window: 45, source: 'lag_bqx_eurusd_45', copies: ['lag_bqx_eurusd_w45'], presenceColumn: 'has_w45' },
      { window: 90, source: 'lag_bqx_eurusd_90', copies: ['lag_bqx_eurusd_w90'], presenceColumn: 'has_w90' },
    ],
    columns,
    partitionBy: 'interval_time',
    clusterBy: ['pair'],
  };
  const step: Step = { kind: 'CONSOLIDATE', target: 'lag_bqx_eurusd', spec };
  const sql = engine.render(step).join('\n');
  expect(sql).toContain('FULL OUTER JOIN');
  expect(sql).toContain('COALESCE("w45"."interval_time", "w90"."interval_time") AS "interval_time"');
  expect(await engine.estimateBytes(step)).toBe(w45.bytes + w90.bytes);
  const result = await run(step);
  expect(result.rowsAffected).toBe(26);
  const target = (await engine.getTable('lag_bqx_eurusd'))!;
  expect(target.columns.map((c) => c.name)).toEqual([...columns.map((c) => c.name), 'has_w45', 'has_w90']);
  expect([target.partitionBy, target.clusterBy]).toEqual(['interval_time', ['pair']]);
  // The catalog listing (metadata row counts) agrees with the new table.
  const listed = (await engine.listTables()).find((t) => t.name === 'lag_bqx_eurusd')!;
  expect([listed.kind, listed.rowCount, listed.columns, listed.partitionBy]).toEqual(['TABLE', 26, target.columns, 'interval_time']);
  expect(await engine.keyStats('lag_bqx_eurusd', 'interval_time')).toEqual({ rows: 26, distinctKeys: 26, nullKeys: 0 });
  expect(await engine.coverage('lag_bqx_eurusd', ['lag_bqx_eurusd_45', 'lag_bqx_eurusd_90'], 'interval_time')).toEqual({ targetKeys: 26, unionKeys: 26, missing: 0, extra: 0 });
  expect(await engine.nullCounts('lag_bqx_eurusd', ['bqx_lag_45', 'bqx_lag_90'], 'has_w45')).toEqual({ bqx_lag_45: 0, bqx_lag_90: 2 });

  const viewColumns = (t: typeof w45, w: number) =>
    t.columns.map((c) => ({ name: c.name, column: c.name === 'period_minutes' ? `period_minutes_w${w}` : c.name }));
  expect(await engine.mismatchedRows('lag_bqx_eurusd', 'lag_bqx_eurusd_45', 'interval_time', viewColumns(w45, 45).map((m) => ({ targetColumn: m.column, sourceColumn: m.name })), 'has_w45')).toBe(0);
  // A mapping onto the wrong window's column is caught.
  expect(await engine.mismatchedRows('lag_bqx_eurusd', 'lag_bqx_eurusd_45', 'interval_time', [{ targetColumn: 'period_minutes_w90', sourceColumn: 'period_minutes' }], 'has_w45')).toBe(24);

  for (const [t, w] of [[w45, 45], [w90, 90]] as const) {
    await run({ kind: 'DROP_TABLE', name: t.name });
    await run({ kind: 'CREATE_VIEW', name: t.name, target: 'lag_bqx_eurusd', columns: viewColumns(t, w), filter: `has_w${w}` });
    expect((await engine.probe(t.name)).columns).toEqual(t.columns);
  }
  expect(await engine.contentFingerprint('lag_bqx_eurusd_45')).toEqual(fp45);
  expect(await engine.contentFingerprint('lag_bqx_eurusd_90')).toEqual(fp90);
});

test('a backup restored under the old name has the same fingerprint', async () => {
  const fp = await engine.contentFingerprint('vol_idx_eurusd');
  await run({ kind: 'BACKUP_TABLE', name: 'vol_idx_eurusd', backupName: 'bk_vol_idx_eurusd' });
  await run({ kind: 'DROP_TABLE', name: 'vol_idx_eurusd' });
  await run({ kind: 'RESTORE_TABLE', backupName: 'bk_vol_idx_eurusd', name: 'vol_idx_eurusd' });
  expect(await engine.contentFingerprint('vol_idx_eurusd')).toEqual(fp);
});

test('identifiers with quotes or ";" are refused before any SQL runs', async () => {
  const bad = ['x"; DROP TABLE agg_bqx_eurusd; --', 'a;b', "o'neil", 'tab le'];
  for (const name of bad) {
    expect(() => engine.render({ kind: 'RENAME_TABLE', from: 'agg_bqx_eurusd', to: name })).toThrow(expect.objectContaining({ code: 'INVALID_IDENTIFIER' }));
    expect(() => engine.render({ kind: 'DROP_TABLE', name })).toThrow(expect.objectContaining({ code: 'INVALID_IDENTIFIER' }));
    await expect(engine.run({ kind: 'DROP_VIEW', name }, { jobId: 'j' })).rejects.toMatchObject({ code: 'INVALID_IDENTIFIER' });
    await expect(engine.rowCount(name)).rejects.toMatchObject({ code: 'INVALID_IDENTIFIER' });
    await expect(engine.sampleNumeric('agg_bqx_eurusd', name, 5)).rejects.toMatchObject({ code: 'INVALID_IDENTIFIER' });
    await expect(engine.nullCounts('agg_bqx_eurusd', ['agg_mean_45'], name)).rejects.toMatchObject({ code: 'INVALID_IDENTIFIER' });
  }
  expect(() =>
    engine.render({ kind: 'CREATE_VIEW', name: 'v_ok', target: 'agg_bqx_eurusd', columns: [{ name: 'a', column: 'agg_mean_45 FROM x; --' }], filter: null }),
  ).toThrow(expect.objectContaining({ code: 'INVALID_IDENTIFIER' }));
  expect(await engine.rowCount('agg_bqx_eurusd')).toBe(24);
});

test('a failing step changes nothing and the engine keeps working', async () => {
  // The rename target already exists: ALTER fails, and the metadata statements must not land either.
  await expect(run({ kind: 'RENAME_TABLE', from: 'agg_bqx_eurusd', to: 'agg_idx_eurusd' })).rejects.toMatchObject({ code: 'DUCKDB_ERROR' });
  expect((await engine.getTable('agg_bqx_eurusd'))?.partitionBy).toBe('interval_time');
  expect((await engine.getTable('agg_idx_eurusd'))?.partitionBy).toBe('interval_time');
  expect(await engine.rowCount('agg_bqx_eurusd')).toBe(24);
  // And the engine keeps working after the rollback.
  await run({ kind: 'RENAME_TABLE', from: 'agg_bqx_eurusd', to: 'agg_bqx_eurusd_renamed' });
  expect(await engine.rowCount('agg_bqx_eurusd_renamed')).toBe(24);
});

test('_bqx_catalog.table_options followed every step', async () => {
  await engine.close();
  const inst = await DuckDBInstance.create(database);
  const conn = await inst.connect();
  try {
    const rows = (await conn.runAndReadAll(`SELECT dataset, table_name, partition_by, cluster_by FROM _bqx_catalog.table_options`)).getRowObjectsJS();
    const key = (d: string, t: string) => rows.filter((r) => r.dataset === d && r.table_name === t);
    const f = 'bqx_ml_v3_features_v2';
    for (const gone of ['regime_eurusd_45', 'tmp_gbpusd', 'lag_bqx_eurusd_45', 'lag_bqx_eurusd_90', 'agg_bqx_eurusd']) expect(key(f, gone)).toHaveLength(0);
    for (const present of ['regime_idx_eurusd', 'lag_bqx_eurusd', 'mom_bqx_eurusd', 'agg_bqx_eurusd_renamed']) {
      expect(key(f, present)).toEqual([{ dataset: f, table_name: present, partition_by: 'interval_time', cluster_by: ['pair'] }]);
    }
    expect(key('bqx_ml_v3_migration', 'bk_mom_bqx_eurusd')).toHaveLength(1);
    // Every table of the features dataset has exactly one metadata row, and no row is orphaned.
    const tables = (await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE schema_name = '${f}'`)).getRowsJS().map((r) => String(r[0]));
    expect(rows.filter((r) => r.dataset === f).map((r) => String(r.table_name)).sort()).toEqual(tables.sort());
  } finally {
    conn.closeSync();
    inst.closeSync();
    engine = await open(database);
  }
});
