/**
 * A whole apply run (core/execute/apply.ts, core/execute/batch.ts) over an in-memory engine: the
 * preflight refusals and what a paper run says instead, which operations a run takes, batches and
 * their validation, the halt and the pipelining barrier, the run's status, drift and the freeze
 * after repeated halts. Through applyPlan only, so the tests hold whatever the batches' internals.
 * The DuckDB suites (apply-cycle, pipelined-halt, validation-barrier, halt-freeze) run the same
 * paths on a real warehouse.
 */
import { applyPlan, RunRefused } from '../../core/execute/apply';
import { batchesOf } from '../../core/execute/batch';
import { lockNameFor } from '../../core/execute/lock';
import { loadPolicy } from '../../core/policy';
import type { Plan, PlanOperation } from '../../core/plan/types';
import type { RunSummary } from '../../core/report/summary';
import type { PermissionScope, RequiredPermission, Step } from '../../core/ports/engine';
import { compatView, operation, planOf, RunEngine, table } from './operation-fakes';

const policy = loadPolicy();
const TIB = 2 ** 40;

/** One RENAME t<i> -> t<i>_new per entry, in the batch the entry names, and a table kept as it is (batch 0). */
function world(batches: readonly number[], parallel = 1, estimatedBytes = 0): { plan: Plan; engine: RunEngine; ops: PlanOperation[] } {
  const renamed = batches.map((_, i) => table(`t${i}`));
  const tables = [...renamed, table('kept')];
  const ops = renamed.map((t, i) => operation('RENAME', [t], { target: `${t.name}_new`, batch: batches[i], estimatedBytes }));
  const plan = planOf(tables, ops);
  const engine = new RunEngine(tables);
  engine.maxParallelOperations = parallel;
  return { plan, engine, ops: plan.operations.filter((o) => o.action === 'RENAME') };
}

const apply = (engine: RunEngine, plan: Plan, opts: Partial<Parameters<typeof applyPlan>[3]> = {}) =>
  applyPlan(engine.asEngine(), plan, policy, { mode: 'real', approve: plan.planHash, ...opts }).then((r) => r.summary);

const outcomes = (s: RunSummary) => s.results.filter((r) => r.action !== 'KEEP').map((r) => `${r.sources[0]} ${r.outcome} ${r.reason}`);

/** The batch of each step the engine ran, in the order they started. */
const ranBatches = (engine: RunEngine, plan: Plan) => engine.ran.map((x) => plan.operations.find((o) => x.opts.jobId.includes(`_${o.id}_s`))!.batch);

test('batches in order, operations in seq order within each', () => {
  const a = operation('RENAME', [table('a')], { batch: 2, seq: 1 });
  const b = operation('RENAME', [table('b')], { batch: 1, seq: 3 });
  const c = operation('RENAME', [table('c')], { batch: 1, seq: 2 });
  const d = operation('KEEP', [table('d')], { batch: 0, seq: 4, target: null });
  expect(batchesOf({ operations: [a, b, c, d] } as unknown as Plan).map(([n, ops]) => [n, ops.map((o) => o.sources[0])])).toEqual([
    [0, ['d']],
    [1, ['c', 'b']],
    [2, ['a']],
  ]);
});

