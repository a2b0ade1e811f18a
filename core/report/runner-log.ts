import pino from 'pino';
import type { RunSummary } from './summary';

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

/** A halt is always logged (it pages someone); other run ends only where nobody reads a terminal. */
export function logRunEnd(summary: RunSummary, log: pino.Logger = runnerLogger(), interactive = Boolean(process.stderr.isTTY)): void {
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
  } else if (!interactive) {
    log.info({ ...fields, event: 'run_finished' }, `bqx ${summary.mode} ${summary.status}`);
  }
}
