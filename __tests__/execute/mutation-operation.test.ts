/**
 * One operation of an apply run (core/execute/operation.ts) against an in-memory engine: why it is
 * not run, its gates, its steps with their job ids and ledger records, one terminal outcome, and
 * how an interrupted attempt is recognised and resumed. The DuckDB suites (apply-cycle,
 * atomic-operation, crash) carry the same paths out on a real warehouse.
 */
import { BatchAborted, findRecordlessBackup, record, runOperation } from '../../core/execute/operation';
import { backupNameFor, jobIdFor } from '../../core/execute/ids';
import { TrackedState } from '../../core/execute/warehouse-state';
import type { ValidationCheck } from '../../core/execute/validate';
import type { RunContext } from '../../core/execute/context';
import type { PlanOperation } from '../../core/plan/types';
import { AT, COLS, compatView, consolidation, dedupe, FakeEngine, inTransaction, FakeLock, historyWith, operation, PLAN_HASH, runContext, table, validatesConsolidation, view } from './operation-fakes';

const src = table('src');
const TIB = 2 ** 40;

/** Ledger records as [state, reason, detail, attempt]. */
const recs = (e: FakeEngine) => e.ledger.written.map((r) => [r.state, r.reason, r.detail, r.attempt]);

function rename(): { op: PlanOperation; engine: FakeEngine; ctx: RunContext } {
  const op = operation('RENAME', [src], { target: 'dst' });
  const engine = new FakeEngine([src]);
  const ctx = runContext(engine, [op], { viewsOf: new Map([[op.id, [compatView(op, 'src')]]]) });
  return { op, engine, ctx };
}

/** Gives the engine one transaction per operation: a throw restores its tables and ledger. */
function atomic(engine: FakeEngine): FakeEngine {
  return Object.assign(engine, {
    transactions: 0,
    async atomically<T>(fn: () => Promise<T>): Promise<T> {
      (engine as unknown as { transactions: number }).transactions++;
      return inTransaction(engine, fn);
    },
  });
}

describe('an operation that is not run: one outcome, no step, no record', () => {
  const idle = async (op: PlanOperation, over: Parameters<typeof runContext>[2] = {}) => {
    const engine = new FakeEngine([src]);
    const r = await runOperation(runContext(engine, [op], over), op, []);
    expect(engine.ran).toEqual([]);
    expect(engine.ledger.written).toEqual([]);
    return [r.outcome, r.reason, r.detail];
  };

  test('KEEP and REVIEW', async () => {
    const keep = operation('KEEP', [src], { target: null });
    expect(await idle(keep)).toEqual(['SKIPPED', 'NOTHING_TO_DO', null]);
    expect(await idle(keep, { paper: true })).toEqual(['PAPER', 'NOTHING_TO_DO', null]);
    const review = operation('REVIEW', [src], { target: null, reason: 'AMBIGUOUS_VARIANT' as PlanOperation['reason'] });
    expect(await idle(review)).toEqual(['SKIPPED', 'NEEDS_REVIEW', 'AMBIGUOUS_VARIANT']);
    expect(await idle(review, { paper: true })).toEqual(['PAPER', 'NEEDS_REVIEW', 'AMBIGUOUS_VARIANT']);
  });

  test('already applied, left for a later run, halted, interrupted, lock lost: in that order', async () => {
    const op = operation('RENAME', [src], { target: 'dst' });
    const aborted = new AbortController();
    aborted.abort();
    const lock = new FakeLock();
    lock.lost = 'someone forced the lock';
    const applied = historyWith({ [op.id]: { applied: true } });
    const all = { history: applied, selected: new Set<string>(), halted: true, opts: { signal: aborted.signal }, lock: lock as never };
    expect(await idle(op, all)).toEqual(['SKIPPED_ALREADY_APPLIED', 'ALREADY_APPLIED', null]);
    expect(await idle(op, { ...all, paper: true })).toEqual(['PAPER', 'ALREADY_APPLIED', null]);
    expect(await idle(op, { ...all, history: historyWith() })).toEqual(['SKIPPED', 'NOT_IN_THIS_RUN', null]);
    expect(await idle(op, { ...all, history: historyWith(), selected: new Set([op.id]) })).toEqual(['SKIPPED', 'RUN_HALTED', null]);
    expect(await idle(op, { ...all, history: historyWith(), selected: new Set([op.id]), halted: false })).toEqual(['SKIPPED', 'RUN_INTERRUPTED', null]);
    expect(await idle(op, { lock: lock as never })).toEqual(['SKIPPED', 'LOCK_LOST', 'someone forced the lock']);
    expect(await idle(op, { paper: true, halted: true })).toEqual(['PAPER', 'RUN_HALTED', null]);
  });

  test('a dependency that was not applied', async () => {
    const first = operation('RENAME', [table('first')], { target: 'first_new' });
    const op = operation('RENAME', [src], { target: 'dst', after: [first.id] });
    expect(await idle(op)).toEqual(['REJECTED', 'DEPENDENCY_NOT_APPLIED', `waits for ${first.id}`]);
    expect(await idle(op, { paper: true })).toEqual(['PAPER', 'DEPENDENCY_NOT_APPLIED', `waits for ${first.id}`]);
    const failed = new Map([[first.id, { outcome: 'FAILED' as const, reason: 'STEP_FAILED' }]]);
    expect(await idle(op, { outcomes: failed })).toEqual(['REJECTED', 'DEPENDENCY_NOT_APPLIED', `waits for ${first.id}`]);
    // A paper outcome counts only in a paper run.
    const wouldApply = new Map([[first.id, { outcome: 'PAPER' as const, reason: 'WOULD_APPLY' }]]);
    expect(await idle(op, { outcomes: wouldApply })).toEqual(['REJECTED', 'DEPENDENCY_NOT_APPLIED', `waits for ${first.id}`]);
    const paperRejected = new Map([[first.id, { outcome: 'PAPER' as const, reason: 'TARGET_EXISTS' }]]);
    expect(await idle(op, { paper: true, outcomes: paperRejected })).toEqual(['PAPER', 'DEPENDENCY_NOT_APPLIED', `waits for ${first.id}`]);
  });

  test('a dependency applied in this run, in an earlier one, or (paper) that would apply, lets it run', async () => {
    const first = operation('RENAME', [table('first')], { target: 'first_new' });
    const op = operation('RENAME', [src], { target: 'dst', after: [first.id] });
    const run = async (over: Parameters<typeof runContext>[2]) => (await runOperation(runContext(new FakeEngine([src]), [op], over), op, [])).reason;
    expect(await run({ outcomes: new Map([[first.id, { outcome: 'APPLIED', reason: 'OK' }]]) })).toBe('OK');
    expect(await run({ history: historyWith({ [first.id]: { applied: true } }) })).toBe('OK');
    expect(await run({ paper: true, outcomes: new Map([[first.id, { outcome: 'PAPER', reason: 'WOULD_APPLY' }]]) })).toBe('WOULD_APPLY');
  });
});

