/**
 * What an outcome means for the person who ran the command. Core and the engines name the kind;
 * the CLI alone maps each kind to its documented exit code (scripts/exit-codes.ts).
 */
export const OUTCOME_KINDS = [
  /** Done; nothing left to do. */
  'OK',
  /** A bug or an error nobody anticipated: read the message and the run report. */
  'FAILURE',
  /** Arguments, plan, policy or identifiers are invalid; nothing was changed. */
  'BAD_INPUT',
  /** Refused before any change (lock held, approval missing, plan stale, …); nothing was changed. */
  'REFUSED',
  /** A run halted by its validation; the ledger says what was applied. */
  'HALTED',
  /** The audit found violations and was asked to fail on them. */
  'VIOLATIONS',
  /** Some operations were applied, others failed or were refused: partial progress, re-run resumes. */
  'INCOMPLETE',
  /** Stopped by a signal at a safe point: partial progress, re-run resumes. */
  'INTERRUPTED',
  /** The warehouse does not match the plan (verify, reconcile, rollback): tables are named. */
  'DRIFT',
  /** The warehouse or its ledger cannot be reached or written (credentials, permission, disk full). */
  'UNAVAILABLE',
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

/** The value `f` resolves to, or the error it throws (as an Error): for reads whose failure is an answer. */
export async function valueOrError<T>(f: () => Promise<T>): Promise<T | Error> {
  try {
    return await f();
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

export function isBqxError(e: unknown): e is BqxError {
  return e instanceof BqxError;
}

/**
 * How an engine compares dataset names: BigQuery's are case-sensitive, DuckDB's schema names are not
 * (`BQX_ML` and `bqx_ml` are one schema there).
 */
export type NameCase = 'sensitive' | 'insensitive';

export function sameName(a: string, b: string, nameCase: NameCase): boolean {
  return nameCase === 'sensitive' ? a === b : a.toLowerCase() === b.toLowerCase();
}

/** The runner's own dataset must not be the one it remediates (its tables would land among the features). */
export function assertDistinctDatasets(where: { readonly dataset: string; readonly runnerDataset: string }, nameCase: NameCase = 'sensitive'): void {
  if (sameName(where.runnerDataset, where.dataset, nameCase)) {
    throw new BqxError(
      'BAD_OPTION',
      `--runner-dataset ${where.runnerDataset} is the dataset being remediated (${where.dataset})${where.runnerDataset === where.dataset ? '' : ': the engine ignores the case of dataset names'}`,
      "keep the ledger, lock and backups in a dataset of their own (default: the environment's ledger dataset); nothing was changed",
    );
  }
}

/** Datasets the engine keeps for itself: remediating one, or keeping the ledger in one, is refused. */
export function assertNotReserved(name: string, flag: string, reserved: readonly string[]): string {
  const hit = reserved.find((r) => r.toLowerCase() === name.toLowerCase());
  if (hit) throw new BqxError('BAD_OPTION', `${flag} ${name} is a reserved schema (${hit}) of the engine`, `name a dataset of your own (reserved: ${reserved.join(', ')}); nothing was changed`);
  return name;
}
