import { Command, CommanderError } from 'commander';
import { EXIT, isBqxError } from '../core/errors';
import { registerCommands } from './commands';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('bqx')
    .description(
      'Audit, plan, execute and verify the M008 naming remediation of the BQX ML feature store.\n' +
        'The embedded DuckDB warehouse (.bqx/warehouse.duckdb) is the default engine; --engine bigquery targets BigQuery.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      `
Exit codes:
  0   success (readiness: GO)
  1   unexpected failure
  2   bad input (invalid arguments, plan, policy or identifiers); nothing was changed
  3   refused (plan from another catalogue, lock held, approval missing, gate failed); nothing was changed
  4   run halted by validation (see the ledger and the run report)
  5   audit found violations and --fail-on-violation was given
  10  readiness: NO-GO
  11  readiness: CONDITIONAL GO`,
    );
  registerCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code (bin/bqx.js sets it). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT;
    }
    if (isBqxError(e)) {
      process.stderr.write(`bqx: ${e.message}\n`);
      if (e.hint) process.stderr.write(`  what to do: ${e.hint}\n`);
      return e.exitCode;
    }
    process.stderr.write(`bqx: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.FAILURE;
  }
}