describe('a real run of one operation', () => {
  test('steps in order, each with its deterministic job id and the run labels, each recorded; one APPLIED', async () => {
    const { op, engine, ctx } = rename();
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ operationId: op.id, outcome: 'APPLIED', reason: 'OK', detail: null, bytes: 14, rows: 10 });
    expect(engine.ran.map((x) => [x.step.kind, x.opts.jobId, x.opts.labels])).toEqual([
      ['RENAME_TABLE', jobIdFor(PLAN_HASH, op.id, 0, 1), { 'bqx-plan': '0123456789ab', 'bqx-run': 'run_test' }],
      ['CREATE_VIEW', jobIdFor(PLAN_HASH, op.id, 1, 1), { 'bqx-plan': '0123456789ab', 'bqx-run': 'run_test' }],
    ]);
    expect(recs(engine)).toEqual([
      ['STARTED', 'OK', null, 1],
      ['STEP_DONE', 'RENAME_TABLE', 'src>dst', 1],
      ['STEP_DONE', 'CREATE_VIEW', 'src', 1],
      ['APPLIED', 'OK', null, 1],
    ]);
    const step = engine.ledger.written[1];
    expect(step).toMatchObject({ runId: 'run_test', planHash: PLAN_HASH, operationId: op.id, seq: op.seq, action: 'RENAME', jobId: jobIdFor(PLAN_HASH, op.id, 0, 1), bytes: 7, rows: 3, at: AT.toISOString() });
    expect(engine.ledger.written[3]).toMatchObject({ bytes: 14, rows: 10, jobId: null });
    // The source as this run found it, for validation; the tracked state follows the steps.
    expect(ctx.before.get('src')).toEqual(src);
    expect(await ctx.state.get('dst')).toMatchObject({ kind: 'TABLE' });
    expect(await ctx.state.get('src')).toMatchObject({ kind: 'VIEW' });
  });

  test('the next attempt number follows the ledger', async () => {
    const { op, engine, ctx } = rename();
    const c = { ...ctx, history: historyWith({ [op.id]: { attempts: 2 } }) };
    await runOperation(c, op, []);
    expect(engine.ledger.written.map((r) => r.attempt)).toEqual([3, 3, 3, 3]);
    expect(engine.ran[0].opts.jobId).toBe(jobIdFor(PLAN_HASH, op.id, 0, 3));
    expect(record(c, op, 'FAILED', 'X')).toMatchObject({ attempt: 3, state: 'FAILED', reason: 'X', at: AT.toISOString(), runId: 'run_test' });
  });

  test('a refused gate: REJECTED with the gate named, nothing run, nothing recorded, nothing committed', async () => {
    const { op, engine, ctx: base } = rename();
    engine.tables.set('dst', table('dst'));
    const ctx = { ...base, state: new TrackedState(engine.asEngine(), [src, table('dst')]) };
    const statements = [{ sql: 'x', bytes: 0 }];
    ctx.statementsOf.set(op.id, statements as never);
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'REJECTED', reason: 'TARGET_EXISTS', detail: 'TARGET_FREE: dst already exists (TABLE)', statements });
    expect(r.gates?.map((g) => g.gate)).toEqual(['IDENTIFIERS', 'SOURCE_EXISTS', 'TARGET_FREE']);
    expect(engine.ran).toEqual([]);
    expect(engine.ledger.written).toEqual([]);
    expect(ctx.committedUsd).toBe(0);
  });

  test('cost: the run commits each operation it starts, from its previewed bytes; the budget gate counts it', async () => {
    const a = operation('RENAME', [table('a')], { target: 'a2', estimatedBytes: TIB });
    const b = operation('RENAME', [table('b')], { target: 'b2', estimatedBytes: 0 });
    const engine = new FakeEngine([table('a'), table('b')]);
    const ctx = runContext(engine, [a, b], { budgetUsd: 10 });
    ctx.bytesOf.set(b.id, TIB);
    expect((await runOperation(ctx, a, [])).outcome).toBe('APPLIED');
    expect(ctx.committedUsd).toBeCloseTo(6.25);
    const r = await runOperation(ctx, b, []);
    expect(r).toMatchObject({ outcome: 'REJECTED', reason: 'OVER_BUDGET', detail: 'BUDGET: $12.5000 would exceed the budget of $10' });
    expect(ctx.committedUsd).toBeCloseTo(6.25);
  });

  test('approval is the plan hash a person passed', async () => {
    const { op, engine } = dedupe();
    const wrong = await runOperation(runContext(engine, [op], { opts: { approve: 'f'.repeat(64) } }), op, []);
    expect(wrong).toMatchObject({ outcome: 'REJECTED', reason: 'APPROVAL_MISSING' });
    const none = await runOperation(runContext(engine, [op], { opts: { approve: undefined } }), op, []);
    expect(none).toMatchObject({ outcome: 'REJECTED', reason: 'APPROVAL_MISSING' });
    expect(engine.ran).toEqual([]);
    expect((await runOperation(runContext(engine, [op]), op, [])).outcome).toBe('APPLIED');
  });

  test("a drop is issued only after its backup's record is durable", async () => {
    const { op, engine } = dedupe();
    const settledBeforeDrop: number[] = [];
    engine.onRun = (step) => {
      if (step.kind === 'DROP_TABLE') settledBeforeDrop.push(engine.ledger.settles);
    };
    await runOperation(runContext(engine, [op]), op, []);
    expect(settledBeforeDrop).toEqual([1]);
    // Settled when the backup's record (STARTED, STEP_DONE BACKUP) had been appended.
    expect(engine.ledger.settledAt).toEqual([2]);
    expect(recs(engine)[1]).toEqual(['STEP_DONE', 'BACKUP_TABLE', `dup>${backupNameFor(op.id, 'dup', 1)}`, 1]);
  });

  test("a consolidation backs up every source first, then settles once: each drop comes after every backup's record is durable", async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    const engine = validatesConsolidation(new FakeEngine([table('a'), table('a_copy'), table('b')]), op);
    const atDrop: [string, number][] = [];
    engine.onRun = (step) => {
      if (step.kind === 'DROP_TABLE') atDrop.push([step.name, engine.ledger.settles]);
    };
    expect((await runOperation(runContext(engine, [op]), op, [])).outcome).toBe('APPLIED');
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['CONSOLIDATE', 'BACKUP_TABLE', 'BACKUP_TABLE', 'BACKUP_TABLE', 'DROP_TABLE', 'DROP_TABLE', 'DROP_TABLE']);
    expect(atDrop).toEqual([
      ['a', 1],
      ['a_copy', 1],
      ['b', 1],
    ]);
    // The one settle came when the three backups' records had been appended (after STARTED,
    // CONSOLIDATE and VALIDATE_CONSOLIDATION), before any drop's.
    expect(engine.ledger.settledAt).toEqual([6]);
    expect(recs(engine).slice(3, 6).map((x) => `${x[1]} ${x[2]}`)).toEqual(['a', 'a_copy', 'b'].map((t) => `BACKUP_TABLE ${t}>${backupNameFor(op.id, t, 1)}`));
  });

  test("on an engine that runs jobs side by side, a consolidation's backups run together, then its drops together after one settle", async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    const engine = validatesConsolidation(new FakeEngine([table('a'), table('a_copy'), table('b')]), op);
    engine.maxParallelOperations = 4;
    const backupsRecorded = () => engine.ledger.written.filter((r) => r.reason === 'BACKUP_TABLE').length;
    const dropsRecorded = () => engine.ledger.written.filter((r) => r.reason === 'DROP_TABLE').length;
    const atRun: string[] = [];
    engine.onRun = (step) => atRun.push(`${step.kind} ${backupsRecorded()} ${dropsRecorded()} ${engine.ledger.settles}`);
    expect((await runOperation(runContext(engine, [op]), op, [])).outcome).toBe('APPLIED');
    // Every backup issued before any was recorded; every drop after all three records and the one
    // settle, and before any drop was recorded.
    expect(atRun).toEqual(['CONSOLIDATE 0 0 0', 'BACKUP_TABLE 0 0 0', 'BACKUP_TABLE 0 0 0', 'BACKUP_TABLE 0 0 0', 'DROP_TABLE 3 0 1', 'DROP_TABLE 3 0 1', 'DROP_TABLE 3 0 1']);
    expect(engine.ledger.settledAt).toEqual([6]);
    // Each step keeps its own job id (its index in the operation's steps).
    expect(engine.ran.map((x) => x.opts.jobId.split('_').slice(-2).join('_'))).toEqual(['s0_a1', 's2_a1', 's3_a1', 's4_a1', 's5_a1', 's6_a1', 's7_a1']);
  });

  test('of steps run together, one failing is the one FAILED record, and nothing after the group runs', async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    const engine = validatesConsolidation(new FakeEngine([table('a'), table('a_copy'), table('b')]), op);
    engine.maxParallelOperations = 4;
    let backups = 0;
    engine.onRun = (step) => {
      if (step.kind === 'BACKUP_TABLE' && ++backups === 2) engine.failStep.set('BACKUP_TABLE', 'quota');
    };
    const r = await runOperation(runContext(engine, [op]), op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED' });
    expect(engine.ledger.written.filter((x) => x.state === 'FAILED')).toHaveLength(1);
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['CONSOLIDATE', 'BACKUP_TABLE']);
    expect(engine.ledger.written.filter((x) => x.reason === 'BACKUP_TABLE')).toHaveLength(1);
  });

  test('a resumed drop whose backup an earlier attempt recorded does not wait for the ledger', async () => {
    const { op, engine } = dedupe();
    const bk = backupNameFor(op.id, 'dup', 1);
    engine.backups.set(bk, table(bk));
    const history = historyWith({ [op.id]: { attempts: 1, backups: new Map([['dup', bk]]), stepsDone: new Set([`BACKUP_TABLE|dup>${bk}`]) } });
    expect((await runOperation(runContext(engine, [op], { history }), op, [])).outcome).toBe('APPLIED');
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['DROP_TABLE']);
    // Read from the ledger, so durable: nothing of this attempt is waited for.
    expect(engine.ledger.settles).toBe(0);
  });

  test('a failed step: FAILED with the step and the engine message, the bytes spent so far, and the rest not run', async () => {
    const { op, engine, ctx } = rename();
    engine.failStep.set('CREATE_VIEW', 'Catalog Error: view exists');
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED', detail: 'CREATE VIEW src -> dst: Catalog Error: view exists', bytes: 7 });
    expect(recs(engine)).toEqual([
      ['STARTED', 'OK', null, 1],
      ['STEP_DONE', 'RENAME_TABLE', 'src>dst', 1],
      ['FAILED', 'STEP_FAILED', 'CREATE VIEW src -> dst: Catalog Error: view exists', 1],
    ]);
    expect(engine.ledger.written[2].bytes).toBe(7);
  });

  test('a ledger that cannot be written stops the run', async () => {
    const { op, engine, ctx } = rename();
    engine.ledger.failAppend = new Error('No space left on device');
    await expect(runOperation(ctx, op, [])).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE' });
    expect(engine.ran).toEqual([]);
  });

  test('a lock lost between steps: FAILED LOCK_LOST before the next step', async () => {
    const { op, engine, ctx } = rename();
    const lock = new FakeLock();
    engine.onRun = () => (lock.lost = 'lease expired');
    const r = await runOperation({ ...ctx, lock: lock as never }, op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'LOCK_LOST', detail: 'lease expired; stopped before CREATE VIEW src -> dst', bytes: 7 });
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['RENAME_TABLE']);
    // The lease is renewed before every step of an operation that is not one transaction.
    expect(lock.renewals).toBe(2);
  });

  test('a signal stops a multi-step operation at the next step boundary; the next run resumes there', async () => {
    const { op, engine, ctx } = rename();
    const ac = new AbortController();
    engine.onRun = () => ac.abort();
    const r = await runOperation({ ...ctx, opts: { ...ctx.opts, signal: ac.signal } }, op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'INTERRUPTED', detail: 'stopped before CREATE VIEW src -> dst (step 2 of 2); the next run resumes here' });
    expect(recs(engine).at(-1)).toEqual(['FAILED', 'INTERRUPTED', 'stopped before CREATE VIEW src -> dst (step 2 of 2); the next run resumes here', 1]);
  });

  test('a signal that arrives while the gates read: SKIPPED before any step', async () => {
    const { op, engine, ctx } = rename();
    engine.soleWriter = false;
    const ac = new AbortController();
    const getTable = engine.getTable.bind(engine);
    engine.getTable = async (n: string) => {
      ac.abort();
      return getTable(n);
    };
    const r = await runOperation({ ...ctx, opts: { ...ctx.opts, signal: ac.signal } }, op, []);
    expect(r).toMatchObject({ outcome: 'SKIPPED', reason: 'RUN_INTERRUPTED', detail: null });
    expect(r.gates).toHaveLength(7);
    expect(engine.ran).toEqual([]);
    expect(engine.ledger.written).toEqual([]);
  });

  test('gates read the warehouse afresh unless the engine is its sole writer', async () => {
    // The tracked state was read before src appeared (someone else created it since).
    const op = operation('RENAME', [src], { target: 'dst' });
    const shared = new FakeEngine([src]);
    shared.soleWriter = false;
    const stale = (e: FakeEngine) => runContext(e, [op], { state: new TrackedState(e.asEngine(), []) });
    expect(await runOperation(stale(shared), op, [])).toMatchObject({ outcome: 'APPLIED' });
    expect(shared.calls.slice(0, 2)).toEqual(['getTable src', 'getTable dst']);
    const sole = new FakeEngine([src]);
    expect(await runOperation(stale(sole), op, [])).toMatchObject({ outcome: 'REJECTED', reason: 'SOURCE_MISSING' });
    expect(sole.calls.filter((c) => c.startsWith('getTable'))).toEqual([]);
  });

  test('a view name someone else took is seen by the gates when the engine is not the sole writer', async () => {
    const op = operation('RENAME', [src], { target: 'dst' });
    const engine = new FakeEngine([src, table('alias')]);
    engine.soleWriter = false;
    const ctx = runContext(engine, [op], { state: new TrackedState(engine.asEngine(), [src]), viewsOf: new Map([[op.id, [compatView(op, 'alias')]]]) });
    expect(await runOperation(ctx, op, [])).toMatchObject({ outcome: 'REJECTED', reason: 'TARGET_EXISTS', detail: 'TARGET_FREE: view name alias is taken (TABLE)' });
  });

  test('a signal during the STARTED record: the first step still runs; the operation stops at the next boundary', async () => {
    const { op, engine, ctx } = rename();
    const ac = new AbortController();
    const append = engine.ledger.append.bind(engine.ledger);
    engine.ledger.append = async (recs) => {
      if (recs[0]?.state === 'STARTED') ac.abort();
      return append(recs);
    };
    const r = await runOperation({ ...ctx, opts: { ...ctx.opts, signal: ac.signal } }, op, []);
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['RENAME_TABLE']);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'INTERRUPTED', detail: 'stopped before CREATE VIEW src -> dst (step 2 of 2); the next run resumes here' });
  });

  test('a step whose target holds something the plan did not expect: STATE_CONFLICT, nothing issued', async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab');
    const engine = new FakeEngine([table('a'), table('b')]);
    // Appears between the gates and the step: the third read of ab (resume check, gate, step check).
    const ctx = runContext(engine, [op]);
    const get = ctx.state.get.bind(ctx.state);
    let reads = 0;
    (ctx.state as { get: typeof get }).get = async (n) => (n === 'ab' && ++reads > 2 ? table('ab') : get(n));
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'STATE_CONFLICT', detail: expect.stringMatching(/^CONSOLIDATE a \+ b -> ab: ab exists but is not the planned consolidation/) });
    expect(engine.ran).toEqual([]);
  });
});

