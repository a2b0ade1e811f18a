import type { Command } from 'commander';
import { EXIT } from '../../core/errors';
import { verifyPlan } from '../../core/execute/verify';
import { loadPlanFile } from '../../core/plan/load';
import { formatSummaryText } from '../../core/report/render';
import { openEngine } from '../../engines';
import { engineOptions, withEngineOptions } from '../options';
import { finishRun, withEvidenceOptions } from './apply';

export function registerVerify(program: Command): void {
  withEvidenceOptions(
    withEngineOptions(
      program
        .command('verify')
        .argument('<plan>', 'plan file')
        .description(`Re-run every validation check for the operations the ledger records as applied (exit ${EXIT.HALTED} when one fails). Read-only.`),
    ),
  ).action(async (planFile: string, opts) => {
    const plan = loadPlanFile(planFile);
    const engine = await openEngine(engineOptions(opts));
    try {
      const { summary, exitCode } = await verifyPlan(engine, plan, { planSource: planFile });
      await finishRun(summary, opts, () => formatSummaryText(summary));
      if (exitCode !== EXIT.OK) process.exitCode = exitCode;
    } finally {
      await engine.close();
    }
  });
}