describe('a real run', () => {
  test('applies every batch, validates each, holds the lock, and records START and END', async () => {
    const { plan, engine } = world([1, 1, 2]);
    const s = await apply(engine, plan);
    expect(s.status).toBe('OK');
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK', 't2 APPLIED OK']);
    expect(s.validation.batches.map((b) => [b.batch, b.checks, b.passed])).toEqual([
      [0, 0, 0],
      [1, 6, 6],
      [2, 3, 3],
    ]);
    expect(engine.ledger.runRecords.map((r) => [r.mode, r.event, r.status])).toEqual([
      ['apply', 'START', null],
      ['apply', 'END', 'OK'],
    ]);
    expect(engine.ledger.lock.map((e) => e.event)).toEqual(['ACQUIRE', 'RELEASE']);
    expect(engine.ledger.lock[0].lockName).toBe(lockNameFor('d'));
    // Records that are not changes (the KEEPs) are written once per batch, as SKIPPED.
    expect(engine.ledger.written.filter((r) => r.state === 'SKIPPED').map((r) => r.reason)).toEqual(['NOTHING_TO_DO']);
  });

  test('--max-operations takes the first N pending operations; the rest wait for a later run', async () => {
    const { plan, engine } = world([1, 1, 2], 1, TIB);
    const s = await apply(engine, plan, { maxOperations: 2 });
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK', 't2 SKIPPED NOT_IN_THIS_RUN']);
    expect(s.estimatedBytes).toBe(2 * TIB);
    expect(s.estimatedCostUsd).toBeCloseTo(12.5);
    const none = world([1]);
    expect(outcomes(await apply(none.engine, none.plan, { maxOperations: -1 }))).toEqual(['t0 SKIPPED NOT_IN_THIS_RUN']);
  });

  test('a failed operation leaves the run INCOMPLETE; its batch is still validated', async () => {
    const { plan, engine } = world([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    // One rename fails (1 of 11, under the 10% halt ratio); the other ten apply.
    engine.onRun = (step) => {
      if (step.kind === 'RENAME_TABLE' && step.from === 't4') throw new Error('quota');
    };
    const s = await apply(engine, plan);
    expect(s.byOutcome).toMatchObject({ FAILED: 1, APPLIED: 10 });
    expect(s.halt).toBeNull();
    expect(s.status).toBe('INCOMPLETE');
  });
});

describe('the halt', () => {
  test('a batch that lost rows halts a serial run before the next batch starts', async () => {
    const { plan, engine } = world([1, 1, 2, 3]);
    engine.rowCounts.set('t1_new', 9);
    const s = await apply(engine, plan);
    expect(s.status).toBe('HALTED');
    expect(s.halt).toEqual({ batch: 1, why: 'rows lost or not covered; validation score 0.833 < 1' });
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK', 't2 SKIPPED RUN_HALTED', 't3 SKIPPED RUN_HALTED']);
    expect(engine.ledger.runRecords.at(-1)?.status).toBe('HALTED');
    expect(s.validation.failures.map((c) => c.check)).toEqual(['t1_new row count']);
  });

  test('a changed schema halts; so does a failure ratio at the policy limit', async () => {
    const schema = world([1, 2]);
    // Right after the rename, the target loses a column (as if someone altered it).
    schema.engine.onRun = (step) => {
      if (step.kind === 'RENAME_TABLE' && step.from === 't0') queueMicrotask(() => schema.engine.tables.set('t0_new', table('t0_new', { columns: [{ name: 'x', type: 'INT64' }] })));
    };
    const s = await apply(schema.engine, schema.plan);
    expect(s.halt?.why).toBe('a schema changed; validation score 0.667 < 1');

    // 1 of 10 failed: exactly the 10% limit.
    const ratio = world([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    ratio.engine.onRun = (step) => {
      if (step.kind === 'RENAME_TABLE' && step.from === 't3') throw new Error('quota');
    };
    const r = await apply(ratio.engine, ratio.plan);
    expect(r.halt).toEqual({ batch: 1, why: '1 of 10 operations failed (≥ 10%)' });
    expect(outcomes(r).at(-1)).toBe('t10 SKIPPED RUN_HALTED');
  });

  test('a paper run reports what would halt a real run and goes on', async () => {
    const t0 = table('t0');
    const t1 = table('t1');
    const op0 = operation('RENAME', [t0], { target: 't0_new', batch: 1 });
    const op1 = operation('RENAME', [t1], { target: 't1_new', batch: 2 });
    // The view reads a column its target does not have: the simulated view's schema differs.
    const plan = planOf([t0, t1], [op0, op1], [compatView(op0, 't0', { columns: [{ name: 'interval_time', column: 'interval_time' }, { name: 'val', column: 'nope' }] })]);
    const engine = new RunEngine([t0, t1]);
    const s = await apply(engine, plan, { mode: 'paper' });
    expect(s.status).toBe('OK');
    expect(s.halt).toBeNull();
    // Batch 2's rename has no view for its old name: a failed check, but no schema change.
    expect(s.warnings).toEqual(['batch 1 would halt a real run: a schema changed; validation score 0.500 < 1', 'batch 2 would halt a real run: validation score 0.500 < 1']);
    expect(outcomes(s)).toEqual(['t0 PAPER WOULD_APPLY', 't1 PAPER WOULD_APPLY']);
    expect(engine.ran).toEqual([]);
    expect(engine.ledger.lock).toEqual([]);
  });

  test('a second halt since the last clear freezes the runner', async () => {
    const first = world([1, 2]);
    first.engine.rowCounts.set('t0_new', 1);
    expect((await apply(first.engine, first.plan)).status).toBe('HALTED');
    expect(first.engine.ledger.lock.map((e) => e.event)).toEqual(['ACQUIRE', 'RELEASE']);
    // The same runner halts again (its ledger keeps the first halt).
    const { plan, engine } = world([1, 2]);
    engine.ledger.runRecords.push(...first.engine.ledger.runRecords);
    engine.rowCounts.set('t0_new', 1);
    const s = await apply(engine, plan);
    expect(engine.ledger.lock.map((e) => e.event)).toEqual(['ACQUIRE', 'FREEZE', 'RELEASE']);
    expect(engine.ledger.lock[1].detail).toBe(`2 validation halts since the last clear; last: run ${s.runId}, batch 1: rows lost or not covered; validation score 0.667 < 1`);
    expect(s.warnings).toContain('the runner is now frozen after 2 halts; a person must run `bqx unlock --clear-freeze`');
  });
});

describe('a parallel engine: batches pipelined behind a barrier', () => {
  /** Holds the validation reads of batch `held` until released; records which batches start steps meanwhile. */
  function holding(batches: number[], held: number) {
    const w = world(batches, 4);
    const targets = new Set(w.ops.filter((o) => o.batch === held).map((o) => o.target as string));
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let holdingNow = false;
    const startedWhileHeld: number[] = [];
    const rowCount = w.engine.rowCount.bind(w.engine);
    w.engine.rowCount = async (n: string) => {
      if (targets.has(n)) {
        holdingNow = true;
        await released;
        holdingNow = false;
      }
      return rowCount(n);
    };
    const onRun = (step: Step) => {
      if (holdingNow && step.kind === 'RENAME_TABLE') startedWhileHeld.push(w.plan.operations.find((o) => o.sources[0] === step.from)!.batch);
    };
    w.engine.onRun = onRun;
    return { ...w, release, startedWhileHeld, isHolding: () => holdingNow };
  }

  test('batch N+1 runs while batch N is validated; batch N+2 waits for it', async () => {
    const h = holding([1, 1, 2, 2, 3, 3], 1);
    const run = apply(h.engine, h.plan);
    // Give the run every chance to start batch 3 while batch 1 is held.
    for (let i = 0; i < 50 && !(h.isHolding() && h.engine.ran.length >= 4); i++) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 20));
    expect(h.isHolding()).toBe(true);
    expect(ranBatches(h.engine, h.plan)).toEqual([1, 1, 2, 2]);
    h.release();
    const s = await run;
    expect(s.status).toBe('OK');
    expect(ranBatches(h.engine, h.plan)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(s.validation.batches.map((b) => b.batch)).toEqual([0, 1, 2, 3]);
  });

  test('a halt in batch N stops the run before batch N+2', async () => {
    const { plan, engine } = world([1, 2, 3, 4], 4);
    engine.rowCounts.set('t0_new', 1);
    const s = await apply(engine, plan);
    expect(s.halt?.batch).toBe(1);
    expect(ranBatches(engine, plan).filter((b) => b >= 3)).toEqual([]);
    expect(outcomes(s).slice(2)).toEqual(['t2 SKIPPED RUN_HALTED', 't3 SKIPPED RUN_HALTED']);
  });

  test('a ledger that cannot be written stops every queued operation and fails the run', async () => {
    const { plan, engine } = world([1, 2, 3, 4], 4);
    engine.ledger.flush = async () => {
      throw new Error('No space left on device');
    };
    await expect(apply(engine, plan)).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE' });
    expect(ranBatches(engine, plan).filter((b) => b >= 3)).toEqual([]);
    expect(engine.ledger.runRecords.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END FAILED']);
    expect(engine.ledger.lock.map((e) => e.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });
});

test('a validation read that fails is a failed check (and halts), not the end of the run', async () => {
  const { plan, engine } = world([1, 2], 4);
  const getTable = engine.getTable.bind(engine);
  engine.getTable = async (n: string) => {
    if (n === 't0_new' && engine.ran.length > 0) throw new Error('backend unavailable');
    return getTable(n);
  };
  const s = await apply(engine, plan);
  expect(s.validation.failures[0]).toMatchObject({ check: 'target t0_new exists', ok: false, detail: 'backend unavailable' });
  expect(s.status).toBe('HALTED');
});

describe('preflight: refusals before the first write, warnings in a paper run', () => {
  const nothingWritten = (engine: RunEngine) => {
    expect(engine.ledger.inits).toBe(0);
    expect(engine.ledger.runRecords).toEqual([]);
    expect(engine.ledger.lock).toEqual([]);
    expect(engine.ledger.written).toEqual([]);
    expect(engine.ran).toEqual([]);
  };
  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RunRefused);
    return e as RunRefused;
  };

  test('a changed catalogue', async () => {
    const { plan, engine } = world([1]);
    engine.tables.set('t0', table('t0', { rowCount: 11 }));
    const e = await refusal(apply(engine, plan));
    expect(e.code).toBe('CATALOGUE_CHANGED');
    expect(e.summary.status).toBe('REFUSED');
    nothingWritten(engine);
    const paper = await apply(engine, plan, { mode: 'paper' });
    expect(paper.warnings[0]).toMatch(/^preflight \(CATALOGUE_CHANGED\): plan plan was made from catalogue/);
  });

  test('once the plan may have changed the warehouse, the catalogue is no longer compared', async () => {
    const { plan, engine } = world([1, 1]);
    const first = await apply(engine, plan, { maxOperations: 1 });
    expect(first.status).toBe('OK');
    const s = await apply(engine, plan);
    expect(outcomes(s)).toEqual(['t0 SKIPPED_ALREADY_APPLIED ALREADY_APPLIED', 't1 APPLIED OK']);
    expect(s.status).toBe('OK');
  });

  test('approval, budget and dataset expiration, the first refusing and the others listed', async () => {
    const dedupeTables = [table('t0'), table('dup')];
    const dd = operation('DEDUPE', [dedupeTables[1]], { target: 't0', twin: { table: 't0', rows: 10, hash: 'h' }, batch: 1 });
    const p = planOf(dedupeTables, [dd]);
    const e2 = new RunEngine(dedupeTables);
    e2.datasetExpirationMs = 1000;
    e2.estimated = 10 * TIB;
    const e = await refusal(apply(e2, p, { approve: undefined }));
    expect(e.code).toBe('APPROVAL_MISSING');
    expect(e.summary.warnings).toEqual([expect.stringMatching(/budget/), expect.stringMatching(/expiration/)]);
    nothingWritten(e2);
    const paper = await apply(e2, p, { mode: 'paper', approve: undefined });
    expect(paper.warnings.map((w) => w.split(')')[0])).toEqual(['preflight (APPROVAL_MISSING', 'preflight (OVER_BUDGET', 'preflight (DATASET_EXPIRATION']);
    // --budget-usd replaces the policy's budget ($15).
    const big = world([1], 1, 2.5 * TIB);
    await expect(apply(big.engine, big.plan)).rejects.toMatchObject({ code: 'OVER_BUDGET' });
    await expect(apply(big.engine, big.plan, { budgetUsd: 16 })).resolves.toMatchObject({ status: 'OK' });
  });

  describe('permissions', () => {
    const need: RequiredPermission[] = [
      { scope: 'project', permission: 'bigquery.jobs.create', neededBy: ['every step'] },
      { scope: 'featureDataset', permission: 'bigquery.tables.update', neededBy: ['RENAME'] },
      { scope: 'runnerDataset', permission: 'bigquery.tables.create', neededBy: ['ledger'] },
    ];
    function asking(granted: string[], untested: string[] = []) {
      const w = world([1]);
      const asked: [PermissionScope, readonly string[], string | undefined][] = [];
      Object.assign(w.engine, {
        testPermissions: async (scope: PermissionScope, permissions: readonly string[], o?: { table?: string }) => {
          asked.push([scope, permissions, o?.table]);
          return { resource: `${scope} r`, granted, untested: permissions.filter((p) => untested.includes(p)), how: 'testIamPermissions' };
        },
      });
      return { ...w, asked };
    }

    test('a missing permission refuses a real run before anything else is read', async () => {
      const { plan, engine, asked } = asking(['bigquery.jobs.create', 'bigquery.tables.create']);
      const e = await refusal(apply(engine, plan, { requiredPermissions: need }));
      expect(e.code).toBe('PERMISSION_MISSING');
      expect(e.message).toBe('the runner lacks 1 permission(s) the run needs: bigquery.tables.update on featureDataset r (featureDataset; needed by RENAME)');
      expect(asked.map((a) => a[2])).toEqual(['t0', 't0', 't0']);
      expect(engine.calls).not.toContain('listTables');
      nothingWritten(engine);
      const paper = await apply(engine, plan, { requiredPermissions: need, mode: 'paper' });
      expect(paper.warnings).toContain('preflight (PERMISSION_MISSING): the runner lacks 1 permission(s) the run needs: bigquery.tables.update on featureDataset r (featureDataset; needed by RENAME)');
    });

    test('permissions that could not be asked are a warning; the run goes on', async () => {
      const { plan, engine } = asking(need.map((n) => n.permission), ['bigquery.tables.create']);
      const s = await apply(engine, plan, { requiredPermissions: need });
      expect(s.status).toBe('OK');
      expect(s.warnings).toContain('preflight: permissions not asked before the run (the first batch finds them): bigquery.tables.create on runnerDataset r; (runnerDataset r: testIamPermissions)');
    });
  });
});

describe("the run's status", () => {
  test('a signal: INTERRUPTED, with why and when', async () => {
    const { plan, engine } = world([1, 1, 2]);
    const ac = new AbortController();
    engine.onRun = () => ac.abort('SIGTERM');
    const at = new Date('2026-12-01T12:00:00.000Z');
    const s = await apply(engine, plan, { signal: ac.signal, now: () => at });
    expect(s.status).toBe('INTERRUPTED');
    expect(s.interruption).toEqual({ reason: 'SIGTERM', at: at.toISOString() });
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 SKIPPED RUN_INTERRUPTED', 't2 SKIPPED RUN_INTERRUPTED']);
  });

  test('operations the ledger records as applied must still show: one that does not is DRIFT, named', async () => {
    const { plan, engine } = world([1, 1]);
    await apply(engine, plan);
    // Someone renames t0_new back behind the runner's back.
    engine.tables.set('t0', table('t0'));
    engine.tables.delete('t0_new');
    const s = await apply(engine, plan);
    expect(s.status).toBe('DRIFT');
    expect(s.differences).toEqual(['t0_new: MISSING (expected TABLE (post-apply))']);
    expect(s.warnings.at(-1)).toMatch(/^1 table\(s\) or view\(s\) of operations the ledger records as applied are no longer as the apply left them \(skipped, not redone\): .+; run `bqx verify` and `bqx reconcile` with this plan to see all of it$/);
    // The same with nothing gone: OK.
    const again = world([1]);
    await apply(again.engine, again.plan);
    expect((await apply(again.engine, again.plan)).status).toBe('OK');
  });

  test('more than ten drifted names are cut with an ellipsis', async () => {
    const { plan, engine } = world(Array.from({ length: 11 }, () => 1));
    await apply(engine, plan);
    for (let i = 0; i < 11; i++) {
      engine.tables.set(`t${i}`, table(`t${i}`));
      engine.tables.delete(`t${i}_new`);
    }
    const s = await apply(engine, plan);
    expect(s.differences).toHaveLength(11);
    expect(s.warnings.at(-1)).toContain('; …; run `bqx verify`');
  });
});

test('a rename with a compatibility view: the view is created after the rename and validated with it', async () => {
  const t = table('t0');
  const op = operation('RENAME', [t], { target: 't0_new', batch: 1 });
  const plan = planOf([t], [op], [compatView(op, 't0')]);
  const engine = new RunEngine([t]);
  const s = await apply(engine, plan);
  expect(s.status).toBe('OK');
  expect(engine.ran.map((x) => x.step.kind)).toEqual(['RENAME_TABLE', 'CREATE_VIEW']);
  expect(s.validation.batches.find((b) => b.batch === 1)?.checks).toBe(6);
});

describe("a batch's operations", () => {
  /** Delays the steps of renames from these tables by `ms` of real time. */
  const slow = (engine: RunEngine, from: readonly string[], ms = 30) => {
    const run = engine.run.bind(engine);
    engine.run = async (step, o) => {
      if (step.kind === 'RENAME_TABLE' && from.includes(step.from)) await new Promise((r) => setTimeout(r, ms));
      return run(step, o);
    };
  };

  test('results in seq order however the operations finish; progress names each, and ends', async () => {
    const { plan, engine } = world([1, 1, 1], 4);
    slow(engine, ['t0']);
    const updates: string[] = [];
    let done = 0;
    const s = await apply(engine, plan, { progress: { update: (d, of, label) => updates.push(`${d}/${of} ${label}`), done: () => done++ } });
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK', 't2 APPLIED OK']);
    expect(updates).toEqual(['1/4 SKIPPED KEEP kept', '2/4 APPLIED RENAME t1', '3/4 APPLIED RENAME t2', '4/4 APPLIED RENAME t0']);
    expect(done).toBe(1);
  });

  test('an operation waits for the operation it depends on, even beside it in the batch', async () => {
    const tables = [table('t0'), table('t1')];
    const first = operation('RENAME', [tables[0]], { target: 't0_new', batch: 1 });
    const second = operation('RENAME', [tables[1]], { target: 't1_new', batch: 1, after: [first.id] });
    const plan = planOf(tables, [first, second]);
    const engine = new RunEngine(tables);
    engine.maxParallelOperations = 4;
    slow(engine, ['t0']);
    const s = await apply(engine, plan);
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 't1 APPLIED OK']);
    expect(engine.ran.map((x) => x.step.kind === 'RENAME_TABLE' && x.step.from)).toEqual(['t0', 't1']);
  });

  test('on a parallel engine, an operation on a name an earlier batch still changes waits for it', async () => {
    const t0 = table('t0');
    const dup = table('dup');
    const rename = operation('RENAME', [t0], { target: 'canon', batch: 1 });
    const dedupe = operation('DEDUPE', [dup], { target: 'canon', batch: 2, twin: { table: 'canon', rows: 10, hash: 'h' } });
    const plan = planOf([t0, dup], [rename, dedupe]);
    const engine = new RunEngine([t0, dup]);
    engine.maxParallelOperations = 4;
    engine.fingerprints.set('canon', { rows: 10, hash: 'h' });
    engine.fingerprints.set('dup', { rows: 10, hash: 'h' });
    slow(engine, ['t0'], 50);
    const s = await apply(engine, plan);
    expect(outcomes(s)).toEqual(['t0 APPLIED OK', 'dup APPLIED OK']);
  });

  test('gates and idle outcomes are recorded once per batch; changes as they happen', async () => {
    const { plan, engine } = world([1, 1]);
    await apply(engine, plan, { maxOperations: 1 });
    // Another writer takes t1's target before the next run (which no longer compares catalogues).
    engine.tables.set('t1_new', table('t1_new'));
    const appended: string[] = [];
    const append = engine.ledger.append.bind(engine.ledger);
    engine.ledger.append = async (recs) => {
      appended.push(recs.map((r) => `${r.state}:${r.reason}`).join(','));
      return append(recs);
    };
    const s = await apply(engine, plan);
    expect(outcomes(s)).toEqual(['t0 SKIPPED_ALREADY_APPLIED ALREADY_APPLIED', 't1 REJECTED TARGET_EXISTS']);
    expect(appended).toEqual(['SKIPPED:NOTHING_TO_DO', 'SKIPPED_ALREADY_APPLIED:ALREADY_APPLIED,REJECTED:TARGET_EXISTS']);
    expect(engine.ledger.written.at(-1)).toMatchObject({ state: 'REJECTED', reason: 'TARGET_EXISTS', detail: 'TARGET_FREE: t1_new already exists (TABLE)', attempt: 1 });
  });

  test("DEDUPE gates' fingerprints are read for the whole batch in one bulk read", async () => {
    const tables = [table('c0'), table('d0'), table('c1'), table('d1')];
    const ops = [0, 1].map((i) => operation('DEDUPE', [tables[2 * i + 1]], { target: `c${i}`, batch: 1, twin: { table: `c${i}`, rows: 10, hash: `h${i}` } }));
    const plan = planOf(tables, ops);
    const engine = new RunEngine(tables);
    const bulk: string[][] = [];
    Object.assign(engine, {
      readMany: async (req: { fingerprints: string[] }) => {
        bulk.push(req.fingerprints);
        const fp = new Map(req.fingerprints.map((n) => [n, { rows: 10, hash: `h${n.slice(1)}` }]));
        return { rowCounts: new Map(), fingerprints: fp, probes: new Map(), tables: undefined };
      },
    });
    const s = await apply(engine, plan);
    expect(outcomes(s)).toEqual(['d0 APPLIED OK', 'd1 APPLIED OK']);
    expect(bulk[0]).toEqual(['d0', 'c0', 'd1', 'c1']);
    expect(engine.calls.filter((c) => c.startsWith('fingerprint '))).toEqual([]);
  });
});
