/**
 * Verify and reconcile cases the mutation run showed no other test pinned: they write nothing at
 * all, their refusals name the verb, a DEDUPE's twin is matched without a detail, an unapplied
 * plan that matches, and a lost row in an operation's own checks.
 */
import { compareWithPlan, reconcilePlan } from '../../core/execute/reconcile';
import { verifyPlan } from '../../core/execute/verify';
import { applyByHand, engineFor, opOf, samplePlan, TWIN } from './fake-engine';

async function world(actions: string[]) {
  const { plan, tables } = samplePlan();
  const e = engineFor(plan, tables);
  await applyByHand(e, plan, plan.operations.filter((o) => actions.includes(o.action)));
  return { plan, tables, e };
}

test('verify and reconcile write no run record, no lock event; the summary says verify', async () => {
  const { plan, e } = await world(['RENAME', 'DEDUPE']);
  const runs = e.ledger.runs_.length;
  const r = await verifyPlan(e, plan);
  expect(r.summary.mode).toBe('verify');
  await reconcilePlan(e, plan, {});
  expect(e.ledger.runs_.length).toBe(runs);
  expect(e.ledger.locks).toEqual([]);
  expect(e.ledger.inits).toBe(0);
});

test('their refusal of a plan applied elsewhere names the verb to run', async () => {
  const { plan, e } = await world(['RENAME']);
  e.ledger.runs_.forEach((x, i) => (e.ledger.runs_[i] = { ...x, planHash: 'c'.repeat(64) }));
  await expect(verifyPlan(e, plan)).rejects.toMatchObject({ hint: `verify the plan that was applied: bqx verify <the plan file whose planHash is ${'c'.repeat(64)}>` });
  await expect(reconcilePlan(e, plan, {})).rejects.toMatchObject({ hint: `reconcile the plan that was applied: bqx reconcile <the plan file whose planHash is ${'c'.repeat(64)}>` });
});

test("a DEDUPE's twin is MATCHED with no detail", async () => {
  const { plan, e } = await world(['DEDUPE']);
  const dd = opOf(plan, 'DEDUPE');
  const r = compareWithPlan(plan, (id) => id === dd.id, await e.listTables());
  expect(r.entries.filter((x) => x.name === TWIN && x.operationId === dd.id)).toEqual([{ name: TWIN, status: 'MATCHED', expected: 'TABLE (post-apply)', operationId: dd.id, detail: null }]);
});

test('nothing applied and nothing changed: reconcile matches, nothing left over', async () => {
  const { plan, e } = await world([]);
  const r = await reconcilePlan(e, plan, {});
  expect(r).toMatchObject({ expectation: 'pre-apply', notApplied: [], matches: true });
});

test("a row lost under an operation's own checks marks its batch as having lost rows", async () => {
  const { plan, e } = await world(['RENAME']);
  const ren = opOf(plan, 'RENAME');
  e.tables.set(ren.target as string, { ...e.tables.get(ren.target as string)!, rowCount: 9 });
  const r = await verifyPlan(e, plan);
  expect(r.summary.validation.batches.find((b) => b.batch === ren.batch)).toMatchObject({ lostRows: true });
});
