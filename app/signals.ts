/**
 * SIGINT and SIGTERM stop a run at its next safe point instead of killing it: Cloud Run sends
 * SIGTERM, then SIGKILL after a grace period, as the normal end of a job. The first signal aborts
 * the run's AbortSignal (no operation starts after it, the one in flight stops at a step boundary,
 * the ledger is flushed, the report written, the lock released); a second signal exits at once.
 */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const EXIT_ON_SECOND: Record<(typeof SIGNALS)[number], number> = { SIGINT: 130, SIGTERM: 143 };

export interface Interruptible {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function interruptOnSignals(what: string, stderr: NodeJS.WritableStream = process.stderr): Interruptible {
  const controller = new AbortController();
  const handlers = SIGNALS.map((sig) => {
    const handler = () => {
      if (controller.signal.aborted) {
        stderr.write(`bqx: second ${sig}: exiting now; the lock expires by itself and the next run resumes from the ledger and the warehouse\n`);
        process.exit(EXIT_ON_SECOND[sig]);
      }
      stderr.write(`bqx: ${sig}: ${what} stops at the next safe point (send ${sig} again to exit at once)\n`);
      controller.abort(sig);
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => handlers.forEach(([sig, handler]) => process.off(sig, handler)),
  };
}
