/**
 * `bqx extraction`, `bqx remap` and `bqx audit --columns` on the bigquery engine, through the CLI,
 * against the local REST double: catalogue reads only. The double holds the small catalogue as it
 * is before the plan, and, in a second double, the catalogue the DuckDB engine left after a real
 * apply (tables and compatibility views). Both engines must give the same answers.
 */
jest.mock('teeny-request', () => require('../bigquery/support/teeny-fetch').teenyWithGlobalFetch());

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { ExtractionReport } from '../../app/extraction';
import { runApply } from '../../app/runs';
import type { TableInfo } from '../../core/catalogue';
import type { RemapResult } from '../../core/extraction/remap';
import type { Plan } from '../../core/plan/types';
import { openDuckDbEngine } from '../../engines/duckdb/engine';
import { localEngineOptions } from '../../scripts/options';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { LOCATION, PROJECT, restColumns, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { scaledClock } from '../../engines/bigquery/limits';
import { seedWarehouse } from '../../warehouse/seed';
import { bqx } from './support';
import { GoogleApisDouble } from '../readiness/support/google-double';
import { EXIT } from '../../scripts/exit-codes';

let work: string;
let pristine: string;
let applied: string;
let planFile: string;
let plan: Plan;
let appliedListing: TableInfo[];

async function json<T>(args: string[]): Promise<T> {
  const r = await bqx([...args, '--json']);
  if (r.code !== 0) throw new Error(`bqx ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

async function withDouble<T>(seed: (d: BigQueryDouble) => void, f: (endpoint: string, d: BigQueryDouble) => Promise<T>): Promise<T> {
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock: scaledClock(1000), maxPageSize: 50 });
  seed(double);
  const endpoint = await double.start();
  try {
    return await f(endpoint, double);
  } finally {
    await double.stop();
  }
}

const bq = (endpoint: string) => ['--engine', 'bigquery', '--project', PROJECT, '--location', LOCATION, '--api-endpoint', endpoint];

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-extraction-bq-'));
  pristine = path.join(work, 'pristine.duckdb');
  await seedWarehouse({ database: pristine, scale: 'small' });
  planFile = path.join(work, 'plan.json');
  expect((await bqx(['plan', '--database', pristine, '--out', planFile, '--grace-start', '2026-11-21'])).code).toBe(0);
  plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
  applied = path.join(work, 'applied.duckdb');
  copyFileSync(pristine, applied);
  if (existsSync(`${pristine}.wal`)) copyFileSync(`${pristine}.wal`, `${applied}.wal`);
  const run = await runApply({ engine: localEngineOptions(applied), planFile, evidence: { reportsDir: path.join(work, 'reports'), metricsFile: path.join(work, 'm.prom') }, mode: 'real', approve: plan.planHash });
  expect(run.summary.status).toBe('OK');
  const engine = await openDuckDbEngine(localEngineOptions(applied));
  try {
    appliedListing = await engine.listTables();
  } finally {
    await engine.close();
  }
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('before the apply: extraction, remap and the column audit read through the double equal the DuckDB engine’s', async () => {
  const local = await json<ExtractionReport>(['extraction', '--pair', 'eurusd', '--plan', planFile, '--database', pristine]);
  const localRemap = await json<RemapResult>(['remap', '--pair', 'eurusd', '--plan', planFile, '--database', pristine]);
  const localColumns = await json<{ summary: unknown }>(['audit', '--columns', '--database', pristine]);
  await withDouble(
    (d) => seedDouble(d, 'small'),
    async (endpoint, double) => {
      const remote = await json<ExtractionReport>(['extraction', '--pair', 'eurusd', '--plan', planFile, ...bq(endpoint)]);
      expect(remote.warehouse).toBe(`bigquery:${PROJECT}/${FEATURES_DATASET}`);
      expect(remote.before).toEqual(local.before);
      expect(remote.after).toEqual(local.after);
      expect(remote.duplicatesByName).toEqual(local.duplicatesByName);
      const remoteRemap = await json<RemapResult>(['remap', '--pair', 'eurusd', '--plan', planFile, ...bq(endpoint)]);
      expect(remoteRemap.mappings).toEqual(localRemap.mappings);
      expect(remoteRemap.counts).toEqual(localRemap.counts);
      const remoteColumns = await json<{ summary: unknown }>(['audit', '--columns', ...bq(endpoint)]);
      expect(remoteColumns.summary).toEqual(localColumns.summary);
      // The listing was read to its last page (pages of 50), and nothing was changed.
      expect(double.counters.listPages).toBeGreaterThanOrEqual(Math.ceil(447 / 50) * 3);
      expect(double.applied).toEqual([]);
    },
  );
}, 120_000);

test('during the grace period: the views a name-only discovery reads are found through INFORMATION_SCHEMA, with their targets', async () => {
  const local = await json<ExtractionReport>(['extraction', '--pair', 'eurusd', '--database', applied]);
  expect(local.duplicatesByName.length).toBeGreaterThan(0);
  await withDouble(
    (d) => {
      d.addDataset(FEATURES_DATASET);
      for (const t of appliedListing) {
        const view = t.kind === 'VIEW';
        d.addTable({
          dataset: FEATURES_DATASET,
          name: t.name,
          type: view ? 'VIEW' : 'TABLE',
          columns: restColumns(t),
          numRows: t.rowCount,
          numBytes: t.bytes,
          ...(view ? { viewQuery: `SELECT * FROM \`${PROJECT}.${FEATURES_DATASET}.${/FROM\s+"?[^".]+"?\."?([^"\s]+)"?/i.exec(t.viewQuery ?? '')?.[1]}\`` } : {}),
        });
      }
    },
    async (endpoint, double) => {
      const remote = await json<ExtractionReport>(['extraction', '--pair', 'eurusd', ...bq(endpoint)]);
      expect(remote.before).toEqual(local.before);
      expect(remote.after).toEqual(local.after);
      expect(remote.duplicatesByName.map((d) => [d.name, d.tableType, d.sameAs])).toEqual(local.duplicatesByName.map((d) => [d.name, d.tableType, d.sameAs]));
      expect(remote.duplicatesByName.every((d) => d.sameAs && remote.after.tables.includes(d.sameAs))).toBe(true);
      // With the plan too: the remap after the apply equals the one before it.
      const remap = await json<RemapResult>(['remap', '--pair', 'eurusd', '--plan', planFile, ...bq(endpoint)]);
      const before = await json<RemapResult>(['remap', '--pair', 'eurusd', '--plan', planFile, '--database', pristine]);
      expect(remap.mappings).toEqual(before.mappings);
      expect(double.applied).toEqual([]);
    },
  );
}, 120_000);

