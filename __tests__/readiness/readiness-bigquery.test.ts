/**
 * Readiness on the bigquery engine, against local doubles on 127.0.0.1: the BigQuery double of
 * __tests__/bigquery (catalogue, datasets, tables.testIamPermissions with per-table grants) and
 * this folder's double of Service Usage, Resource Manager, Cloud Storage and Cloud Run.
 */
jest.mock('teeny-request', () => require('../bigquery/support/teeny-fetch').teenyWithGlobalFetch());

import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { makeSnapshot } from '../../core/catalogue';
import { backupNameFor } from '../../core/execute/ids';
import { EXIT, exitCodeOf } from '../../scripts/exit-codes';
import { outcomeOfVerdict, verdictOf } from '../../app/readiness/verdict';
import { buildPlan } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { runReadiness, type ReadinessOutcome } from '../../app/readiness/run';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { openHarness, type Harness } from '../bigquery/support/open';
import { PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { permissionsFor } from '../../config/runner-permissions';
import { GoogleApisDouble } from './support/google-double';
import { PINNED_NOW, synthesizedStacks } from './support/stacks';

const policy = loadPolicy();
let work: string;
let planFile: string;
let plan: Plan;

async function seededHarness(googleApiEndpoint?: string): Promise<Harness> {
  const { stacks } = synthesizedStacks();
  return openHarness(
    (d) => {
      seedDouble(d, 'small', { withRunnerDataset: true });
      // The other declared datasets, with the settings the stacks declare.
      for (const ds of stacks.datasets) if (!d.datasets.has(ds.datasetId)) d.addDataset(ds.datasetId, { defaultTableExpirationMs: ds.defaultTableExpirationMs });
    },
    // The engine asks Resource Manager (projects.testIamPermissions) at the Google APIs double.
    { engine: googleApiEndpoint ? { googleApiEndpoint } : {} },
  );
}

function googleDouble(): GoogleApisDouble {
  const { stacks } = synthesizedStacks();
  return new GoogleApisDouble({
    project: PROJECT,
    enabledApis: new Set([...stacks.apis, 'bigquery.googleapis.com']),
    projectPermissions: new Set(permissionsFor('project')),
    buckets: new Map(stacks.buckets.map((b) => [b.name, { writable: true }])),
    jobs: new Set(stacks.jobs.map((j) => `us-central1/${j.name}`)),
    // A healthy pipeline: the extract job reads base tables only (one feature once during the grace period).
    jobEnv: new Map([['us-central1/bqx-ml-extract', { PAIR: 'eurusd', EXTRACTION_DISCOVERY: 'base-tables' }]]),
  });
}

/** One readiness run on fresh doubles; `plant` puts the problem in before the run. */
async function readiness(plant?: (h: Harness, g: GoogleApisDouble) => void): Promise<ReadinessOutcome & { google: GoogleApisDouble }> {
  const g = googleDouble();
  await g.start();
  const h = await seededHarness(g.endpoint);
  try {
    plant?.(h, g);
    const out = await runReadiness({
      engine: h.engine,
      planFile,
      stacksDir: synthesizedStacks().dir,
      reportsDir: path.join(work, `reports-${Math.random().toString(36).slice(2)}`),
      googleApiEndpoint: g.endpoint,
      now: () => PINNED_NOW,
    });
    return { ...out, google: g };
  } finally {
    await g.stop();
    await h.close();
  }
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-readiness-bq-'));
  const h = await seededHarness();
  try {
    const tables = await h.engine.listTables();
    plan = await buildPlan(h.engine, { snapshot: makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, tables), policy, graceStart: '2026-11-21' });
  } finally {
    await h.close();
  }
  planFile = path.join(work, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan, null, 2));
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const codes = (o: ReadinessOutcome, p?: string) => o.report.blockers.filter((b) => !p || b.priority === p).map((b) => b.code);

