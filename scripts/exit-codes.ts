/**
 * The CLI's exit codes: the one place an outcome becomes a number. `bqx --help`, the README and the
 * runbook document this table (a test holds them to it).
 */
import { CommanderError } from 'commander';
import { isBqxError, type OutcomeKind } from '../core/errors';

export const EXIT: Readonly<Record<OutcomeKind, number>> = {
  OK: 0,
  FAILURE: 1,
  BAD_INPUT: 2,
  REFUSED: 3,
  HALTED: 4,
  VIOLATIONS: 5,
  INCOMPLETE: 6,
  INTERRUPTED: 7,
  DRIFT: 8,
  UNAVAILABLE: 9,
  NO_GO: 10,
  CONDITIONAL_GO: 11,
};

/** One line per code, for `--help`. */
export const EXIT_MEANINGS: Readonly<Record<OutcomeKind, string>> = {
  OK: 'success (readiness: GO)',
  FAILURE: 'unexpected failure (a bug): read the message and the run report',
  BAD_INPUT: 'bad input (invalid arguments, plan, policy, paths or identifiers); nothing was changed',
  REFUSED: 'refused before any change (plan from another catalogue, plan never applied here, lock held, approval missing, every operation gated); nothing was changed',
  HALTED: 'run halted by validation; partial progress, the ledger is true (see the run report)',
  VIOLATIONS: 'audit found violations and --fail-on-violation was given',
  INCOMPLETE: 'partial progress: some operations applied, others failed or were refused; re-run resumes',
  INTERRUPTED: 'stopped by a signal at a safe point; partial progress, re-run the same command to resume',
  DRIFT: 'the warehouse does not match the plan (verify, reconcile, rollback; apply when a skipped operation is gone); each table is named',
  UNAVAILABLE: 'the warehouse or its ledger cannot be reached or written (credentials, permission, disk full); the report says what was done',
  NO_GO: 'readiness: NO-GO',
  CONDITIONAL_GO: 'readiness: CONDITIONAL GO',
};

/** Every verb ends by naming its outcome; `main` (scripts/cli.ts) turns it into the exit code. */
export type Finish = (outcome: OutcomeKind) => void;

export function exitCodeOf(kind: OutcomeKind): number {
  return EXIT[kind];
}

export function exitCodeHelp(): string {
  const rows = (Object.keys(EXIT) as OutcomeKind[]).sort((a, b) => EXIT[a] - EXIT[b]);
  return `Exit codes:\n${rows.map((k) => `  ${String(EXIT[k]).padEnd(3)} ${EXIT_MEANINGS[k]}`).join('\n')}`;
}

/** Prints what went wrong (and what to do; `hintFor` completes the hint's commands) and returns the exit code: every entry point ends here. */
export function reportError(e: unknown, prefix: string, stderr: NodeJS.WritableStream = process.stderr, hintFor: (hint: string) => string = (h) => h): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT;
  if (isBqxError(e)) {
    stderr.write(`${prefix}: ${e.message}\n`);
    if (e.hint) stderr.write(`  what to do: ${hintFor(e.hint)}\n`);
    if (process.env.BQX_DEBUG === '1') stderr.write(`${e.stack ?? ''}\n`);
    return exitCodeOf(e.kind);
  }
  stderr.write(`${prefix}: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
  return EXIT.FAILURE;
}
