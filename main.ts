/**
 * Entry point of `cdktf synth` (cdktf.json: `node dist/main.js`). The environment comes from
 * BQX_ENV (default prod), the plan from BQX_PLAN_FILE (default: the environment's views.planFile),
 * the clock from BQX_NOW; `npm run synth -- --env dev` is the faster, flag-driven equivalent.
 * Warnings go to stdout: the cdktf CLI labels every stderr line as an error.
 */
import { loadEnvironment } from './config/environments';
import { reportError } from './scripts/exit-codes';
import { synthesizeEnvironment } from './stacks/synthesize';

try {
  const result = synthesizeEnvironment({ env: loadEnvironment(process.env.BQX_ENV ?? 'prod'), planFile: process.env.BQX_PLAN_FILE || undefined });
  for (const w of result.warnings) process.stdout.write(`${w}\n`);
} catch (e) {
  process.exitCode = reportError(e, 'bqx synth');
}
