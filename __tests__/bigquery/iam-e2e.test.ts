/**
 * One permission model, proven end to end: what each step needs (config/runner-permissions.ts) =
 * what the stacks grant (synthesized here, from this tree) = what readiness asks = what the double
 * enforces.
 *
 * The prod stacks are synthesized into a temp dir and their grants loaded into one IAM model,
 * shared by the BigQuery double and the double of the other Google APIs (Resource Manager, IAM
 * Credentials). Each bearer token is an identity; the runner's token acts as
 * serviceAccount:bqx-ml-runner@bqx-ml.iam.gserviceaccount.com. Then, on the small catalogue:
 *  - with the stacks' grants, as the runner: readiness is GO, the whole Phase 4C apply succeeds
 *    (every operation APPLIED, reconcile MATCHED), and every job carries the Phase 4C label (step
 *    jobs also the plan and run labels);
 *  - with any one permission of the table taken from the runner (scope by scope): readiness is
 *    NO-GO with a P0 naming that permission and the steps needing it, and apply is refused
 *    (PERMISSION_MISSING) before it changes anything: no DDL or DML job reaches the double.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { serviceAccountEmail } from '../../config/environment';
import { loadEnvironment } from '../../config/environments';
import { PHASE_4C_JOB_LABEL } from '../../config/job-labels';
import { rolePermissions } from '../../config/predefined-roles';
import { PERMISSION_SCOPES, permissionsFor, requiredRunnerPermissions, RUNNER_VERBS, scopeTargets, verbActions, type PermissionScope, type RunnerVerb } from '../../config/runner-permissions';
import { appEngineOptions, runnerRequiredPermissions, stepsNeeding } from '../../app/engine';
import { runReadiness, type ReadinessOutcome } from '../../app/readiness/run';
import { readDeclaredStacks } from '../../app/readiness/stacks';
import { makeSnapshot } from '../../core/catalogue';
import { applyPlan, RunRefused } from '../../core/execute/apply';
import { reconcilePlan } from '../../core/execute/reconcile';
import { rollbackPlan } from '../../core/execute/rollback';
import { verifyPlan } from '../../core/execute/verify';
import { unlockWith, verbPreflight } from '../../app/runs';
import { measureUsage } from '../../app/retirement';
import type { Authorization } from '../../testing/bigquery/double';
import { buildPlan } from '../../core/plan/planner';
import { isActionable, type Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import type { BigQueryEngineOptions, RequiredPermission } from '../../core/ports/engine';
import { synthesizeEnvironment } from '../../stacks/synthesize';
import { IamModel, type IamResource } from '../../testing/bigquery/double';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { GoogleApisDouble } from '../readiness/support/google-double';
import { uploadManifest } from '../../app/extraction';
import { discoveryRule, extractionSets } from '../../core/extraction/discovery';
import { DEFAULT_TEST_TOKEN } from '../../engines/bigquery/credentials';
import { openHarness, type Harness } from './support/open';

const env = loadEnvironment('prod');
const RUNNER_EMAIL = serviceAccountEmail(env, env.serviceAccounts.runner);
const RUNNER = `serviceAccount:${RUNNER_EMAIL}`;
const TOKENS = { runner: 'token-runner', nobody: 'token-nobody', operator: 'token-operator', stranger: 'token-stranger' };
const NOW = new Date('2026-11-21T00:00:00.000Z');
const policy = loadPolicy();
const targets = scopeTargets(env);
const resourceOf = (scope: PermissionScope): IamResource =>
  scope === 'project' ? { kind: 'project', project: targets.project } : { kind: 'dataset', project: targets.project, dataset: targets[scope] };

let work: string;
let stacksDir: string;
/** The grants of the synthesized stacks, loaded once (each world gets a copy). */
let synthesized: IamModel;

function iamModel(): IamModel {
  const iam = IamModel.fromSynth(stacksDir, PROJECT);
  iam.addToken(TOKENS.runner, RUNNER).addToken(TOKENS.nobody, 'user:nobody@example.com').addToken(TOKENS.operator, 'user:operator@example.com').addToken(TOKENS.stranger, 'user:stranger@example.com');
  return iam;
}

