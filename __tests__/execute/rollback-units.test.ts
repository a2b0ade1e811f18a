/**
 * Rollback's decisions against a fake of the Engine port: which steps undo an operation from any
 * state the warehouse is in, where a dropped table comes back from, what is refused or blocked,
 * and how the run ends. The same verb against DuckDB is in apply-cycle.test.ts and the crash tests.
 */
import { tableStateHash, type TableInfo } from '../../core/catalogue';
import { BqxError } from '../../core/errors';
import { backupFinder, rollbackPlan, undoSteps, type BackupFinder } from '../../core/execute/rollback';
import { emptyHistory, foldHistory } from '../../core/execute/history';
import { backupNameFor, undoJobIdFor } from '../../core/execute/ids';
import { stepKey, viewsByOperation } from '../../core/execute/steps';
import type { WarehouseState } from '../../core/execute/warehouse-state';
import type { CompatibilityView, PlanOperation } from '../../core/plan/types';
import type { Step } from '../../core/ports/engine';
import { RunRefused } from '../../core/execute/run-common';
import { buildRetirePlan } from '../../core/plan/retire';
import { applyByHand, DUPLICATE, engineFor, FakeEngine, opOf, policy, RENAMED, samplePlan } from './fake-engine';

const info = (name: string, kind: 'TABLE' | 'VIEW' = 'TABLE'): TableInfo => ({ name, kind, columns: [{ name: 'interval_time', type: 'TIMESTAMP' }], rowCount: 10, bytes: 0, partitionBy: null, clusterBy: [] });
const stateOf = (entries: Record<string, 'TABLE' | 'VIEW'>): WarehouseState => ({
  simulated: false,
  get: async (n) => (entries[n] ? info(n, entries[n]) : null),
  contentFingerprint: async () => null,
});
const finder = (found: Record<string, string> = {}): BackupFinder => ({
  find: async (_op, t) => found[t] ?? null,
  describe: (op, t) => `bk of ${t} for ${op.id}`,
});
const view = (name: string, target: string): CompatibilityView => ({ name, target, operationId: 'op_x', columns: [{ name: 'a', column: 'a' }], filter: null, graceEnd: '2026-12-31' }) as CompatibilityView;
const rename = { id: 'op_r', action: 'RENAME', sources: ['old'], target: 'new', sourceState: {} } as unknown as PlanOperation;
const dedupe = { id: 'op_d', action: 'DEDUPE', sources: ['dup'], target: 'twin', sourceState: {} } as unknown as PlanOperation;
const consolidate = {
  id: 'op_c',
  action: 'CONSOLIDATE',
  sources: ['w45', 'w90'],
  target: 'cons',
  sourceState: {},
  consolidation: { windows: [{ source: 'w45', copies: ['c45'] }, { source: 'w90', copies: [] }] },
} as unknown as PlanOperation;
const retiredView = { name: 'v_old', target: 'tbl', operationId: 'op_v', columns: [{ name: 'a', column: 'b' }], filter: 'p', graceEnd: '2026-12-31' } as CompatibilityView;
const retire = { id: 'op_v', action: 'RETIRE_VIEW', sources: ['v_old'], target: 'tbl', sourceState: {}, view: retiredView } as unknown as PlanOperation;
const h = emptyHistory();

