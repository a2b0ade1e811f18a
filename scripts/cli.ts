import { readFileSync } from 'fs';
import { Command } from 'commander';
import { repoPath } from '../core/paths';
import type { OutcomeKind } from '../core/errors';
import { checkTestHooks } from '../core/test-hooks';
import { registerCommands } from './commands';
import { exitCodeHelp, exitCodeOf, reportError, type Finish } from './exit-codes';
import { engineFlags, withEngineFlags } from './options';

/** The version in package.json: what `bqx --version` prints. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;
}

export function buildProgram(finish: Finish = () => undefined): Command {
  const program = new Command();
  program
    .name('bqx')
    .version(packageVersion(), '-V, --version', 'print the version of bqx and exit')
    .description(
      'Audit, plan, execute and verify the M008 naming remediation of the BQX ML feature store.\n' +
        'The embedded DuckDB warehouse (.bqx/warehouse.duckdb) is the default engine; --engine bigquery targets BigQuery.',
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', `\n${exitCodeHelp()}`);
  registerCommands(program, finish);
  return program;
}

/** Runs the CLI and returns the exit code (bin/bqx.js sets it). */
export async function main(argv: string[]): Promise<number> {
  let outcome: OutcomeKind = 'OK';
  const program = buildProgram((o) => (outcome = o));
  try {
    // Before any verb: a test hook without the test switch is refused (engine options check the target).
    checkTestHooks();
    await program.parseAsync(argv);
    return exitCodeOf(outcome);
  } catch (e) {
    // A hint's commands carry the engine flags given here: copied, it acts on the same warehouse.
    return reportError(e, 'bqx', process.stderr, (hint) => withEngineFlags(hint, engineFlags(argv)));
  }
}
