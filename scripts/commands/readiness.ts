import { namedEnvironment } from '../../config/environment-rule';
import type { Command } from 'commander';
import { serviceAccountEmail } from '../../config/environment';
import { ENVIRONMENT_NAMES, loadEnvironment } from '../../config/environments';
import { runReadiness } from '../../app/readiness/run';
import { outcomeOfVerdict } from '../../app/readiness/verdict';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

/**
 * Who readiness acts as on Google Cloud by default: the runner service account of the environment
 * (--env, BQX_ENV, else the environment whose project is --project), in the project being checked.
 * Null when no environment fits (readiness then answers for the caller's own credentials).
 */
export function defaultRunnerServiceAccount(environment: string | undefined, project?: string): string | null {
  const name = environment ?? ENVIRONMENT_NAMES.find((n) => project !== undefined && loadEnvironment(n).project === project);
  if (!name) return null;
  const env = loadEnvironment(name);
  return serviceAccountEmail({ project: project ?? env.project }, env.serviceAccounts.runner);
}

/** The CLI's verbs as readiness's tool inventory names them (`warehouse fingerprint` for a subcommand). */
export function cliVerbs(program: Command): string[] {
  return program.commands.flatMap((c) => (c.commands.length ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()]));
}

export function registerReadiness(program: Command, finish: Finish): void {
  const cmd = program
    .command('readiness')
    .description(
      'GO / NO-GO audit, by testing: the policy, the plan against the current catalogue, each operation class rendered and dry-run, ' +
        'datasets, budget, the synthesized stacks, dependencies (and on Google Cloud, as the runner: credentials, APIs, every permission ' +
        'of the runner permission table by testIamPermissions, buckets, jobs). ' +
        'Writes readiness.md, readiness.json and the HTML report; --out-dir also writes the directive’s six documents. ' +
        'On the embedded engine it is a REHEARSAL on a synthetic copy with two verdicts: the rehearsal’s (may this local run proceed) and production’s ' +
        '(every blocker at production’s severity, the cloud checks listed NOT CHECKED with their commands). ' +
        'Exit (of the rehearsal’s verdict on the embedded engine, production’s on BigQuery): 0 GO, 10 NO-GO, 11 CONDITIONAL GO. ' +
        'Read-only: opens the warehouse read-only and writes nothing to it (its record is the report).',
    )
    .option('--plan <file>', 'the plan to assess (bqx plan --out FILE); without it phase readiness and budget are not assessed (P1)')
    .option('--stacks <dir>', 'synthesized CDKTF output to compare with the warehouse', 'cdktf.out')
    .option('--reports-dir <dir>', 'where readiness.md and readiness.json are written', 'reports')
    .option('--html <file>', 'the HTML report (default: <reports-dir>/index.html)')
    .option('--out-dir <dir>', 'also write the directive’s six documents (IMPLEMENTATION_SCRIPT_INVENTORY_<date>.md, M008_PHASE4C_READINESS_REPORT_<date>.md, INFRASTRUCTURE_READINESS_REPORT_<date>.md, DEPENDENCY_ANALYSIS_<date>.md, EXECUTION_BLOCKER_ANALYSIS_<date>.md, BA_AUDIT_SUMMARY_<date>.md) and BA_AUDIT_SUMMARY_<date>.json here')
    .option('--code <dir>', 'a checkout of the team’s repository: its scripts go into the inventory (READY / PARTIAL / MISSING / BLOCKED, file:line), the Phase 4C report, the dependencies and the blockers (bqx scan DIR)')
    .option('--google-api-endpoint <url>', 'one base URL for Storage, Cloud Run, Resource Manager, Service Usage and IAM Credentials (a test double); env BQX_GOOGLE_API_ENDPOINT')
    .option(
      '--impersonate-service-account <email>',
      'bigquery engine: run as this service account (your credentials need roles/iam.serviceAccountTokenCreator on it), so testIamPermissions answers for it; ' +
        `default on Google's endpoints: the runner of --env (prod: ${defaultRunnerServiceAccount('prod')}); "none": your own credentials as they are`,
    );
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), 'the report instead of the Markdown summary').action(async (opts) => {
    const engine = engineOptions(opts);
    const asked = opts.impersonateServiceAccount as string | undefined;
    // On Google's endpoints readiness acts as the runner unless told otherwise; against a test
    // endpoint only when asked (a test double needs its own IAM Credentials endpoint for it).
    const envName = namedEnvironment({ flag: opts.env as string | undefined });
    const runner = engine.engine === 'bigquery' && engine.apiEndpoint === undefined ? defaultRunnerServiceAccount(envName, engine.project) : null;
    const impersonate = asked === 'none' ? undefined : (asked ?? runner ?? undefined);
    const outcome = await runReadiness({
      // Reads only: the warehouse is opened read-only; the report is the run's record.
      engineOptions: { ...engine, readOnly: true },
      planFile: opts.plan,
      policyFile: opts.policy,
      stacksDir: opts.stacks,
      reportsDir: opts.reportsDir,
      htmlFile: opts.html,
      googleApiEndpoint: opts.googleApiEndpoint,
      impersonateServiceAccount: impersonate,
      outDir: opts.outDir,
      codeDir: opts.code,
      verbs: cliVerbs(program),
    });
    emit(
      Boolean(opts.json),
      outcome.report,
      () => `${outcome.markdown}\nReports: ${outcome.files?.markdown}, ${outcome.files?.json}, ${outcome.files?.html}${outcome.documents ? `\nReadiness documents: ${outcome.documents.join(', ')}` : ''}`,
    );
    finish(outcomeOfVerdict(outcome.report.verdict));
  });
}
