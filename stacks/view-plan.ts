import * as fs from 'fs';
import { BqxError } from '../core/errors';
import { loadPlanFile } from '../core/plan/load';
import { retiredViews } from '../core/plan/retire';
import type { CompatibilityView } from '../core/plan/types';

/** The part of a plan (`bqx-plan/v1`) the views stacks declare. */
export interface ViewPlan {
  /** The engine whose catalogue the plan was made from (`bigquery` for the environment's own warehouse). */
  readonly engine: string;
  readonly project: string;
  readonly dataset: string;
  readonly graceStart: string;
  readonly graceDays: number;
  readonly planHash: string;
  readonly views: readonly CompatibilityView[];
}

/**
 * Reads the committed plan through the one plan loader (schema, integrity hash, identifiers,
 * structure), or returns null when the file does not exist (no plan committed yet).
 */
export function readViewPlan(file: string): ViewPlan | null {
  if (!fs.existsSync(file)) return null;
  const { engine, project, dataset, graceStart, graceDays, planHash, views } = loadPlanFile(file);
  return { engine, project, dataset, graceStart, graceDays, planHash, views };
}

/**
 * The views a retirement plan (`bqx retire --out FILE`, applied with `bqx apply`) drops: the views
 * stacks stop declaring exactly these. Refused when it retires the views of another plan.
 */
export function readRetiredViews(file: string, plan: ViewPlan): ReadonlySet<string> {
  const retire = loadPlanFile(file);
  if (!retire.retirement) throw new BqxError('INVALID_PLAN', `${file} is not a retirement plan`, 'pass the file `bqx retire --out` wrote');
  if (retire.retirement.basePlanHash !== plan.planHash) {
    throw new BqxError('INVALID_PLAN', `retirement plan ${file} retires the views of plan ${retire.retirement.basePlanHash.slice(0, 12)}…, the views stacks declare plan ${plan.planHash.slice(0, 12)}…`, 'pass the retirement plan made from the committed plan (bqx retire --plan <the committed plan>)');
  }
  return new Set(retiredViews(retire));
}

/** The views handoff file `bqx views applied` writes and the views stacks import from. */
export const APPLIED_VIEWS_FORMAT = 'bqx-views-applied/v1';

export interface AppliedViews {
  readonly format: typeof APPLIED_VIEWS_FORMAT;
  readonly planHash: string;
  readonly project: string;
  readonly dataset: string;
  /** Views of the plan the runner has created (sorted). */
  readonly views: readonly string[];
}

/**
 * The views to import, read from `file` and checked against the plan: same plan hash, project and
 * dataset, every name a view of the plan. Null when the file does not exist (nothing applied yet).
 * Anything else is refused: importing the wrong set fails the Terraform plan (a view not there) or
 * the apply ("Already Exists").
 */
export function readAppliedViews(file: string, plan: ViewPlan): ReadonlySet<string> | null {
  if (!fs.existsSync(file)) return null;
  const bad = (why: string) => new BqxError('INVALID_APPLIED_VIEWS', `${file}: ${why}`, 'write it again for this plan: bqx views applied --plan PLAN --env ENV --out FILE');
  let doc: Partial<AppliedViews>;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<AppliedViews>;
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (doc.format !== APPLIED_VIEWS_FORMAT) throw bad(`format ${JSON.stringify(doc.format)}, expected ${APPLIED_VIEWS_FORMAT}`);
  if (doc.planHash !== plan.planHash) throw bad(`made for plan ${String(doc.planHash)}, the views stacks declare plan ${plan.planHash}`);
  if (doc.project !== plan.project || doc.dataset !== plan.dataset) throw bad(`for ${String(doc.project)}.${String(doc.dataset)}, the plan is ${plan.project}.${plan.dataset}`);
  if (!Array.isArray(doc.views) || doc.views.some((v) => typeof v !== 'string')) throw bad('views is not a list of names');
  const known = new Set(plan.views.map((v) => v.name));
  const unknown = doc.views.filter((v) => !known.has(v));
  if (unknown.length) throw bad(`${unknown.length} name(s) are not views of the plan: ${unknown.slice(0, 5).join(', ')}`);
  return new Set(doc.views);
}