interface World {
  readonly h: Harness;
  readonly g: GoogleApisDouble;
  readonly iam: IamModel;
  close(): Promise<void>;
}

/** The small catalogue on the BigQuery double, the Google APIs double, one IAM model, an engine acting as `token`. */
async function world(token: string = TOKENS.runner, engine: Partial<BigQueryEngineOptions> = {}): Promise<World> {
  const iam = iamModel();
  // The platform as the stacks declare it, deployed: APIs, buckets, Cloud Run jobs (the extract job
  // reading base tables only, as readiness requires before the first apply).
  const declared = readDeclaredStacks(stacksDir)!;
  const g = new GoogleApisDouble({
    project: PROJECT,
    enabledApis: new Set([...declared.apis, 'bigquery.googleapis.com']),
    projectPermissions: new Set(),
    buckets: new Map(declared.buckets.map((b) => [b.name, { writable: true }])),
    jobs: new Set(declared.jobs.map((j) => `us-central1/${j.name}`)),
    jobEnv: new Map([['us-central1/bqx-ml-extract', { PAIR: 'eurusd', EXTRACTION_DISCOVERY: 'base-tables' }]]),
    iam,
  });
  await g.start();
  const h = await openHarness(
    (d) => {
      seedDouble(d, 'small', { withRunnerDataset: true });
      d.iam = iam;
    },
    // As the app opens it (the Phase 4C job label), acting as the token's identity.
    { engine: appEngineOptions({ ...baseOptions(), accessToken: token, googleApiEndpoint: g.endpoint, ...engine }) },
  );
  return {
    h,
    g,
    iam,
    async close() {
      try {
        await h.close();
      } finally {
        await g.stop();
      }
    },
  };
}

const baseOptions = (): BigQueryEngineOptions => ({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET });

function readiness(w: World, plan: Plan): Promise<ReadinessOutcome> {
  return runReadiness({ engine: w.h.engine, plan, stacksDir, reportsDir: null, googleApiEndpoint: w.g.endpoint, now: () => NOW });
}

const writes = (w: World) => w.h.double.inserts.filter((i) => !i.dryRun && /^(ALTER|DROP|CREATE|INSERT|UPDATE|DELETE|MERGE)\b/.test(i.sql));
const catalogue = (w: World) => JSON.stringify([...w.h.double.tables.entries()].map(([k, t]) => [k, t.type, t.numRows, t.columns.length]).sort());

/** What the runner effectively holds on each scope in a model (inherited grants included), missing against the table. */
function ungranted(iam: IamModel): string[] {
  const required = requiredRunnerPermissions();
  return PERMISSION_SCOPES.flatMap((scope) => required[scope].filter((p) => !iam.has([RUNNER], p, resourceOf(scope))).map((p) => `${p} on the ${scope} (${targets[scope === 'project' ? 'project' : scope]})`));
}

/** The fewest leading operations of the plan that hold every kind of operation it has (each step kind, once at least). */
function coveringPrefix(plan: Plan): number {
  const ordered = [...plan.operations].sort((a, b) => a.seq - b.seq).filter((o) => isActionable(o.action));
  return Math.max(...[...new Set(ordered.map((o) => o.action))].map((a) => ordered.findIndex((o) => o.action === a))) + 1;
}

/** The scope an asked resource is, for the runner (null: not one of the table's scopes). */
function scopeOf(r: IamResource): PermissionScope | null {
  if (r.kind === 'project') return r.project === targets.project ? 'project' : null;
  if (r.kind !== 'dataset') return null;
  return r.dataset === targets.featureDataset ? 'featureDataset' : r.dataset === targets.runnerDataset ? 'runnerDataset' : null;
}

interface VerbRun {
  readonly verb: RunnerVerb;
  /** OK / MATCHED, or what stopped it. */
  readonly outcome: string;
  readonly asked: readonly Authorization[];
}

