import type { Command } from 'commander';
import { formatExtraction, runExtraction } from '../../app/extraction';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption, withPolicyOption } from '../options';

export function registerExtraction(program: Command, finish: Finish): void {
  const cmd = program
    .command('extraction')
    .description(
      'What the extract job reads for a pair (its discovery rule is policy extraction.groups): the base tables before and after the plan, ' +
        'each feature once, and the views and legacy copies a discovery by name alone would also read. Reads the catalogue only.',
    )
    .requiredOption('--pair <pair>', 'the pair, e.g. eurusd')
    .option('--plan <file>', 'the plan (without it: the catalogue as it is, views counted as duplicates)')
    .option('--manifest-dir <dir>', 'also write the pair’s manifest (the tables the job must read) at the policy’s manifestPath under DIR, a directory or gs://BUCKET (the staging bucket)')
    .option('--google-api-endpoint <url>', 'Cloud Storage base URL (a test double); env BQX_GOOGLE_API_ENDPOINT');
  withJsonOption(withPolicyOption(withEngineOptions(cmd)), '{pair, before: {tables}, after: {tables}, duplicatesByName, …}').action(async (opts) => {
    const { report, manifest } = await runExtraction({ engine: engineOptions(opts), pair: opts.pair, planFile: opts.plan, policyFile: opts.policy, manifestDir: opts.manifestDir, googleApiEndpoint: opts.googleApiEndpoint });
    emit(Boolean(opts.json), report, () => formatExtraction(report, manifest));
    finish('OK');
  });
}
