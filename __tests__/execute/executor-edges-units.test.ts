/**
 * Edges of the executor's run shell, rollback, verify and reconcile that the mutation run
 * (`npm run mutation:execute-x`) showed no other test pinned, against a fake of the Engine port.
 */
import { withRun, summaryOfFailedRun, type RunShellOptions } from '../../core/execute/run-shell';
import { rollbackPlan } from '../../core/execute/rollback';
import { operationRecord } from '../../core/execute/run-common';
import { verifyPlan } from '../../core/execute/verify';
import { computePlanHash } from '../../core/plan/hash';
import { applyByHand, engineFor, opOf, policy, samplePlan, TWIN } from './fake-engine';

const T0 = Date.parse('2026-12-03T00:00:00.000Z');
const write: RunShellOptions = { mode: 'rollback', lock: { ttlSeconds: 120, heartbeat: false } };
const fresh = () => {
  const { plan, tables } = samplePlan();
  return { plan, e: engineFor(plan, tables) };
};

describe('withRun', () => {
  test("the run's summary and records name the plan, the engine, the dataset and the instants of the clock", async () => {
    const { plan, e } = fresh();
    let t = T0;
    const summary = await withRun(e, plan, { ...write, now: () => new Date((t += 1000)) }, { body: async (run) => ({ value: run.summary, status: 'OK', record: null }) });
    expect(summary).toMatchObject({ planHash: plan.planHash, mode: 'rollback', engine: 'duckdb', dataset: 'ds', startedAt: new Date(T0 + 2000).toISOString() });
    // Each record carries the clock's instant when it was written: START before END, both after the start.
    const [start, end] = e.ledger.runs_.map((r) => Date.parse(r.at) - T0);
    expect(start % 1000).toBe(0);
    expect(start).toBeGreaterThan(2000);
    expect(end).toBeGreaterThan(start);
    expect(e.ledger.runs_[0].runId).toBe(summary.runId);
    expect(summary.runId).toMatch(/^run_20261203T000001Z_[0-9a-f]{8}$/);
  });

  test('a body that throws null still ends the run FAILED', async () => {
    const { plan, e } = fresh();
    await expect(withRun(e, plan, write, { body: async () => Promise.reject(null) })).rejects.toBeNull();
    expect(JSON.parse(e.ledger.runs_[1].summary!).warnings).toEqual(['the run stopped: null']);
    expect(summaryOfFailedRun(null)).toBeNull();
  });

  test('the run.ended failpoint fires once END is durable: no second END, the lock released', async () => {
    const { plan, e } = fresh();
    const saved = { hooks: process.env.BQX_TEST_HOOKS, points: process.env.BQX_FAILPOINTS };
    process.env.BQX_TEST_HOOKS = '1';
    process.env.BQX_FAILPOINTS = 'run.ended=throw(EIO)';
    try {
      const after = jest.fn();
      await expect(withRun(e, plan, write, { body: async () => ({ value: 1, status: 'OK', record: null, afterEnd: after }) })).rejects.toMatchObject({ code: 'EIO' });
      expect(after).not.toHaveBeenCalled();
      expect(e.ledger.runs_.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END OK']);
      expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
    } finally {
      for (const [k, v] of [['BQX_TEST_HOOKS', saved.hooks], ['BQX_FAILPOINTS', saved.points]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('rollbackPlan', () => {
  const applied = async (actions: string[]) => {
    const { plan, e } = fresh();
    await applyByHand(e, plan, plan.operations.filter((o) => actions.includes(o.action)));
    return { plan, e };
  };

  test('exactly ten differences are all named, without a count', async () => {
    const { plan, e } = await applied(['RENAME']);
    const t = e.tables.get(TWIN)!;
    for (let i = 0; i < 10; i++) e.tables.set(`extra_${i}`, { ...t, name: `extra_${i}` });
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.differences).toHaveLength(10);
    expect(r.summary.warnings).toEqual([`the catalogue does not match the plan's pre-apply fingerprint: ${r.summary.differences.join('; ')}`]);
  });

  test('a ledger that cannot settle before a drop stops the run', async () => {
    const { plan, e } = await applied(['CONSOLIDATE']);
    e.ledger.settle = async () => Promise.reject(new Error('cannot commit'));
    await expect(rollbackPlan(e, plan, policy, { approve: plan.planHash })).rejects.toMatchObject({ code: 'LEDGER_UNWRITABLE' });
    expect(e.ran.some((x) => x.step.kind === 'DROP_TABLE')).toBe(false);
  });

  test('undone earlier: recorded newest first; an attempt the ledger left open counts too', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const ren = opOf(plan, 'RENAME');
    const dd = opOf(plan, 'DEDUPE');
    await applyByHand(e, plan, [ren, dd], { record: false });
    const at = '2026-12-02T00:00:00.000Z';
    await e.ledger.appendRun({ runId: 'run_apply', planHash: plan.planHash, mode: 'apply', event: 'START', status: null, summary: null, at });
    await e.ledger.append([operationRecord({ runId: 'run_apply', planHash: plan.planHash, at }, ren, 1, 'APPLIED', 'OK'), operationRecord({ runId: 'run_apply', planHash: plan.planHash, at }, dd, 1, 'STARTED', 'STARTED')]);
    // The warehouse as before the apply (an earlier rollback undid both and died).
    for (const n of [...e.tables.keys()]) e.tables.delete(n);
    for (const t of tables) e.tables.set(t.name, t);
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.results.map((x) => `${x.seq} ${x.outcome}`)).toEqual([`${dd.seq} ROLLED_BACK`, `${ren.seq} ROLLED_BACK`]);
    expect(e.ledger.records_.filter((x) => x.runId === r.summary.runId).map((x) => x.operationId)).toEqual([dd.id, ren.id]);
    expect(r.summary.status).toBe('OK');
  });

  test('a consolidation whose consolidated table is already gone is undone without approval', async () => {
    const { plan, e } = await applied(['CONSOLIDATE']);
    const cons = plan.operations.filter((o) => o.action === 'CONSOLIDATE');
    for (const c of cons) e.tables.delete(c.target as string);
    const r = await rollbackPlan(e, plan, policy, {});
    expect(r.summary.byOutcome).toEqual({ ROLLED_BACK: 2 });
    expect(e.ran.some((x) => x.step.kind === 'DROP_TABLE')).toBe(false);
    expect(r.summary.status).toBe('OK');
  });
});

describe('verifyPlan', () => {
  test("checks are reported in the operations' seq order, whatever the order of the plan file", async () => {
    const { plan: p0, tables } = samplePlan();
    const { planHash: _h, ...rest } = { ...p0, operations: [...p0.operations].reverse() };
    const plan = { ...rest, planHash: computePlanHash(rest) };
    const e = engineFor(plan, tables);
    await applyByHand(e, plan, [opOf(plan, 'RENAME'), opOf(plan, 'DEDUPE')]);
    e.tables.set(opOf(plan, 'RENAME').target as string, { ...e.tables.get(opOf(plan, 'RENAME').target as string)!, rowCount: 1 });
    e.content.set(TWIN, 'changed');
    const r = await verifyPlan(e, plan);
    const ops = r.summary.validation.failures.filter((c) => !c.check.endsWith('as the plan expects')).map((c) => c.operationId);
    expect(ops[0]).toBe(opOf(plan, 'RENAME').id);
    expect(ops.at(-1)).toBe(opOf(plan, 'DEDUPE').id);
  });
});
