import type { Command } from 'commander';
import { formatAudit, runAudit } from '../../app/audit';
import type { Finish } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerAudit(program: Command, finish: Finish): void {
  const cmd = program
    .command('audit')
    .description('Audit table names against M008: the warehouse catalogue (every page), or a list of names (--names).')
    .option('--names <file>', 'audit the names in FILE (one per line, - for stdin) instead of a warehouse; a pre-commit lint')
    .option('--fail-on-violation', `exit ${EXIT.VIOLATIONS} when any name violates M008`);
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), '{summary, tables}').action(async (opts) => {
    const { result, source } = await runAudit({ engine: engineOptions(opts), policyFile: opts.policy, namesFile: opts.names });
    emit(Boolean(opts.json), result, () => formatAudit(result, source));
    finish(opts.failOnViolation && result.summary.nonCompliant > 0 ? 'VIOLATIONS' : 'OK');
  });
}
