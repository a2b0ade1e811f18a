import type { CompatibilityView } from '../core/plan/types';
import type { ViewPlan } from '../stacks/view-plan';

export interface SyntheticPlanOptions {
  readonly views: number;
  /** Catalogue the plan claims to come from (default bigquery: the environment's own). */
  readonly engine?: string;
  readonly project?: string;
  readonly dataset?: string;
  /** graceEnd of view i is graceStart + graceDays, minus `spreadDays * i / views` (so some expire earlier). */
  readonly graceStart?: string;
  readonly graceDays?: number;
  readonly spreadDays?: number;
  /** Columns per view. @default 12 */
  readonly columns?: number;
}

const DAY_MS = 24 * 3600 * 1000;
const PAIRS = ['eurusd', 'gbpusd', 'usdjpy', 'usdchf', 'audusd', 'usdcad', 'nzdusd'];
const TYPES = ['lag', 'mom', 'vol', 'reg', 'agg', 'der'];

/**
 * A plan shaped like Phase 4C's (`bqx-plan/v1` views section): renamed names (`lag_eurusd_45` ->
 * `lag_idx_eurusd_45`), every fifth one a consolidated window with a presence filter.
 */
export function syntheticViewPlan(o: SyntheticPlanOptions): ViewPlan {
  const graceStart = o.graceStart ?? '2026-11-20T00:00:00.000Z';
  const graceDays = o.graceDays ?? 30;
  const spread = o.spreadDays ?? 0;
  const start = Date.parse(graceStart);
  const columns = o.columns ?? 12;
  const views: CompatibilityView[] = [];
  for (let i = 0; i < o.views; i++) {
    const pair = PAIRS[i % PAIRS.length];
    const type = TYPES[Math.floor(i / PAIRS.length) % TYPES.length];
    const n = Math.floor(i / (PAIRS.length * TYPES.length));
    const consolidated = i % 5 === 0;
    const name = `${type}_${pair}_${n}`;
    const target = consolidated ? `${type}_idx_${pair}` : `${type}_idx_${pair}_${n}`;
    const end = start + graceDays * DAY_MS - Math.floor((spread * DAY_MS * i) / Math.max(1, o.views));
    views.push({
      name,
      target,
      operationId: `op-${String(i).padStart(5, '0')}`,
      columns: [
        { name: 'interval_time', column: 'interval_time' },
        { name: 'pair', column: 'pair' },
        ...Array.from({ length: columns - 2 }, (_, c) => ({ name: `${type}_${c}`, column: consolidated ? `${type}_${c}_w${n}` : `${type}_${c}` })),
      ],
      filter: consolidated ? `has_w${n}` : null,
      graceEnd: new Date(end).toISOString(),
    });
  }
  return { engine: o.engine ?? 'bigquery', project: o.project ?? 'bqx-ml', dataset: o.dataset ?? 'bqx_ml_v3_features_v2', graceStart, graceDays, planHash: `sha256:${'ab'.repeat(32)}`, views };
}
