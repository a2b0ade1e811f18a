import type { Command } from 'commander';
import { serviceAccountEmail } from '../../config/environment';
import { loadEnvironment } from '../../config/environments';
import { runReadiness } from '../../app/readiness/run';
import { outcomeOfVerdict } from '../../app/readiness/verdict';
import type { Finish } from '../exit-codes';
import { DEFAULT_ENVIRONMENT, emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

/** The environment's runner service account: who readiness acts as on Google Cloud by default. */
export function defaultRunnerServiceAccount(environment: string = DEFAULT_ENVIRONMENT): string {
  const env = loadEnvironment(environment);
  return serviceAccountEmail(env, env.serviceAccounts.runner);
}

export function registerReadiness(program: Command, finish: Finish): void {
  const cmd = program
    .command('readiness')
    .description(
      'GO / NO-GO audit, by testing: the policy, the plan against the current catalogue, each operation class rendered and dry-run, ' +
        'datasets, budget, the synthesized stacks, dependencies (and on Google Cloud, as the runner: credentials, APIs, every permission ' +
        'of the runner permission table by testIamPermissions, buckets, jobs). ' +
        'Writes readiness.md, readiness.json and the HTML report. Exit 0 GO, 10 NO-GO, 11 CONDITIONAL GO.',
    )
    .option('--plan <file>', 'the plan to assess (bqx plan --out FILE); without it phase readiness and budget are not assessed (P1)')
    .option('--stacks <dir>', 'synthesized CDKTF output to compare with the warehouse', 'cdktf.out')
    .option('--reports-dir <dir>', 'where readiness.md and readiness.json are written', 'reports')
    .option('--html <file>', 'the HTML report (default: <reports-dir>/index.html)')
    .option('--google-api-endpoint <url>', 'one base URL for Storage, Cloud Run, Resource Manager, Service Usage and IAM Credentials (a test double); env BQX_GOOGLE_API_ENDPOINT')
    .option(
      '--impersonate-service-account <email>',
      'bigquery engine: run as this service account (your credentials need roles/iam.serviceAccountTokenCreator on it), so testIamPermissions answers for it; ' +
        `default the environment's runner (${defaultRunnerServiceAccount()}) on Google's endpoints; "none": your own credentials as they are`,
    );
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), 'the report instead of the Markdown summary').action(async (opts) => {
    const engine = engineOptions(opts);
    const asked = opts.impersonateServiceAccount as string | undefined;
    // On Google's endpoints readiness acts as the runner unless told otherwise; against a test
    // endpoint only when asked (a test double needs its own IAM Credentials endpoint for it).
    const impersonate = asked === 'none' ? undefined : (asked ?? (engine.engine === 'bigquery' && engine.apiEndpoint === undefined ? defaultRunnerServiceAccount() : undefined));
    const outcome = await runReadiness({
      engineOptions: engine,
      planFile: opts.plan,
      policyFile: opts.policy,
      stacksDir: opts.stacks,
      reportsDir: opts.reportsDir,
      htmlFile: opts.html,
      googleApiEndpoint: opts.googleApiEndpoint,
      impersonateServiceAccount: impersonate,
    });
    emit(Boolean(opts.json), outcome.report, () => `${outcome.markdown}\nReports: ${outcome.files?.markdown}, ${outcome.files?.json}, ${outcome.files?.html}`);
    finish(outcomeOfVerdict(outcome.report.verdict));
  });
}
