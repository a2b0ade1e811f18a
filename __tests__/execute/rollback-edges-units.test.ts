/**
 * Rollback cases the mutation run showed no other test pinned: the newest of many backups, a
 * consolidation stopped before its drops, a rename with no view, an engine refusal that is not the
 * ledger's, what an earlier rollback's catch-up records say, a view gone since the listing, and no
 * background lease renewal (rollback runs one step at a time).
 */
import { tableStateHash, type TableInfo } from '../../core/catalogue';
import { BqxError } from '../../core/errors';
import { emptyHistory } from '../../core/execute/history';
import { backupNameFor } from '../../core/execute/ids';
import { backupFinder, rollbackPlan, undoSteps } from '../../core/execute/rollback';
import type { WarehouseState } from '../../core/execute/warehouse-state';
import type { PlanOperation } from '../../core/plan/types';
import type { Step } from '../../core/ports/engine';
import { applyByHand, engineFor, FakeEngine, opOf, policy, RENAMED, samplePlan } from './fake-engine';

const info = (name: string, rowCount = 10): TableInfo => ({ name, kind: 'TABLE', columns: [{ name: 'interval_time', type: 'TIMESTAMP' }], rowCount, bytes: 0, partitionBy: null, clusterBy: [] });

test('the newest backup wins also past attempt 9', async () => {
  const t = info('dup');
  const op = { id: 'op_abc', action: 'DEDUPE', sources: ['dup'], target: 'twin', sourceState: { dup: tableStateHash(t) } } as unknown as PlanOperation;
  const e = new FakeEngine([]);
  const names = [2, 10, 9].map((n) => backupNameFor(op.id, 'dup', n));
  for (const n of names) e.backups.set(n, t);
  expect(await backupFinder(e, names).find(op, 'dup', emptyHistory())).toBe(backupNameFor(op.id, 'dup', 10));
});

test('a rename with no view whose old name is free is renamed back', async () => {
  const state: WarehouseState = { simulated: false, get: async (n) => (n === 'new' ? info('new') : null), contentFingerprint: async () => null };
  const rename = { id: 'op_r', action: 'RENAME', sources: ['old'], target: 'new', sourceState: {} } as unknown as PlanOperation;
  expect(await undoSteps(state, [], rename, emptyHistory(), { find: async () => null, describe: () => '' })).toEqual({ steps: [{ kind: 'RENAME_TABLE', from: 'new', to: 'old' }] });
});

describe('rollbackPlan', () => {
  test('a consolidation stopped after its CTAS, before any drop: the consolidated table is dropped (with approval)', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const c = opOf(plan, 'CONSOLIDATE', 'regime_eurusd_45');
    await e.run({ kind: 'CONSOLIDATE', target: c.target as string, spec: c.consolidation! }, { jobId: 'apply' });
    e.ran.length = 0;
    await expect(rollbackPlan(e, plan, policy, {})).rejects.toMatchObject({ code: 'APPROVAL_MISSING' });
    const r = await rollbackPlan(e, plan, policy, { approve: plan.planHash });
    expect(r.summary.status).toBe('OK');
    expect(e.ran.map((x) => x.step)).toEqual([{ kind: 'DROP_TABLE', name: c.target }]);
    expect(r.restoredExactly).toBe(true);
  });

  test("an engine's own refusal of an undo step is a failed step, not a stop", async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    await applyByHand(e, plan, [opOf(plan, 'RENAME')]);
    e.failStep = (s) => (s.kind === 'RENAME_TABLE' ? new BqxError('ENGINE_REFUSED', 'the engine refused the rename') : null);
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.status).toBe('INCOMPLETE');
    expect(r.summary.results[0]).toMatchObject({ outcome: 'FAILED', reason: 'STEP_FAILED' });
    expect(r.summary.results[0].detail).toMatch(/: the engine refused the rename$/);
  });

  test('the catch-up record of an earlier rollback says why', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const ren = opOf(plan, 'RENAME');
    await applyByHand(e, plan, [ren]);
    for (const n of [...e.tables.keys()]) e.tables.delete(n);
    for (const t of tables) e.tables.set(t.name, t);
    const r = await rollbackPlan(e, plan, policy, {});
    expect(e.ledger.records_.filter((x) => x.runId === r.summary.runId)).toEqual([
      expect.objectContaining({ state: 'ROLLED_BACK', reason: 'ROLLBACK_OK', detail: 'nothing left to undo: the warehouse already shows the operation undone (an earlier rollback stopped before recording it)' }),
    ]);
  });

  test('a view dropped by someone else after the listing is re-read, not dropped again', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const ren = opOf(plan, 'RENAME');
    await applyByHand(e, plan, [ren]);
    const list = e.listTables.bind(e);
    e.listTables = async () => {
      const out = await list();
      e.listTables = list;
      e.tables.delete(RENAMED);
      return out;
    };
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.results[0]).toMatchObject({ outcome: 'ROLLED_BACK', detail: `RENAME ${ren.target} -> ${RENAMED}` });
    expect(e.ran.map((x) => x.step.kind)).toEqual(['RENAME_TABLE'] as Step['kind'][]);
  });

  test('no background lease renewal: rollback runs one step at a time and renews between operations', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    await applyByHand(e, plan, [opOf(plan, 'RENAME')]);
    const spy = jest.spyOn(global, 'setInterval');
    try {
      await rollbackPlan(e, plan, policy, {});
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
});
