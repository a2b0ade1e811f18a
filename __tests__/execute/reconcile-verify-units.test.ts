/**
 * Reconcile's and verify's judgement of the warehouse against the plan, against a fake of the
 * Engine port: which end state each table is held to, what each mismatch is called and says, how
 * the run ends. The same verbs against DuckDB are in apply-cycle.test.ts and the phase-4C tests.
 */
import { type TableInfo } from '../../core/catalogue';
import { compareWithPlan, describeMismatch, expectations, reconcilePlan, type ReconcileEntry } from '../../core/execute/reconcile';
import { verifyPlan } from '../../core/execute/verify';
import { buildRetirePlan } from '../../core/plan/retire';
import type { Plan } from '../../core/plan/types';
import { applyByHand, DUPLICATE, engineFor, opOf, RENAMED, samplePlan, TWIN } from './fake-engine';

const all = () => true;
const none = () => false;
const byName = (entries: readonly ReconcileEntry[], name: string) => entries.find((e) => e.name === name)!;

async function world(applied: Plan['operations'][number]['action'][] = ['RENAME', 'DEDUPE', 'CONSOLIDATE']) {
  const { plan, tables } = samplePlan();
  const e = engineFor(plan, tables);
  await applyByHand(e, plan, plan.operations.filter((o) => applied.includes(o.action)));
  return { plan, tables, e };
}

function retirementOf(plan: Plan, listing: readonly TableInfo[]): Plan {
  const usage = { planHash: plan.planHash, dataset: 'ds', since: '2027-01-01T00:00:00.000Z', until: '2027-02-01T00:00:00.000Z', days: 31, source: 'test', jobsSeen: 0, views: [], read: 0, unread: 0 };
  return buildRetirePlan({ basePlan: plan, tables: listing, usage, unreadDays: 31, now: new Date('2027-02-01T00:00:00.000Z'), engine: 'duckdb', policyHash: plan.policyHash, batchSize: 50 });
}

