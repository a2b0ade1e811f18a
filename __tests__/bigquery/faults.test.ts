/**
 * The BigQuery engine under the faults a real network and Google's front ends produce, injected by
 * a proxy of the project's own in front of the REST double (testing/bigquery/fault-proxy.ts):
 * 403 rateLimitExceeded, 500/503 before and after the request was acted on, dropped sockets and
 * delays, at 5% and 20% of every request. Each run must end as the fault-free run does: the same
 * catalogue, no statement executed twice, exactly one terminal ledger outcome per operation and
 * run, the lock released, and the outcome (exit code) the fault-free run has.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { applyPlan } from '../../core/execute/apply';
import { foldLock, lockNameFor } from '../../core/execute/lock';
import { rollbackPlan } from '../../core/execute/rollback';
import { verifyPlan } from '../../core/execute/verify';
import { isActionable, type Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { runOutcome } from '../../core/report/summary';
import { openBigQueryEngine, type BigQueryEngine } from '../../engines/bigquery/engine';
import { scaledClock } from '../../engines/bigquery/limits';
import { BigQueryDouble } from '../../testing/bigquery/double';
import { FaultProxy } from '../../testing/bigquery/fault-proxy';
import { GRACE_START } from '../../testing/bigquery/phase4c';
import { planWarehouse } from '../../app/plan';
import { catalogueChanges, datasetState, repeated, terminalCounts } from '../../testing/bigquery/scenario';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';

const policy = loadPolicy();
let plan: Plan;

beforeAll(async () => {
  // Planned by the engine itself against the double (its fingerprints are the double's).
  const w = await world(0, 1);
  try {
    plan = await planWarehouse(w.engine, policy, GRACE_START);
  } finally {
    await w.close();
  }
});

interface World {
  readonly double: BigQueryDouble;
  readonly proxy: FaultProxy;
  readonly engine: BigQueryEngine;
  close(): Promise<void>;
}

async function world(rate: number, seed: number): Promise<World> {
  const clock = scaledClock(2000);
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock });
  seedDouble(double, 'small', { withRunnerDataset: true });
  const target = await double.start();
  const proxy = new FaultProxy({ target, rate, seed });
  const endpoint = await proxy.start();
  const engine = await openBigQueryEngine(
    { engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint },
    { clock, jobs: { backoffBaseMs: 100, backoffCapMs: 2_000, maxAttempts: 12 } },
  );
  return {
    double,
    proxy,
    engine,
    async close() {
      await engine.close().catch(() => undefined);
      await proxy.stop();
      await double.stop();
    },
  };
}

let baseline: { state: ReturnType<typeof datasetState>; changes: string[]; outcome: string };

test('fault-free baseline: the small Phase 4C plan applies through the proxy', async () => {
  const w = await world(0, 1);
  try {
    const r = await applyPlan(w.engine, plan, policy, { mode: 'real', approve: plan.planHash });
    baseline = { state: datasetState(w.double, FEATURES_DATASET), changes: catalogueChanges(w.double, RUNNER_DATASET).sort(), outcome: runOutcome(r.summary) };
    expect(baseline.outcome).toBe('OK');
    expect(r.summary.byOutcome.APPLIED).toBe(plan.operations.filter((o) => isActionable(o.action)).length);
    expect(repeated(baseline.changes)).toEqual([]);
    expect(w.proxy.totalInjected).toBe(0);
  } finally {
    await w.close();
  }
});

describe.each([
  [0.05, 11],
  [0.2, 23],
])('at a %s fault rate (seed %s)', (rate, seed) => {
  test('apply ends as the fault-free run: same catalogue, no statement twice, one outcome per operation, lock released', async () => {
    const w = await world(rate, seed);
    try {
      const r = await applyPlan(w.engine, plan, policy, { mode: 'real', approve: plan.planHash });
      const injected = w.proxy.totalInjected;
      expect(injected).toBeGreaterThan(rate * 100);
      // Every kind of fault was met.
      expect(Object.entries(w.proxy.injected).filter(([, n]) => n === 0)).toEqual([]);
      expect(runOutcome(r.summary)).toBe(baseline.outcome);
      w.proxy.rate = 0;
      expect(datasetState(w.double, FEATURES_DATASET)).toEqual(baseline.state);
      const changes = catalogueChanges(w.double, RUNNER_DATASET);
      expect(repeated(changes)).toEqual([]);
      expect([...changes].sort()).toEqual(baseline.changes);
      // A job id ran at most once in the double, however often the client had to ask.
      expect([...w.double.runsByJobId.values()].filter((n) => n > 1)).toEqual([]);
      const records = await w.engine.ledger.records(plan.planHash);
      expect([...terminalCounts(records).values()].filter((n) => n !== 1)).toEqual([]);
      expect(records.filter((x) => x.state === 'APPLIED').length).toBe(r.summary.byOutcome.APPLIED);
      expect(foldLock(await w.engine.ledger.lockEvents(lockNameFor(FEATURES_DATASET))).holder).toBeNull();
    } finally {
      await w.close();
    }
  });
});

test('verify and rollback under a 20% fault rate: verify passes, rollback restores the pre-apply catalogue exactly', async () => {
  const w = await world(0, 5);
  try {
    const before = datasetState(w.double, FEATURES_DATASET);
    expect(runOutcome((await applyPlan(w.engine, plan, policy, { mode: 'real', approve: plan.planHash })).summary)).toBe('OK');
    w.proxy.rate = 0.2;
    const v = await verifyPlan(w.engine, plan, {});
    expect(v.summary.validation.failures).toEqual([]);
    expect(runOutcome(v.summary)).toBe('OK');
    const rb = await rollbackPlan(w.engine, plan, policy, { approve: plan.planHash });
    expect(w.proxy.totalInjected).toBeGreaterThan(20);
    expect(runOutcome(rb.summary)).toBe('OK');
    expect(rb.restoredExactly).toBe(true);
    w.proxy.rate = 0;
    const after = datasetState(w.double, FEATURES_DATASET);
    expect(after).toEqual(before);
  } finally {
    await w.close();
  }
});