describe('undoSteps', () => {
  test('RENAME: its views are dropped, then the table renamed back', async () => {
    const u = await undoSteps(stateOf({ new: 'TABLE', old: 'VIEW' }), [view('old', 'new')], rename, h, finder());
    expect(u).toEqual({ steps: [{ kind: 'DROP_VIEW', name: 'old' }, { kind: 'RENAME_TABLE', from: 'new', to: 'old' }] });
    // The view already gone: only the rename.
    expect(await undoSteps(stateOf({ new: 'TABLE' }), [view('old', 'new')], rename, h, finder())).toEqual({ steps: [{ kind: 'RENAME_TABLE', from: 'new', to: 'old' }] });
  });

  test('RENAME: not applied (the source is still a table, the target free) needs nothing', async () => {
    expect(await undoSteps(stateOf({ old: 'TABLE' }), [], rename, h, finder())).toEqual({ steps: [] });
    // The view's name is a table the rollback did not make: not dropped.
    expect(await undoSteps(stateOf({ old: 'TABLE' }), [view('old', 'new')], rename, h, finder())).toEqual({ steps: [] });
  });

  test('RENAME: both names tables, or neither, is blocked by name', async () => {
    expect(await undoSteps(stateOf({ old: 'TABLE', new: 'TABLE' }), [], rename, h, finder())).toEqual({ blocked: 'both old and new are tables' });
    expect(await undoSteps(stateOf({}), [], rename, h, finder())).toEqual({ blocked: 'neither old nor new is a table' });
    // A view under the old name the rollback does not drop is not a table either.
    expect(await undoSteps(stateOf({ old: 'VIEW' }), [], rename, h, finder())).toEqual({ blocked: 'neither old nor new is a table' });
    expect(await undoSteps(stateOf({ old: 'VIEW', new: 'VIEW' }), [], rename, h, finder())).toEqual({ blocked: 'neither old nor new is a table' });
  });

  test('RENAME: the old name a table again although its compatibility view is listed, is blocked, not renamed onto', async () => {
    // Renaming onto a taken name fails on every engine: the operation needs a person, not a retry.
    expect(await undoSteps(stateOf({ old: 'TABLE', new: 'TABLE' }), [view('old', 'new')], rename, h, finder())).toEqual({ blocked: 'both old and new are tables' });
  });

  test('RENAME: the old name a view the rollback does not own, the target a table: the block names the view', async () => {
    expect(await undoSteps(stateOf({ old: 'VIEW', new: 'TABLE' }), [], rename, h, finder())).toEqual({
      blocked: 'old is a VIEW the rollback did not create; new cannot be renamed back onto it',
    });
  });

  test('RENAME: the old name only a view this rollback drops, and the target gone, leaves nothing to rename', async () => {
    expect(await undoSteps(stateOf({ old: 'VIEW' }), [view('old', 'new')], rename, h, finder())).toEqual({ steps: [{ kind: 'DROP_VIEW', name: 'old' }] });
  });

  test('DEDUPE: the dropped source comes back from its backup after its view is dropped', async () => {
    expect(await undoSteps(stateOf({ dup: 'VIEW', twin: 'TABLE' }), [view('dup', 'twin')], dedupe, h, finder({ dup: 'bk1' }))).toEqual({
      steps: [
        { kind: 'DROP_VIEW', name: 'dup' },
        { kind: 'RESTORE_TABLE', backupName: 'bk1', name: 'dup' },
      ],
    });
    expect(await undoSteps(stateOf({ dup: 'TABLE' }), [], dedupe, h, finder({ dup: 'bk1' }))).toEqual({ steps: [] });
  });

  test('DEDUPE: no backup, or a view the rollback did not create, blocks it', async () => {
    expect(await undoSteps(stateOf({}), [], dedupe, h, finder())).toEqual({ blocked: 'dup is gone and no backup of it exists (looked for the ledger\'s record and bk of dup for op_d)' });
    expect(await undoSteps(stateOf({ dup: 'VIEW' }), [], dedupe, h, finder({ dup: 'bk1' }))).toEqual({ blocked: 'dup is a VIEW the rollback did not create' });
  });

  test('CONSOLIDATE: every window source and copy restored, the consolidated table dropped last', async () => {
    const u = await undoSteps(stateOf({ cons: 'TABLE', w90: 'TABLE' }), [], consolidate, h, finder({ w45: 'b45', c45: 'bc45' }));
    expect(u).toEqual({
      steps: [
        { kind: 'RESTORE_TABLE', backupName: 'b45', name: 'w45' },
        { kind: 'RESTORE_TABLE', backupName: 'bc45', name: 'c45' },
        { kind: 'DROP_TABLE', name: 'cons' },
      ],
    });
    // The consolidated table never made (or already dropped): only the restores.
    expect(await undoSteps(stateOf({ w90: 'TABLE' }), [], consolidate, h, finder({ w45: 'b45', c45: 'bc45' }))).toEqual({
      steps: [
        { kind: 'RESTORE_TABLE', backupName: 'b45', name: 'w45' },
        { kind: 'RESTORE_TABLE', backupName: 'bc45', name: 'c45' },
      ],
    });
    expect(await undoSteps(stateOf({ cons: 'VIEW', w45: 'TABLE', w90: 'TABLE', c45: 'TABLE' }), [], consolidate, h, finder())).toEqual({ steps: [] });
  });

  test('CONSOLIDATE: a source that cannot come back keeps the consolidated table', async () => {
    expect(await undoSteps(stateOf({ cons: 'TABLE' }), [], consolidate, h, finder({ w45: 'b45' }))).toEqual({
      blocked: "c45 is gone and no backup of it exists (looked for the ledger's record and bk of c45 for op_c); cons is kept",
    });
  });

  test('RETIRE_VIEW: the view is recreated exactly as the migration plan made it', async () => {
    expect(await undoSteps(stateOf({ tbl: 'TABLE' }), [], retire, h, finder())).toEqual({
      steps: [{ kind: 'CREATE_VIEW', name: 'v_old', target: 'tbl', columns: [{ name: 'a', column: 'b' }], filter: 'p' }],
    });
    expect(await undoSteps(stateOf({ tbl: 'TABLE', v_old: 'VIEW' }), [], retire, h, finder())).toEqual({ steps: [] });
  });

  test('RETIRE_VIEW: a table under the view name, or the view target gone, blocks it', async () => {
    expect(await undoSteps(stateOf({ tbl: 'TABLE', v_old: 'TABLE' }), [], retire, h, finder())).toEqual({ blocked: 'v_old is now a TABLE; the retired view cannot be recreated under it' });
    expect(await undoSteps(stateOf({}), [], retire, h, finder())).toEqual({ blocked: 'tbl, the table view v_old reads, is gone' });
    expect(await undoSteps(stateOf({ tbl: 'VIEW', v_old: 'VIEW' }), [], retire, h, finder())).toEqual({ blocked: 'tbl, the table view v_old reads, is gone' });
  });
});

