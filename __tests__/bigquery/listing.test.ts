/**
 * The catalogue listing (engines/bigquery/catalog.ts `listTables`) with the official client on the
 * REST double: the dataset-wide INFORMATION_SCHEMA queries run while tables.list pages in, and
 * the listing's own error is the one reported when the dataset is missing.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { openBigQueryEngine } from '../../engines/bigquery/engine';
import { realClock } from '../../engines/bigquery/limits';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { LOCATION, PROJECT, RUNNER_DATASET } from '../../testing/bigquery/warehouse';
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
