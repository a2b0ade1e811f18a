import type { Command } from 'commander';
import { runVerify } from '../../app/runs';
import { formatSummaryText } from '../../app/report/render';
import { runOutcome } from '../../core/report/summary';
import type { Finish } from '../exit-codes';
import { EXIT } from '../exit-codes';
import { engineOptions, evidenceOptions, withEngineOptions, withEvidenceOptions, withJsonOption } from '../options';
import { printRun } from './run-output';

export function registerVerify(program: Command, finish: Finish): void {
  const cmd = program
    .command('verify')
    .argument('<plan>', 'plan file')
    .description(
      `Re-run every validation check for the operations the ledger records as applied, and compare every table and view with the plan (exit ${EXIT.DRIFT} when one fails or differs; ${EXIT.REFUSED} for a plan never applied here while another was). ` +
        'Read-only: opens the warehouse read-only and writes nothing to it (no ledger rows; its record is the run report).',
    );
  withJsonOption(withEvidenceOptions(withEngineOptions(cmd)), 'the run summary').action(async (planFile: string, opts) => {
    const r = await runVerify({ engine: engineOptions(opts), planFile, evidence: evidenceOptions(opts) });
    printRun(r, Boolean(opts.json), () => formatSummaryText(r.summary));
    finish(runOutcome(r.summary));
  });
}
