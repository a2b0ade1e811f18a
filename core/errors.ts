/**
 * An error a person can act on: a stable code, what went wrong (naming the input), and what to do.
 * The CLI prints `message` and `hint` and exits with `exitCode`.
 */
export class BqxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'BqxError';
  }
}

/** Exit codes the CLI documents in its --help and in the README. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  BAD_INPUT: 2,
  REFUSED: 3,
  HALTED: 4,
  VIOLATIONS: 5,
  NO_GO: 10,
  CONDITIONAL_GO: 11,
} as const;

export function isBqxError(e: unknown): e is BqxError {
  return e instanceof BqxError;
}
