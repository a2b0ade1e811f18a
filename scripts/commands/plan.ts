import type { Command } from 'commander';
import { formatPlanSummary, runPlan } from '../../app/plan';
import { terminalProgress } from '../../app/report/terminal-progress';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerPlan(program: Command, finish: Finish): void {
  const cmd = program
    .command('plan')
    .description('Decide one action per table (KEEP, RENAME, DEDUPE, CONSOLIDATE, REVIEW) from the catalogue, its data and the policy. Changes nothing.')
    .requiredOption('--out <file>', 'where to write the plan JSON')
    .option('--review <file>', 'where to write the review file: one line per operation, KEEP counted per family (default: <out>.txt)')
    .option('--grace-start <date>', 'first day of the compatibility views’ grace period, YYYY-MM-DD (default: today, UTC)');
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), 'the plan summary').action(async (opts) => {
    const { plan, out, review } = await runPlan({ engine: engineOptions(opts), policyFile: opts.policy, graceStart: opts.graceStart, out: opts.out, review: opts.review, progress: terminalProgress() });
    emit(Boolean(opts.json), { planHash: plan.planHash, out, review, catalogueFingerprint: plan.catalogueFingerprint, summary: plan.summary }, () => formatPlanSummary(plan, opts.out, review));
    finish('OK');
  });
}
