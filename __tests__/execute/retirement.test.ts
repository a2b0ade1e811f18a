/**
 * After the grace period on the embedded engine: who still reads a compatibility view (the query
 * log of reads made through the engine's reader path), the retirement plan that keeps a read view
 * (naming its reader) and drops an unread one, its apply through the executor (approval by hash,
 * ledger, validation) and its rollback, which recreates the dropped views exactly.
 */
import { checkViewReaders } from '../../app/readiness/checks/view-readers';
import { Findings } from '../../app/readiness/findings';
import { measureUsage, stillReadNearGraceEnd } from '../../app/retirement';
import { applyPlan, RunRefused } from '../../core/execute/apply';
import { rollbackPlan } from '../../core/execute/rollback';
import { validatePlan } from '../../core/plan/load';
import { buildRetirePlan, retiredViews } from '../../core/plan/retire';
import type { CompatibilityView, Plan } from '../../core/plan/types';
import type { Engine } from '../../core/ports/engine';
import { writeFileSync } from 'fs';
import * as path from 'path';
import { main } from '../../scripts/cli';
import { freshWarehouse, openAt, policy, removeTempDirs } from './support';

let engine: Engine;
let plan: Plan;
let database: string;
let dir: string;
let readView: CompatibilityView;
let unreadView: CompatibilityView;
/** After the grace period of the plan's views (they end 30 days after its grace start). */
let after: Date;

beforeAll(async () => {
  const w = await freshWarehouse();
  ({ database, dir } = w);
  plan = w.plan;
  engine = await openAt(w.database);
  const applied = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  expect(applied.summary.status).toBe('OK');
  [readView, unreadView] = plan.views.filter((v) => v.filter === null);
  after = new Date(`${readView.graceEnd}T12:00:00Z`);
  after.setUTCDate(after.getUTCDate() + 1);
}, 120_000);
afterAll(async () => {
  await engine?.close();
  removeTempDirs();
});

const ds = () => engine.where.dataset;
const days = 400; // the reads happen today; the decision is made after the grace end

test('the query log records who read which view; a read of the new name counts for no view', async () => {
  const r = await engine.readAs!(`SELECT * FROM ${ds()}.${readView.name} LIMIT 3`, { principal: 'analyst@bqx.dev', labels: { team: 'research' } });
  expect(r.rows).toBeGreaterThan(0);
  await engine.readAs!(`SELECT count(*) FROM ${ds()}.${unreadView.target}`, { principal: 'etl@bqx.dev' });
  await expect(engine.readAs!(`DROP VIEW ${ds()}.${readView.name}`, { principal: 'x@bqx.dev' })).rejects.toThrow(/not one SELECT/);

  const usage = await measureUsage(engine, plan, days, after);
  const read = usage.views.find((v) => v.view === readView.name)!;
  expect(read).toMatchObject({ jobs: 1, newName: readView.target, readers: [{ principal: 'analyst@bqx.dev', jobs: 1, labels: ['team=research'] }] });
  expect(read.lastRead).not.toBeNull();
  expect(usage.views.find((v) => v.view === unreadView.name)).toMatchObject({ jobs: 0, lastRead: null, readers: [] });
  expect(usage.read).toBe(1);
  expect(usage.unread).toBe(plan.views.length - 1);
  // Within a window that ends before the reads, nothing was read.
  expect((await measureUsage(engine, plan, 1, new Date(Date.now() - 3 * 86_400_000))).read).toBe(0);
  // Near the end of its grace period, the read view is what readiness reports.
  expect(stillReadNearGraceEnd(usage, new Date(Date.parse(`${readView.graceEnd}T00:00:00Z`) - 5 * 86_400_000), 7).map((v) => v.view)).toEqual([readView.name]);
  // Readiness: a view still read five days before its grace end is a P1, naming the reader and the new name.
  const findings = new Findings();
  await checkViewReaders(findings, engine, plan, new Date(Date.parse(`${readView.graceEnd}T00:00:00Z`) - 5 * 86_400_000));
  expect(findings.blockers).toEqual([expect.objectContaining({ code: 'VIEWS_STILL_READ', priority: 'P1', check: 'phases.view-readers' })]);
  expect(findings.blockers[0].impact).toContain(`${readView.name} (grace ends ${readView.graceEnd}; read by analyst@bqx.dev; new name ${readView.target})`);
  const early = new Findings();
  await checkViewReaders(early, engine, plan, new Date(Date.parse(`${readView.graceEnd}T00:00:00Z`) - 20 * 86_400_000));
  expect(early.blockers).toEqual([]);
});