describe('expectations and compareWithPlan', () => {
  test('nothing applied: every source is held to its pre-apply state, KEEP included', () => {
    const { plan, tables } = samplePlan();
    const exp = expectations(plan, none);
    expect(exp.map((x) => `${x.name} ${x.kind} ${x.phase}`).sort()).toEqual(tables.map((t) => `${t.name} TABLE pre-apply`).sort());
    const r = compareWithPlan(plan, none, tables);
    expect(r.expectation).toBe('pre-apply');
    expect(r.counts).toEqual({ MATCHED: tables.length, DRIFT: 0, MISSING: 0, UNMANAGED: 0 });
    expect(r.entries.map((x) => x.name)).toEqual(tables.map((t) => t.name).sort());
    expect(r.entries[0]).toEqual({ name: r.entries[0].name, status: 'MATCHED', expected: 'TABLE (pre-apply)', operationId: expect.stringMatching(/^op_/), detail: null });
  });

  test('applied: targets and views post-apply, all matched; partly applied is mixed', async () => {
    const { plan, e } = await world();
    const r = compareWithPlan(plan, all, await e.listTables());
    expect(r.expectation).toBe('post-apply');
    expect(r.counts).toEqual({ MATCHED: 11, DRIFT: 0, MISSING: 0, UNMANAGED: 0 });
    expect(byName(r.entries, RENAMED)).toMatchObject({ status: 'MATCHED', expected: 'VIEW (post-apply)', operationId: opOf(plan, 'RENAME').id });
    expect(byName(r.entries, TWIN)).toMatchObject({ status: 'MATCHED', expected: 'TABLE (post-apply)' });
    const ren = opOf(plan, 'RENAME');
    const partly = await world(['RENAME']);
    const m = compareWithPlan(plan, (id) => id === ren.id, await partly.e.listTables());
    expect(m.expectation).toBe('mixed');
    expect(m.counts.MATCHED).toBe(8);
  });

  test('a missing table, a table where a view belongs, a changed one and an extra one are each named', async () => {
    const { plan, e } = await world();
    const ren = opOf(plan, 'RENAME');
    const listing = (await e.listTables()).filter((t) => t.name !== (ren.target as string));
    const renamedView = listing.findIndex((t) => t.name === RENAMED);
    listing[renamedView] = { ...listing[renamedView], kind: 'TABLE' };
    listing.push({ name: 'zz_extra', kind: 'VIEW', columns: [], rowCount: 0, bytes: 0, partitionBy: null, clusterBy: [] });
    const r = compareWithPlan(plan, all, listing);
    expect(byName(r.entries, ren.target as string)).toEqual({ name: ren.target, status: 'MISSING', expected: 'TABLE (post-apply)', operationId: ren.id, detail: null });
    expect(byName(r.entries, RENAMED)).toEqual({ name: RENAMED, status: 'DRIFT', expected: 'VIEW (post-apply)', operationId: ren.id, detail: 'is a TABLE' });
    expect(r.entries.at(-1)).toEqual({ name: 'zz_extra', status: 'UNMANAGED', expected: 'absent', operationId: null, detail: "VIEW not in the plan's end state" });
    expect(r.counts).toEqual({ MATCHED: 9, DRIFT: 1, MISSING: 1, UNMANAGED: 1 });
    expect(describeMismatch(byName(r.entries, RENAMED))).toBe(`${RENAMED}: DRIFT (expected VIEW (post-apply); is a TABLE)`);
    expect(describeMismatch(byName(r.entries, ren.target as string))).toBe(`${ren.target}: MISSING (expected TABLE (post-apply))`);
  });

  test("what differs: a renamed table's rows, a consolidation's missing columns, a view's columns", async () => {
    const { plan, e } = await world();
    const ren = opOf(plan, 'RENAME');
    const cons = opOf(plan, 'CONSOLIDATE', 'regime_eurusd_45');
    const listing = (await e.listTables()).map((t) => {
      if (t.name === ren.target) return { ...t, rowCount: 11 };
      if (t.name === cons.target) return { ...t, columns: t.columns.slice(0, 1) };
      if (t.name === RENAMED) return { ...t, columns: [...t.columns].reverse() };
      return t;
    });
    const r = compareWithPlan(plan, all, listing);
    expect(byName(r.entries, ren.target as string).detail).toBe(`schema or row count differs from the planned state of ${RENAMED} (11 rows, 5 columns)`);
    const want = cons.consolidation!.columns.map((c) => c.name);
    expect(byName(r.entries, cons.target as string).detail).toBe(`missing columns ${want.slice(1, 6).join(', ')}`);
    expect(want.length).toBeGreaterThan(6);
    const viewCols = plan.views.find((v) => v.name === RENAMED)!.columns.map((c) => c.name);
    expect(byName(r.entries, RENAMED).detail).toBe(`columns ${[...viewCols].reverse().join(',')} ≠ ${viewCols.join(',')}`);
    // A DEDUPE's twin is held to nothing but being a table.
    const twinChanged = (await e.listTables()).map((t) => (t.name === TWIN ? { ...t, rowCount: 99 } : t));
    expect(byName(compareWithPlan(plan, all, twinChanged).entries, TWIN).status).toBe('MATCHED');
  });

  test('a source changed before apply is DRIFT against its planned state', () => {
    const { plan, tables } = samplePlan();
    const r = compareWithPlan(plan, none, tables.map((t) => (t.name === DUPLICATE ? { ...t, rowCount: 3 } : t)));
    expect(byName(r.entries, DUPLICATE)).toMatchObject({ status: 'DRIFT', detail: `schema or row count differs from the planned state of ${DUPLICATE} (3 rows, 5 columns)` });
  });

  test("a retirement plan: views before, nothing after; the dataset's tables are outside it", async () => {
    const { plan, e } = await world();
    const retire = retirementOf(plan, await e.listTables());
    expect(retire.operations.every((o) => o.action === 'RETIRE_VIEW')).toBe(true);
    const before = compareWithPlan(retire, none, await e.listTables());
    expect(before.expectation).toBe('pre-apply');
    expect(before.entries.map((x) => `${x.name} ${x.status} ${x.expected}`)).toEqual(plan.views.map((v) => `${v.name} MATCHED VIEW (pre-apply)`).sort());
    const after = compareWithPlan(retire, all, (await e.listTables()).filter((t) => t.kind === 'TABLE'));
    expect(after.entries).toEqual([]);
    expect(after.expectation).toBe('pre-apply');
    // A view left over after retirement is not in its end state.
    const left = compareWithPlan(retire, all, await e.listTables());
    expect(left.counts.UNMANAGED).toBe(plan.views.length);
  });
});

