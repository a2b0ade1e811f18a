/**
 * The plan projected onto given table sizes (core/plan/projection.ts), worked out by hand for one
 * operation of each action. The committed plan at the feature store's real size is in projection.test.ts.
 */
import { TIB } from '../../core/cost';
import { BENCH_TIME_MODEL, projectPlan, type ProjectionModel } from '../../core/plan/projection';
import type { Plan } from '../../core/plan/types';
import { planOfEachAction } from './plan-support';

let plan: Plan;
beforeEach(() => {
  plan = planOfEachAction();
});
const BYTES: Record<string, number> = {
  lag_bqx_eurusd_45: 1000,
  lag_bqx_eurusd_w45: 1000,
  lag_bqx_eurusd_90: 500,
  lag_bqx_eurusd_w90: 500,
  cov_mom_audcad_audchf: 300,
  cov_agg_audcad_audchf: 200,
  cov_agg_idx_audcad_audchf: 200,
  eurusd_agg: 50,
};
const sizeOf = (t: string) => ({ bytes: BYTES[t], rows: BYTES[t] / 10 });
const model: ProjectionModel = { pricePerTiBUsd: 8, jobSlots: 2, ddlSeconds: 2, readSeconds: 0.5, dmlSeconds: 1, scanBytesPerSecond: 100 };

it('counts each action’s jobs, bytes and seconds', () => {
  const p = projectPlan(plan, sizeOf, model);
  // RENAME: the rename and its view; 2 ledger writes, 1 validation read: 2*1 + 0.5 + 2*2 = 6.5 s.
  // DEDUPE: re-reads its 200-byte source, backup and drop, its view: 2.5 + 0.5 + 200/100 + 2*3 = 11 s.
  // CONSOLIDATE: reads its two windows' sources (1,500 bytes), the table, a backup and a drop per
  // source (4), the 4 views: 2.5 + 2*13 + 1500/100 = 43.5 s.
  expect(p).toEqual({
    tables: 8,
    tableBytes: 3750,
    tableRows: 375,
    bytes: 1700,
    usd: (1700 / TIB) * 8,
    consolidationBytes: 1500,
    fingerprintBytes: 200,
    jobs: { ddl: 2 + 3 + 13, read: 1 + 2 + 1, dml: 6 },
    jobSeconds: 18 * 2 + 4 * 0.5 + 6 * 1 + 17,
    longestOperationSeconds: 43.5,
    wallSeconds: 43.5,
    model,
  });
});

it('the wall clock is the job-seconds over the slots when that is longer than the slowest operation', () => {
  const p = projectPlan(plan, sizeOf, { ...model, jobSlots: 1 });
  expect(p.wallSeconds).toBe(61);
});

it('a consolidation without its spec reads every source', () => {
  const bare = { ...plan, operations: plan.operations.map((o) => (o.action === 'CONSOLIDATE' ? { ...o, consolidation: undefined } : o)) };
  expect(projectPlan(bare, sizeOf, model).consolidationBytes).toBe(3000);
});

it('the bench’s time model', () => {
  expect(BENCH_TIME_MODEL).toEqual({ jobSlots: 50, ddlSeconds: 1.5, readSeconds: 0.5, dmlSeconds: 1, scanBytesPerSecond: 1e9 });
});
