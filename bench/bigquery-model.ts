/**
 * The latency model of the BigQuery benches (bench/bigquery.ts, bench/bigquery-executor.ts): job
 * latencies by kind, API round trips, the discrete-event clock, and the changes-only lower bound
 * a run is measured against. See bench/bigquery.ts for the model's description.
 */
import { createHash } from 'crypto';
import { stepsFor, viewsByOperation } from '../core/execute/steps';
import { isActionable, type Plan, type PlanOperation } from '../core/plan/types';
import type { Step } from '../core/ports/engine';
import type { BigQueryEngine } from '../engines/bigquery/engine';
import { scaledClock, type Clock } from '../engines/bigquery/limits';
import { BigQueryDouble } from '../testing/bigquery/double';
import { LOCATION, PROJECT, seedDouble } from '../testing/bigquery/warehouse';
import { VirtualClock } from '../testing/bigquery/virtual-clock';
import { flagValue } from './args';

export const speedup = Number(flagValue('speedup', '5'));
/** `virtual` (default): discrete-event time, independent of machine load; `scaled`: the wall clock times `--speedup`. */
export const clockKind = flagValue('clock', 'virtual') as 'virtual' | 'scaled';
export const limit = Number(flagValue('limit', '50'));
export const rateLimitShare = Number(flagValue('rate-limit-share', '0.02'));
export const seed = Number(flagValue('seed', '7'));

/** How the double classifies a job for its latency (double/model.ts `execute`). */
export const jobKind = (sql: string): 'ddl' | 'dml' | 'query' => (/^(ALTER|DROP|CREATE)/.test(sql) ? 'ddl' : /^INSERT/.test(sql) ? 'dml' : 'query');

/**
 * The latency model: DDL uniform in 1–2 s from a hash of the seed and the statement (a snapshot's
 * expiration timestamp left out, it differs per run), DML 1 s, reads 0.5 s.
 */
export function modelLatency(kind: 'ddl' | 'dml' | 'query', sql: string): number {
  if (kind === 'dml') return 1_000;
  if (kind === 'query') return 500;
  const h = createHash('sha256').update(`${seed}\n${sql.replace(/TIMESTAMP '[^']+'/g, "TIMESTAMP '*'")}`).digest();
  return 1_000 + (1_000 * h.readUInt32BE(0)) / 2 ** 32;
}

/**
 * Round trips of the REST calls, in simulated ms (virtual clock only: on the scaled clock the real
 * loopback round trip, times the speedup, stands in for them). No job slot is taken by any of them.
 */
export const API_LATENCY_MS: Record<string, number> = {
  'jobs.insert': 100,
  'jobs.insert:dryRun': 150,
  'jobs.getQueryResults': 50,
  'jobs.get': 50,
  'tables.get': 50,
  'tables.list': 100,
  'datasets.get': 50,
};

export interface BenchClock {
  readonly clock: Clock;
  /** Double options that make the double's waits visible to the clock and add API latency. */
  readonly doubleOptions: { apiLatency?: (call: string) => number; park?: <T>(p: Promise<T>) => Promise<T> };
  /** Marks every REST call of the engine as in flight (virtual clock). */
  attach(engine: BigQueryEngine): void;
  stop(): void;
  describe(): string;
}

export function benchClock(): BenchClock {
  if (clockKind === 'scaled') {
    return { clock: scaledClock(speedup), doubleOptions: {}, attach: () => undefined, stop: () => undefined, describe: () => `time x${speedup} of the wall clock (machine load counts)` };
  }
  const v = new VirtualClock();
  return {
    clock: v,
    doubleOptions: { apiLatency: (call) => API_LATENCY_MS[call] ?? 50, park: (p) => v.park(p) },
    attach(engine) {
      const rest = engine.rest as { call: BigQueryEngine['rest']['call'] };
      const call = rest.call.bind(rest);
      rest.call = (req) => v.track(() => call(req));
    },
    stop: () => v.stop(),
    describe: () => `discrete-event time (CPU is free; API round trips ${JSON.stringify(API_LATENCY_MS)} ms)`,
  };
}