describe('reconcilePlan', () => {
  test('applied whole: matches, OK, a compact record', async () => {
    const { plan, e } = await world();
    const r = await reconcilePlan(e, plan, {});
    expect(r).toMatchObject({ expectation: 'post-apply', matches: true, notApplied: [], planHash: plan.planHash });
    expect(r.counts).toEqual({ MATCHED: 11, DRIFT: 0, MISSING: 0, UNMANAGED: 0 });
    // Read-only: no run record, no lock.
    expect(e.ledger.runs_.filter((x) => x.mode === 'reconcile')).toEqual([]);
    expect(e.ledger.locks).toEqual([]);
  });

  test('partly applied: not matched, each operation left named with its last outcome', async () => {
    const { plan, e } = await world(['RENAME']);
    const dd = opOf(plan, 'DEDUPE');
    await e.ledger.append([{ runId: 'run_apply', planHash: plan.planHash, operationId: dd.id, seq: dd.seq, action: 'DEDUPE', state: 'REJECTED', reason: 'SOURCE_CHANGED', detail: null, attempt: 0, bytes: 0, rows: null, jobId: null, at: 'x' }]);
    const r = await reconcilePlan(e, plan, {});
    expect(r.expectation).toBe('mixed');
    expect(r.matches).toBe(false);
    expect(r.counts).toEqual({ MATCHED: 8, DRIFT: 0, MISSING: 0, UNMANAGED: 0 });
    const cons = plan.operations.filter((o) => o.action === 'CONSOLIDATE');
    expect(r.notApplied).toEqual([`DEDUPE ${DUPLICATE} (REJECTED)`, ...cons.map((c) => `CONSOLIDATE ${c.sources.join(', ')} (not run)`)]);
  });

  test('one table off: not matched', async () => {
    for (const change of ['drift', 'missing', 'unmanaged'] as const) {
      const { plan, e } = await world();
      const ren = opOf(plan, 'RENAME');
      if (change === 'drift') e.tables.set(ren.target as string, { ...e.tables.get(ren.target as string)!, rowCount: 1 });
      if (change === 'missing') e.tables.delete(ren.target as string);
      if (change === 'unmanaged') e.tables.set('zz', { ...e.tables.get(ren.target as string)!, name: 'zz' });
      const r = await reconcilePlan(e, plan, {});
      expect(r.matches).toBe(false);
      expect(r.notApplied).toEqual([]);
    }
  });

  test('a plan never applied where another was is refused', async () => {
    const { plan, e } = await world();
    e.ledger.runs_.forEach((x, i) => (e.ledger.runs_[i] = { ...x, planHash: 'c'.repeat(64) }));
    await expect(reconcilePlan(e, plan, { planSource: 'p.json' })).rejects.toMatchObject({ code: 'PLAN_NOT_APPLIED_HERE' });
  });
});

