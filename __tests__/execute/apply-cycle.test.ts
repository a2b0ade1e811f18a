import { auditNames } from '../../core/audit';
import { applyPlan } from '../../core/execute/apply';
import { reconcilePlan } from '../../core/execute/reconcile';
import { rollbackPlan } from '../../core/execute/rollback';
import { verifyPlan } from '../../core/execute/verify';
import { REASONS } from '../../core/execute/reasons';
import { renderMetrics } from '../../app/report/metrics';
import { TERMINAL_OUTCOMES } from '../../core/ledger/types';
import { isActionable, type Plan } from '../../core/plan/types';
import type { Engine } from '../../core/ports/engine';
import { contentOfOldNames, fingerprintWarehouse, freshWarehouse, openAt, policy, removeTempDirs, type WarehouseFingerprint, exitOf } from './support';

// One warehouse goes through the whole life cycle: paper, apply, re-run, verify, reconcile, rollback.
let engine: Engine;
let plan: Plan;
let before: WarehouseFingerprint;
let oldNames: Record<string, string>;

beforeAll(async () => {
  const w = await freshWarehouse();
  plan = w.plan;
  engine = await openAt(w.database);
  before = await fingerprintWarehouse(engine);
  oldNames = await contentOfOldNames(engine, plan);
});
afterAll(async () => {
  await engine?.close();
  removeTempDirs();
});

const actionable = () => plan.operations.filter((o) => isActionable(o.action));

test('the small plan has work of every kind', () => {
  const kinds = new Set(actionable().map((o) => o.action));
  expect([...kinds].sort()).toEqual(['CONSOLIDATE', 'DEDUPE', 'RENAME']);
  expect(plan.catalogueFingerprint).toBe(before.catalogue);
});

test('paper run: every statement and gate, a paper record in the ledger, nothing changed', async () => {
  const { summary } = await applyPlan(engine, plan, policy, { mode: 'paper', planSource: 'plan.json' });
  expect(exitOf(summary)).toBe(0);
  expect(summary.operations).toBe(plan.operations.length);
  expect(summary.byOutcome).toEqual({ PAPER: plan.operations.length });
  // Without --approve the destructive operations show the approval gate failing, the rest pass.
  const destructive = actionable().filter((o) => o.destructive).length;
  expect(summary.byReason['PAPER/APPROVAL_MISSING']).toBe(destructive);
  expect(summary.byReason['PAPER/WOULD_APPLY']).toBe(actionable().length - destructive);
  const rename = summary.results.find((r) => r.action === 'RENAME')!;
  expect(rename.gates!.map((g) => g.gate)).toEqual(['IDENTIFIERS', 'SOURCE_EXISTS', 'TARGET_FREE', 'STREAMING_BUFFER', 'DATASET_EXPIRATION', 'BUDGET', 'APPROVAL']);
  expect(rename.statements!.some((s) => s.sql.join(' ').includes(rename.sources[0]) && s.sql.join(' ').includes(rename.target!))).toBe(true);
  const consolidate = summary.results.find((r) => r.action === 'CONSOLIDATE')!;
  expect(consolidate.statements!.find((s) => s.step.startsWith('CONSOLIDATE'))!.bytes).toBeGreaterThan(0);
  expect(summary.warnings.some((w) => w.includes('APPROVAL_MISSING'))).toBe(true);

  const approved = await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash });
  expect(approved.summary.byReason['PAPER/WOULD_APPLY']).toBe(actionable().length);
  // The simulated end state passes the paper checks (every old name becomes a view with its columns).
  expect(approved.summary.validation.checks).toBeGreaterThan(actionable().length);
  expect(approved.summary.validation.failures).toEqual([]);

  expect(await fingerprintWarehouse(engine)).toEqual(before);
  const runs = (await engine.ledger.runs(plan.planHash)).filter((r) => r.mode === 'paper');
  expect(runs.map((r) => r.event)).toEqual(['START', 'END', 'START', 'END']);
  const records = await engine.ledger.records(plan.planHash);
  expect(records.every((r) => r.state === 'PAPER')).toBe(true);
  expect(records.length).toBe(2 * plan.operations.length);
});

test('real apply: compliant names, every old name answers with its old columns and content', async () => {
  const t0 = Date.now();
  const { summary } = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  const ms = Date.now() - t0;
  process.stdout.write(`apply (small, ${actionable().length} operations): ${ms} ms\n`);
  expect(summary.validation.failures).toEqual([]);
  expect(exitOf(summary)).toBe(0);
  expect(summary.status).toBe('OK');
  expect(summary.byOutcome.APPLIED).toBe(actionable().length);
  expect(summary.validation.score).toBe(1);
  expect(summary.validation.checks).toBeGreaterThan(2 * actionable().length);

  const tables = await engine.listTables();
  const review = new Set(plan.operations.filter((o) => o.action === 'REVIEW').flatMap((o) => o.sources));
  const audit = auditNames(policy, tables.filter((t) => t.kind === 'TABLE' && !review.has(t.name)).map((t) => t.name));
  expect(audit.summary.nonCompliant).toBe(0);

  for (const v of plan.views) {
    const p = await engine.probe(v.name);
    expect(p.columns.map((c) => c.name)).toEqual(v.columns.map((c) => c.name));
  }
  expect(await contentOfOldNames(engine, plan)).toEqual(oldNames);

  // Exactly one terminal outcome per operation in this run, all from the closed sets.
  const records = (await engine.ledger.records(plan.planHash)).filter((r) => r.runId === summary.runId);
  const terminal = records.filter((r) => (TERMINAL_OUTCOMES as readonly string[]).includes(r.state));
  expect(terminal.length).toBe(plan.operations.length);
  expect(new Set(terminal.map((r) => r.operationId)).size).toBe(plan.operations.length);
  expect(terminal.every((r) => r.reason in REASONS)).toBe(true);

  const metrics = await renderMetrics(summary);
  expect(metrics).toMatch(/bqx_operations_total\{action="RENAME",outcome="APPLIED",reason="OK"\} \d+/);
  expect(metrics).toContain('bqx_validation_score{mode="apply"} 1');
  expect(metrics).not.toContain(summary.runId);
});

