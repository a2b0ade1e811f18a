import type { Command } from 'commander';
import { Option } from 'commander';
import { runMainJob } from '../../app/main-job';
import { terminalProgress } from '../../app/report/terminal-progress';
import type { Scale } from '../../warehouse/catalogue';
import type { Finish } from '../exit-codes';
import { commandLine, DEFAULT_DATABASE, localEngineOptions, withPolicyOption } from '../options';
import { cliVerbs } from './readiness';

export function registerMain(program: Command, finish: Finish): void {
  const cmd = program
    .command('main')
    .description(
      'The local end-to-end job (what `npm start` runs): seed if absent, audit (tables and columns), plan, readiness (and its six documents), ' +
        'what the extract job reads, paper run, apply, verify, reconcile, extraction manifests, reports. Progress on stderr when it is a terminal. ' +
        'SIGINT/SIGTERM stop it at a safe point (exit 7, lock released, the resume command printed); run again, it resumes the apply in progress instead of planning anew.',
    )
    .option('--database <path>', 'DuckDB file of the local warehouse', DEFAULT_DATABASE)
    .addOption(new Option('--scale <scale>', 'catalogue to seed when the warehouse is absent').choices(['full', 'small']).default('full'))
    .option('--reports-dir <dir>', 'where the reports go', 'reports')
    .option('--stacks <dir>', 'where the synthesized stacks go (read by readiness)', 'cdktf.out')
    .option('--plan-out <file>', 'where the plan is written', '.bqx/plan.json')
    .option('--grace-start <date>', 'first day of the views’ grace period (default: today, UTC)')
    .option('--json', 'print the job summary (steps, counts, verdict, report paths) as JSON at the end, instead of the step lines');
  withPolicyOption(cmd).action(async (opts) => {
    const json = Boolean(opts.json);
    const result = await runMainJob(
      {
        engine: localEngineOptions(opts.database),
        scale: opts.scale as Scale,
        reportsDir: opts.reportsDir,
        stacksDir: opts.stacks,
        planOut: opts.planOut,
        graceStart: opts.graceStart,
        policyFile: opts.policy,
        progress: terminalProgress(),
        verbs: cliVerbs(program),
        resumeCommand: commandLine(),
        holdSignalsAfterRun: true,
      },
      (line) => {
        if (!json) process.stdout.write(line);
      },
    );
    if (json) {
      const { outcome: _outcome, ...summary } = result;
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    }
    finish(result.outcome);
  });
}
