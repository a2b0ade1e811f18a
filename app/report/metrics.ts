import { existsSync, readFileSync, renameSync, writeFileSync } from 'fs';
import { ensureWritableFile } from '../output-paths';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RunSummary } from '../../core/report/summary';

const COUNTERS = ['bqx_runs_total', 'bqx_operations_total', 'bqx_rows_processed_total', 'bqx_bytes_processed_total'] as const;
/** Gauges hold the latest run per mode; other modes' values are carried over. */
const GAUGES = ['bqx_run_duration_seconds', 'bqx_validation_score'] as const;
const CARRIED: readonly string[] = [...COUNTERS, ...GAUGES];

type Sample = { labels: Record<string, string>; value: number };

/** Samples of an earlier textfile, so totals keep growing across one-shot runs. */
export function readPreviousCounters(text: string): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})?\s+([-+0-9.eE]+|NaN|\+Inf)$/.exec(line.trim());
    if (!m || !CARRIED.includes(m[1])) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    const list = out.get(m[1]) ?? [];
    list.push({ labels, value: Number(m[3]) });
    out.set(m[1], list);
  }
  return out;
}

/**
 * The run's metrics in the Prometheus text format. Labels are bounded sets (mode, outcome, action,
 * reason): never a run id, which would create a series per run.
 */
export async function renderMetrics(summary: RunSummary, previous: Map<string, Sample[]> = new Map()): Promise<string> {
  const registry = new Registry();
  const runs = new Counter({ name: 'bqx_runs_total', help: 'Runs of the bqx executor by mode and outcome.', labelNames: ['mode', 'outcome'], registers: [registry] });
  const ops = new Counter({ name: 'bqx_operations_total', help: 'Plan operations by action, terminal outcome and reason code.', labelNames: ['action', 'outcome', 'reason'], registers: [registry] });
  const rows = new Counter({ name: 'bqx_rows_processed_total', help: 'Rows in the tables the executor renamed, deduplicated, consolidated or rolled back.', labelNames: ['mode'], registers: [registry] });
  const bytes = new Counter({ name: 'bqx_bytes_processed_total', help: 'Bytes the warehouse reported processing for executor steps.', labelNames: ['mode'], registers: [registry] });
  const duration = new Gauge({ name: 'bqx_run_duration_seconds', help: 'Duration of the latest run by mode.', labelNames: ['mode'], registers: [registry] });
  const score = new Gauge({ name: 'bqx_validation_score', help: 'Share of passed validation checks in the latest run by mode (1 = all passed).', labelNames: ['mode'], registers: [registry] });
  const byName: Record<string, Counter<string>> = { bqx_runs_total: runs, bqx_operations_total: ops, bqx_rows_processed_total: rows, bqx_bytes_processed_total: bytes };
  const gauges: Record<string, Gauge<string>> = { bqx_run_duration_seconds: duration, bqx_validation_score: score };
  for (const [name, samples] of previous) {
    for (const s of samples) {
      if (!Number.isFinite(s.value)) continue;
      if (byName[name] && s.value > 0) byName[name].inc(s.labels, s.value);
      else if (gauges[name] && s.labels.mode !== summary.mode) gauges[name].set(s.labels, s.value);
    }
  }

  runs.inc({ mode: summary.mode, outcome: summary.status });
  for (const r of summary.results) ops.inc({ action: r.action, outcome: r.outcome, reason: r.reason });
  rows.inc({ mode: summary.mode }, summary.rowsProcessed);
  bytes.inc({ mode: summary.mode }, summary.bytesProcessed);
  duration.set({ mode: summary.mode }, summary.durationSeconds);
  score.set({ mode: summary.mode }, summary.validation.score);
  return registry.metrics();
}

/** Writes the textfile atomically (the node exporter may read it at any moment). */
export async function writeMetricsFile(file: string, summary: RunSummary): Promise<string> {
  const previous = existsSync(file) ? readPreviousCounters(readFileSync(file, 'utf8')) : new Map();
  const text = await renderMetrics(summary, previous);
  ensureWritableFile(file, 'metrics file');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return text;
}
