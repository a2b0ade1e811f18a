/**
 * Pipelined batches on an engine that runs operations in parallel: operations of batch N+1 take
 * free slots while batch N's slowest operation still runs (a batch no longer waits for its
 * straggler), but batch N+2 starts only after batch N is validated, so a halt found in batch N
 * lets only the operations of N+1 that had already started finish, and N+2 never starts.
 *
 * The engine is the real DuckDB engine with its parallelism hint raised to 4 and its `run` wrapped
 * to observe (and hold) steps (and its one transaction per operation hidden, as BigQuery has none); which operation a step belongs to is read from its job id.
 */
import { applyPlan } from '../../core/execute/apply';
import { computePlanHash } from '../../core/plan/hash';
import { isActionable, type Plan } from '../../core/plan/types';
import type { Engine, RunOptions, Step } from '../../core/ports/engine';
import { exitOf, freshWarehouse, openAt, policy, removeTempDirs } from './support';

const PARALLEL = 4;
const BATCH = 30;

/** The small plan re-batched by 30; with `halting`, one rename of batch 1 gets its view's columns reversed. */
function rebatched(base: Plan, halting: boolean): { plan: Plan; bad: string | null } {
  const p = JSON.parse(JSON.stringify(base)) as { operations: any[]; views: any[]; planHash: string };
  const actionable = p.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.seq - b.seq);
  actionable.forEach((o, i) => (o.batch = Math.floor(i / BATCH) + 1));
  let bad: string | null = null;
  if (halting) {
    const op = actionable.filter((o) => o.batch === 1 && o.action === 'RENAME' && p.views.some((v) => v.operationId === o.id && v.columns.length > 2))[1];
    const view = p.views.find((v) => v.operationId === op.id);
    view.columns = [...view.columns].reverse();
    bad = op.id;
  }
  p.planHash = computePlanHash(p);
  return { plan: p as unknown as Plan, bad };
}

interface Event {
  readonly op: string;
  readonly batch: number;
  readonly what: 'start' | 'end';
}

/** Resolves when `ready()` holds (checked at every step event) or after `ms`, with which one it was. */
function waitFor(ready: () => boolean, ms: number, poke: Set<() => void>): Promise<'ready' | 'timeout'> {
  return new Promise((resolve) => {
    if (ready()) return resolve('ready');
    const t = setTimeout(() => done('timeout'), ms);
    const check = () => ready() && done('ready');
    const done = (how: 'ready' | 'timeout') => {
      clearTimeout(t);
      poke.delete(check);
      resolve(how);
    };
    poke.add(check);
  });
}

async function run(halting: boolean) {
  const w = await freshWarehouse();
  const real = await openAt(w.database);
  const { plan, bad } = rebatched(w.plan, halting);
  const batchOf = new Map(plan.operations.map((o) => [o.id, o.batch]));
  const ofJob = (o: RunOptions) => plan.operations.find((op) => o.jobId.includes(`_${op.id}_s`))!.id;
  const events: Event[] = [];
  const pokes = new Set<() => void>();
  const poke = () => [...pokes].forEach((f) => f());
  const started = (batch: number) => new Set(events.filter((e) => e.batch === batch && e.what === 'start').map((e) => e.op)).size;
  // Batch 1's straggler: its first step waits until three operations of batch 2 have started.
  const straggler = plan.operations.filter((o) => o.batch === 1 && o.id !== bad).sort((a, b) => a.seq - b.seq)[0].id;
  let stragglerWait: 'ready' | 'timeout' | null = null;
  // With a halt: batch 2's operations past the first three hold their first step until batch 1 has
  // been validated (the validation reads, then time for the scoring), so every slot is busy when
  // the halt is found and the rest of batch 2 is still queued.
  let validated1 = false;
  const realReadMany = real.readMany!.bind(real);
  const engine: Engine = Object.create(real, {
    maxParallelOperations: { value: PARALLEL },
    // Operations side by side, step by step, as on BigQuery: the embedded engine's one transaction
    // per operation would hold every other operation behind the straggler.
    atomically: { value: undefined },
    readMany: {
      value: async (req: Parameters<NonNullable<Engine['readMany']>>[0]) => {
        const out = await realReadMany(req);
        if (!validated1) setTimeout(() => ((validated1 = true), poke()), 300);
        return out;
      },
    },
    run: {
      value: async (step: Step, o: RunOptions) => {
        const op = ofJob(o);
        const batch = batchOf.get(op)!;
        const first = !events.some((e) => e.op === op);
        events.push({ op, batch, what: 'start' });
        poke();
        if (first && op === straggler) stragglerWait = await waitFor(() => started(2) >= 3, 10_000, pokes);
        if (first && halting && batch === 2 && started(2) > 3) await waitFor(() => validated1, 10_000, pokes);
        try {
          return await real.run(step, o);
        } finally {
          events.push({ op, batch, what: 'end' });
          poke();
        }
      },
    },
  });
  try {
    const r = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
    return { r, plan, events, straggler, stragglerWait, batchOf };
  } finally {
    await real.close();
  }
}