describe('a consolidation validates before its first drop', () => {
  function setup() {
    const { op } = consolidation(table('a'), table('b'), 'ab');
    return { op, engine: validatesConsolidation(new FakeEngine([table('a'), table('b')]), op) };
  }

  test('passing: recorded, its checks go to the batch, the sources are backed up and dropped', async () => {
    const { op, engine } = setup();
    const checks: ValidationCheck[] = [];
    const r = await runOperation(runContext(engine, [op]), op, checks);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'OK', rows: 20 });
    expect(checks.map((c) => c.check)).toEqual(['coverage', 'equality a', 'null counts a', 'equality b', 'null counts b']);
    expect(recs(engine).map((x) => `${x[0]} ${x[1]} ${x[2]}`)).toEqual([
      'STARTED OK null',
      'STEP_DONE CONSOLIDATE ab',
      'STEP_DONE VALIDATE_CONSOLIDATION ok',
      `STEP_DONE BACKUP_TABLE a>${backupNameFor(op.id, 'a', 1)}`,
      `STEP_DONE BACKUP_TABLE b>${backupNameFor(op.id, 'b', 1)}`,
      'STEP_DONE DROP_TABLE a',
      'STEP_DONE DROP_TABLE b',
      'APPLIED OK null',
    ]);
    // The step index in each job id counts the validation marker too.
    expect(engine.ran.map((x) => x.opts.jobId.split('_').slice(-2).join('_'))).toEqual(['s0_a1', 's2_a1', 's3_a1', 's4_a1', 's5_a1']);
  });

  test('failing: VALIDATION_FAILED naming the first three failed checks; the sources are kept', async () => {
    const { op, engine } = setup();
    engine.coverages.set('ab', { targetKeys: 4, unionKeys: 5, missing: 1, extra: 0 });
    engine.mismatches.set('a', 2);
    engine.mismatches.set('b', 1);
    engine.nulls.set('b', { val: 3, interval_time: 0 });
    const checks: ValidationCheck[] = [];
    const r = await runOperation(runContext(engine, [op]), op, checks);
    expect(r).toMatchObject({
      outcome: 'FAILED',
      reason: 'VALIDATION_FAILED',
      detail: 'coverage: target keys 4, union 5, missing 1, extra 0; equality a: 2 rows of a differ from ab on 2 columns; equality b: 1 rows of b differ from ab on 2 columns',
    });
    expect(checks.filter((c) => !c.ok)).toHaveLength(4);
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['CONSOLIDATE']);
    expect(engine.tables.has('a') && engine.tables.has('b')).toBe(true);
  });
});

