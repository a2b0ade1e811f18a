/**
 * The pipelining barrier of a parallel engine's run: batch N+2 enters the queue only after batch N
 * is validated (core/execute/apply.ts). Batch 1's validation read is held open here while batch 2
 * runs to its end; no step of batch 3 may start until it is released. Without the barrier, batch 3
 * takes the slots batch 1 and 2 free and starts while batch 1 is still unvalidated.
 *
 * The engine is the real DuckDB engine with its parallelism hint raised to 4, its one transaction
 * per operation hidden (as BigQuery has none), its `run` observed and its `readMany` held.
 */
import { applyPlan } from '../../core/execute/apply';
import { computePlanHash } from '../../core/plan/hash';
import { isActionable, type Plan } from '../../core/plan/types';
import type { Engine, ReadRequest, RunOptions, Step } from '../../core/ports/engine';
import { exitOf, freshWarehouse, openAt, policy, removeTempDirs } from './support';

const PARALLEL = 4;
const BATCH = 20;
/** How long the held validation stays open after batch 2 ended, for a wrongly entered batch 3 to show. */
const SETTLE_MS = 500;

/** The plan with its actionable operations re-batched by BATCH, in order. */
function rebatched(base: Plan): Plan {
  const actionable = base.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.seq - b.seq);
  const batchOf = new Map(actionable.map((o, i) => [o.id, Math.floor(i / BATCH) + 1]));
  const plan: Plan = { ...base, operations: base.operations.map((o) => ({ ...o, batch: batchOf.get(o.id) ?? o.batch })) };
  return { ...plan, planHash: computePlanHash(plan) };
}

/** A fresh warehouse, its engine and the re-batched plan, with the lookups both tests use. */
async function rebatchedRun() {
  const w = await freshWarehouse();
  const real = await openAt(w.database);
  const plan = rebatched(w.plan);
  const batchOf = new Map(plan.operations.map((o) => [o.id, o.batch]));
  const actionableIn = (b: number) => plan.operations.filter((o) => o.batch === b && isActionable(o.action)).map((o) => o.id);
  const opOfJob = (o: RunOptions) => plan.operations.find((op) => o.jobId.includes(`_${op.id}_s`))!.id;
  return { real, plan, batchOf, actionableIn, opOfJob };
}

afterAll(() => removeTempDirs());

test('while batch 1 is being validated, batch 2 runs to its end and no step of batch 3 starts', async () => {
  const { real, plan, batchOf, actionableIn, opOfJob } = await rebatchedRun();
  expect(actionableIn(3).length).toBeGreaterThan(0);
  const batchOfJob = (o: RunOptions) => batchOf.get(opOfJob(o))!;

  const ended = new Set<string>();
  const startedBatches: number[] = [];
  let holding = false;
  const startedWhileHeld: number[] = [];
  let batch2EndedWhileHeld = false;
  let inFlight = 0;
  let wake: () => void = () => undefined;
  const realReadMany = real.readMany!.bind(real);
  let validationReads = 0;

  const engine: Engine = Object.create(real, {
    maxParallelOperations: { value: PARALLEL },
    atomically: { value: undefined },
    readMany: {
      value: async (req: ReadRequest) => {
        // Validation reads name tables (the DEDUPE fingerprint prefetch does not); the first is batch 1's.
        if (req.tables && validationReads++ === 0) {
          holding = true;
          await new Promise<void>((done) => {
            wake = () => {
              if (inFlight === 0 && actionableIn(2).every((id) => ended.has(id))) {
                batch2EndedWhileHeld = true;
                wake = () => undefined;
                setTimeout(done, SETTLE_MS);
              }
            };
            wake();
          });
          holding = false;
        }
        return realReadMany(req);
      },
    },
    run: {
      value: async (step: Step, o: RunOptions) => {
        const batch = batchOfJob(o);
        startedBatches.push(batch);
        if (holding) startedWhileHeld.push(batch);
        inFlight += 1;
        try {
          return await real.run(step, o);
        } finally {
          inFlight -= 1;
          ended.add(opOfJob(o));
          // Checked after the executor has had a turn to start the operation's next step.
          setImmediate(() => wake());
        }
      },
    },
  });
  try {
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(exitOf(r.summary)).toBe(0);
    expect(batch2EndedWhileHeld).toBe(true);
    // Batch 2 ran while batch 1 was held (the pipeline), batch 3 did not (the barrier).
    expect(startedWhileHeld).toContain(2);
    expect(startedWhileHeld.filter((b) => b >= 3)).toEqual([]);
    // Batch 3 did run once batch 1 was validated.
    expect(startedBatches).toContain(3);
    expect(r.summary.byOutcome.APPLIED).toBe(plan.operations.filter((o) => isActionable(o.action)).length);
  } finally {
    await real.close();
  }
});

