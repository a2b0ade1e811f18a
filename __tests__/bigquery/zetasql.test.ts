/**
 * Every statement kind the BigQuery engine emits, resolved by the ZetaSQL analyzer against a
 * catalogue with the real schemas of warehouse/catalogue.ts (project bqx-ml, dataset
 * bqx_ml_v3_features_v2, the runner dataset), for the whole Phase 4C plan the project's planner
 * makes: 1,356 renames, 790 dedupes, 112 consolidations (56 LAG + 56 REGIME) and their views.
 *
 * ZetaSQL checks names, columns, types and functions; it does not know BigQuery's quotas, and
 * `CREATE TABLE … CLONE` needs a feature flag it ships but does not count as released.
 */
import { columnsSql, storageSql, viewsSql } from '../../engines/bigquery/catalog';
import { jobsParams, jobsSql } from '../../engines/bigquery/job-history';
import { BigQueryEngine, openBigQueryEngine } from '../../engines/bigquery/engine';
import type { Step } from '../../core/ports/engine';
import { createSchemaSql, createTableSql, insertSql, LEDGER_COLUMNS, LEDGER_TABLES, lockInsertSql, LOCK_COLUMNS, RUN_COLUMNS, selectSql } from '../../engines/bigquery/ledger';
import * as sql from '../../engines/bigquery/sql';
import type { Plan } from '../../core/plan/types';
import { backupNameFor } from '../../core/execute/ids';
import { stepsFor, viewsByOperation } from '../../core/execute/steps';
import type { Column } from '../../core/catalogue';
import { CatalogueTable, FEATURES_DATASET } from '../../warehouse/catalogue';
import { phase4cPlan } from '../../testing/bigquery/phase4c';
import { LOCATION, PROJECT, RUNNER_DATASET } from '../../testing/bigquery/warehouse';
import { ZetaSqlAnalyzer, ZTable, ZType } from './support/zetasql';

const LOC = { project: PROJECT, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET };
const fq = (dataset: string, table: string) => [`${PROJECT}.${dataset}.${table}`];

/** The executor's first attempt at an operation (backup names carry it). */
const ATTEMPT = 1;
const S = 'STRING' as const;
const I = 'INT64' as const;

function structOf(columns: readonly { name: string; type: string }[]): ZType {
  const kind: Record<string, string> = { STRING: 'TYPE_STRING', INT64: 'TYPE_INT64', TIMESTAMP: 'TYPE_TIMESTAMP', BOOL: 'TYPE_BOOL' };
  return {
    typeKind: 'TYPE_ARRAY',
    arrayType: { elementType: { typeKind: 'TYPE_STRUCT', structType: { field: columns.map((c) => ({ fieldName: c.name, fieldType: { typeKind: kind[c.type] } })) } } },
  };
}