test('after apply the runner writes the pair’s manifest to the staging bucket; a bucket it cannot write is a failure, named', async () => {
  const google = new GoogleApisDouble({ project: PROJECT, enabledApis: new Set(), projectPermissions: new Set(), buckets: new Map([['bqx-ml-staging', { writable: true }]]), jobs: new Set() });
  const endpoint = await google.start();
  try {
    const r = await bqx(['extraction', '--pair', 'eurusd', '--plan', planFile, '--database', applied, '--manifest-dir', 'gs://bqx-ml-staging', '--google-api-endpoint', endpoint]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toContain('manifest written to gs://bqx-ml-staging/manifests/eurusd/extraction.json');
    const object = google.objects.get('bqx-ml-staging/manifests/eurusd/extraction.json')!;
    const local = await json<ExtractionReport>(['extraction', '--pair', 'eurusd', '--plan', planFile, '--database', applied]);
    expect(JSON.parse(object.body!)).toEqual({ format: 'bqx-extraction-manifest/v1', project: PROJECT, dataset: FEATURES_DATASET, pair: 'eurusd', planHash: plan.planHash, tables: local.after.tables });

    google.state.buckets.set('bqx-ml-staging', { writable: false });
    const refused = await bqx(['extraction', '--pair', 'eurusd', '--plan', planFile, '--database', applied, '--manifest-dir', 'gs://bqx-ml-staging', '--google-api-endpoint', endpoint]);
    expect(refused.code).toBe(EXIT.FAILURE);
    expect(refused.err).toMatch(/writing gs:\/\/bqx-ml-staging\/manifests\/eurusd\/extraction\.json failed: HTTP 403 PERMISSION_DENIED/);
    // The hint names the grant the runner really holds there: its manifests role, under manifests/ only.
    expect(refused.err).toMatch(/custom role bqxMigrationRunnerManifests: storage\.objects\.create, storage\.objects\.delete; granted by the data stack with the condition resource\.name\.startsWith\(\\?"projects\/_\/buckets\/bqx-ml-staging\/objects\/manifests\/\\?"\)/);
    expect(refused.err).not.toMatch(/objectUser/);
    const bad = await bqx(['extraction', '--pair', 'eurusd', '--database', applied, '--manifest-dir', 'gs://', '--google-api-endpoint', endpoint]);
    expect(bad.code).toBe(EXIT.BAD_INPUT);
  } finally {
    await google.stop();
  }
});
