import type { Command } from 'commander';
import { runRollback } from '../../app/runs';
import { formatSummaryText } from '../../app/report/render';
import { terminalProgress } from '../../app/report/terminal-progress';
import { runOutcome } from '../../core/report/summary';
import type { Finish } from '../exit-codes';
import { commandLine, engineOptions, evidenceOptions, withEngineOptions, withEvidenceOptions, withJsonOption, withPolicyOption } from '../options';
import { printRun } from './run-output';

export function registerRollback(program: Command, finish: Finish): void {
  const cmd = program
    .command('rollback')
    .argument('<plan>', 'plan file that was applied')
    .description('Undo an applied plan from the ledger, newest operation first: views dropped, renames reversed, dropped tables restored from backups, consolidated tables dropped.')
    .option('--approve <hash>', 'the plan hash (rolling back a consolidation drops its consolidated table)');
  withJsonOption(withEvidenceOptions(withPolicyOption(withEngineOptions(cmd))), 'the run summary').action(async (planFile: string, opts) => {
    const r = await runRollback({ engine: engineOptions(opts), planFile, policyFile: opts.policy, evidence: evidenceOptions(opts), approve: opts.approve, progress: terminalProgress(), resumeCommand: commandLine(), holdSignalsAfterRun: true });
    printRun(r, Boolean(opts.json), () => `${formatSummaryText(r.summary)}\n  pre-apply catalogue restored exactly: ${r.restoredExactly ? 'yes' : 'NO'}`);
    finish(runOutcome(r.summary));
  });
}
