/**
 * Entry point of `cdktf synth/diff/deploy` (cdktf.json builds first, then runs `node dist/main.js`,
 * so the CLI never synthesizes stale code). The environment must be named: BQX_ENV=dev|prod; there
 * is no default, so `cdktf deploy data` with nothing set fails instead of reaching prod. The plan
 * comes from BQX_PLAN_FILE (default: the environment's views.planFile), an applied retirement plan
 * of its views from BQX_RETIRE_PLAN_FILE, the clock from BQX_NOW;
 * `npm run synth -- --env dev` is the faster, flag-driven equivalent. The first line names the
 * environment (ENV=… project=… state=…). Output goes to stdout: the cdktf CLI labels every stderr
 * line as an error.
 */
import { ENVIRONMENT_NAMES, loadEnvironment } from './config/environments';
import { BqxError } from './core/errors';
import { reportError } from './scripts/exit-codes';
import { synthHeader, synthesizeEnvironment } from './stacks/synthesize';

try {
  const name = process.env.BQX_ENV;
  if (!name) {
    throw new BqxError('ENVIRONMENT_REQUIRED', 'BQX_ENV is not set: the cdktf app does not default to an environment', `name it: BQX_ENV=${ENVIRONMENT_NAMES.join('|')} npm run cdktf -- synth`);
  }
  const env = loadEnvironment(name);
  process.stdout.write(`bqx: ${env.name === 'prod' ? 'PRODUCTION ' : ''}${synthHeader(env)}\n`);
  const result = synthesizeEnvironment({ env, planFile: process.env.BQX_PLAN_FILE || undefined, retirePlanFile: process.env.BQX_RETIRE_PLAN_FILE || undefined });
  for (const w of result.warnings) process.stdout.write(`${w}\n`);
} catch (e) {
  process.exitCode = reportError(e, 'bqx synth');
}