/** The catalogue changes an operation makes (its DDL statements, in order). */
export function changesOf(engine: BigQueryEngine, op: PlanOperation, views: ReturnType<typeof viewsByOperation>): string[] {
  return stepsFor(op, views.get(op.id) ?? [], 1)
    .filter((s): s is Step => s.kind !== 'VALIDATE_CONSOLIDATION')
    .flatMap((s) => engine.render(s));
}

export interface ChangesBound {
  readonly statements: number;
  readonly jobSeconds: number;
  readonly byThroughput: number;
  readonly longestChain: number;
  readonly bound: number;
}

/** The changes-only lower bound of a plan under the model (independent of how it is executed). */
export function changesOnlyBound(engine: BigQueryEngine, plan: Plan): ChangesBound {
  const views = viewsByOperation(plan);
  const ops = plan.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.seq - b.seq);
  const chainOf = new Map<string, number>();
  let statements = 0;
  let ms = 0;
  for (const op of ops) {
    const own = changesOf(engine, op, views).map((s) => modelLatency('ddl', s));
    statements += own.length;
    ms += own.reduce((a, b) => a + b, 0);
    const after = Math.max(0, ...(op.after ?? []).map((d) => chainOf.get(d) ?? 0));
    chainOf.set(op.id, after + own.reduce((a, b) => a + b, 0));
  }
  const jobSeconds = ms / 1000;
  const byThroughput = jobSeconds / limit;
  const longestChain = Math.max(0, ...chainOf.values()) / 1000;
  return { statements, jobSeconds, byThroughput, longestChain, bound: Math.max(byThroughput, longestChain) };
}

/** Jobs the double ran, by kind (from the labels the engine puts on every job), and their modelled job-seconds. */
export function jobsByKind(double: BigQueryDouble) {
  const count = { ddl: 0, dmlLedger: 0, reads: 0 };
  const seconds = { ddl: 0, dmlLedger: 0, reads: 0 };
  const reads: Record<string, number> = {};
  /** Single reads carried by fused jobs (each part is one read as it would run alone). */
  let fusedParts = 0;
  for (const j of double.jobs.values()) {
    if (j.labels.bqx_kind === 'fused_read') fusedParts += [...j.sql.matchAll(/\)\)\) AS r\d+/g)].length;
    const label = j.labels.bqx_kind ?? '';
    const k = label === 'step' ? 'ddl' : /_append$|^ledger_init$/.test(label) ? 'dmlLedger' : 'reads';
    count[k]++;
    seconds[k] += modelLatency(jobKind(j.sql), j.sql) / 1000;
    if (k === 'reads') reads[label] = (reads[label] ?? 0) + 1;
  }
  const dryRuns: Record<string, number> = {};
  for (const i of double.inserts) if (i.dryRun) dryRuns[i.labels.bqx_kind ?? '?'] = (dryRuns[i.labels.bqx_kind ?? '?'] ?? 0) + 1;
  return { count, seconds, reads, dryRuns, fusedParts };
}

/** Mean number of jobs running in the double over [from, to] (simulated ms). */
export function meanRunning(double: BigQueryDouble, from: number, to: number): number {
  let area = 0;
  let last = from;
  let running = 0;
  for (const [t, n] of double.runningHistory) {
    if (t >= to) break;
    if (t > from) area += running * (t - last);
    last = Math.max(from, t);
    running = n;
  }
  area += running * Math.max(0, to - last);
  return area / Math.max(1, to - from);
}

export const s1 = (x: number) => x.toFixed(1);

/** The full catalogue in a double under the latency model (job slots, rate limits, per-table update limit). */
export function modelDouble(bc: BenchClock, latency: (kind: 'ddl' | 'dml' | 'query', sql: string) => number = modelLatency): BigQueryDouble {
  const double = new BigQueryDouble({
    project: PROJECT,
    location: LOCATION,
    clock: bc.clock,
    ...bc.doubleOptions,
    maxConcurrentJobs: limit,
    rateLimitShare,
    seed,
    tableUpdateLimit: { limit: 5, windowMs: 10_000 },
    latency,
  });
  seedDouble(double, 'full', { withRunnerDataset: true });
  return double;
}
