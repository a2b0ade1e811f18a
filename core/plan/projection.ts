/**
 * A plan projected onto the real feature store: the bytes it reads, their dollars and the wall
 * clock, when each table has its real size (the caller supplies the sizes; the synthetic copy's own
 * figures stay beside this, each labelled). The time model is the one the BigQuery bench uses
 * (bench/bigquery.ts: DDL 1–2 s, reads 0.5 s, ledger DML 1 s, a bounded number of jobs at once, at
 * most 5 metadata updates per table per 10 s) plus a scan rate for the statements that read data.
 */
import { bytesToUsd } from '../cost';
import type { Plan } from './types';

export interface ProjectionModel {
  readonly pricePerTiBUsd: number;
  /** Jobs running at once (the bench's default limit; BigQuery allows 100 interactive queries). */
  readonly jobSlots: number;
  readonly ddlSeconds: number;
  readonly readSeconds: number;
  readonly dmlSeconds: number;
  /** Bytes a reading statement scans per second (an assumption, named in the basis). */
  readonly scanBytesPerSecond: number;
}

export const BENCH_TIME_MODEL: Omit<ProjectionModel, 'pricePerTiBUsd'> = { jobSlots: 50, ddlSeconds: 1.5, readSeconds: 0.5, dmlSeconds: 1, scanBytesPerSecond: 1e9 };

export interface PlanProjection {
  /** Tables of the plan and their real size in total. */
  readonly tables: number;
  readonly tableBytes: number;
  readonly tableRows: number;
  /** What the operations read: consolidations read their windows' sources, dedupes re-read the source for its fingerprint. */
  readonly bytes: number;
  readonly usd: number;
  readonly consolidationBytes: number;
  readonly fingerprintBytes: number;
  readonly jobs: { readonly ddl: number; readonly read: number; readonly dml: number };
  readonly jobSeconds: number;
  /** The slowest single operation (a consolidation's scan). */
  readonly longestOperationSeconds: number;
  /** max(job-seconds / slots, the slowest operation). */
  readonly wallSeconds: number;
  readonly model: ProjectionModel;
}

export function projectPlan(plan: Plan, sizeOf: (table: string) => { bytes: number; rows: number }, model: ProjectionModel): PlanProjection {
  let tableBytes = 0;
  let tableRows = 0;
  for (const op of plan.operations) {
    for (const s of op.sources) {
      const z = sizeOf(s);
      tableBytes += z.bytes;
      tableRows += z.rows;
    }
  }
  let consolidationBytes = 0;
  let fingerprintBytes = 0;
  let ddl = 0;
  let read = 0;
  let dml = 0;
  let longest = 0;
  for (const op of plan.operations) {
    if (op.action === 'KEEP' || op.action === 'REVIEW') continue;
    const views = plan.views.filter((v) => v.operationId === op.id).length;
    dml += 2; // the ledger: the attempt and its outcome
    read += 1; // validation after the operation (row counts from metadata)
    let seconds = model.dmlSeconds * 2 + model.readSeconds;
    if (op.action === 'RENAME') {
      ddl += 1 + views;
      seconds += model.ddlSeconds * (1 + views);
    } else if (op.action === 'DEDUPE') {
      const b = op.sources.reduce((a, s) => a + sizeOf(s).bytes, 0);
      fingerprintBytes += b;
      read += op.sources.length;
      ddl += op.sources.length * 2 + views; // backup copy and drop per source, then the views
      seconds += model.readSeconds + b / model.scanBytesPerSecond + model.ddlSeconds * (op.sources.length * 2 + views);
    } else if (op.action === 'CONSOLIDATE') {
      const read1 = op.consolidation ? op.consolidation.windows.map((w) => w.source) : op.sources;
      const b = read1.reduce((a, s) => a + sizeOf(s).bytes, 0);
      consolidationBytes += b;
      ddl += 1 + op.sources.length * 2 + views; // the joined table, a backup and a drop per source, the views
      seconds += model.ddlSeconds * (1 + op.sources.length * 2 + views) + b / model.scanBytesPerSecond;
    }
    longest = Math.max(longest, seconds);
  }
  const bytes = consolidationBytes + fingerprintBytes;
  const scanSeconds = bytes / model.scanBytesPerSecond;
  const jobSeconds = ddl * model.ddlSeconds + read * model.readSeconds + dml * model.dmlSeconds + scanSeconds;
  return {
    tables: plan.tableCount,
    tableBytes,
    tableRows,
    bytes,
    usd: bytesToUsd(bytes, model.pricePerTiBUsd),
    consolidationBytes,
    fingerprintBytes,
    jobs: { ddl, read, dml },
    jobSeconds,
    longestOperationSeconds: longest,
    wallSeconds: Math.max(jobSeconds / model.jobSlots, longest),
    model,
  };
}
