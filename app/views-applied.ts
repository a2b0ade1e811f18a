/**
 * The views handoff from the runner to Terraform. The runner creates each compatibility view right
 * after its rename (CREATE OR REPLACE VIEW); the views stacks declare the same tables. Terraform
 * must adopt exactly the views the runner has created (an `import` block each: importing a view
 * that does not exist fails the plan, creating one that exists fails the apply on "Already
 * Exists"). `bqx views applied` writes that set, from the ledger (the operations applied for the
 * plan) and the warehouse (the view is there now: a rollback drops it); `bqx synth --applied FILE`
 * (or the environment's `views.appliedFile`) turns it into import blocks (stacks/view-plan.ts).
 */
import { writeFileSync } from 'fs';
import { historyOf, readHistory } from '../core/execute/history';
import { loadPlanFile } from '../core/plan/load';
import type { Plan } from '../core/plan/types';
import type { Engine, EngineOptions } from '../core/ports/engine';
import { APPLIED_VIEWS_FORMAT, type AppliedViews } from '../stacks/view-plan';
import { withEngine } from './engine';
import { ensureWritableFile } from './output-paths';

/** The plan's compatibility views the runner has created and that exist now, sorted: deterministic for one ledger and warehouse. */
export async function appliedViews(engine: Engine, plan: Plan): Promise<AppliedViews> {
  const history = await readHistory(engine.ledger, plan.planHash);
  const applied = new Set(plan.operations.filter((o) => historyOf(history, o.id).applied).map((o) => o.id));
  const present = new Set((await engine.listTables()).filter((t) => t.kind === 'VIEW').map((t) => t.name));
  const views = plan.views.filter((v) => applied.has(v.operationId) && present.has(v.name)).map((v) => v.name);
  return { format: APPLIED_VIEWS_FORMAT, planHash: plan.planHash, project: plan.project, dataset: plan.dataset, views: [...new Set(views)].sort() };
}

/** `bqx views applied --plan PLAN --out FILE`: the set, written as JSON (also returned). */
export async function writeAppliedViews(input: { engine: EngineOptions; planFile: string; out: string }): Promise<AppliedViews> {
  const plan = loadPlanFile(input.planFile);
  ensureWritableFile(input.out, 'applied views file');
  const set = await withEngine(input.engine, (engine) => appliedViews(engine, plan));
  writeFileSync(input.out, `${JSON.stringify(set, null, 2)}\n`);
  return set;
}