describe('backupFinder', () => {
  const t = info('dup');
  const op = { id: 'op_abc', action: 'DEDUPE', sources: ['dup'], target: 'twin', sourceState: { dup: tableStateHash(t) } } as unknown as PlanOperation;
  const engineWith = (backups: Record<string, TableInfo>) => {
    const e = new FakeEngine([]);
    for (const [n, b] of Object.entries(backups)) e.backups.set(n, b);
    return e;
  };

  test("the ledger's recorded backup, when it still exists", async () => {
    const e = engineWith({});
    const hist = { ...emptyHistory(), backups: new Map([['dup', 'bk_recorded']]) };
    expect(await backupFinder(e, ['bk_recorded']).find(op, 'dup', hist)).toBe('bk_recorded');
    // Recorded but gone, and no deterministic one: nothing.
    expect(await backupFinder(e, ['other']).find(op, 'dup', hist)).toBeNull();
  });

  test('else the newest deterministic backup that holds the table as planned', async () => {
    const a1 = backupNameFor('op_abc', 'dup', 1);
    const a2 = backupNameFor('op_abc', 'dup', 2);
    const a10 = backupNameFor('op_abc', 'dup', 10);
    const changed = { ...t, rowCount: 11 };
    const e = engineWith({ [a1]: t, [a2]: t, [a10]: changed });
    // a10 is newest but holds another state; a2 beats a1.
    expect(await backupFinder(e, [a1, a10, a2]).find(op, 'dup', emptyHistory())).toBe(a2);
    expect(await backupFinder(e, [a1]).find(op, 'dup', emptyHistory())).toBe(a1);
    // Names of other tables, other operations or no attempt number are not candidates.
    const other = engineWith({ bk_abc_a3_dupx: t, bk_abd_a4_dup: t, bk_abc_ax_dup: t, [backupNameFor('op_abc', 'dup', 5)]: changed });
    expect(await backupFinder(other, ['bk_abc_a3_dupx', 'bk_abd_a4_dup', 'bk_abc_ax_dup', 'bk_abc_a_dup', backupNameFor('op_abc', 'dup', 5)]).find(op, 'dup', emptyHistory())).toBeNull();
    // Listed but unreadable: skipped.
    expect(await backupFinder(engineWith({}), [a1]).find(op, 'dup', emptyHistory())).toBeNull();
  });

  test('describes what it looked for', () => {
    expect(backupFinder(new FakeEngine([]), []).describe(op, 'dup')).toBe('bk_abc_a<n>_dup in bqx_runner');
  });
});