test("a batch's records are made durable while it is validated; the batch two after it waits for both", async () => {
  const { real, plan, batchOf, actionableIn, opOfJob } = await rebatchedRun();

  const ended = new Set<string>();
  /** The batch whose flush is held (the first batch found complete when a flush is asked), or null. */
  let heldBatch: number | null = null;
  let release: () => void = () => undefined;
  const wake = () => {
    if (heldBatch !== null && validationReadsWhileHeld > 0 && actionableIn(heldBatch + 1).every((id) => ended.has(id))) {
      release();
      release = () => undefined;
    }
  };
  const startedWhileHeld: number[] = [];
  let validationReadsWhileHeld = 0;
  const realLedger = real.ledger;
  let flushes = 0;
  let held = false;
  let heldWhich = 0;
  // Only the executor's own flush calls are held (the ledger's internal ones go to it directly).
  const heldFlush = async () => {
    flushes++;
    const complete = [1, 2, 3].find((b) => actionableIn(b).every((id) => ended.has(id)));
    if (!held && complete !== undefined) {
      held = true;
      heldBatch = complete;
      heldWhich = complete;
      // Held until the validation has read and the next batch has ended, then long enough for a
      // wrongly entered batch to start (or at most 10 s).
      await new Promise<void>((done) => {
        release = () => setTimeout(done, SETTLE_MS);
        setTimeout(done, 10_000);
        wake();
      });
      heldBatch = null;
    }
    return realLedger.flush();
  };
  const ledger = new Proxy(realLedger, { get: (t, k) => (k === 'flush' ? heldFlush : (t as unknown as Record<string | symbol, unknown> & object)[k] instanceof Function ? ((t as unknown as Record<string | symbol, (...a: unknown[]) => unknown>)[k]).bind(t) : (t as unknown as Record<string | symbol, unknown>)[k]) });
  const realReadMany = real.readMany!.bind(real);
  const engine: Engine = Object.create(real, {
    maxParallelOperations: { value: PARALLEL },
    atomically: { value: undefined },
    ledger: { value: ledger },
    readMany: {
      value: async (req: ReadRequest) => {
        if (req.tables && heldBatch !== null) {
          validationReadsWhileHeld++;
          setImmediate(wake);
        }
        return realReadMany(req);
      },
    },
    run: {
      value: async (step: Step, o: RunOptions) => {
        if (heldBatch !== null) startedWhileHeld.push(batchOf.get(opOfJob(o))!);
        try {
          return await real.run(step, o);
        } finally {
          ended.add(opOfJob(o));
          setImmediate(wake);
        }
      },
    },
  });
  try {
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    expect(exitOf(r.summary)).toBe(0);
    expect(heldBatch).toBeNull();
    expect(flushes).toBeGreaterThan(1);
    // The validation of the held batch read the warehouse while its records were not yet durable…
    expect(validationReadsWhileHeld).toBeGreaterThan(0);
    // …and no step of a batch two or more after it started until they were.
    expect(heldWhich).toBe(1);
    expect(startedWhileHeld.filter((b) => b >= 3)).toEqual([]);
    expect(r.summary.byOutcome.APPLIED).toBe(plan.operations.filter((o) => isActionable(o.action)).length);
  } finally {
    await real.close();
  }
});
