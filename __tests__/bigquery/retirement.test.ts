/**
 * After the grace period on BigQuery, through the official client against the REST double: readers
 * run their own query jobs (as another identity, with their labels), the engine reads who read
 * which compatibility view from the region's JOBS_BY_PROJECT, the retirement plan keeps the read
 * view and drops the unread one through the executor, and rollback recreates it.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { measureUsage } from '../../app/retirement';
import { makeSnapshot } from '../../core/catalogue';
import { applyPlan } from '../../core/execute/apply';
import { rollbackPlan } from '../../core/execute/rollback';
import { buildPlan } from '../../core/plan/planner';
import { buildRetirePlan, retiredViews } from '../../core/plan/retire';
import type { CompatibilityView, Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { PROJECT, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { openHarness, type Harness } from './support/open';

const policy = loadPolicy();
let h: Harness;
let plan: Plan;
let readView: CompatibilityView;
let unreadView: CompatibilityView;

/** A query job of another identity (its bearer token names it on the permissive double). */
async function readerQuery(principal: string, sql: string, labels: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${h.double.endpoint}/bigquery/v2/projects/${PROJECT}/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${principal}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jobReference: { projectId: PROJECT, jobId: `reader_${Math.random().toString(36).slice(2)}` }, configuration: { labels, query: { query: sql, useLegacySql: false } } }),
  });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  h = await openHarness((d) => seedDouble(d, 'small', { withRunnerDataset: true }));
  plan = await buildPlan(h.engine, { snapshot: makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, await h.engine.listTables()), policy, graceStart: '2026-10-01' });
  const applied = await applyPlan(h.engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: 6 });
  expect(applied.summary.status).toBe('OK');
  const created = plan.views.filter((v) => h.double.tables.get(`${FEATURES_DATASET}.${v.name}`)?.type === 'VIEW');
  [readView, unreadView] = created;
  expect(unreadView).toBeDefined();
}, 180_000);
afterAll(() => h?.close());

// The plan's grace period (from 2026-10-01) has ended by now, when the readers read.
const after = () => new Date();
const days = 400;

test('JOBS_BY_PROJECT names the reader of a view, with its labels; a read of the new name and the runner\'s own probes count for nothing', async () => {
  await readerQuery('analyst@bqx.dev', `SELECT * FROM \`${PROJECT}.${FEATURES_DATASET}.${readView.name}\``, { team: 'research' });
  await readerQuery('etl@bqx.dev', `SELECT * FROM \`${PROJECT}.${FEATURES_DATASET}.${unreadView.target}\``);
  await h.engine.probe(unreadView.name); // the runner's own read of the view (labelled bqx_kind)

  const usage = await measureUsage(h.engine, plan, days, after());
  expect(usage.source).toBe(`${PROJECT}.region-us-central1.INFORMATION_SCHEMA.JOBS_BY_PROJECT`);
  expect(usage.views.find((v) => v.view === readView.name)).toMatchObject({ jobs: 1, newName: readView.target, readers: [{ principal: 'analyst@bqx.dev', jobs: 1, labels: ['team=research'] }] });
  expect(usage.views.find((v) => v.view === unreadView.name)).toMatchObject({ jobs: 0, readers: [] });
  expect(usage.read).toBe(1);
  // The usage query itself is a labelled job of the runner.
  expect(h.double.inserts.some((i) => i.labels.bqx_kind === 'usage_jobs' && i.sql.includes('INFORMATION_SCHEMA.JOBS_BY_PROJECT'))).toBe(true);
});

test('the retirement plan keeps the read view, drops the unread one through the executor; rollback recreates it', async () => {
  const tables = await h.engine.listTables();
  const usage = await measureUsage(h.engine, plan, days, after());
  const retire = buildRetirePlan({ basePlan: plan, tables, usage, unreadDays: days, now: after(), engine: 'bigquery', policyHash: policy.hash, batchSize: 100 });
  expect(retiredViews(retire)).toContain(unreadView.name);
  expect(retire.operations.find((o) => o.sources[0] === readView.name)).toMatchObject({ action: 'KEEP', reason: 'STILL_READ', usage: { readers: [{ principal: 'analyst@bqx.dev' }] } });
  // Views of the migration plan that were never created (the apply above ran 6 operations) are listed, not planned.
  expect(retire.retirement!.absent.length).toBe(plan.views.length - retire.operations.length);

  const applied = await applyPlan(h.engine, retire, policy, { mode: 'real', approve: retire.planHash });
  expect(applied.summary.status).toBe('OK');
  expect(h.double.tables.has(`${FEATURES_DATASET}.${unreadView.name}`)).toBe(false);
  expect(h.double.tables.get(`${FEATURES_DATASET}.${readView.name}`)?.type).toBe('VIEW');
  expect(h.double.applied.some((a) => a.sql === `DROP VIEW \`${PROJECT}.${FEATURES_DATASET}.${unreadView.name}\``)).toBe(true);

  const rolled = await rollbackPlan(h.engine, retire, policy, {});
  expect(rolled.summary.status).toBe('OK');
  expect(rolled.restoredExactly).toBe(true);
  const back = h.double.tables.get(`${FEATURES_DATASET}.${unreadView.name}`);
  expect(back?.type).toBe('VIEW');
  expect(back?.viewTarget?.name).toBe(unreadView.target);
});
