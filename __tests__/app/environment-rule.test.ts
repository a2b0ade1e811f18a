/**
 * One environment rule for every entry point (config/environment-rule.ts): `--env`, else BQX_ENV,
 * else refuse where a cloud target is implied; a named environment (or project) means BigQuery for
 * the warehouse verbs; GOOGLE_CLOUD_PROJECT names the project when nothing more explicit does and
 * must agree with the environment named. (`bqx synth`: __tests__/cdktf/synth-output.test.ts; the
 * cdktf app: __tests__/cdktf/cdktf-cli.test.ts; the runbook's lines: runbook-commands.test.ts.)
 */
import { requireEnvironment } from '../../config/environment-rule';
import { engineOptions } from '../../scripts/options';

const pick = (o: ReturnType<typeof engineOptions>) => `${o.engine} ${o.engine === 'duckdb' ? o.database : o.project} ${o.dataset} ${o.runnerDataset}`;
const run = (opts: Record<string, unknown>, vars: Record<string, string> = {}) => {
  try {
    return pick(engineOptions(opts, vars));
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
};

describe('the environment of a warehouse verb', () => {
  test('nothing named: the local warehouse, with production names (it reproduces production)', () => {
    expect(run({})).toBe('duckdb .bqx/warehouse.duckdb bqx_ml_v3_features_v2 bqx_ml_v3_migration');
  });

  test('--env or BQX_ENV selects BigQuery and the environment\'s project; the flag wins', () => {
    expect(run({}, { BQX_ENV: 'prod' })).toBe('bigquery bqx-ml bqx_ml_v3_features_v2 bqx_ml_v3_migration');
    expect(run({ env: 'dev' })).toBe('bigquery bqx-ml-dev bqx_ml_v3_features_v2 bqx_ml_v3_migration');
    expect(run({ env: 'dev' }, { BQX_ENV: 'prod' })).toBe('bigquery bqx-ml-dev bqx_ml_v3_features_v2 bqx_ml_v3_migration');
    expect(run({ engine: 'duckdb' }, { BQX_ENV: 'prod' })).toBe('duckdb .bqx/warehouse.duckdb bqx_ml_v3_features_v2 bqx_ml_v3_migration');
    expect(run({}, { BQX_ENV: 'staging' })).toMatch(/^INVALID_ENVIRONMENT: unknown environment "staging"/);
  });

  test('GOOGLE_CLOUD_PROJECT names the project like gcloud, must agree with a named environment, and yields to --project', () => {
    expect(run({}, { GOOGLE_CLOUD_PROJECT: 'bqx-ml' })).toBe('bigquery bqx-ml bqx_ml_v3_features_v2 bqx_ml_v3_migration');
    expect(run({}, { BQX_ENV: 'prod', GOOGLE_CLOUD_PROJECT: 'bqx-ml' })).toBe('bigquery bqx-ml bqx_ml_v3_features_v2 bqx_ml_v3_migration');
    expect(run({}, { BQX_ENV: 'prod', GOOGLE_CLOUD_PROJECT: 'bqx-ml-dev' })).toBe(
      'ENVIRONMENT_MISMATCH: environment prod is project bqx-ml but GOOGLE_CLOUD_PROJECT is bqx-ml-dev',
    );
    expect(run({ project: 'elsewhere' }, { BQX_ENV: 'prod', GOOGLE_CLOUD_PROJECT: 'bqx-ml-dev' })).toBe('bigquery elsewhere bqx_ml_v3_features_v2 bqx_ml_v3_migration');
  });

  test('--engine bigquery with nothing named is refused: nothing targets production by default', () => {
    expect(run({ engine: 'bigquery' })).toMatch(/^ENVIRONMENT_REQUIRED: --engine bigquery needs an environment/);
  });
});

describe('the environment of a synthesis', () => {
  test('--env, else BQX_ENV, else refused', () => {
    expect(requireEnvironment({ flag: 'dev', vars: { BQX_ENV: 'prod' } }, 'x')).toBe('dev');
    expect(requireEnvironment({ vars: { BQX_ENV: 'prod' } }, 'x')).toBe('prod');
    expect(() => requireEnvironment({ vars: {} }, 'bqx synth')).toThrow('bqx synth needs an environment: nothing defaults to one');
    expect(() => requireEnvironment({ vars: { BQX_ENV: ' ' } }, 'bqx synth')).toThrow(/needs an environment/);
  });
});