describe('an engine that commits each operation as one transaction', () => {
  test('a failure rolls the attempt back and is recorded after, saying so', async () => {
    const { op, engine, ctx } = rename();
    atomic(engine);
    engine.failStep.set('CREATE_VIEW', 'boom');
    const lock = new FakeLock();
    const r = await runOperation({ ...ctx, lock: lock as never }, op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED', detail: 'CREATE VIEW src -> dst: boom', bytes: 7 });
    expect(recs(engine)).toEqual([['FAILED', 'STEP_FAILED', 'CREATE VIEW src -> dst: boom (rolled back: nothing of this attempt remains)', 1]]);
    expect(engine.ledger.written[0].bytes).toBe(7);
    // The tracked state is read again after the rollback: src is back, dst is gone.
    expect(await ctx.state.get('src')).toMatchObject({ kind: 'TABLE' });
    expect(await ctx.state.get('dst')).toBeNull();
    // Renewed once, before the transaction, never inside it.
    expect(lock.renewals).toBe(1);
  });

  test('it commits whole: a signal mid-operation does not stop it', async () => {
    const { op, engine, ctx } = rename();
    atomic(engine);
    const ac = new AbortController();
    engine.onRun = () => ac.abort();
    const r = await runOperation({ ...ctx, opts: { ...ctx.opts, signal: ac.signal } }, op, []);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
    expect((engine as unknown as { transactions: number }).transactions).toBe(1);
  });

  test('an error that is not an operation failure (the ledger) is not swallowed', async () => {
    const { op, engine, ctx } = rename();
    atomic(engine);
    engine.ledger.failAppend = new Error('disk full');
    await expect(runOperation(ctx, op, [])).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE' });
  });

  test('an error that is not a step failure propagates as it is', async () => {
    const { op, engine } = dedupe();
    atomic(engine);
    engine.getBackup = async () => {
      throw new Error('runner dataset unreadable');
    };
    await expect(runOperation(runContext(engine, [op]), op, [])).rejects.toThrow('runner dataset unreadable');
    expect(engine.ledger.written).toEqual([]);
  });

  test('after a rollback the tracked state is read again, views included', async () => {
    const { op, engine, ctx: base } = rename();
    atomic(engine);
    const ctx = { ...base, viewsOf: new Map([[op.id, [compatView(op, 'alias'), compatView(op, 'other')]]]) };
    engine.onRun = (step) => {
      if (step.kind === 'CREATE_VIEW' && step.name === 'other') throw new Error('view failed');
    };
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED', detail: 'CREATE VIEW other -> dst: view failed' });
    expect(engine.tables.has('alias')).toBe(false);
    expect(await ctx.state.get('alias')).toBeNull();
    expect(await ctx.state.get('src')).toMatchObject({ kind: 'TABLE' });
  });

  test('a consolidation that fails validation inside the transaction keeps its sources and records why', async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab');
    const engine = atomic(new FakeEngine([table('a'), table('b')]));
    engine.coverages.set('ab', new Error('coverage failed'));
    const r = await runOperation(runContext(engine, [op]), op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'VALIDATION_FAILED' });
    expect(r.detail).toMatch(/^coverage: coverage failed; equality a: /);
    expect(engine.tables.has('ab')).toBe(false);
    expect(recs(engine)).toHaveLength(1);
    expect(recs(engine)[0][2]).toMatch(/\(rolled back: nothing of this attempt remains\)$/);
  });
});

