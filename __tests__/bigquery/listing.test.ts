/**
 * The catalogue listing (engines/bigquery/catalog.ts `listTables`) with the official client on the
 * REST double: the dataset-wide INFORMATION_SCHEMA queries run while tables.list pages in, and
 * the listing's own error is the one reported when the dataset is missing.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { openBigQueryEngine } from '../../engines/bigquery/engine';
import { realClock } from '../../engines/bigquery/limits';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { engineOn, freshDouble } from './support/fresh-double';

test('the columns and view queries are submitted before the last tables.list page is asked; the listing is complete', async () => {
  const { double, endpoint } = await freshDouble();
  const engine = await openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint }, { pageSize: 5 });
  try {
    const order: string[] = [];
    const rest = engine.rest as { call: typeof engine.rest.call };
    const call = rest.call.bind(rest);
    rest.call = (req) => {
      const kind = (req.body as { configuration?: { labels?: Record<string, string> } } | undefined)?.configuration?.labels?.bqx_kind;
      if (kind) order.push(kind);
      else if (req.method === 'GET' && /\/tables$/.test(req.path)) order.push('tables.list');
      return call(req);
    };
    const tables = await engine.listTables();
    const pages = order.filter((o) => o === 'tables.list').length;
    expect(pages).toBeGreaterThan(2);
    const lastPage = order.lastIndexOf('tables.list');
    expect(order.indexOf('catalog_columns')).toBeLessThan(lastPage);
    expect(order.indexOf('catalog_views')).toBeLessThan(lastPage);
    // Row counts are asked per stored table, once the listing has named them all.
    expect(order.indexOf('catalog_storage')).toBeGreaterThan(lastPage);
    const stored = tables.filter((t) => t.kind === 'TABLE');
    expect(stored.length).toBeGreaterThan(10);
    expect(stored.every((t) => t.columns.length > 0)).toBe(true);
    expect(tables.filter((t) => t.kind === 'VIEW').every((t) => typeof t.viewQuery === 'string')).toBe(true);
  } finally {
    await engine.close();
    await double.stop();
  }
}, 60_000);

test('a missing dataset is DATASET_NOT_FOUND from the listing, not the failure of a query that ran beside it', async () => {
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock: realClock });
  const engine = await engineOn(await double.start());
  try {
    await expect(engine.listTables()).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND', message: `dataset ${PROJECT}.${FEATURES_DATASET} does not exist` });
  } finally {
    await engine.close();
    await double.stop();
  }
}, 60_000);

test("a query's first page of rows comes with the poll that sees it complete: one getQueryResults per page, none more", async () => {
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock: realClock, latency: (kind) => (kind === 'query' ? 50 : 0) });
  seedDouble(double, 'small', { withRunnerDataset: true });
  const endpoint = await double.start();
  // Three rows a page: the columns query needs many pages, the others few.
  const engine = await openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint }, { jobs: { pageSize: 3 } });
  try {
    const resultCalls = new Map<string, number>();
    const rest = engine.rest as { call: typeof engine.rest.call };
    const call = rest.call.bind(rest);
    rest.call = (req) => {
      const id = /^\/queries\/(.+)$/.exec(req.path)?.[1];
      if (id) resultCalls.set(decodeURIComponent(id), (resultCalls.get(decodeURIComponent(id)) ?? 0) + 1);
      return call(req);
    };
    const tables = await engine.listTables();
    const views = tables.filter((t) => t.kind === 'VIEW').length;
    const columns = tables.reduce((n, t) => n + (t.kind === 'VIEW' ? 0 : t.columns.length), 0);
    const jobs = [...double.jobs.values()];
    const callsOf = (kind: string) => jobs.filter((j) => j.labels.bqx_kind === kind).map((j) => resultCalls.get(j.id) ?? 0);
    // Each job was still running when submitted (so it was polled); its first page came with the
    // poll that saw it complete, and each later page took one call.
    expect(columns).toBeGreaterThan(6);
    expect(callsOf('catalog_views')).toEqual([Math.max(1, Math.ceil(views / 3))]);
    expect(callsOf('catalog_columns')).toEqual([Math.ceil(columns / 3)]);
  } finally {
    await engine.close();
    await double.stop();
  }
}, 60_000);
