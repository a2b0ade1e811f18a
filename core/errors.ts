/**
 * What an outcome means for the person who ran the command. Core and the engines name the kind;
 * the CLI alone maps each kind to its documented exit code (scripts/exit-codes.ts).
 */
export const OUTCOME_KINDS = [
  'OK',
  'FAILURE',
  'BAD_INPUT',
  'REFUSED',
  'HALTED',
  'VIOLATIONS',
  'NO_GO',
  'CONDITIONAL_GO',
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/**
 * An error a person can act on: a stable code, what went wrong (naming the input), what to do, and
 * the kind of outcome it is. The CLI prints `message` and `hint` and exits with the kind's code.
 */
export class BqxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly kind: OutcomeKind = 'BAD_INPUT',
  ) {
    super(message);
    this.name = 'BqxError';
  }
}

export function isBqxError(e: unknown): e is BqxError {
  return e instanceof BqxError;
}
