/**
 * Validation on the BigQuery engine from metadata where metadata proves the same thing, against
 * the REST double: every check still exists and still fails when the warehouse says so.
 *
 * - A renamed table's rows and schema come from tables.get (numRows, schema), not a COUNT(*) job;
 *   an unfiltered compatibility view's rows from its target's numRows, its resolution and columns
 *   from a dry run (which resolves the view against its tables as they are now).
 * - A dedupe twin's content check is answered by the gate's own fingerprint read while tables.get
 *   shows the twin unchanged since (same creation and last-modified time, size and schema, no
 *   streaming buffer); a twin changed after the gate is read again, and the check fails.
 * - A read whose size metadata bounds within the byte cap runs without a dry run; above it, it is
 *   refused before any job; and should the metadata be stale, BigQuery itself refuses the job
 *   (maximumBytesBilled) before it runs.
 * - Reads issued together run as one job; each answer is the single read's, and a failing read
 *   makes each run alone with its own answer or error.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { applyPlan } from '../../core/execute/apply';
import { viewsByOperation } from '../../core/execute/steps';
import { prefetched, validateOperation, validationReads } from '../../core/execute/validate';
import { verifyPlan } from '../../core/execute/verify';
import { isActionable, type Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import type { Engine, Step } from '../../core/ports/engine';
import { runOutcome } from '../../core/report/summary';
import { openBigQueryEngine } from '../../engines/bigquery/engine';
import { realClock } from '../../engines/bigquery/limits';
import { planWarehouse } from '../../app/plan';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { GRACE_START } from '../../testing/bigquery/phase4c';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { openHarness, type Harness } from './support/open';

const policy = loadPolicy();
const F = FEATURES_DATASET;

/** Jobs (not dry runs) the double received from `from` on, with their labels and statements. */
const jobsSince = (d: BigQueryDouble, from: number) => d.inserts.slice(from).filter((i) => !i.dryRun);
/** How many fingerprint reads those jobs carried (alone or fused). */
const fingerprintReads = (d: BigQueryDouble, from: number, table?: string) =>
  jobsSince(d, from).reduce((n, j) => n + [...j.sql.matchAll(/FARM_FINGERPRINT\(TO_JSON_STRING\(t\)\) AS fp FROM `[^`]+\.([^`.]+)` AS t/g)].filter((m) => !table || m[1] === table).length, 0);

describe('a planned and applied small catalogue', () => {
  let h: Harness;
  let plan: Plan;

  beforeEach(async () => {
    h = await openHarness((d) => seedDouble(d, 'small', { withRunnerDataset: true }));
    plan = await planWarehouse(h.engine, policy, GRACE_START);
  });
  afterEach(() => h.close());

  test('apply validates every operation without a COUNT(*) or a second fingerprint read, and the checks are those of single reads', async () => {
    const from = h.double.inserts.length;
    const r = await applyPlan(h.engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(runOutcome(r.summary)).toBe('OK');
    expect(r.summary.validation.failures).toEqual([]);
    const dedupes = plan.operations.filter((o) => o.action === 'DEDUPE');
    expect(dedupes.length).toBeGreaterThan(0);
    // The gates read source and twin; validation reuses the twin's (unchanged) read.
    expect(fingerprintReads(h.double, from)).toBe(2 * dedupes.length);
    expect(jobsSince(h.double, from).filter((j) => /^SELECT COUNT\(\*\) AS row_count FROM `[^`]+`$/.test(j.sql))).toEqual([]);

    // The same checks, with the same verdicts and details, as reading each one alone (no readMany).
    const views = viewsByOperation(plan);
    const applied = plan.operations.filter((o) => isActionable(o.action));
    const reader = await prefetched(h.engine, applied.map((op) => validationReads(op, views.get(op.id) ?? [])));
    const alone: Engine = Object.create(h.engine, { readMany: { value: undefined } });
    const none = new Map();
    for (const op of applied) {
      const fromMetadata = await validateOperation(reader, op, views.get(op.id) ?? [], none);
      const single = await validateOperation(alone, op, views.get(op.id) ?? [], none);
      expect(fromMetadata).toEqual(single);
      expect(fromMetadata.length).toBeGreaterThan(0);
    }
  });

  test('a renamed table whose metadata row count changed fails its rows check and its view\'s, read from tables.get', async () => {
    expect(runOutcome((await applyPlan(h.engine, plan, policy, { mode: 'real', approve: plan.planHash })).summary)).toBe('OK');
    const rename = plan.operations.find((o) => o.action === 'RENAME' && plan.views.some((v) => v.operationId === o.id && !v.filter))!;
    const t = h.double.table(F, rename.target!)!;
    h.double.write(F, rename.target!, { numRows: t.numRows + 7 });
    const from = h.double.inserts.length;
    const v = await verifyPlan(h.engine, plan, {});
    const failed = v.summary.validation.failures.filter((c) => c.operationId === rename.id).map((c) => c.check);
    // The operation's two checks (from tables.get), and verify's comparison with the plan (listing).
    expect(failed).toEqual([`${rename.target} rows+schema`, `view ${rename.sources[0]} rows+schema`, `${rename.target} as the plan expects`]);
    expect(runOutcome(v.summary)).toBe('DRIFT');
    expect(jobsSince(h.double, from).filter((j) => j.sql.includes(`.${rename.target}\``) && /COUNT\(\*\)/.test(j.sql))).toEqual([]);
  });

  test('a view whose target lost a column no longer resolves (dry run) and fails', async () => {
    expect(runOutcome((await applyPlan(h.engine, plan, policy, { mode: 'real', approve: plan.planHash })).summary)).toBe('OK');
    const view = plan.views.find((x) => !x.filter && x.columns.length > 2)!;
    const target = h.double.table(F, view.target)!;
    h.double.write(F, view.target, { columns: target.columns.filter((c) => c.name !== view.columns[1].column) });
    const v = await verifyPlan(h.engine, plan, {});
    const failed = v.summary.validation.failures.filter((c) => c.operationId === view.operationId);
    expect(failed.map((c) => c.check)).toContain(`view ${view.name} resolves`);
    expect(failed.find((c) => c.check === `view ${view.name} resolves`)!.detail).toMatch(/does not resolve: invalidQuery: Unrecognized name/);
  });

  test('a twin written to after its gate read is fingerprinted again, fails its content check, and the run halts', async () => {
    const dedupes = plan.operations.filter((o) => o.action === 'DEDUPE');
    const dedupe = dedupes.find((o) => dedupes.filter((x) => x.target === o.target).length === 1)!;
    const twin = dedupe.target!;
    const real = h.engine;
    // Someone writes to the twin right after the dedupe dropped its source (after the gate's read).
    const engine: Engine = Object.create(real, {
      run: {
        value: async (step: Step, opts: Parameters<Engine['run']>[1]) => {
          const out = await real.run(step, opts);
          if (step.kind === 'DROP_TABLE' && step.name === dedupe.sources[0]) h.double.write(F, twin, { contentKey: 'someone else wrote here' });
          return out;
        },
      },
    });
    const from = h.double.inserts.length;
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(r.summary.status).toBe('HALTED');
    const failed = r.summary.validation.failures.map((c) => [c.operationId, c.check]);
    expect(failed).toEqual([[dedupe.id, `twin ${twin} content`]]);
    expect(r.summary.halt?.batch).toBe(dedupe.batch);
    // Gate (source and twin) and the validation's new read of the changed twin.
    expect(fingerprintReads(h.double, from, twin)).toBe(2);
  });
});