describe('bqx readiness on the bigquery engine (local doubles)', () => {
  test('a healthy project with its plan is GO, and every cloud check really asked the APIs', async () => {
    const out = await readiness();
    expect(codes(out, 'P0')).toEqual([]);
    expect(codes(out, 'P1')).toEqual([]);
    expect(out.report.verdict).toBe('GO');
    expect(exitCodeOf(outcomeOfVerdict(out.report.verdict))).toBe(EXIT.OK);
    const byId = new Map(out.report.checks.map((c) => [c.id, c]));
    for (const id of ['infrastructure.iam.project', 'infrastructure.iam.dataset', 'infrastructure.buckets', 'infrastructure.jobs', 'dependencies.apis']) {
      expect(byId.get(id)?.status).toBe('pass');
    }
    // The staging bucket was written to where the runner may write (manifests/) and cleaned up; the permission and API calls went out.
    const probes = [...out.google.objects.entries()].filter(([k]) => k.startsWith('bqx-ml-staging/manifests/_bqx_readiness/'));
    expect(probes).toHaveLength(1);
    expect(probes[0][1].deleted).toBe(true);
    expect(out.google.requests).toEqual(expect.arrayContaining([`POST /v1/projects/${PROJECT}:testIamPermissions`, `GET /v2/projects/${PROJECT}/locations/us-central1/jobs/bqx-ml-extract`]));
    expect(out.google.requests.filter((r) => r.startsWith(`GET /v1/projects/${PROJECT}/services`)).length).toBeGreaterThan(1); // paginated
  });

  test('a missing table permission on the double is P0 PERMISSION_MISSING naming the permission → NO-GO', async () => {
    const table = plan.operations.find((o) => o.action === 'RENAME')!.sources[0];
    const out = await readiness((h) => h.double.permissions.set(`${FEATURES_DATASET}.${table}`, ['bigquery.tables.get', 'bigquery.tables.getData', 'bigquery.tables.delete']));
    expect(out.report.verdict).toBe('NO-GO');
    expect(exitCodeOf(outcomeOfVerdict(out.report.verdict))).toBe(EXIT.NO_GO);
    const missing = out.report.blockers.filter((x) => x.code === 'PERMISSION_MISSING');
    for (const b of missing) expect(b).toMatchObject({ priority: 'P0', check: 'infrastructure.iam.dataset' });
    // One P0 per permission the table lacks, naming it and the steps that need it; none for what it holds.
    const update = missing.find((b) => b.title.includes('bigquery.tables.update '));
    expect(update?.title).toMatch(/needed by RENAME_TABLE, CREATE_VIEW$/);
    expect(missing.some((b) => b.title.includes('bigquery.tables.delete '))).toBe(false);
    expect(missing.some((b) => b.title.includes('bigquery.tables.getData '))).toBe(false);
  });

  test('a missing project permission (bigquery.jobs.create) is P0', async () => {
    const out = await readiness((_h, g) => g.state.projectPermissions.delete('bigquery.jobs.create'));
    expect(out.report.verdict).toBe('NO-GO');
    const project = out.report.blockers.filter((x) => x.check === 'infrastructure.iam.project');
    expect(project).toHaveLength(1);
    expect(project[0]).toMatchObject({ code: 'PERMISSION_MISSING', priority: 'P0' });
    expect(project[0].title).toContain('bigquery.jobs.create on project bqx-ml');
  });

  test('a default table expiration on the dataset the plan renames in is P0 DATASET_EXPIRATION → NO-GO', async () => {
    const out = await readiness((h) => h.double.addDataset(FEATURES_DATASET, { defaultTableExpirationMs: 7 * 86_400_000 }));
    expect(out.report.verdict).toBe('NO-GO');
    const b = out.report.blockers.find((x) => x.code === 'DATASET_EXPIRATION');
    expect(b).toMatchObject({ priority: 'P0', check: 'infrastructure.dataset' });
    expect(b!.title).toContain('7 day(s)');
  });

  test('an expiration on the runner dataset is P0 too (ledger and backups would expire)', async () => {
    const out = await readiness((h) => h.double.addDataset(RUNNER_DATASET, { defaultTableExpirationMs: 86_400_000 }));
    expect(out.report.blockers.find((x) => x.code === 'RUNNER_DATASET_EXPIRATION')?.priority).toBe('P0');
  });

  test('an extract job that still discovers by name is P1 EXTRACT_DUPLICATES → CONDITIONAL GO, counted per pair from the deployed job', async () => {
    const out = await readiness((_h, g) => g.state.jobEnv!.set('us-central1/bqx-ml-extract', { PAIR: 'eurusd' }));
    // On its own, this finding makes the verdict CONDITIONAL GO (exit 11).
    const own = out.report.blockers.filter((x) => x.check === 'dependencies.extract-job');
    expect(verdictOf(own)).toBe('CONDITIONAL GO');
    expect(exitCodeOf(outcomeOfVerdict(verdictOf(own)))).toBe(EXIT.CONDITIONAL_GO);
    expect(out.report.verdict).not.toBe('GO');
    const b = out.report.blockers.find((x) => x.code === 'EXTRACT_DUPLICATES')!;
    expect(b).toMatchObject({ priority: 'P1', check: 'dependencies.extract-job' });
    const x = out.report.extraction!;
    expect(x.jobDiscovery).toEqual({ mode: 'name-only', source: 'the deployed job bqx-ml-extract', fixed: false });
    // Per pair: the compatibility views of the plan whose old names the pair's discovery matches.
    const eurusd = x.pairs.find((p) => p.pair === 'eurusd')!;
    const views = plan.views.filter((v) => v.name.includes('eurusd') || /^(tri|var|csi)_/.test(v.name) || (v.name.startsWith('mkt_') && !v.name.endsWith('_summary')));
    expect(eurusd.duplicatesDuringGrace).toBe(views.length);
    expect(b.title).toContain(`EURUSD ${eurusd.duplicatesDuringGrace}`);
    expect(x.duplicatesDuringGrace).toBe(x.pairs.reduce((n, p) => n + p.duplicatesDuringGrace, 0));
    expect(b.mitigation).toMatch(/table_type = 'BASE TABLE'/);
    expect(b.mitigation).toContain('gs://bqx-ml-staging/manifests/{pair}/extraction.json');
    expect(out.report.conditions.join('\n')).toMatch(/extract job/);

    const manifest = await readiness((_h, g) => g.state.jobEnv!.set('us-central1/bqx-ml-extract', { EXTRACTION_DISCOVERY: 'manifest', EXTRACTION_MANIFEST: 'gs://bqx-ml-staging/manifests/{pair}/extraction.json' }));
    expect(manifest.report.blockers.filter((x) => x.check === 'dependencies.extract-job')).toEqual([]);
    expect(manifest.report.checks.find((c) => c.id === 'dependencies.extract-job')?.status).toBe('pass');
    expect(manifest.report.extraction!.jobDiscovery).toMatchObject({ mode: 'manifest', fixed: true });
  });

  test('BigQuery API disabled is P0; a pipeline job not deployed and an unwritable bucket are P2 only', async () => {
    const out = await readiness((_h, g) => {
      g.state.enabledApis.delete('bigquery.googleapis.com');
      g.state.jobs.delete('us-central1/bqx-ml-merge');
      g.state.buckets.set('bqx-ml-staging', { writable: false });
    });
    expect(out.report.blockers.find((x) => x.code === 'API_DISABLED' && x.priority === 'P0')?.title).toContain('bigquery.googleapis.com');
    expect(out.report.blockers.find((x) => x.code === 'JOB_NOT_DEPLOYED')).toMatchObject({ priority: 'P2' });
    expect(out.report.blockers.find((x) => x.code === 'BUCKET_NOT_WRITABLE')).toMatchObject({ priority: 'P2' });
    expect(out.report.verdict).toBe('NO-GO');
  });

  test('search indexes and policy tags a rename would drop are P2 warnings naming the tables; GO stays GO', async () => {
    const renames = plan.operations.filter((o) => o.action === 'RENAME').map((o) => o.sources[0]);
    const out = await readiness((h) => {
      h.double.table(FEATURES_DATASET, renames[0])!.searchIndexes = 2;
      const tagged = h.double.table(FEATURES_DATASET, renames[1])!;
      tagged.columns = tagged.columns.map((c, i) => (i === 1 ? { ...c, policyTags: ['projects/p/locations/us/taxonomies/1/policyTags/2'] } : c));
    });
    expect(out.report.blockers.find((b) => b.code === 'SEARCH_INDEX_DROPPED')).toMatchObject({ priority: 'P2', check: 'infrastructure.rename-loss', title: expect.stringContaining(renames[0]) });
    expect(out.report.blockers.find((b) => b.code === 'POLICY_TAGS_DROPPED')).toMatchObject({ priority: 'P2', title: expect.stringContaining(renames[1]) });
    expect(out.report.verdict).toBe('GO');
  });

  test('the phases are rehearsed by dry runs the double checks: a backup name already taken is P0', async () => {
    const dedupe = [...plan.operations].sort((a, b) => a.seq - b.seq).find((o) => o.action === 'DEDUPE')!;
    const out = await readiness((h) => {
      h.double.addTable({ dataset: RUNNER_DATASET, name: backupNameFor(dedupe.id, dedupe.sources[0], 1), columns: [{ name: 'x', type: 'INTEGER' }] });
    });
    expect(out.report.blockers.find((b) => b.check === 'phases.dedupe')).toMatchObject({ code: 'PHASE_NOT_READY', priority: 'P0', title: expect.stringContaining('Already Exists') });
    expect(out.report.checks.find((c) => c.id === 'phases.rename')?.detail).toMatch(/the engine accepted \d+ statement\(s\)/);
  });
});