describe("inside a batch's transaction", () => {
  test('a failure rolls the batch back and leaves the recording of it for later, with what the gates found', async () => {
    const op = operation('RENAME', [src], { target: 'dst', estimatedBytes: 2 ** 40 });
    const engine = atomic(new FakeEngine([src]));
    engine.failStep.set('RENAME_TABLE', 'boom');
    const lock = new FakeLock();
    const ctx = runContext(engine, [op], { inBatchTransaction: true, lock: lock as never });
    const thrown = await runOperation(ctx, op, []).then(
      () => null,
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(BatchAborted);
    const aborted = thrown as BatchAborted;
    expect(aborted.operationId).toBe(op.id);
    expect(aborted.message).toBe(`operation ${op.id} failed inside its batch's transaction`);
    expect(engine.ledger.written).toEqual([]);
    // No lease renewal from inside a transaction.
    expect(lock.renewals).toBe(0);
    // The batch's rollback puts the context back; recording the failure restores what this operation's gates left.
    ctx.before.clear();
    ctx.committedUsd = 0;
    const r = await aborted.recordFailure();
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED', detail: 'RENAME src -> dst: boom' });
    expect(recs(engine)).toEqual([['FAILED', 'STEP_FAILED', 'RENAME src -> dst: boom (rolled back: nothing of this attempt remains)', 1]]);
    expect(ctx.committedUsd).toBeCloseTo(6.25);
    expect(ctx.before.get('src')).toEqual(src);
  });

  test('an operation that succeeds inside the batch is not renewed or recorded differently', async () => {
    const { op, engine, ctx } = rename();
    atomic(engine);
    const lock = new FakeLock();
    const r = await runOperation({ ...ctx, inBatchTransaction: true, lock: lock as never }, op, []);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
    expect(lock.renewals).toBe(0);
    expect(recs(engine).map((x) => x[0])).toEqual(['STARTED', 'STEP_DONE', 'STEP_DONE', 'APPLIED']);
  });
});

describe('a resumed attempt: the warehouse is the evidence', () => {
  test('a rename found done resumes without gates, records the step it finds, and ends RESUMED', async () => {
    const op = operation('RENAME', [src], { target: 'dst' });
    const engine = new FakeEngine([table('dst')]);
    const ctx = runContext(engine, [op], { history: historyWith({ [op.id]: { attempts: 1, open: true } }), viewsOf: new Map([[op.id, [compatView(op, 'src')]]]) });
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'RESUMED' });
    expect(r.gates).toBeUndefined();
    expect(recs(engine)).toEqual([
      ['STARTED', 'RESUMED', 'resuming an interrupted attempt', 2],
      ['STEP_DONE', 'RENAME_TABLE', 'src>dst', 2],
      ['STEP_DONE', 'CREATE_VIEW', 'src', 2],
      ['APPLIED', 'RESUMED', null, 2],
    ]);
    expect(engine.ran.map((x) => [x.step.kind, x.opts.jobId])).toEqual([['CREATE_VIEW', jobIdFor(PLAN_HASH, op.id, 1, 2)]]);
  });

  test('a step the ledger already records is not recorded again', async () => {
    const op = operation('RENAME', [src], { target: 'dst' });
    const engine = new FakeEngine([table('dst')]);
    const ctx = runContext(engine, [op], { history: historyWith({ [op.id]: { attempts: 1, stepsDone: new Set(['RENAME_TABLE|src>dst']) } }) });
    await runOperation(ctx, op, []);
    expect(recs(engine)).toEqual([
      ['STARTED', 'RESUMED', 'resuming an interrupted attempt', 2],
      ['APPLIED', 'RESUMED', null, 2],
    ]);
  });

  test('a source merely gone proves nothing without a record: the gates refuse', async () => {
    const s = table('dup');
    const op = operation('DEDUPE', [s], { target: 'twin' });
    const engine = new FakeEngine([table('twin')]);
    const r = await runOperation(runContext(engine, [op]), op, []);
    expect(r).toMatchObject({ outcome: 'REJECTED', reason: 'SOURCE_MISSING', detail: 'SOURCE_EXISTS: dup does not exist' });
    // A retirement whose view is gone, on a first attempt, likewise.
    const v = view('old');
    const retire = operation('RETIRE_VIEW', [v], { target: 'twin' });
    expect(await runOperation(runContext(engine, [retire]), retire, [])).toMatchObject({ outcome: 'REJECTED', reason: 'SOURCE_MISSING' });
  });

  test('after an attempt with a recorded backup, a source gone is the drop that ran', async () => {
    const s = table('dup');
    const op = operation('DEDUPE', [s], { target: 'twin' });
    const engine = new FakeEngine([table('twin')]);
    const bk = backupNameFor(op.id, 'dup', 1);
    const history = historyWith({ [op.id]: { attempts: 1, backups: new Map([['dup', bk]]), stepsDone: new Set([`BACKUP_TABLE|dup>${bk}`]) } });
    const r = await runOperation(runContext(engine, [op], { history, viewsOf: new Map([[op.id, [compatView(op, 'dup', { target: 'twin' })]]]) }), op, []);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'RESUMED', rows: 0 });
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['CREATE_VIEW']);
    expect(recs(engine).map((x) => `${x[0]} ${x[1]} ${x[2]}`)).toEqual(['STARTED RESUMED resuming an interrupted attempt', 'STEP_DONE DROP_TABLE dup', 'STEP_DONE CREATE_VIEW dup', 'APPLIED RESUMED null']);
  });

  test('a backup alone changed nothing in the dataset: the attempt starts over, through the gates', async () => {
    const { op, engine } = dedupe();
    const bk = backupNameFor(op.id, 'dup', 1);
    engine.backups.set(bk, table(bk));
    const history = historyWith({ [op.id]: { attempts: 1, backups: new Map([['dup', bk]]), stepsDone: new Set([`BACKUP_TABLE|dup>${bk}`]) } });
    const r = await runOperation(runContext(engine, [op], { history }), op, []);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
    expect(recs(engine)[0]).toEqual(['STARTED', 'OK', null, 2]);
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['DROP_TABLE']);
  });

  test("an earlier attempt's validation record alone is no evidence of a change", async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab');
    const engine = validatesConsolidation(new FakeEngine([table('a'), table('b')]), op);
    const history = historyWith({ [op.id]: { attempts: 1, stepsDone: new Set(['VALIDATE_CONSOLIDATION|ok']) } });
    const r = await runOperation(runContext(engine, [op], { history }), op, []);
    expect(recs(engine)[0]).toEqual(['STARTED', 'OK', null, 2]);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
  });

  test("a consolidation this attempt builds again is validated again, whatever an earlier attempt's record says", async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab');
    const engine = validatesConsolidation(new FakeEngine([table('a'), table('b')]), op);
    engine.coverages.set('ab', { targetKeys: 4, unionKeys: 5, missing: 1, extra: 0 });
    const history = historyWith({ [op.id]: { attempts: 1, stepsDone: new Set(['VALIDATE_CONSOLIDATION|ok']) } });
    const r = await runOperation(runContext(engine, [op], { history }), op, []);
    expect(r).toMatchObject({ outcome: 'FAILED', reason: 'VALIDATION_FAILED' });
    expect(engine.ran.map((x) => x.step.kind)).not.toContain('DROP_TABLE');
  });

  test("a view at one of the operation's view names with no record of any attempt is someone else's: the gates refuse it", async () => {
    const op = operation('RENAME', [src], { target: 'dst' });
    const engine = new FakeEngine([src, view('alias')]);
    const r = await runOperation(runContext(engine, [op], { viewsOf: new Map([[op.id, [compatView(op, 'alias')]]]) }), op, []);
    expect(r).toMatchObject({ outcome: 'REJECTED', reason: 'TARGET_EXISTS', detail: 'TARGET_FREE: view name alias is taken (VIEW)' });
    expect(engine.ran).toEqual([]);
  });

  test('a paper run never resumes: it shows the gates of the warehouse as it is', async () => {
    const op = operation('RENAME', [src], { target: 'dst' });
    const engine = new FakeEngine([table('dst')]);
    const r = await runOperation(runContext(engine, [op], { paper: true, history: historyWith({ [op.id]: { attempts: 1, open: true } }) }), op, []);
    expect(r).toMatchObject({ outcome: 'PAPER', reason: 'SOURCE_MISSING' });
  });

  test('a backup taken before a crash that lost its record is reused, not taken again', async () => {
    const { op, engine } = dedupe();
    const earlier = backupNameFor(op.id, 'dup', 1);
    engine.backups.set(earlier, table(earlier));
    const r = await runOperation(runContext(engine, [op], { history: historyWith({ [op.id]: { attempts: 1 } }) }), op, []);
    expect(r).toMatchObject({ outcome: 'APPLIED', reason: 'OK' });
    expect(engine.ran.map((x) => x.step.kind)).toEqual(['DROP_TABLE']);
    expect(recs(engine)[1]).toEqual(['STEP_DONE', 'BACKUP_TABLE', `dup>${earlier}`, 2]);
  });
});