/** Pre-state tables, post-state tables (rename targets, consolidated tables, backups), runner tables, INFORMATION_SCHEMA. */
function catalogueFor(tables: readonly CatalogueTable[], plan: Plan): ZTable[] {
  const byName = new Map(tables.map((t) => [t.name, t.columns as readonly Column[]]));
  const out: ZTable[] = tables.map((t) => ({ path: fq(FEATURES_DATASET, t.name), columns: t.columns }));
  for (const op of plan.operations) {
    if (op.action === 'RENAME') out.push({ path: fq(FEATURES_DATASET, op.target!), columns: byName.get(op.sources[0])! });
    if (op.action === 'CONSOLIDATE') {
      const spec = op.consolidation!;
      const columns: Column[] = [...spec.columns.map((c) => ({ name: c.name, type: c.type })), ...spec.windows.map((w) => ({ name: w.presenceColumn, type: 'BOOL' as const }))];
      out.push({ path: fq(FEATURES_DATASET, op.target!), columns });
    }
    if (op.action === 'DEDUPE' || op.action === 'CONSOLIDATE') {
      for (const s of op.sources) out.push({ path: fq(RUNNER_DATASET, backupNameFor(op.id, s, ATTEMPT)), columns: byName.get(s)! });
    }
  }
  out.push({ path: fq(RUNNER_DATASET, LEDGER_TABLES.ledger), columns: LEDGER_COLUMNS });
  out.push({ path: fq(RUNNER_DATASET, LEDGER_TABLES.runs), columns: RUN_COLUMNS });
  out.push({ path: fq(RUNNER_DATASET, LEDGER_TABLES.lock), columns: LOCK_COLUMNS });
  const ds = `${PROJECT}.${FEATURES_DATASET}`;
  out.push({ path: [ds, 'INFORMATION_SCHEMA', 'COLUMNS'], columns: [{ name: 'table_name', type: S }, { name: 'column_name', type: S }, { name: 'ordinal_position', type: I }, { name: 'data_type', type: S }, { name: 'is_partitioning_column', type: S }] });
  out.push({ path: [ds, 'INFORMATION_SCHEMA', 'VIEWS'], columns: [{ name: 'table_name', type: S }, { name: 'view_definition', type: S }] });
  out.push({ path: [ds, 'INFORMATION_SCHEMA', 'SEARCH_INDEXES'], columns: [{ name: 'table_name', type: S }, { name: 'index_name', type: S }, { name: 'index_status', type: S }] });
  out.push({
    path: [`${PROJECT}.region-${LOCATION}`, 'INFORMATION_SCHEMA', 'TABLE_STORAGE'],
    columns: [{ name: 'table_schema', type: S }, { name: 'table_name', type: S }, { name: 'total_rows', type: I }, { name: 'total_logical_bytes', type: I }],
  });
  // The columns of JOBS_BY_PROJECT the usage query reads, with Google's documented types
  // (https://cloud.google.com/bigquery/docs/information-schema-jobs#schema).
  const record = (...fields: string[]) => structOf(fields.map((name) => ({ name, type: S })));
  out.push({
    path: [`${PROJECT}.region-${LOCATION}`, 'INFORMATION_SCHEMA', 'JOBS_BY_PROJECT'],
    columns: [
      { name: 'job_id', type: S },
      { name: 'user_email', type: S },
      { name: 'creation_time', type: 'TIMESTAMP' },
      { name: 'job_type', type: S },
      { name: 'query', type: S },
      { name: 'labels', type: record('key', 'value') },
      { name: 'referenced_tables', type: record('project_id', 'dataset_id', 'table_id') },
    ],
  });
  return out;
}