describe('reads, the byte cap and fused jobs', () => {
  let h: Harness;
  const cols = [
    { name: 'interval_time', type: 'TIMESTAMP' },
    { name: 'x', type: 'FLOAT' },
  ];
  beforeEach(async () => {
    h = await openHarness((d) => {
      d.addDataset(F);
      d.addDataset(RUNNER_DATASET);
      d.addTable({ dataset: F, name: 'a', columns: cols, numRows: 5, numBytes: 1 << 20, contentKey: 'same' });
      d.addTable({ dataset: F, name: 'b', columns: cols, numRows: 5, numBytes: 2 << 20, contentKey: 'same' });
      d.addTable({ dataset: F, name: 'c', columns: cols, numRows: 9, numBytes: 3 << 20, contentKey: 'other' });
    });
  });
  afterEach(() => h.close());

  const small = (cap: number) =>
    openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: F, runnerDataset: RUNNER_DATASET, apiEndpoint: h.double.endpoint }, { clock: h.clock, readByteCap: cap });

  test('a read the metadata bounds within the cap runs without a dry run; one above it is refused before any job', async () => {
    const dry = h.double.counters.dryRuns;
    expect(await h.engine.nullCounts('c', ['x'])).toEqual({ x: 0 });
    expect((await h.engine.contentFingerprint('c')).rows).toBe(9);
    expect(h.double.counters.dryRuns).toBe(dry);
    const capped = await small(2 << 20);
    const inserts = h.double.counters.inserts;
    await expect(capped.contentFingerprint('c')).rejects.toThrow(`fingerprint would read ${3 << 20} bytes, above the cap of ${2 << 20}`);
    // Tables bigger than the cap together: the dry run says what the read scans, and it is refused.
    await expect(capped.coverage('a', ['b', 'c'], 'interval_time')).rejects.toThrow(/coverage would read \d+ bytes, above the cap/);
    expect(h.double.counters.inserts).toBe(inserts);
    await capped.close();
  });

  test('metadata that is out of date does not let a read above the cap run: BigQuery refuses it (maximumBytesBilled), nothing billed', async () => {
    const capped = await small(20 << 20);
    expect(await capped.getTable('c')).not.toBeNull(); // the engine now knows c as 3 MiB
    h.double.write(F, 'c', { numBytes: 30 << 20 });
    await expect(capped.nullCounts('c', ['x'])).rejects.toThrow(/bytesBilledLimitExceeded: Query exceeded limit for bytes billed: 20971520/);
    const refused = [...h.double.jobs.values()].filter((j) => j.error?.reason === 'bytesBilledLimitExceeded');
    expect(refused.map((j) => j.bytes)).toEqual([0]);
    await capped.close();
  });

  test('fingerprints asked together share one job and each gets its single read\'s answer; a failing one makes each run alone', async () => {
    // On the real clock: the metadata the single reads leave stays fresh (METADATA_TTL_MS) for the
    // reads issued together. On the harness's 1000x clock it goes stale after 30 ms of real time,
    // and on a loaded machine the re-read of it splits the reads across event-loop turns.
    const e = await openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: F, runnerDataset: RUNNER_DATASET, apiEndpoint: h.double.endpoint }, { clock: realClock });
    try {
      const alone = [await e.contentFingerprint('a'), await e.contentFingerprint('b'), await e.contentFingerprint('c')];
      const jobs = h.double.jobs.size;
      const together = await Promise.all([e.contentFingerprint('a'), e.contentFingerprint('b'), e.contentFingerprint('c')]);
      expect(together).toEqual(alone);
      expect(alone[0].hash).toBe(alone[1].hash);
      expect(alone[0].hash).not.toBe(alone[2].hash);
      expect([...h.double.jobs.values()].slice(jobs).map((j) => j.labels.bqx_kind)).toEqual(['fused_read']);

      // A table dropped behind the engine's back: the fused job fails, then each read runs alone.
      await e.getTable('b');
      h.double.tables.delete(`${F}.b`);
      const before = h.double.jobs.size;
      const settled = await Promise.allSettled([e.contentFingerprint('a'), e.contentFingerprint('b'), e.nullCounts('c', ['x'])]);
      expect(settled[0]).toEqual({ status: 'fulfilled', value: alone[0] });
      expect(settled[1].status).toBe('rejected');
      expect(String((settled[1] as PromiseRejectedResult).reason)).toMatch(/notFound: Not found: Table bqx-ml:bqx_ml_v3_features_v2\.b/);
      expect(settled[2]).toEqual({ status: 'fulfilled', value: { x: 0 } });
      expect([...h.double.jobs.values()].slice(before).map((j) => j.labels.bqx_kind).sort()).toEqual(['fingerprint', 'fingerprint', 'fused_read', 'null_counts']);
    } finally {
      await e.close();
    }
  });

  test('reads issued apart within the gather window share one job, each with its single read\'s answer; a full group goes at once; without a window each runs alone', async () => {
    const open = (deps: { fuseGatherMs: number; fusedReads?: number }) =>
      openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: F, runnerDataset: RUNNER_DATASET, apiEndpoint: h.double.endpoint }, { clock: realClock, ...deps });
    const kinds = (from: number) => [...h.double.jobs.values()].slice(from).map((j) => j.labels.bqx_kind);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const wide = await open({ fuseGatherMs: 3_000 });
    const none = await open({ fuseGatherMs: 0 });
    const full = await open({ fuseGatherMs: 8_000, fusedReads: 2 });
    try {
      const alone = [await none.contentFingerprint('a'), await none.contentFingerprint('c')];
      await wide.getTable('a');
      await wide.getTable('c');
      let from = h.double.jobs.size;
      const first = wide.contentFingerprint('a');
      await pause(100);
      expect(await Promise.all([first, wide.contentFingerprint('c')])).toEqual(alone);
      expect(kinds(from)).toEqual(['fused_read']);

      from = h.double.jobs.size;
      const one = none.contentFingerprint('a');
      await pause(100);
      expect(await Promise.all([one, none.contentFingerprint('c')])).toEqual(alone);
      expect(kinds(from)).toEqual(['fingerprint', 'fingerprint']);

      // Two reads fill a job of two: it is submitted without waiting out the 8 s window.
      await full.getTable('a');
      await full.getTable('c');
      from = h.double.jobs.size;
      const t0 = Date.now();
      expect(await Promise.all([full.contentFingerprint('a'), full.contentFingerprint('c')])).toEqual(alone);
      expect(Date.now() - t0).toBeLessThan(6_000);
      expect(kinds(from)).toEqual(['fused_read']);
    } finally {
      await Promise.all([wide.close(), none.close(), full.close()]);
    }
  });
});
