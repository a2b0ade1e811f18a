import pino from 'pino';
import type { RunSummary } from '../../core/report/summary';

/**
 * Structured run events on stderr, one JSON line each, in the shape Cloud Logging parses from a
 * container's output (`severity`, `message`, the rest as jsonPayload). The pipeline stack's
 * "runner halted" alert matches `jsonPayload.component="bqx-runner" AND jsonPayload.event="halted"`.
 */
export function runnerLogger(destination: NodeJS.WritableStream = process.stderr): pino.Logger {
  return pino(
    {
      base: { component: 'bqx-runner' },
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ severity: label.toUpperCase() }) },
    },
    destination as pino.DestinationStream,
  );
}

/** Where every run end goes to Cloud Logging too: in a Cloud Run job, or when asked (BQX_LOG_JSON=1). */
export function structuredLogging(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.CLOUD_RUN_JOB) || env.BQX_LOG_JSON === '1';
}

/** A halt is always logged (it pages someone); other run ends only where structured logs are read. */
export function logRunEnd(summary: RunSummary, log: pino.Logger = runnerLogger(), structured = structuredLogging()): void {
  const fields = {
    runId: summary.runId,
    planHash: summary.planHash,
    mode: summary.mode,
    status: summary.status,
    dataset: summary.dataset,
    byOutcome: summary.byOutcome,
    durationSeconds: summary.durationSeconds,
  };
  if (summary.status === 'HALTED') {
    log.error({ ...fields, event: 'halted', halt: summary.halt }, `bqx ${summary.mode} halted: ${summary.halt?.why ?? 'validation failed'}`);
  } else if (structured) {
    log.info({ ...fields, event: 'run_finished' }, `bqx ${summary.mode} ${summary.status}`);
  }
}
