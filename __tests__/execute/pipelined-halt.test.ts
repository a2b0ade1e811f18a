/**
 * On an engine that runs operations in parallel, a batch is validated while the next one runs.
 * A halt found in batch N must still stop the run before batch N+2; on a serial engine, before N+1.
 * The engine is the real DuckDB engine; only its parallelism hint is raised for the first case.
 */
import { applyPlan } from '../../core/execute/apply';
import { computePlanHash } from '../../core/plan/hash';
import { isActionable, type Plan } from '../../core/plan/types';
import type { LedgerRecord, LedgerStore, RunRecord } from '../../core/ledger/types';
import type { Engine, ReadRequest, RunOptions, Step } from '../../core/ports/engine';
import { freshWarehouse, openAt, policy, removeTempDirs, exitOf } from './support';

/** The small plan re-batched by 30, with one rename of batch 1 whose view columns are reversed. */
function haltingPlan(base: Plan): Plan {
  const p = JSON.parse(JSON.stringify(base)) as { operations: any[]; views: any[]; planHash: string };
  const actionable = p.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.seq - b.seq);
  actionable.forEach((o, i) => (o.batch = Math.floor(i / 30) + 1));
  const bad = actionable.find((o) => o.batch === 1 && o.action === 'RENAME' && p.views.some((v) => v.operationId === o.id && v.columns.length > 2));
  const view = p.views.find((v) => v.operationId === bad.id);
  view.columns = [...view.columns].reverse();
  p.planHash = computePlanHash(p);
  return p as unknown as Plan;
}

async function run(parallel: number, over: (real: Engine, plan: Plan) => PropertyDescriptorMap = () => ({})): Promise<{ appliedBatches: number[]; haltedBatches: number[]; haltBatch: number | undefined }> {
  const w = await freshWarehouse();
  const real = await openAt(w.database);
  const plan = haltingPlan(w.plan);
  const engine: Engine = parallel > 1 ? Object.create(real, { maxParallelOperations: { value: parallel }, ...over(real, plan) }) : real;
  try {
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(exitOf(r.summary)).toBe(4);
    const batchOf = new Map(plan.operations.map((o) => [o.id, o.batch]));
    const batches = (outcome: string, reason?: string) =>
      [...new Set(r.summary.results.filter((x) => x.outcome === outcome && (!reason || x.reason === reason)).map((x) => batchOf.get(x.operationId) as number))].sort((a, b) => a - b);
    return { appliedBatches: batches('APPLIED'), haltedBatches: batches('SKIPPED', 'RUN_HALTED'), haltBatch: r.summary.halt?.batch };
  } finally {
    await real.close();
  }
}

afterAll(() => removeTempDirs());

test('parallel engine: batch 1 halts while batch 2 runs; batch 2 starts nothing more, nothing after it starts', async () => {
  const r = await run(4);
  expect(r.haltBatch).toBe(1);
  expect(r.appliedBatches[0]).toBe(1);
  expect(Math.max(...r.appliedBatches)).toBeLessThanOrEqual(2);
  expect(r.haltedBatches.filter((b) => b > 2)).toEqual([3, 4, 5]);
});

test('parallel engine with room for every operation: batch 3 enters while batch 1 is validated, and when batch 1 halts it changes nothing', async () => {
  const steps: string[] = [];
  let validations = 0;
  const r = await run(200, (real, plan) => {
    const batchOf = new Map(plan.operations.map((o) => [o.id, o.batch]));
    const realRun = real.run.bind(real);
    const realReadMany = real.readMany!.bind(real);
    return {
      // As on BigQuery: no transaction per operation, so batch 3's operations hold their slots at once.
      atomically: { value: undefined },
      run: {
        value: async (step: Step, o: RunOptions) => {
          steps.push(String(batchOf.get(plan.operations.find((op) => o.jobId.includes(`_${op.id}_s`))!.id)));
          return realRun(step, o);
        },
      },
      // Batch 1's validation takes a second: batch 3 has entered and read its gates meanwhile.
      readMany: {
        value: async (req: ReadRequest) => {
          if (req.tables && validations++ === 0) await new Promise((done) => setTimeout(done, 1_000));
          return realReadMany(req);
        },
      },
    };
  });
  expect(r.haltBatch).toBe(1);
  expect(r.haltedBatches.filter((b) => b > 2)).toEqual([3, 4, 5]);
  expect(Math.max(...r.appliedBatches)).toBeLessThanOrEqual(2);
  expect(steps.filter((b) => Number(b) > 2)).toEqual([]);
});

test('serial engine: batch 1 halts and batch 2 never starts', async () => {
  const r = await run(1);
  expect(r.haltBatch).toBe(1);
  expect(r.appliedBatches).toEqual([1]);
  expect(r.haltedBatches).toEqual([2, 3, 4, 5]);
});

test('parallel engine: the first batches read their gates while START is written, and change and record nothing before it is durable', async () => {
  const seen: string[] = [];
  let startDurable = false;
  await run(200, (real) => {
    const ledger = real.ledger;
    const realRun = real.run.bind(real);
    const realGetTable = real.getTable.bind(real);
    const held: LedgerStore = Object.create(ledger, {
      // START lands 300 ms late.
      appendRun: {
        value: async (r: RunRecord) => {
          if (r.event === 'START') {
            seen.push('START issued');
            await new Promise((done) => setTimeout(done, 300));
          }
          await ledger.appendRun(r);
          if (r.event === 'START') {
            startDurable = true;
            seen.push('START durable');
          }
        },
      },
      append: {
        value: async (recs: readonly LedgerRecord[]) => {
          if (!startDurable) seen.push('record');
          return ledger.append(recs);
        },
      },
    });
    return {
      ledger: { value: held },
      atomically: { value: undefined },
      run: {
        value: async (step: Step, o: RunOptions) => {
          if (!startDurable) seen.push(`step ${step.kind}`);
          return realRun(step, o);
        },
      },
      // As on BigQuery: another writer may act, so each operation reads its names fresh for its gates.
      soleWriter: { value: false },
      getTable: {
        value: async (name: string) => {
          if (seen.includes('START issued') && !startDurable && !seen.includes('gate read')) seen.push('gate read');
          return realGetTable(name);
        },
      },
    };
  });
  // Gates were read while START was in flight; no step, no record before it.
  expect(seen.slice(0, 2)).toEqual(['START issued', 'gate read']);
  expect(seen.slice(seen.indexOf('START durable'))).toEqual(['START durable']);
  expect(seen.filter((s) => s.startsWith('step') || s === 'record')).toEqual([]);
});