describe('findRecordlessBackup', () => {
  const s = table('dup');
  const op = operation('DEDUPE', [s], { target: 'twin' });
  const name = (a: number) => backupNameFor(op.id, 'dup', a);

  test("this attempt's name first, then earlier ones; it must hold the source as it is now", async () => {
    const engine = new FakeEngine();
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 3, s)).toBeNull();
    expect(engine.calls).toEqual([`getBackup ${name(3)}`, `getBackup ${name(2)}`, `getBackup ${name(1)}`]);
    engine.backups.set(name(1), table(name(1)));
    engine.backups.set(name(2), table(name(2), { rowCount: 3 }));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 3, s)).toBe(name(1));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 3, table('dup', { rowCount: 3 }))).toBe(name(2));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 3, table('dup', { columns: COLS.slice(1) }))).toBeNull();
    engine.backups.set(name(3), table(name(3)));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 3, s)).toBe(name(3));
  });

  test('with the source gone, a backup must hold it as the plan recorded it; a view under the name matches nothing', async () => {
    const engine = new FakeEngine();
    engine.backups.set(name(1), table(name(1), { rowCount: 4 }));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 1, null)).toBeNull();
    engine.backups.set(name(1), table(name(1)));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 1, null)).toBe(name(1));
    expect(await findRecordlessBackup(engine.asEngine(), op, 'dup', 1, view('dup'))).toBeNull();
  });
});