describe('GoogleSQL the BigQuery engine emits, resolved by ZetaSQL', () => {
  const z = new ZetaSqlAnalyzer();
  let engine: BigQueryEngine;
  let plan: Plan;
  let tables: CatalogueTable[];

  beforeAll(async () => {
    ({ plan, tables } = await phase4cPlan('full'));
    await z.start();
    await z.register(catalogueFor(tables, plan));
    // render() needs no connection; the endpoint is never called.
    engine = await openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: 'http://127.0.0.1:9' }, { now: () => new Date('2026-12-01T00:00:00Z') });
  }, 120_000);
  afterAll(() => z.stop());

  test('the plan is the Phase 4C of the catalogue: 1,356 renames, 790 dedupes, 112 consolidations of 336 tables', () => {
    expect(plan.summary.byAction).toMatchObject({ RENAME: 1356, DEDUPE: 790, CONSOLIDATE: 112 });
    expect(plan.summary.sourcesByAction.CONSOLIDATE).toBe(336);
    const targets = plan.operations.filter((o) => o.action === 'CONSOLIDATE').map((o) => o.target!);
    expect(targets.filter((t) => t.startsWith('lag_'))).toHaveLength(56);
    expect(targets.filter((t) => t.startsWith('regime_'))).toHaveLength(56);
  });

  test('each step kind renders to the exact GoogleSQL it runs', () => {
    const r = (s: Step) => engine.render(s);
    expect(r({ kind: 'RENAME_TABLE', from: 'cov_agg_audcad_audchf', to: 'cov_agg_bqx_audcad_audchf' })).toEqual([
      'ALTER TABLE `bqx-ml.bqx_ml_v3_features_v2.cov_agg_audcad_audchf` RENAME TO `cov_agg_bqx_audcad_audchf`',
    ]);
    expect(r({ kind: 'DROP_TABLE', name: 'var_corr_aud' })).toEqual(['DROP TABLE `bqx-ml.bqx_ml_v3_features_v2.var_corr_aud`']);
    expect(r({ kind: 'BACKUP_TABLE', name: 'var_corr_aud', backupName: 'bk_1_var_corr_aud' })).toEqual([
      "CREATE SNAPSHOT TABLE `bqx-ml.bqx_ml_v3_migration.bk_1_var_corr_aud` CLONE `bqx-ml.bqx_ml_v3_features_v2.var_corr_aud` OPTIONS (expiration_timestamp = TIMESTAMP '2027-01-15 00:00:00.000+00')",
    ]);
    expect(r({ kind: 'RESTORE_TABLE', backupName: 'bk_1_var_corr_aud', name: 'var_corr_aud' })).toEqual([
      'CREATE TABLE `bqx-ml.bqx_ml_v3_features_v2.var_corr_aud` CLONE `bqx-ml.bqx_ml_v3_migration.bk_1_var_corr_aud`',
    ]);
    expect(r({ kind: 'CREATE_VIEW', name: 'lag_eurusd_45', target: 'lag_idx_eurusd', columns: [{ name: 'interval_time', column: 'interval_time' }, { name: 'x', column: 'x_45' }], filter: 'lag_present_45' })).toEqual([
      'CREATE OR REPLACE VIEW `bqx-ml.bqx_ml_v3_features_v2.lag_eurusd_45` AS SELECT `interval_time`, `x_45` AS `x` FROM `bqx-ml.bqx_ml_v3_features_v2.lag_idx_eurusd` WHERE `lag_present_45`',
    ]);
    expect(r({ kind: 'DROP_VIEW', name: 'lag_eurusd_45' })).toEqual(['DROP VIEW `bqx-ml.bqx_ml_v3_features_v2.lag_eurusd_45`']);
    const op = plan.operations.find((o) => o.target === 'lag_bqx_eurusd')!;
    const [ctas] = r({ kind: 'CONSOLIDATE', target: 'lag_bqx_eurusd', spec: op.consolidation! });
    expect(ctas).toMatch(/^CREATE TABLE `bqx-ml\.bqx_ml_v3_features_v2\.lag_bqx_eurusd`\nPARTITION BY DATE\(`interval_time`\)\nCLUSTER BY `pair`\nAS SELECT\n/);
    expect(ctas).toContain('COALESCE(w45.`interval_time`, w90.`interval_time`) AS `interval_time`');
    expect(ctas).toContain('w45.`bqx_lag_45` AS `bqx_lag_45`');
    expect(ctas).toContain('w45.`interval_time` IS NOT NULL AS `lag_present_45`');
    expect(ctas).toContain('FULL OUTER JOIN `bqx-ml.bqx_ml_v3_features_v2.lag_bqx_eurusd_90` AS w90 ON w45.`interval_time` = w90.`interval_time`');
  });

  test('identifiers are validated before they reach SQL', () => {
    expect(() => engine.render({ kind: 'DROP_TABLE', name: 'x`; DROP SCHEMA y; --' })).toThrow(/not a valid table name/);
    expect(() => engine.render({ kind: 'CREATE_VIEW', name: 'v', target: 't', columns: [{ name: 'a b', column: 'a' }], filter: null })).toThrow(/not a valid column name/);
  });

  test('every statement of every Phase 4C operation resolves (renames, snapshots, drops, CTAS, views)', async () => {
    const views = viewsByOperation(plan);
    let n = 0;
    for (const op of plan.operations) {
      for (const step of stepsFor(op, views.get(op.id) ?? [], ATTEMPT)) {
        if (step.kind === 'VALIDATE_CONSOLIDATION') continue;
        for (const statement of engine.render(step)) {
          await z.analyze(statement);
          n++;
        }
      }
    }
    expect(n).toBe(1356 * 2 + 790 * 3 + 112 * 1 + 336 * 2 + 336);
    expect(z.nodeKinds.get('resolvedCreateTableAsSelectStmtNode')).toBe(112);
    expect(z.nodeKinds.get('resolvedCreateSnapshotTableStmtNode')).toBe(790 + 336);
    expect(z.nodeKinds.get('resolvedCreateViewStmtNode')).toBe(1356 + 790 + 336);
  }, 300_000);

  test('rollback statements resolve: restore from a snapshot, drop a view', async () => {
    const op = plan.operations.find((o) => o.action === 'DEDUPE')!;
    await expect(z.analyze(engine.render({ kind: 'RESTORE_TABLE', backupName: backupNameFor(op.id, op.sources[0], ATTEMPT), name: op.sources[0] })[0])).resolves.toBe('resolvedCreateTableStmtNode');
    await expect(z.analyze(engine.render({ kind: 'DROP_VIEW', name: op.sources[0] })[0])).resolves.toBe('resolvedDropStmtNode');
  });

  test('planning and validation reads resolve', async () => {
    const op = plan.operations.find((o) => o.target === 'regime_bqx_gbpusd')!;
    const spec = op.consolidation!;
    const sources = spec.windows.map((w) => w.source);
    const view = plan.views.find((v) => v.operationId === op.id && v.filter)!;
    const reads = [
      sql.fingerprintSql(LOC, 'cov_agg_audcad_audchf'),
      sql.sampleSql(LOC, 'cov_agg_audcad_audchf', 'val1', 200, 'interval_time'),
      sql.keyStatsSql(LOC, sources[0], 'interval_time'),
      sql.rowCountSql(LOC, op.target!),
      sql.nullCountsSql(LOC, op.target!, spec.columns.map((c) => c.name), spec.windows[0].presenceColumn),
      sql.columnsAgreeSql(LOC, sources[0], sources[1], 'interval_time', ['pair', 'period_minutes']),
      sql.coverageSql(LOC, op.target!, sources, 'interval_time'),
      sql.mismatchedRowsSql(LOC, op.target!, view.name, 'interval_time', view.columns.map((c) => ({ targetColumn: c.column, sourceColumn: c.name })), view.filter),
      sql.probeSql(LOC, view.name),
      sql.searchIndexesSql(LOC),
      columnsSql(PROJECT, FEATURES_DATASET),
      viewsSql(PROJECT, FEATURES_DATASET),
    ];
    // One-row reads issued together run as one job, each read's row as a JSON string.
    reads.push(
      sql.fusedReadSql([
        reads[0],
        reads[2],
        reads[3],
        reads[4],
        reads[5],
        reads[6],
        reads[7],
        sql.rowCountSql(LOC, view.name),
      ]),
    );
    for (const q of reads) await expect(z.analyze(q)).resolves.toBe('resolvedQueryStmtNode');
    await expect(z.analyze(storageSql(PROJECT, LOCATION), { dataset: 'STRING' })).resolves.toBe('resolvedQueryStmtNode');
  });

  test('a retirement plan\'s RETIRE_VIEW drops the view; its rollback recreates it from the plan (both resolve)', async () => {
    const v = plan.views[0];
    const op = { ...plan.operations.find((o) => o.id === v.operationId)!, action: 'RETIRE_VIEW' as const, sources: [v.name], target: v.target, view: v };
    const [drop] = stepsFor(op, [], ATTEMPT);
    expect(drop).toEqual({ kind: 'DROP_VIEW', name: v.name });
    await expect(z.analyze(engine.render(drop as Step)[0])).resolves.toBe('resolvedDropStmtNode');
    await expect(z.analyze(engine.render({ kind: 'CREATE_VIEW', name: v.name, target: v.target, columns: v.columns, filter: v.filter })[0])).resolves.toBe('resolvedCreateViewStmtNode');
  });

  test('the usage read of the job history resolves against JOBS_BY_PROJECT, with its parameters', async () => {
    const params = { since: 'TIMESTAMP', project: 'STRING', dataset: 'STRING', runner_label: 'STRING', names: { typeKind: 'TYPE_ARRAY', arrayType: { elementType: { typeKind: 'TYPE_STRING' } } } } as const;
    expect(jobsParams(PROJECT, FEATURES_DATASET, new Date(0), ['a']).map((p) => p.name).sort()).toEqual(Object.keys(params).sort());
    await expect(z.analyze(jobsSql(PROJECT, LOCATION), params)).resolves.toBe('resolvedQueryStmtNode');
    // A column the view does not have is caught.
    await expect(z.analyze(jobsSql(PROJECT, LOCATION).replace('j.user_email', 'j.principal_email'), params)).rejects.toThrow(/principal_email/);
  });

  test('ledger statements resolve: init, appends with an ARRAY<STRUCT> parameter, reads, the conditional lock insert', async () => {
    const loc = { project: PROJECT, runnerDataset: RUNNER_DATASET, location: LOCATION };
    await expect(z.analyze(createSchemaSql(loc))).resolves.toBe('resolvedCreateSchemaStmtNode');
    for (const [t, cols] of [
      [LEDGER_TABLES.ledger, LEDGER_COLUMNS],
      [LEDGER_TABLES.runs, RUN_COLUMNS],
      [LEDGER_TABLES.lock, LOCK_COLUMNS],
    ] as const) {
      await expect(z.analyze(createTableSql(loc, `${t}_new`, cols, cols[0].name))).resolves.toBe('resolvedCreateTableStmtNode');
      await expect(z.analyze(insertSql(loc, t, cols), { rows: structOf(cols) })).resolves.toBe('resolvedInsertStmtNode');
    }
    await expect(z.analyze(selectSql(loc, LEDGER_TABLES.ledger, LEDGER_COLUMNS, '`plan_hash` = @plan_hash', '`at`, `run_id`, `seq`, `attempt`'), { plan_hash: 'STRING' })).resolves.toBe('resolvedQueryStmtNode');
    await expect(z.analyze(selectSql(loc, LEDGER_TABLES.runs, RUN_COLUMNS, '', '`at`, `run_id`, `event` DESC'))).resolves.toBe('resolvedQueryStmtNode');
    await expect(z.analyze(selectSql(loc, LEDGER_TABLES.lock, LOCK_COLUMNS, '`lock_name` = @lock_name', '`seq`'), { lock_name: 'STRING' })).resolves.toBe('resolvedQueryStmtNode');
    await expect(
      z.analyze(lockInsertSql(loc), { lock_name: 'STRING', seq: 'INT64', event: 'STRING', run_id: 'STRING', holder: 'STRING', expires_at: 'TIMESTAMP', detail: 'STRING', at: 'TIMESTAMP' }),
    ).resolves.toBe('resolvedInsertStmtNode');
  });

  test('the analyzer rejects wrong statements: a view naming a missing column, a CTAS over a missing column, a type error', async () => {
    await expect(
      z.analyze(engine.render({ kind: 'CREATE_VIEW', name: 'lag_eurusd_45', target: 'lag_idx_eurusd', columns: [{ name: 'close_lag', column: 'close_lag_46' }], filter: null })[0]),
    ).rejects.toThrow(/Unrecognized name: close_lag_46/);
    const op = plan.operations.find((o) => o.target === 'lag_idx_eurusd')!;
    const spec = op.consolidation!;
    const broken = { ...spec, columns: [...spec.columns, { name: 'bogus', type: 'FLOAT64' as const, from: [{ window: 90, column: 'close_lag_45' }] }] };
    await expect(z.analyze(engine.render({ kind: 'CONSOLIDATE', target: 'lag_idx_eurusd', spec: broken })[0])).rejects.toThrow(/close_lag_45/);
    await expect(z.analyze(engine.render({ kind: 'CONSOLIDATE', target: 'lag_idx_eurusd', spec: { ...spec, clusterBy: ['close_lag_45'] } })[0])).rejects.toThrow(/CLUSTER BY expression may not be a floating point type/);
    await expect(z.analyze(sql.fingerprintSql(LOC, 'no_such_table'))).rejects.toThrow(/Table not found/);
  });
});