test('the retirement plan drops only unread views whose grace period ended; the read one is kept with its reader', async () => {
  const tables = await engine.listTables();
  const usage = await measureUsage(engine, plan, days, after);
  const lastGraceDay = new Date(`${readView.graceEnd}T23:00:00Z`);
  lastGraceDay.setUTCDate(lastGraceDay.getUTCDate() - 1);
  const during = buildRetirePlan({ basePlan: plan, tables, usage, unreadDays: days, now: lastGraceDay, engine: 'duckdb', policyHash: policy.hash, batchSize: 100 });
  expect(during.summary.byAction.RETIRE_VIEW).toBe(0);
  expect(during.summary.byReason.GRACE_NOT_ENDED).toBe(plan.views.length);

  const retire = buildRetirePlan({ basePlan: plan, tables, usage, unreadDays: days, now: after, engine: 'duckdb', policyHash: policy.hash, batchSize: 100 });
  expect(validatePlan(JSON.parse(JSON.stringify(retire)), 'retire.json').planHash).toBe(retire.planHash);
  expect(retiredViews(retire)).toContain(unreadView.name);
  expect(retiredViews(retire)).not.toContain(readView.name);
  expect(retire.summary.byAction.RETIRE_VIEW).toBe(plan.views.length - 1);
  const kept = retire.operations.find((o) => o.sources[0] === readView.name)!;
  expect(kept).toMatchObject({ action: 'KEEP', reason: 'STILL_READ', usage: { jobs: 1, readers: [{ principal: 'analyst@bqx.dev' }] } });
  expect(kept.detail).toContain(readView.target);
  expect(retire.retirement).toMatchObject({ basePlanHash: plan.planHash, unreadDays: days, absent: [] });

  // A RETIRE_VIEW that does not carry its view (rollback could not recreate it) is refused on load.
  const op = retire.operations.find((o) => o.action === 'RETIRE_VIEW')!;
  const broken = { ...retire, operations: retire.operations.map((o) => (o === op ? { ...o, view: undefined } : o)) };
  expect(() => validatePlan({ ...broken, planHash: require('../../core/plan/hash').computePlanHash(broken) }, 'edited.json')).toThrow(/does not carry the definition of view/);
});

test('apply needs the retirement plan hash, drops exactly the retired views; rollback recreates them', async () => {
  const tables = await engine.listTables();
  const retire = buildRetirePlan({ basePlan: plan, tables, usage: await measureUsage(engine, plan, days, after), unreadDays: days, now: after, engine: 'duckdb', policyHash: policy.hash, batchSize: 100 });
  const before = new Map(tables.map((t) => [t.name, t]));

  await expect(applyPlan(engine, retire, policy, { mode: 'real' })).rejects.toBeInstanceOf(RunRefused);
  expect((await engine.getTable(unreadView.name))?.kind).toBe('VIEW');

  const applied = await applyPlan(engine, retire, policy, { mode: 'real', approve: retire.planHash });
  expect(applied.summary.status).toBe('OK');
  expect(applied.summary.byOutcome.APPLIED).toBe(plan.views.length - 1);
  expect(applied.summary.validation.failures).toEqual([]);
  expect(await engine.getTable(unreadView.name)).toBeNull();
  expect((await engine.getTable(readView.name))?.kind).toBe('VIEW');
  expect((await engine.getTable(unreadView.target))?.kind).toBe('TABLE');

  const rolled = await rollbackPlan(engine, retire, policy, {});
  expect(rolled.summary.status).toBe('OK');
  expect(rolled.restoredExactly).toBe(true);
  const back = await engine.getTable(unreadView.name);
  expect(back?.kind).toBe('VIEW');
  expect(back?.columns).toEqual(before.get(unreadView.name)?.columns);
  expect((await engine.probe(unreadView.name)).rows).toBe((await engine.probe(unreadView.target)).rows);
});

test('the CLI: usage reports the reader as JSON; a zero window, a retirement plan as --plan and a reader that writes are bad input (exit 2)', async () => {
  const planFile = path.join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const o = jest.spyOn(process.stdout, 'write').mockImplementation((x: string | Uint8Array) => (out.push(String(x)), true));
    const e = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await main(['node', 'bqx', ...args]), out: out.join('') };
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  };
  const usage = await cli(['usage', '--plan', planFile, '--database', database, '--days', '30', '--json']);
  expect(usage.code).toBe(0);
  const report = JSON.parse(usage.out);
  expect(report.views.find((v: { view: string }) => v.view === readView.name)).toMatchObject({ jobs: 1, newName: readView.target });
  expect((await cli(['usage', '--plan', planFile, '--database', database, '--days', '0'])).code).toBe(2);
  const retireFile = path.join(dir, 'retire.json');
  expect((await cli(['retire', '--plan', planFile, '--database', database, '--out', retireFile, '--json'])).code).toBe(0);
  expect((await cli(['retire', '--plan', retireFile, '--database', database, '--out', path.join(dir, 'again.json')])).code).toBe(2);
  expect((await cli(['warehouse', 'read', '--database', database, '--sql', `DELETE FROM ${ds()}.${readView.target}`, '--as', 'x@bqx.dev'])).code).toBe(2);
});
