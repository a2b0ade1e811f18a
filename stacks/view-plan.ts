import * as fs from 'fs';
import { loadPlanFile } from '../core/plan/load';
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