afterAll(() => removeTempDirs());

test('sliding window: batch 2 fills free slots while batch 1 waits for its straggler; batch N+2 never starts before batch N ended', async () => {
  const { r, plan, events, straggler, stragglerWait } = await run(false);
  expect(exitOf(r.summary)).toBe(0);
  expect(r.summary.byOutcome.APPLIED).toBe(plan.operations.filter((o) => isActionable(o.action)).length);
  // The straggler was released by batch 2's progress, not by a timeout: batch 2 did not wait for it.
  expect(stragglerWait).toBe('ready');
  const at = (pred: (e: Event) => boolean) => events.findIndex(pred);
  const stragglerEnd = events.length - 1 - [...events].reverse().findIndex((e) => e.op === straggler && e.what === 'end');
  expect(at((e) => e.batch === 2 && e.what === 'start')).toBeLessThan(stragglerEnd);
  // The window: no step of batch N+2 before the last step of batch N ended (its validation comes after).
  const batches = [...new Set(events.map((e) => e.batch))].sort((a, b) => a - b);
  expect(batches.length).toBeGreaterThanOrEqual(4);
  for (const b of batches.filter((x) => x >= 3)) {
    const lastOfEarlier = Math.max(...events.map((e, i) => (e.batch === b - 2 ? i : -1)));
    expect(at((e) => e.batch === b)).toBeGreaterThan(lastOfEarlier);
  }
});

test('a halt found in batch 1 lets only the batch-2 operations already started finish; batch 3 never starts', async () => {
  const { r, plan, events, stragglerWait, batchOf } = await run(true);
  expect(exitOf(r.summary)).toBe(4);
  expect(r.summary.halt?.batch).toBe(1);
  expect(stragglerWait).toBe('ready');
  const ran = (batch: number) => new Set(events.filter((e) => e.batch === batch).map((e) => e.op));
  const outcome = (batch: number, o: string, reason?: string) =>
    new Set(r.summary.results.filter((x) => batchOf.get(x.operationId) === batch && x.outcome === o && (!reason || x.reason === reason)).map((x) => x.operationId));
  // Three started while batch 1 ran, and then at most the slots held when the halt was found:
  // every one of them finished.
  const batch2 = plan.operations.filter((o) => o.batch === 2).length;
  expect(ran(2).size).toBeGreaterThanOrEqual(PARALLEL);
  expect(ran(2).size).toBeLessThanOrEqual(3 + PARALLEL);
  expect(outcome(2, 'APPLIED')).toEqual(ran(2));
  // Every other operation of batch 2 was stopped before it started.
  expect(outcome(2, 'SKIPPED', 'RUN_HALTED').size).toBe(batch2 - ran(2).size);
  expect(batch2 - ran(2).size).toBeGreaterThan(BATCH / 2);
  // Nothing of batch 3 or later ever reached the engine; all of it is recorded halted.
  const later = plan.operations.filter((o) => o.batch >= 3 && isActionable(o.action));
  expect(later.length).toBeGreaterThan(0);
  expect(events.filter((e) => e.batch >= 3)).toEqual([]);
  expect(later.filter((o) => !r.summary.results.some((x) => x.operationId === o.id && x.reason === 'RUN_HALTED'))).toEqual([]);
});
