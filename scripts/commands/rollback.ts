import type { Command } from 'commander';
import { RunRefused } from '../../core/execute/run-common';
import { rollbackPlan } from '../../core/execute/rollback';
import { EXIT } from '../../core/errors';
import { loadPlanFile } from '../../core/plan/load';
import { loadPolicy } from '../../core/policy';
import { terminalProgress } from '../../core/report/progress';
import { formatSummaryText } from '../../core/report/render';
import { openEngine } from '../../engines';
import { engineOptions, withEngineOptions } from '../options';
import { finishRun, withEvidenceOptions } from './apply';

export function registerRollback(program: Command): void {
  withEvidenceOptions(
    withEngineOptions(
      program
        .command('rollback')
        .argument('<plan>', 'plan file that was applied')
        .description('Undo an applied plan from the ledger, newest operation first: views dropped, renames reversed, dropped tables restored from backups, consolidated tables dropped.')
        .option('--approve <hash>', 'the plan hash (rolling back a consolidation drops its consolidated table)'),
    ),
  ).action(async (planFile: string, opts) => {
    const policy = loadPolicy(opts.policy);
    const plan = loadPlanFile(planFile);
    const engine = await openEngine(engineOptions(opts));
    try {
      let result;
      try {
        result = await rollbackPlan(engine, plan, policy, { approve: opts.approve, planSource: planFile, progress: terminalProgress() });
      } catch (e) {
        if (e instanceof RunRefused) await finishRun(e.summary, opts, () => formatSummaryText(e.summary));
        throw e;
      }
      const { summary, exitCode, restoredExactly } = result;
      await finishRun(summary, opts, () => `${formatSummaryText(summary)}\n  pre-apply catalogue restored exactly: ${restoredExactly ? 'yes' : 'NO'}`);
      if (exitCode !== EXIT.OK) process.exitCode = exitCode;
    } finally {
      await engine.close();
    }
  });
}
