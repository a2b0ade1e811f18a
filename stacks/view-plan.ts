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
