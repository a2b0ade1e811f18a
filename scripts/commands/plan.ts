import type { Command } from 'commander';
import { formatPlanSummary, runPlan, STDOUT } from '../../app/plan';
import { diffPlans, formatPlanDiff } from '../../app/plan-diff';
import { terminalProgress } from '../../app/report/terminal-progress';
import { BqxError } from '../../core/errors';
import { loadPlanFile } from '../../core/plan/load';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerPlan(program: Command, finish: Finish): void {
  const cmd = program
    .command('plan')
    .description(
      'Decide one action per table (KEEP, RENAME, DEDUPE, CONSOLIDATE, REVIEW) from the catalogue, its data and the policy. Changes nothing.\n' +
        'With --diff PREVIOUS_PLAN: also what changed since that plan (operations added, removed, changed, and the catalogue drift behind them); ' +
        'with --diff and --current FILE: only compare two saved plans, no warehouse needed.',
    )
    .option('--out <file>', 'where to write the plan JSON (- for stdout: the summary then goes to stderr and no review file is written unless --review names one)')
    .option('--review <file>', 'where to write the review file: one line per operation, KEEP counted per family (default: <out>.txt; - for stdout)')
    .option('--grace-start <date>', 'first day of the compatibility views’ grace period, YYYY-MM-DD (default: today, UTC)')
    .option('--diff <previous-plan>', 'compare with this earlier plan (the one last reviewed, e.g. plans/phase-4c.plan.json)')
    .option('--current <plan>', 'with --diff: the saved plan to compare instead of planning the warehouse');
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), 'the plan summary (and its diff)').action(async (opts) => {
    if (opts.current !== undefined) {
      if (opts.diff === undefined) throw new BqxError('BAD_OPTION', '--current names the plan to compare, but no --diff PREVIOUS_PLAN was given', 'pass --diff PREVIOUS_PLAN --current PLAN');
      if (opts.out !== undefined) throw new BqxError('BAD_OPTION', '--current compares saved plans; --out plans the warehouse', 'drop one of them');
      const diff = diffPlans(loadPlanFile(opts.diff), loadPlanFile(opts.current));
      emit(Boolean(opts.json), diff, () => formatPlanDiff(diff, opts.diff, opts.current));
      return finish('OK');
    }
    if (opts.out === undefined) throw new BqxError('BAD_OPTION', "required option '--out <file>' not specified", 'pass --out FILE (or - for stdout), or compare saved plans with --diff PREVIOUS_PLAN --current PLAN');
    const toStdout = opts.out === STDOUT || opts.review === STDOUT;
    if (toStdout && opts.json) {
      throw new BqxError('BAD_OPTION', '--json and --out -/--review - would both write to stdout', 'drop --json (the summary goes to stderr), or write the plan to a file');
    }
    // The earlier plan is read before planning: a bad file is refused before any work.
    const previous = opts.diff === undefined ? null : loadPlanFile(opts.diff);
    const { plan, out, review } = await runPlan({ engine: engineOptions(opts), policyFile: opts.policy, graceStart: opts.graceStart, out: opts.out, review: opts.review, progress: terminalProgress() });
    const diff = previous ? diffPlans(previous, plan) : null;
    const text = () => [formatPlanSummary(plan, opts.out, review), ...(diff ? ['', formatPlanDiff(diff, opts.diff, 'this plan')] : [])].join('\n');
    if (toStdout) process.stderr.write(`${text()}\n`);
    else emit(Boolean(opts.json), { planHash: plan.planHash, out, review, catalogueFingerprint: plan.catalogueFingerprint, summary: plan.summary, ...(diff ? { diff } : {}) }, text);
    finish('OK');
  });
}
