import type { Command } from 'commander';
import { EXIT } from '../../core/errors';
import { reconcilePlan } from '../../core/execute/reconcile';
import { loadPlanFile } from '../../core/plan/load';
import { DEFAULT_REPORTS_DIR } from '../../core/report/evidence';
import { formatReconcile, writeReconcileReports } from '../../core/report/render';
import { openEngine } from '../../engines';
import { emit, engineOptions, withEngineOptions } from '../options';

export function registerReconcile(program: Command): void {
  withEngineOptions(
    program
      .command('reconcile')
      .argument('<plan>', 'plan file')
      .description(`List every table and view as MATCHED / DRIFT / MISSING / UNMANAGED against the plan's expected end state (exit ${EXIT.FAILURE} on anything but MATCHED). Read-only.`)
      .option('--json', 'print {counts, entries} as JSON')
      .option('--reports-dir <dir>', 'directory for run-reconcile.md/json', DEFAULT_REPORTS_DIR),
  ).action(async (planFile: string, opts) => {
    const plan = loadPlanFile(planFile);
    const engine = await openEngine(engineOptions(opts));
    try {
      const r = await reconcilePlan(engine, plan, { planSource: planFile });
      const files = writeReconcileReports(opts.reportsDir, r);
      emit(Boolean(opts.json), r, () => `${formatReconcile(r)}\n  reports: ${files.markdown}, ${files.json}`);
      if (r.exitCode !== EXIT.OK) process.exitCode = r.exitCode;
    } finally {
      await engine.close();
    }
  });
}
