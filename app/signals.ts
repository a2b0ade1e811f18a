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

/**
 * After the run: a signal no longer stops anything (the ledger already says how the run ended), so
 * the first one only says so and the result is still written and printed; a second exits at once.
 * For a CLI process only (it exits when its output is printed): the handlers stay until then.
 */
function holdUntilExit(stderr: NodeJS.WritableStream): void {
  let seen = false;
  for (const sig of SIGNALS) {
    process.on(sig, () => {
      if (seen) process.exit(EXIT_ON_SECOND[sig]);
      seen = true;
      stderr.write(`bqx: ${sig}: the run has already ended; its report is written and printed, then bqx exits (send ${sig} again to exit at once)\n`);
    });
  }
}

export function interruptOnSignals(what: string, stderr: NodeJS.WritableStream = process.stderr, opts: { holdAfterRun?: boolean } = {}): Interruptible {
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
    dispose: () => {
      if (opts.holdAfterRun) holdUntilExit(stderr);
      handlers.forEach(([sig, handler]) => process.off(sig, handler));
    },
  };
}
