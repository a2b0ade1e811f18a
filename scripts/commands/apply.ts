import type { Command } from 'commander';
import { runApply } from '../../app/runs';
import { formatStatements, formatSummaryText } from '../../app/report/render';
import { terminalProgress } from '../../app/report/terminal-progress';
import { runOutcome } from '../../core/report/summary';
import type { Finish } from '../exit-codes';
import { commandLine, engineOptions, evidenceOptions, parseNonNegative, parsePositiveInteger, withEngineOptions, withEvidenceOptions, withJsonOption, withPolicyOption } from '../options';
import { printRun } from './run-output';

export function registerApply(program: Command, finish: Finish): void {
  const cmd = program
    .command('apply')
    .argument('<plan>', 'plan file written by `bqx plan --out FILE`')
    .description('Carry out a plan: --dry-run is paper mode (prints every statement, bytes, cost and gate verdict; changes nothing).')
    .option('--dry-run', 'paper mode: simulate the whole run, change nothing')
    .option('--approve <hash>', 'the plan hash, approving its destructive operations (drops)')
    .option('--budget-usd <n>', 'budget for bytes read in this run (default: policy execution.budgetUsd)')
    .option('--max-operations <n>', 'run only the first N pending operations (N ≥ 1)');
  withJsonOption(withEvidenceOptions(withPolicyOption(withEngineOptions(cmd))), 'the run summary').action(async (planFile: string, opts) => {
    const mode = opts.dryRun ? 'paper' : 'real';
    const r = await runApply({
      engine: engineOptions(opts),
      planFile,
      policyFile: opts.policy,
      evidence: evidenceOptions(opts),
      mode,
      approve: opts.approve,
      budgetUsd: parseNonNegative(opts.budgetUsd, '--budget-usd', false),
      maxOperations: parsePositiveInteger(opts.maxOperations, '--max-operations'),
      progress: terminalProgress(),
      resumeCommand: commandLine(),
      holdSignalsAfterRun: true,
    });
    printRun(r, Boolean(opts.json), () => (mode === 'paper' && !r.refusal ? `${formatStatements(r.summary)}\n\n` : '') + formatSummaryText(r.summary) + (r.projection ? `\n  synthetic copy above; ${r.projection}` : ''));
    finish(runOutcome(r.summary));
  });
}