test('re-run: everything already applied, no new work', async () => {
  const before2 = await fingerprintWarehouse(engine);
  const { summary } = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
  expect(exitOf(summary)).toBe(0);
  expect(summary.byOutcome.SKIPPED_ALREADY_APPLIED).toBe(actionable().length);
  expect(summary.byOutcome.APPLIED).toBeUndefined();
  const records = (await engine.ledger.records(plan.planHash)).filter((r) => r.runId === summary.runId);
  expect(records.filter((r) => r.state === 'STARTED' || r.state === 'STEP_DONE')).toEqual([]);
  expect(await fingerprintWarehouse(engine)).toEqual(before2);
});

test('verify passes and reconcile matches the post-apply state', async () => {
  const v = await verifyPlan(engine, plan, {});
  expect(v.summary.validation.failures).toEqual([]);
  expect(exitOf(v.summary)).toBe(0);
  const r = await reconcilePlan(engine, plan, {});
  expect(r.expectation).toBe('post-apply');
  expect(r.counts).toEqual({ MATCHED: r.entries.length, DRIFT: 0, MISSING: 0, UNMANAGED: 0 });
});

test('reconcile names missing, unmanaged and drifted tables; verify fails on them (exit 8, DRIFT), naming them', async () => {
  const rename = actionable().find((o) => o.action === 'RENAME')!;
  await engine.run({ kind: 'RENAME_TABLE', from: rename.target!, to: 'zz_unmanaged' }, { jobId: 'test-drift' });
  const r = await reconcilePlan(engine, plan, {});
  expect(r.entries.find((e) => e.name === rename.target)?.status).toBe('MISSING');
  expect(r.entries.find((e) => e.name === 'zz_unmanaged')?.status).toBe('UNMANAGED');
  expect(r.matches).toBe(false);
  const v = await verifyPlan(engine, plan, {});
  expect(exitOf(v.summary)).toBe(8);
  expect(v.summary.validation.failures.some((f) => f.operationId === rename.id)).toBe(true);
  // Named, each: the table the plan expects and cannot find.
  expect(v.summary.differences).toContain(`${rename.target}: MISSING (expected TABLE (post-apply))`);
  expect(v.summary.warnings.join('\n')).toContain('zz_unmanaged');
  await engine.run({ kind: 'RENAME_TABLE', from: 'zz_unmanaged', to: rename.target! }, { jobId: 'test-undrift' });
  expect((await reconcilePlan(engine, plan, {})).counts.MATCHED).toBe(r.entries.length - 1);

  // A compatibility view redefined by hand with fewer columns drifts.
  const view = plan.views.find((x) => x.columns.length > 2)!;
  const redefine = (columns: typeof view.columns) => engine.run({ kind: 'CREATE_VIEW', name: view.name, target: view.target, columns, filter: view.filter }, { jobId: 'test-view' });
  await redefine(view.columns.slice(0, 1));
  const d = await reconcilePlan(engine, plan, {});
  expect(d.entries.find((e) => e.name === view.name)).toMatchObject({ status: 'DRIFT', detail: expect.stringContaining('columns') });
  expect(d.counts.DRIFT).toBe(1);
  await redefine(view.columns);
  expect((await reconcilePlan(engine, plan, {})).counts.DRIFT).toBe(0);
});

test('rollback restores the exact pre-apply warehouse', async () => {
  await expect(rollbackPlan(engine, plan, policy, {})).rejects.toMatchObject({ code: 'APPROVAL_MISSING', kind: 'REFUSED' });
  const { summary, restoredExactly } = await rollbackPlan(engine, plan, policy, { approve: plan.planHash });
  expect(exitOf(summary)).toBe(0);
  expect(summary.byOutcome).toEqual({ ROLLED_BACK: actionable().length });
  expect(restoredExactly).toBe(true);
  const after = await fingerprintWarehouse(engine);
  expect(after).toEqual(before);
  expect((await engine.listTables()).filter((t) => t.kind === 'VIEW')).toEqual([]);
  const r = await reconcilePlan(engine, plan, {});
  expect(r.expectation).toBe('pre-apply');
  expect(r.counts.MATCHED).toBe(r.entries.length);
});
