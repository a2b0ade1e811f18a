import type { Command } from 'commander';
import { formatPlanSummary, runPlan, STDOUT } from '../../app/plan';
import { terminalProgress } from '../../app/report/terminal-progress';
import { BqxError } from '../../core/errors';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerPlan(program: Command, finish: Finish): void {
  const cmd = program
    .command('plan')
    .description('Decide one action per table (KEEP, RENAME, DEDUPE, CONSOLIDATE, REVIEW) from the catalogue, its data and the policy. Changes nothing.')
    .requiredOption('--out <file>', 'where to write the plan JSON (- for stdout: the summary then goes to stderr and no review file is written unless --review names one)')
    .option('--review <file>', 'where to write the review file: one line per operation, KEEP counted per family (default: <out>.txt; - for stdout)')
    .option('--grace-start <date>', 'first day of the compatibility views’ grace period, YYYY-MM-DD (default: today, UTC)');
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), 'the plan summary').action(async (opts) => {
    const toStdout = opts.out === STDOUT || opts.review === STDOUT;
    if (toStdout && opts.json) {
      throw new BqxError('BAD_OPTION', '--json and --out -/--review - would both write to stdout', 'drop --json (the summary goes to stderr), or write the plan to a file');
    }
    const { plan, out, review } = await runPlan({ engine: engineOptions(opts), policyFile: opts.policy, graceStart: opts.graceStart, out: opts.out, review: opts.review, progress: terminalProgress() });
    if (toStdout) process.stderr.write(`${formatPlanSummary(plan, opts.out, review)}\n`);
    else emit(Boolean(opts.json), { planHash: plan.planHash, out, review, catalogueFingerprint: plan.catalogueFingerprint, summary: plan.summary }, () => formatPlanSummary(plan, opts.out, review));
    finish('OK');
  });
}