const T0 = Date.parse('2026-12-03T00:00:00.000Z');
const clock = (stepMs = 0) => {
  let t = T0;
  return () => new Date((t += stepMs));
};

async function appliedWorld(o: { atomic?: boolean; soleWriter?: boolean; only?: PlanOperation['action'][] } = {}) {
  const { plan, tables } = samplePlan();
  const e = engineFor(plan, tables, { atomic: o.atomic, soleWriter: o.soleWriter });
  const ops = plan.operations.filter((x) => x.action !== 'KEEP' && (!o.only || o.only.includes(x.action)));
  await applyByHand(e, plan, ops);
  return { plan, tables, e };
}
const byName = (ts: readonly TableInfo[]) => [...ts].sort((a, b) => (a.name < b.name ? -1 : 1));

describe('rollbackPlan', () => {
  test('undoes every applied operation newest first and restores the catalogue exactly', async () => {
    const { plan, tables, e } = await appliedWorld();
    const updates: string[] = [];
    const r = await rollbackPlan(e, plan, policy, { approve: plan.planHash, now: clock(), progress: { update: (i, n, what) => updates.push(`${i}/${n} ${what}`), done: () => updates.push('done') } });
    expect(r.restoredExactly).toBe(true);
    expect(r.summary.status).toBe('OK');
    expect(r.summary.differences).toEqual([]);
    expect(r.summary.warnings).toEqual([]);
    expect(r.summary.byOutcome).toEqual({ ROLLED_BACK: 4 });
    expect(r.summary.byReason).toEqual({ 'ROLLED_BACK/ROLLBACK_OK': 4 });
    expect(byName(await e.listTables())).toEqual(byName(tables));
    expect(e.content.get(DUPLICATE)).toBe('A');
    // Newest operation first.
    expect(r.summary.results.map((x) => x.seq)).toEqual([4, 3, 2, 1]);
    expect(updates).toEqual([
      `1/4 ROLLED_BACK CONSOLIDATE ${opOf(plan, 'CONSOLIDATE', 'regime_eurusd_45').sources[0]}`,
      `2/4 ROLLED_BACK CONSOLIDATE ${opOf(plan, 'CONSOLIDATE', 'regime_bqx_eurusd_45').sources[0]}`,
      `3/4 ROLLED_BACK DEDUPE ${DUPLICATE}`,
      `4/4 ROLLED_BACK RENAME ${RENAMED}`,
      'done',
    ]);
    // Each undo step has its deterministic job id and the run's labels; each is recorded done.
    const ren = opOf(plan, 'RENAME');
    const renameBack = e.ran.find((x) => x.step.kind === 'RENAME_TABLE')!;
    expect(renameBack.jobId).toBe(undoJobIdFor(plan.planHash, ren.id, Object.values(stepKey(renameBack.step)).join('|'), 1, 0));
    expect(renameBack.labels).toEqual({ 'bqx-plan': plan.planHash.slice(0, 12), 'bqx-run': r.summary.runId.toLowerCase() });
    const rb = e.ledger.records_.filter((x) => x.runId === r.summary.runId);
    expect(rb.filter((x) => x.state === 'STEP_DONE').map((x) => `${x.reason}|${x.detail}`)).toContain(`RENAME_TABLE|${ren.target}>${RENAMED}`);
    expect(rb.find((x) => x.state === 'STEP_DONE' && x.reason === 'RENAME_TABLE')).toMatchObject({ jobId: renameBack.jobId, operationId: ren.id, attempt: 1, seq: ren.seq, action: 'RENAME' });
    const done = rb.find((x) => x.state === 'ROLLED_BACK' && x.operationId === ren.id)!;
    expect(done).toMatchObject({ reason: 'ROLLBACK_OK', detail: `DROP VIEW ${RENAMED}; RENAME ${ren.target} -> ${RENAMED}` });
    // A consolidated table is dropped only after the ledger settled the restores before it.
    expect(e.ledger.settles).toBe(2);
    expect(e.ledger.flushes).toBeGreaterThan(0);
    expect(foldHistory(e.ledger.records_, e.ledger.runs_).touched).toBe(false);
    // The run is recorded START and END, the lock acquired and released.
    expect(e.ledger.runs_.filter((x) => x.runId === r.summary.runId).map((x) => `${x.mode} ${x.event} ${x.status}`)).toEqual(['rollback START null', 'rollback END OK']);
    expect(e.ledger.locks.map((x) => x.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });

  test('a consolidation is not undone without the plan hash as approval; nothing is written', async () => {
    const { plan, e } = await appliedWorld();
    const runsBefore = e.ledger.runs_.length;
    for (const approve of [undefined, 'f'.repeat(64)]) {
      const err = await rollbackPlan(e, plan, policy, { approve, planSource: 'p.json' }).catch((x) => x);
      expect(err).toBeInstanceOf(RunRefused);
      expect(err).toMatchObject({ code: 'APPROVAL_MISSING', kind: 'REFUSED' });
      expect(err.message).toBe(`rolling back 2 consolidation(s) drops their consolidated tables (e.g. ${opOf(plan, 'CONSOLIDATE', 'regime_eurusd_45').target}); no matching --approve was given`);
      expect(err.hint).toBe(`bqx rollback p.json --approve ${plan.planHash}`);
    }
    expect(e.ran).toEqual([]);
    expect(e.ledger.runs_.length).toBe(runsBefore);
    expect(e.ledger.locks).toEqual([]);
  });

  test('a consolidation whose table is not there needs no approval; a rename alone needs none', async () => {
    const { plan, tables, e } = await appliedWorld({ only: ['RENAME', 'DEDUPE'] });
    const r = await rollbackPlan(e, plan, policy, { now: clock() });
    expect(r.summary.status).toBe('OK');
    expect(r.summary.byOutcome).toEqual({ ROLLED_BACK: 2 });
    expect(byName(await e.listTables())).toEqual(byName(tables));
  });

  test('nothing applied: nothing to undo, nothing recorded, the catalogue matches', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary).toMatchObject({ status: 'OK', operations: 0, differences: [], warnings: [] });
    expect(r.restoredExactly).toBe(true);
    expect(e.ledger.records_).toEqual([]);
  });

  test('operations the ledger calls applied but the warehouse shows undone are recorded ROLLED_BACK', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    // Apply and undo by hand, leaving the ledger saying applied (a rollback that died before recording).
    const ren = opOf(plan, 'RENAME');
    await applyByHand(e, plan, [ren]);
    e.tables.delete(RENAMED);
    const t = e.tables.get(ren.target as string)!;
    e.tables.delete(ren.target as string);
    e.tables.set(RENAMED, { ...t, name: RENAMED });
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.byReason).toEqual({ 'ROLLED_BACK/ROLLBACK_OK': 1 });
    expect(r.summary.results[0]).toMatchObject({ operationId: ren.id, detail: 'nothing left to undo: the warehouse already shows the operation undone (an earlier rollback stopped before recording it)' });
    const rec = e.ledger.records_.filter((x) => x.runId === r.summary.runId);
    expect(rec).toEqual([expect.objectContaining({ operationId: ren.id, state: 'ROLLED_BACK', reason: 'ROLLBACK_OK', attempt: 1, seq: ren.seq })]);
    expect(e.ran).toEqual([]);
  });

  test('an operation applied and its apply still open (killed) is undone from the warehouse', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const dd = opOf(plan, 'DEDUPE');
    await applyByHand(e, plan, [dd], { record: false });
    await e.ledger.appendRun({ runId: 'run_apply', planHash: plan.planHash, mode: 'apply', event: 'START', status: null, summary: null, at: '2026-12-02T00:00:00.000Z' });
    // The ledger is short (a crash took the backup record): the deterministic backup is found.
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.status).toBe('OK');
    expect(r.summary.results[0]).toMatchObject({ outcome: 'ROLLED_BACK', detail: `DROP VIEW ${DUPLICATE}; RESTORE ${backupNameFor(dd.id, DUPLICATE, 1)} -> ${DUPLICATE}` });
  });

  test('a backup gone blocks that undo: FAILED ROLLBACK_BLOCKED, a warning, DRIFT naming the tables', async () => {
    const { plan, e } = await appliedWorld({ only: ['DEDUPE'] });
    e.backups.clear();
    const r = await rollbackPlan(e, plan, policy, {});
    const dd = opOf(plan, 'DEDUPE');
    const why = `${DUPLICATE} is gone and no backup of it exists (looked for the ledger's record and ${backupNameFor(dd.id, DUPLICATE, 1).replace('_a1_', '_a<n>_')} in bqx_runner)`;
    expect(r.summary.status).toBe('DRIFT');
    expect(r.restoredExactly).toBe(false);
    expect(r.summary.results).toEqual([expect.objectContaining({ outcome: 'FAILED', reason: 'ROLLBACK_BLOCKED', detail: why })]);
    expect(r.summary.warnings[0]).toBe(`DEDUPE ${DUPLICATE} not rolled back: ${why}`);
    expect(r.summary.differences).toEqual([`${DUPLICATE}: a view now (the plan saw a table)`]);
    expect(r.summary.warnings[1]).toMatch(/^the catalogue does not match the plan's pre-apply fingerprint: /);
    expect(r.summary.warnings[1]).not.toContain('in all');
    expect(e.ledger.records_.filter((x) => x.runId === r.summary.runId)).toEqual([expect.objectContaining({ state: 'FAILED', reason: 'ROLLBACK_BLOCKED', detail: why })]);
    // The view was not dropped either: blocked means nothing of that operation ran.
    expect(e.ran).toEqual([]);
  });

  test('more than ten differences: ten named, then the count', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'] });
    for (let i = 0; i < 11; i++) e.tables.set(`extra_${String(i).padStart(2, '0')}`, info(`extra_${String(i).padStart(2, '0')}`));
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.status).toBe('DRIFT');
    expect(r.summary.differences).toHaveLength(11);
    expect(r.summary.warnings[0]).toBe(`the catalogue does not match the plan's pre-apply fingerprint: ${r.summary.differences.slice(0, 10).join('; ')}; … (11 in all)`);
  });

  test('a failing step (no transactions): FAILED STEP_FAILED recorded, the run INCOMPLETE', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'] });
    e.failStep = (s) => (s.kind === 'RENAME_TABLE' ? new Error('engine says no') : null);
    const r = await rollbackPlan(e, plan, policy, {});
    const ren = opOf(plan, 'RENAME');
    const detail = `RENAME ${ren.target} -> ${RENAMED}: engine says no`;
    expect(r.summary.status).toBe('INCOMPLETE');
    expect(r.summary.results).toEqual([expect.objectContaining({ outcome: 'FAILED', reason: 'STEP_FAILED', detail })]);
    const mine = e.ledger.records_.filter((x) => x.runId === r.summary.runId);
    expect(mine.map((x) => `${x.state} ${x.reason}`)).toEqual(['STEP_DONE DROP_VIEW', 'FAILED STEP_FAILED']);
    expect(mine[1].detail).toBe(detail);
    // The next rollback gives the failed undo's steps fresh job ids.
    e.failStep = () => null;
    const again = await rollbackPlan(e, plan, policy, {});
    expect(again.summary.status).toBe('OK');
    const renameBack = e.ran.find((x) => x.step.kind === 'RENAME_TABLE')!;
    expect(renameBack.jobId).toBe(undoJobIdFor(plan.planHash, ren.id, Object.values(stepKey(renameBack.step)).join('|'), 1, 1));
  });

  test('a failing step inside a transaction leaves the operation applied and says so', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'], atomic: true });
    e.failStep = (s) => (s.kind === 'RENAME_TABLE' ? new Error('engine says no') : null);
    const r = await rollbackPlan(e, plan, policy, {});
    const ren = opOf(plan, 'RENAME');
    expect(r.summary.status).toBe('INCOMPLETE');
    expect(r.summary.results).toEqual([expect.objectContaining({ outcome: 'FAILED', reason: 'STEP_FAILED', detail: `RENAME ${ren.target} -> ${RENAMED}: engine says no` })]);
    // The view's drop was rolled back with the transaction: still there.
    expect(e.tables.get(RENAMED)?.kind).toBe('VIEW');
    const mine = e.ledger.records_.filter((x) => x.runId === r.summary.runId);
    expect(mine).toEqual([expect.objectContaining({ state: 'FAILED', reason: 'STEP_FAILED', detail: `RENAME ${ren.target} -> ${RENAMED}: engine says no (rolled back: the operation is still applied)` })]);
    // The next run undoes it from the refreshed state.
    e.failStep = () => null;
    expect((await rollbackPlan(e, plan, policy, {})).summary.status).toBe('OK');
  });

  test('inside a transaction, an error that is not a failed step is not swallowed', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'], atomic: true });
    const inner = e.atomically!;
    e.atomically = async () => {
      await inner(async () => undefined);
      throw new Error('the transaction broke');
    };
    await expect(rollbackPlan(e, plan, policy, {})).rejects.toThrow('the transaction broke');
    expect(e.ledger.runs_.at(-1)).toMatchObject({ mode: 'rollback', event: 'END', status: 'FAILED' });
  });

  test('a ledger that cannot be written stops the run instead of being recorded as a failed step', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'] });
    const append = e.ledger.append.bind(e.ledger);
    e.ledger.append = async (records) => {
      if (records.some((x) => x.state === 'STEP_DONE')) throw new Error('disk full');
      return append(records);
    };
    const err = await rollbackPlan(e, plan, policy, {}).catch((x) => x);
    expect(err).toBeInstanceOf(BqxError);
    expect(err.code).toBe('LEDGER_UNWRITABLE');
    expect(e.ledger.records_.filter((x) => x.state === 'FAILED')).toEqual([]);
  });

  test('a signal: no further operation is undone, the run ends INTERRUPTED with the reason', async () => {
    const { plan, e } = await appliedWorld();
    const ac = new AbortController();
    ac.abort('SIGTERM');
    const r = await rollbackPlan(e, plan, policy, { approve: plan.planHash, signal: ac.signal, now: clock() });
    expect(r.summary.status).toBe('INTERRUPTED');
    expect(r.summary.interruption).toEqual({ reason: 'SIGTERM', at: new Date(T0).toISOString() });
    expect(e.ran).toEqual([]);
    const ac2 = new AbortController();
    ac2.abort();
    const r2 = await rollbackPlan(e, plan, policy, { approve: plan.planHash, signal: ac2.signal });
    expect(r2.summary.interruption?.reason).toMatch(/AbortError|aborted/);
    // Not aborted: no interruption.
    const r3 = await rollbackPlan(e, plan, policy, { approve: plan.planHash, signal: new AbortController().signal });
    expect(r3.summary.interruption).toBeNull();
    expect(r3.summary.status).toBe('OK');
  });

  test('the lock lost mid-run stops it with LOCK_LOST', async () => {
    const { plan, e } = await appliedWorld();
    // 50 s per clock read: the lease (120 s) is due for renewal before the second operation.
    e.ledger.beforeLockAppend = (ev) => {
      if (ev.event === 'RENEW') e.ledger.locks.push({ ...ev, runId: 'rival', event: 'TAKEOVER' });
    };
    const err = await rollbackPlan(e, plan, policy, { approve: plan.planHash, now: clock(50_000) }).catch((x) => x);
    expect(err).toMatchObject({ code: 'LOCK_LOST', kind: 'INCOMPLETE' });
    expect(err.message).toBe('rollback lost its lock: another lock event was appended while this run held the lock (forced unlock?)');
    expect(err.hint).toBe('re-run `bqx rollback`; finished operations are recognised');
  });

  test('a shared warehouse is re-read before each undo; the sole writer trusts what it tracked', async () => {
    const shared = await appliedWorld({ only: ['RENAME'] });
    await rollbackPlan(shared.e, shared.plan, policy, {});
    const ren = opOf(shared.plan, 'RENAME');
    expect(shared.e.reads).toEqual(expect.arrayContaining([RENAMED, ren.target]));
    const sole = await appliedWorld({ only: ['RENAME'], soleWriter: true });
    const r = await rollbackPlan(sole.e, sole.plan, policy, {});
    expect(r.summary.status).toBe('OK');
    expect(sole.e.reads).toEqual([]);
  });

  test('a stale tracked state is corrected by re-reading: a table changed by someone else after the start', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'] });
    const ren = opOf(plan, 'RENAME');
    // Someone renamed the table back and dropped the view after the listing: re-read, nothing left to undo.
    const list = e.listTables.bind(e);
    let first = true;
    e.listTables = async () => {
      const out = await list();
      if (first) {
        first = false;
        e.tables.delete(RENAMED);
        const t = e.tables.get(ren.target as string)!;
        e.tables.delete(ren.target as string);
        e.tables.set(RENAMED, { ...t, name: RENAMED });
      }
      return out;
    };
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.results[0]).toMatchObject({ outcome: 'ROLLED_BACK', detail: 'nothing left to undo' });
    expect(r.summary.status).toBe('OK');
  });

  test('a plan never applied here, where another was, is refused before any change', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'] });
    await e.ledger.appendRun({ runId: 'run_other', planHash: 'b'.repeat(64), mode: 'apply', event: 'START', status: null, summary: null, at: '2026-12-02T00:00:01.000Z' });
    e.ledger.runs_.splice(0, e.ledger.runs_.length, ...e.ledger.runs_.filter((x) => x.planHash !== plan.planHash));
    const err = await rollbackPlan(e, plan, policy, { planSource: 'p.json' }).catch((x) => x);
    expect(err).toMatchObject({ code: 'PLAN_NOT_APPLIED_HERE' });
    expect(err.hint).toBe(`rollback the plan that was applied: bqx rollback <the plan file whose planHash is ${'b'.repeat(64)}> --approve ${'b'.repeat(64)}`);
    expect(e.ran).toEqual([]);
  });

  test('views of the operation are part of what is re-read', async () => {
    const { plan, e } = await appliedWorld({ only: ['CONSOLIDATE'] });
    const c = opOf(plan, 'CONSOLIDATE', 'regime_eurusd_45');
    const r = await rollbackPlan(e, plan, policy, { approve: plan.planHash });
    expect(r.summary.status).toBe('OK');
    const vs = viewsByOperation(plan).get(c.id)!.map((v) => v.name);
    expect(e.reads).toEqual(expect.arrayContaining([...vs, c.target]));
    expect(e.ran.filter((x) => x.step.kind === 'DROP_TABLE').map((x) => (x.step as Extract<Step, { kind: 'DROP_TABLE' }>).name).sort()).toEqual(['regime_bqx_eurusd', 'regime_idx_eurusd']);
  });

  test('a retirement is undone by recreating its views exactly; one not retired needs nothing', async () => {
    const { plan, e } = await appliedWorld();
    const usage = { planHash: plan.planHash, dataset: 'ds', since: '2027-01-01T00:00:00.000Z', until: '2027-02-01T00:00:00.000Z', days: 31, source: 'test', jobsSeen: 0, views: [], read: 0, unread: 0 };
    const retire = buildRetirePlan({ basePlan: plan, tables: await e.listTables(), usage, unreadDays: 31, now: new Date('2027-02-01T00:00:00.000Z'), engine: 'duckdb', policyHash: plan.policyHash, batchSize: 50 });
    const [first, ...rest] = retire.operations;
    await applyByHand(e, retire, rest, { runId: 'run_retire' });
    const before = byName(await e.listTables());
    expect(before.filter((t) => t.kind === 'VIEW').map((t) => t.name)).toEqual([first.sources[0]]);
    const r = await rollbackPlan(e, retire, policy, {});
    expect(r.summary.status).toBe('OK');
    expect(r.summary.byOutcome).toEqual({ ROLLED_BACK: rest.length });
    expect(e.ran.map((x) => x.step.kind)).toEqual(rest.map(() => 'CREATE_VIEW'));
    const v = rest[0].view!;
    expect(e.ran.find((x) => (x.step as { name?: string }).name === v.name)?.step).toEqual({ kind: 'CREATE_VIEW', name: v.name, target: v.target, columns: v.columns, filter: v.filter });
    expect(e.tables.get(v.name)?.kind).toBe('VIEW');
    expect(r.summary.results.map((x) => x.operationId).sort()).toEqual(rest.map((o) => o.id).sort());
  });

  test('an aborted signal without a reason is recorded as "signal"', async () => {
    const { plan, e } = await appliedWorld({ only: ['RENAME'] });
    const signal = { aborted: true, reason: undefined } as unknown as AbortSignal;
    const r = await rollbackPlan(e, plan, policy, { signal });
    expect(r.summary.interruption?.reason).toBe('signal');
    expect(r.summary.status).toBe('INTERRUPTED');
  });

});
