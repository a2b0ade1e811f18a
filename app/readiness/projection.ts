/**
 * The plan at the real feature store's size: the local catalogue's real-size metadata
 * (warehouse/real-sizes.ts) through core's projection and the BigQuery bench's time model. Shown
 * beside the synthetic copy's own figures, each labelled.
 */
import { BENCH_TIME_MODEL, projectPlan, type PlanProjection } from '../../core/plan/projection';
import type { Plan } from '../../core/plan/types';
import type { Policy } from '../../core/policy';
import { REAL_BYTES, REAL_SIZE_BASIS, REAL_TABLES, realSizeOf } from '../../warehouse/real-sizes';
import { formatBytes, formatUsd } from './format';

export function realSizeProjection(plan: Plan, policy: Policy): PlanProjection & { basis: string } {
  const p = projectPlan(plan, realSizeOf, { ...BENCH_TIME_MODEL, pricePerTiBUsd: policy.doc.execution.pricePerTiBUsd });
  return {
    ...p,
    basis: `${REAL_SIZE_BASIS}; time: the BigQuery bench's latency model (DDL ${BENCH_TIME_MODEL.ddlSeconds} s, reads ${BENCH_TIME_MODEL.readSeconds} s, ledger DML ${BENCH_TIME_MODEL.dmlSeconds} s, ${BENCH_TIME_MODEL.jobSlots} jobs at once) and an assumed scan of ${BENCH_TIME_MODEL.scanBytesPerSecond / 1e9} GB/s`,
  };
}

export function formatMinutes(seconds: number): string {
  return seconds < 90 ? `${Math.round(seconds)} s` : seconds < 5400 ? `${(seconds / 60).toFixed(0)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

/** One labelled line: the real feature store's projection. */
export function projectionLine(p: PlanProjection): string {
  const whole = p.tables === REAL_TABLES ? 'the real feature store' : `this plan’s ${p.tables.toLocaleString('en-US')} tables at their real size (the feature store has ${REAL_TABLES.toLocaleString('en-US')}, ${(REAL_BYTES / 1e12).toFixed(2)} TB)`;
  return `PROJECTED for ${whole}, ${(p.tableBytes / 1e12).toFixed(2)} TB: reads ${formatBytes(p.bytes)} (${formatUsd(p.usd)}: consolidations ${formatBytes(p.consolidationBytes)}, dedupe fingerprints ${formatBytes(p.fingerprintBytes)}), ${p.jobs.ddl.toLocaleString('en-US')} DDL jobs, about ${formatMinutes(p.wallSeconds)} of wall clock`;
}
