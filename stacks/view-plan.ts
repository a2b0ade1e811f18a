import * as fs from 'fs';
import { z } from 'zod';
import type { CompatibilityView } from '../core/plan/types';
import { BqxError } from '../core/errors';

/** The part of a committed plan (`bqx-plan/v1`) the views stacks use. */
export interface ViewPlan {
  readonly project: string;
  readonly dataset: string;
  readonly graceStart: string;
  readonly graceDays: number;
  readonly planHash: string;
  readonly views: readonly CompatibilityView[];
}

const viewSchema = z.object({
  name: z.string().min(1),
  target: z.string().min(1),
  operationId: z.string(),
  columns: z.array(z.object({ name: z.string().min(1), column: z.string().min(1) })).min(1),
  filter: z.string().min(1).nullable(),
  graceEnd: z.string().min(1),
});

const planSchema = z.object({
  format: z.literal('bqx-plan/v1'),
  project: z.string().min(1),
  dataset: z.string().min(1),
  graceStart: z.string().min(1),
  graceDays: z.number().int().nonnegative(),
  planHash: z.string().min(1),
  views: z.array(viewSchema),
});

/** Validates the views part of a parsed plan; duplicate view names are refused. */
export function parseViewPlan(input: unknown, source: string): ViewPlan {
  const r = planSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new BqxError('INVALID_PLAN', `plan ${source} is not a valid bqx-plan/v1 views section: ${issues}`, 'commit a plan written by `bqx plan`');
  }
  const seen = new Set<string>();
  for (const v of r.data.views) {
    if (seen.has(v.name)) throw new BqxError('INVALID_PLAN', `plan ${source}: view ${v.name} is declared twice`, 're-plan; view names are unique');
    seen.add(v.name);
  }
  return r.data;
}

/** Reads the committed plan, or returns null when the file does not exist (no plan committed yet). */
export function readViewPlan(path: string): ViewPlan | null {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new BqxError('INVALID_PLAN', `plan ${path} is not JSON: ${(e as Error).message}`, 'commit the file `bqx plan` wrote, unedited');
  }
  return parseViewPlan(parsed, path);
}