/**
 * The runbook's lifecycle on BigQuery, as the runner, each verb after its own permission preflight
 * (`required(verb)`): apply, verify, reconcile, rollback, unlock. Stops at the first verb that does
 * not end OK; says what each asked the double. With `maxOperations` apply stops after that many
 * operations (reconcile then rightly finds the rest unapplied: not a stop).
 */
async function lifecycle(w: World, plan: Plan, required: (verb: RunnerVerb) => RequiredPermission[], maxOperations?: number): Promise<VerbRun[]> {
  const { engine, double } = w.h;
  const now = () => NOW;
  const verbs: [RunnerVerb, () => Promise<string>][] = [
    ['apply', async () => (await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, requiredPermissions: required('apply'), now, maxOperations })).summary.status],
    ['verify', async () => (await verbPreflight(engine, 'verify', plan, required('verify')), (await verifyPlan(engine, plan, { now })).summary.status)],
    ['reconcile', async () => (await verbPreflight(engine, 'reconcile', plan, required('reconcile')), (await reconcilePlan(engine, plan, { now })).matches || maxOperations !== undefined ? 'OK' : 'DRIFT')],
    ['rollback', async () => (await verbPreflight(engine, 'rollback', plan, required('rollback')), (await rollbackPlan(engine, plan, policy, { approve: plan.planHash, now })).summary.status)],
    ['unlock', async () => (await verbPreflight(engine, 'unlock', null, required('unlock')), (await unlockWith(engine, { clearFreeze: false, force: false, now: NOW })) && 'OK')],
    ['usage', async () => (await verbPreflight(engine, 'usage', plan, required('usage')), (await measureUsage(engine, plan, 30, NOW)).views.length === plan.views.length ? 'OK' : 'views missing')],
  ];
  const out: VerbRun[] = [];
  for (const [verb, run] of verbs) {
    const mark = double.authorizations.length;
    const outcome = await run().catch((e: unknown) => `stopped: ${(e as Error).message}`);
    out.push({ verb, outcome, asked: double.authorizations.slice(mark) });
    if (outcome !== 'OK') break;
  }
  return out;
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'bqx-iam-e2e-'));
  stacksDir = path.join(work, 'cdktf.out');
  // The stacks of this tree (prod, no views plan: views carry no IAM), synthesized in-process.
  synthesizeEnvironment({ env, outdir: stacksDir, plan: null, now: NOW });
  synthesized = iamModel();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the permission model, end to end (synthesized stacks → IAM double → readiness → apply)', () => {
  test('the synthesized stacks grant the runner every permission of the table, each on its scope', () => {
    expect({ unknownRoles: [...synthesized.unknownRoles], unmodelledRunnerGrants: synthesized.unmodelled.filter((u) => u.includes('runner')) }).toEqual({ unknownRoles: [], unmodelledRunnerGrants: [] });
    const missing = ungranted(synthesized);
    if (missing.length) throw new Error(`the synthesized stacks do not grant ${RUNNER} ${missing.length} permission(s) of config/runner-permissions.ts: ${missing.join('; ')}`);
    // Each permission is granted on its own scope too (not only inherited from the project), so the
    // stacks hold the table scope by scope.
    const required = requiredRunnerPermissions();
    const direct = (scope: PermissionScope) => synthesized.grants.filter((g) => g.member === RUNNER && JSON.stringify(g.resource) === JSON.stringify(resourceOf(scope)));
    for (const scope of PERMISSION_SCOPES) {
      const held = new Set(direct(scope).flatMap((g) => [...(rolePermissions(g.role, synthesized.customRoles) ?? [])]));
      expect({ scope, notGrantedOnScope: required[scope].filter((p) => !held.has(p)) }).toEqual({ scope, notGrantedOnScope: [] });
    }
  });

  let plan: Plan | undefined;
  /** The plan, made by the runner through the engine (the planner only reads); the same seed gives the same plan. */
  const planAsRunner = async (w: World) =>
    (plan ??= await buildPlan(w.h.engine, { snapshot: makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, await w.h.engine.listTables()), policy, graceStart: '2026-11-21' }));
  /** Acting as the runner needs the stacks to grant it the table: otherwise the test says exactly what they do not grant. */
  const requireStackGrants = () => {
    const missing = ungranted(synthesized);
    if (missing.length) throw new Error(`cannot run as the runner: the synthesized stacks do not grant ${RUNNER} ${missing.join('; ')}`);
  };

  test('with the stacks\' grants, as the runner: readiness GO, the whole apply succeeds, reconcile MATCHED, every job labelled', async () => {
    requireStackGrants();
    const w = await world();
    try {
      const { engine, double } = w.h;
      const plan = await planAsRunner(w);
      const actionable = plan.operations.filter((o) => isActionable(o.action));
      expect(actionable.length).toBeGreaterThan(10);

      const ready = await readiness(w, plan);
      expect(ready.report.blockers.filter((b) => b.priority === 'P0' || b.priority === 'P1')).toEqual([]);
      expect(ready.report.verdict).toBe('GO');
      const check = (id: string) => ready.report.checks.find((c) => c.id === id)!;
      expect(check('infrastructure.iam.project')).toMatchObject({ status: 'pass', detail: expect.stringContaining('Granted 2/2') });
      expect(check('infrastructure.iam.dataset')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/Granted 10\/10.*may fail open: the paper run's first batch is the second line of defence/) });
      // Before the first run the runner dataset has no table: its table permissions cannot be asked (P2 names what covers them).
      expect(check('infrastructure.iam.runner-dataset')).toMatchObject({ status: 'warn', detail: expect.stringContaining('does not exist yet') });
      // Beyond BigQuery, as the runner, by use: the conditional manifests/ grant on staging lets the
      // probe in and out; the extract job is read live; what the runner holds nothing on is P3, unchecked.
      expect(check('infrastructure.buckets').detail).toMatch(/bqx-ml-staging: wrote and deleted manifests\/_bqx_readiness\/probe-\d+\.txt \(the conditional grant on manifests\/, asked by use\)/);
      expect([...w.g.objects.entries()].filter(([k]) => k.startsWith('bqx-ml-staging/')).map(([k, o]) => [k.replace(/\d+/, 'N'), o.deleted])).toEqual([['bqx-ml-staging/manifests/_bqx_readiness/probe-N.txt', true]]);
      const unchecked = ready.report.blockers.filter((b) => b.priority === 'P3' && /_NOT_CHECKED$/.test(b.code)).map((b) => `${b.code} ${b.title.split(' cannot')[0]}`);
      expect(unchecked.sort()).toEqual(['BUCKET_NOT_CHECKED bucket bqx-ml-output', 'BUCKET_NOT_CHECKED bucket bqx-ml-tfstate', 'JOB_NOT_CHECKED Cloud Run job bqx-ml-merge', 'JOB_NOT_CHECKED Cloud Run job bqx-ml-runner']);
      expect(ready.report.blockers.filter((b) => ['BUCKET_NOT_WRITABLE', 'BUCKET_MISSING', 'JOB_NOT_READABLE', 'JOB_NOT_DEPLOYED'].includes(b.code))).toEqual([]);
      expect(ready.report.extraction!.jobDiscovery.source).toBe('the deployed job bqx-ml-extract');

      const before = double.inserts.length;
      const result = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, requiredPermissions: runnerRequiredPermissions(), now: () => NOW });
      expect({ status: result.summary.status, byOutcome: result.summary.byOutcome }).toEqual({ status: 'OK', byOutcome: { APPLIED: actionable.length, ...(result.summary.byOutcome.SKIPPED ? { SKIPPED: result.summary.byOutcome.SKIPPED } : {}) } });
      const reconciled = await reconcilePlan(engine, plan, { now: () => NOW });
      expect(reconciled.matches).toBe(true);

      // Every job of the run, as the runner, accepted, with the Phase 4C label; every step job with the plan and run labels.
      const jobs = double.inserts.slice(before);
      expect(jobs.filter((j) => j.outcome !== 'accepted')).toEqual([]);
      expect(new Set(jobs.map((j) => j.principal))).toEqual(new Set([RUNNER]));
      expect(jobs.filter((j) => j.labels[PHASE_4C_JOB_LABEL.key] !== PHASE_4C_JOB_LABEL.value)).toEqual([]);
      const steps = jobs.filter((j) => j.labels.bqx_kind === 'step');
      expect(steps.length).toBeGreaterThanOrEqual(actionable.length);
      const runLabels = { 'bqx-plan': plan.planHash.slice(0, 12), 'bqx-run': result.summary.runId.toLowerCase() };
      expect(steps.filter((j) => j.labels['bqx-plan'] !== runLabels['bqx-plan'] || j.labels['bqx-run'] !== runLabels['bqx-run'])).toEqual([]);
      // And every kind of job the runner submits was among them: steps, reads, ledger, lock, catalogue, dry runs.
      const kinds = new Set(jobs.map((j) => (j.dryRun ? 'dry_run' : j.labels.bqx_kind)));
      for (const k of ['step', 'ledger_append', 'runs_append', 'lock_append', 'ledger_read', 'catalog_columns', 'catalog_storage', 'dry_run', 'fused_read']) expect(kinds).toContain(k);
    } finally {
      await w.close();
    }
  });

  test('the manifests, as the runner: written and overwritten under manifests/ of staging; nothing else there, no checkpoint deleted', async () => {
    const w = await world();
    try {
      // uploadManifest sends the test endpoint's default token: here it is the runner's.
      w.iam.addToken(DEFAULT_TEST_TOKEN, RUNNER);
      const sets = extractionSets(discoveryRule(policy), await w.h.engine.listTables(), await planAsRunner(w), 'eurusd');
      const where = { project: PROJECT, dataset: FEATURES_DATASET };
      const staging = env.buckets.staging.name;
      expect(await uploadManifest(`gs://${staging}`, sets, where, w.g.endpoint)).toBe(`gs://${staging}/manifests/eurusd/extraction.json`);
      // A second run for the pair replaces it: objects.insert over a name needs storage.objects.delete too.
      expect(await uploadManifest(`gs://${staging}`, sets, where, w.g.endpoint)).toBe(`gs://${staging}/manifests/eurusd/extraction.json`);
      expect(JSON.parse(w.g.objects.get(`${staging}/manifests/eurusd/extraction.json`)!.body!).tables).toEqual(sets.after.tables);

      // Outside manifests/ (a prefix on --manifest-dir lands there): refused, the hint names the real grant.
      const outside = await uploadManifest(`gs://${staging}/checkpoints`, sets, where, w.g.endpoint).catch((e: unknown) => e);
      expect(outside).toMatchObject({ code: 'MANIFEST_UPLOAD_FAILED', message: expect.stringContaining('storage.objects.create') });
      expect((outside as { hint: string }).hint).toMatch(/custom role bqxMigrationRunnerManifests: storage\.objects\.create, storage\.objects\.delete; .*resource\.name\.startsWith\("projects\/_\/buckets\/bqx-ml-staging\/objects\/manifests\/"\).*is outside manifests\//);
      // The extract job's checkpoints in the same bucket: the runner can neither delete nor replace one.
      const checkpoint = 'checkpoints/eurusd/tri_eurusd.parquet';
      w.g.objects.set(`${staging}/${checkpoint}`, { deleted: false, body: 'parquet' });
      const del = await fetch(`${w.g.endpoint}/storage/v1/b/${staging}/o/${encodeURIComponent(checkpoint)}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.runner}` } });
      expect(del.status).toBe(403);
      expect(w.g.objects.get(`${staging}/${checkpoint}`)).toEqual({ deleted: false, body: 'parquet' });
      // Nor anything in the other buckets.
      const output = await uploadManifest(`gs://${env.buckets.output.name}`, sets, where, w.g.endpoint).catch((e: unknown) => e);
      expect(output).toMatchObject({ code: 'MANIFEST_UPLOAD_FAILED' });

      // Without storage.objects.delete in the role, the first write works and the overwrite does not; readiness says so.
      expect(w.iam.withoutPermission(RUNNER, { kind: 'bucket', project: PROJECT, bucket: staging }, 'storage.objects.delete')).toEqual([
        `custom role projects/${PROJECT}/roles/bqxMigrationRunnerManifests without storage.objects.delete`,
      ]);
      await expect(uploadManifest(`gs://${staging}`, sets, where, w.g.endpoint)).rejects.toMatchObject({ code: 'MANIFEST_UPLOAD_FAILED', message: expect.stringContaining('storage.objects.delete') });
      const ready = await readiness(w, await planAsRunner(w));
      expect(ready.report.blockers.find((b) => b.code === 'BUCKET_NOT_WRITABLE')).toMatchObject({ priority: 'P2', title: expect.stringMatching(/^this identity wrote manifests\/_bqx_readiness\/probe-\d+\.txt in gs:\/\/bqx-ml-staging but cannot delete it/) });
    } finally {
      await w.close();
    }
  });

  test('with any one permission of the table removed: readiness NO-GO naming it, apply refused before any change', async () => {
    requireStackGrants();
    const w = await world();
    try {
      const { engine, double } = w.h;
      const plan = await planAsRunner(w);
      // The RUNBOOK's order: readiness, the paper run, readiness again. The paper run (as the
      // runner, with every grant) creates the ledger tables, so the runner dataset can be asked too.
      const paper = await applyPlan(engine, plan, policy, { mode: 'paper', requiredPermissions: runnerRequiredPermissions(), now: () => NOW });
      expect(paper.summary.status).toBe('OK');
      const again = await readiness(w, plan);
      expect(again.report.verdict).toBe('GO');
      expect(again.report.checks.find((c) => c.id === 'infrastructure.iam.runner-dataset')).toMatchObject({ status: 'pass', detail: expect.stringContaining('Granted 7/7') });

      const required = requiredRunnerPermissions();
      const cases = PERMISSION_SCOPES.flatMap((scope) => required[scope].map((permission) => ({ scope, permission })));
      expect(cases.length).toBe(19);
      const table = catalogue(w);
      const masked: string[] = [];
      for (const { scope, permission } of cases) {
        const label = `${permission} on the ${scope}`;
        const restore = w.iam.snapshot();
        try {
          const changed = w.iam.withoutPermission(RUNNER, resourceOf(scope), permission);
          expect({ label, changed: changed.length > 0 }).toEqual({ label, changed: true });
          if (w.iam.has([RUNNER], permission, resourceOf(scope))) {
            // Still held through the project's grant (IAM inheritance): testIamPermissions rightly
            // says granted, so readiness cannot and does not name it; the permission must go from
            // the project role too before the runner lacks it on this scope.
            masked.push(label);
            const out = await readiness(w, plan);
            expect(out.report.blockers.filter((b) => b.code === 'PERMISSION_MISSING' && b.title.includes(`${permission} `))).toEqual([]);
            w.iam.withoutPermission(RUNNER, resourceOf('project'), permission);
            expect(w.iam.has([RUNNER], permission, resourceOf(scope))).toBe(false);
          }
          const writesBefore = writes(w).length;
          const out = await readiness(w, plan);
          expect({ label, verdict: out.report.verdict }).toEqual({ label, verdict: 'NO-GO' });
          const named = out.report.blockers.filter((b) => b.code === 'PERMISSION_MISSING' && b.priority === 'P0' && b.title.startsWith(`the runner lacks ${permission} on `) && b.title.includes(`(${scope})`));
          expect({ label, named: named.map((b) => b.title) }).toEqual({ label, named: [`the runner lacks ${permission} on ${scope === 'project' ? `project ${PROJECT}` : `dataset ${PROJECT}:${targets[scope]}`} (${scope}), needed by ${stepsNeeding(permission, scope).join(', ')}`] });

          const refused = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, requiredPermissions: runnerRequiredPermissions(), now: () => NOW }).then(
            () => null,
            (e: unknown) => e,
          );
          expect(refused).toBeInstanceOf(RunRefused);
          expect({ label, code: (refused as RunRefused).code, status: (refused as RunRefused).summary.status }).toEqual({ label, code: 'PERMISSION_MISSING', status: 'REFUSED' });
          expect((refused as RunRefused).message).toContain(`${permission} on `);
          expect({ label, writes: writes(w).length - writesBefore }).toEqual({ label, writes: 0 });
          expect(catalogue(w)).toBe(table);
        } finally {
          restore();
        }
      }
      // Nothing is held through the project any more (no project-wide table metadata): no grant masks another.
      expect(masked).toEqual([]);
      // Nothing in this world was ever changed by a statement (the paper run changes nothing either).
      expect(double.applied.length).toBe(0);
    } finally {
      await w.close();
    }
  });

  test('every verb that touches BigQuery, as the runner with the stacks\' grants: apply, verify, reconcile, rollback, unlock each pass their preflight and run OK, asking nothing beyond their share of the table', async () => {
    requireStackGrants();
    const w = await world();
    try {
      const plan = await planAsRunner(w);
      const runs = await lifecycle(w, plan, (verb) => runnerRequiredPermissions(verb), coveringPrefix(plan));
      expect(runs.map((r) => `${r.verb}: ${r.outcome}`)).toEqual(RUNNER_VERBS.map((v) => `${v}: OK`));
      for (const r of runs) {
        expect({ verb: r.verb, denied: r.asked.filter((a) => !a.granted).map((a) => `${a.permission} (${a.kind})`) }).toEqual({ verb: r.verb, denied: [] });
        expect(new Set(r.asked.map((a) => a.principal))).toEqual(new Set([RUNNER]));
        // What the double asked (from Google's pages), scope by scope, is within what the verb's preflight asks.
        const share = verbActions(r.verb);
        const beyond = r.asked.filter((a) => {
          const scope = scopeOf(a.resource);
          return scope === null || !permissionsFor(scope, share).includes(a.permission);
        });
        expect({ verb: r.verb, beyond: [...new Set(beyond.map((a) => `${a.permission} on ${JSON.stringify(a.resource)} (${a.kind})`))] }).toEqual({ verb: r.verb, beyond: [] });
      }
      // Every permission of the table is asked, on its own scope, by some verb's request (the needs of
      // Google's pages): take any one from the table and the stacks stop granting it, so this run
      // meets a denial and this test fails. Nothing else is asked.
      const asked = (scope: PermissionScope) => [...new Set(runs.flatMap((r) => r.asked).filter((a) => scopeOf(a.resource) === scope).map((a) => a.permission))].sort();
      for (const scope of PERMISSION_SCOPES) expect({ scope, asked: asked(scope) }).toEqual({ scope, asked: permissionsFor(scope) });
      // Rollback listed the backups with tables.list on the runner dataset: granted there, not through the project.
      expect(runs.find((r) => r.verb === 'rollback')!.asked.some((a) => a.permission === 'bigquery.tables.list' && scopeOf(a.resource) === 'runnerDataset')).toBe(true);
    } finally {
      await w.close();
    }
  }, 300_000);

  test('the table\'s own example: without bigquery.tables.createSnapshot in the table (so neither the stacks nor the preflight hold it), the apply stops on CREATE SNAPSHOT TABLE, denied by the double', async () => {
    requireStackGrants();
    const w = await world();
    try {
      const plan = await planAsRunner(w);
      const [scope, permission] = ['featureDataset', 'bigquery.tables.createSnapshot'] as const;
      w.iam.withoutPermission(RUNNER, resourceOf(scope), permission);
      const without = (verb: RunnerVerb) => runnerRequiredPermissions(verb).filter((r) => !(r.scope === scope && r.permission === permission));
      const runs = await lifecycle(w, plan, without, coveringPrefix(plan));
      expect(runs.map((r) => r.verb)).toEqual(['apply']);
      expect(runs[0].outcome).not.toBe('OK');
      expect([...new Set(runs[0].asked.filter((a) => !a.granted).map((a) => `${a.permission} (${a.kind})`))]).toEqual([`${permission} (CREATE_SNAPSHOT_TABLE)`]);
    } finally {
      await w.close();
    }
  });
});