describe('a paper run of one operation', () => {
  test('every gate passes: PAPER WOULD_APPLY with its statements, bytes and rows; the simulation moves on', async () => {
    const { op, engine } = rename();
    const ctx = runContext(engine, [op], { paper: true, viewsOf: new Map([[op.id, [compatView(op, 'src')]]]) });
    ctx.bytesOf.set(op.id, 123);
    ctx.statementsOf.set(op.id, [{ sql: 'ALTER TABLE' }] as never);
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'PAPER', reason: 'WOULD_APPLY', detail: null, bytes: 123, rows: 10, statements: [{ sql: 'ALTER TABLE' }] });
    expect(r.gates).toHaveLength(7);
    expect(engine.ran).toEqual([]);
    expect(engine.ledger.written).toEqual([]);
    expect(await ctx.state.get('dst')).toMatchObject({ kind: 'TABLE' });
    expect(await ctx.state.get('src')).toMatchObject({ kind: 'VIEW' });
  });

  test('every gate is shown, even after one fails', async () => {
    const { op, engine } = rename();
    const ctx = runContext(engine, [op], { paper: true, budgetUsd: 0, datasetExpirationMs: 1 });
    ctx.bytesOf.set(op.id, TIB);
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'PAPER', reason: 'DATASET_EXPIRATION' });
    expect(r.gates?.filter((g) => !g.ok).map((g) => g.gate)).toEqual(['DATASET_EXPIRATION', 'BUDGET']);
  });

  test('a step the simulation cannot apply: PAPER STATE_CONFLICT naming the step', async () => {
    const { op, engine } = rename();
    // The view name is free at the gates but the simulated rename leaves a table under it.
    const ctx = runContext(engine, [op], { paper: true, viewsOf: new Map([[op.id, [compatView(op, 'dst')]]]) });
    const r = await runOperation(ctx, op, []);
    expect(r).toMatchObject({ outcome: 'PAPER', reason: 'STATE_CONFLICT', detail: 'CREATE VIEW dst -> dst: simulation: dst already exists' });
    expect(r.gates).toHaveLength(7);
  });

  test('a paper run ignores a signal (it changes nothing) and skips the validation marker', async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab');
    const engine = new FakeEngine([table('a'), table('b')]);
    const ac = new AbortController();
    ac.abort();
    const r = await runOperation(runContext(engine, [op], { paper: true, opts: { signal: ac.signal } }), op, []);
    expect(r).toMatchObject({ outcome: 'PAPER', reason: 'WOULD_APPLY' });
    expect(engine.calls.filter((c) => c.startsWith('coverage'))).toEqual([]);
  });
});