describe('verifyPlan', () => {
  test("applied: every operation's checks re-run and pass, the warehouse is as the plan expects", async () => {
    const { plan, e } = await world();
    const r = await verifyPlan(e, plan);
    expect(r.summary.status).toBe('OK');
    expect(r.summary.operations).toBe(4);
    expect(r.summary.validation.failures).toEqual([]);
    expect(r.summary.validation.checks).toBeGreaterThan(10);
    expect(r.summary.validation.batches.map((b) => b.batch)).toEqual([1]);
    expect(r.summary.differences).toEqual([]);
    expect(r.summary.warnings).toEqual([]);
    expect(e.ledger.runs_.filter((x) => x.mode === 'verify')).toEqual([]);
  });

  test('a table missing or changed fails verify by name, each in the right kind of check', async () => {
    const { plan, e } = await world();
    const ren = opOf(plan, 'RENAME');
    const cons = opOf(plan, 'CONSOLIDATE', 'regime_eurusd_45');
    e.tables.delete(cons.target as string);
    e.tables.set(RENAMED, { ...e.tables.get(RENAMED)!, columns: [] });
    const r = await verifyPlan(e, plan);
    expect(r.summary.status).toBe('DRIFT');
    expect(r.summary.differences).toEqual([`${RENAMED}: DRIFT (expected VIEW (post-apply); columns  ≠ ${plan.views.find((v) => v.name === RENAMED)!.columns.map((c) => c.name).join(',')})`, `${cons.target}: MISSING (expected TABLE (post-apply))`].sort());
    const planChecks = r.summary.validation.batches.find((b) => b.batch === -1)!;
    expect(planChecks).toMatchObject({ checks: 2, passed: 0, lostRows: true, schemaChanged: true });
    const fail = r.summary.validation.failures.find((c) => c.check === `${cons.target} as the plan expects`)!;
    expect(fail).toEqual({ operationId: cons.id, check: `${cons.target} as the plan expects`, ok: false, kind: 'rows', detail: `${cons.target}: MISSING (expected TABLE (post-apply))` });
    expect(r.summary.validation.failures.find((c) => c.check === `${RENAMED} as the plan expects`)).toMatchObject({ kind: 'schema', operationId: ren.id });
  });

  test('only a view changed: the batch of plan checks lost no rows', async () => {
    const { plan, e } = await world(['RENAME']);
    e.tables.set(RENAMED, { ...e.tables.get(RENAMED)!, columns: [] });
    const r = await verifyPlan(e, plan);
    expect(r.summary.validation.batches.find((b) => b.batch === -1)).toMatchObject({ lostRows: false, schemaChanged: true });
  });

  test('tables not in the plan are named in a warning, ten at most', async () => {
    const { plan, e } = await world();
    const t = e.tables.get(TWIN)!;
    for (let i = 0; i < 11; i++) e.tables.set(`zz_${String(i).padStart(2, '0')}`, { ...t, name: `zz_${String(i).padStart(2, '0')}` });
    const r = await verifyPlan(e, plan);
    expect(r.summary.status).toBe('OK');
    expect(r.summary.warnings).toEqual([`11 table(s) or view(s) not in the plan: ${Array.from({ length: 10 }, (_, i) => `zz_${String(i).padStart(2, '0')}`).join(', ')}, …`]);
    e.tables.delete('zz_10');
    expect((await verifyPlan(e, plan)).summary.warnings[0]).toMatch(/^10 table\(s\) or view\(s\) not in the plan: zz_00, .*zz_09$/);
  });

  test('nothing applied: compared with the pre-apply state, and says so', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    const r = await verifyPlan(e, plan, { concurrency: 0 });
    expect(r.summary).toMatchObject({ status: 'OK', operations: 0 });
    expect(r.summary.warnings).toEqual(['the ledger records no applied operation of this plan: the warehouse was compared with the pre-apply state']);
  });

  test('a failed post-apply check makes verify DRIFT', async () => {
    const { plan, e } = await world(['DEDUPE']);
    e.content.set(TWIN, 'changed');
    const r = await verifyPlan(e, plan, { concurrency: 4 });
    expect(r.summary.status).toBe('DRIFT');
    expect(r.summary.validation.failures.map((c) => c.check)).toEqual([`twin ${TWIN} content`]);
    expect(r.summary.validation.batches[0]).toMatchObject({ batch: 1, lostRows: false });
  });

  test('a plan of another catalogue that cannot have changed the warehouse is refused like apply refuses it', async () => {
    const { plan, tables } = samplePlan();
    const e = engineFor(plan, tables);
    e.tables.delete(DUPLICATE);
    await expect(verifyPlan(e, plan, { planSource: 'p.json' })).rejects.toMatchObject({ code: 'CATALOGUE_CHANGED' });
    // Once the ledger says it began, the catalogue check no longer applies.
    await e.ledger.appendRun({ runId: 'run_a', planHash: plan.planHash, mode: 'apply', event: 'START', status: null, summary: null, at: 'x' });
    const r = await verifyPlan(e, plan);
    expect(r.summary.status).toBe('DRIFT');
    expect(r.summary.differences).toEqual([`${DUPLICATE}: MISSING (expected TABLE (pre-apply))`]);
  });

  test('a plan never applied here where another was is refused', async () => {
    const { plan, e } = await world();
    e.ledger.runs_.forEach((x, i) => (e.ledger.runs_[i] = { ...x, planHash: 'c'.repeat(64) }));
    await expect(verifyPlan(e, plan)).rejects.toMatchObject({ code: 'PLAN_NOT_APPLIED_HERE' });
  });
});
