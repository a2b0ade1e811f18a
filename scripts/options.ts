import { Command, Option } from 'commander';
import { BqxError } from '../core/errors';
import { FEATURES_DATASET } from '../warehouse/catalogue';

export const DEFAULT_DATABASE = '.bqx/warehouse.duckdb';
export const DEFAULT_PROJECT = 'bqx-ml';
export const DEFAULT_LOCATION = 'us-central1';
export const DEFAULT_RUNNER_DATASET = 'bqx_ml_v3_migration';

export interface EngineOptions {
  engine: 'duckdb' | 'bigquery';
  database: string;
  project: string;
  location: string;
  dataset: string;
  runnerDataset: string;
  apiEndpoint?: string;
}

/** Adds the options every verb that reads the warehouse shares. */
export function withEngineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--engine <engine>', 'warehouse engine').choices(['duckdb', 'bigquery']).default('duckdb'))
    .option('--database <path>', 'DuckDB file of the local warehouse (duckdb engine)', DEFAULT_DATABASE)
    .option('--project <id>', 'Google Cloud project (bigquery engine)', DEFAULT_PROJECT)
    .option('--location <region>', 'BigQuery location (bigquery engine)', DEFAULT_LOCATION)
    .option('--dataset <name>', 'dataset to audit and remediate', FEATURES_DATASET)
    .option('--runner-dataset <name>', 'dataset holding the ledger, lock and backups', DEFAULT_RUNNER_DATASET)
    .option('--api-endpoint <url>', 'BigQuery API endpoint (emulator or test double); env BQX_BIGQUERY_API_ENDPOINT');
}

/** The embedded warehouse at `database` with every other option at its default. */
export function localEngineOptions(database: string = DEFAULT_DATABASE): EngineOptions {
  return {
    engine: 'duckdb',
    database,
    project: DEFAULT_PROJECT,
    location: DEFAULT_LOCATION,
    dataset: FEATURES_DATASET,
    runnerDataset: DEFAULT_RUNNER_DATASET,
  };
}

export function engineOptions(opts: Record<string, unknown>): EngineOptions {
  const engine = opts.engine as EngineOptions['engine'];
  if (engine !== 'duckdb' && engine !== 'bigquery') {
    throw new BqxError('BAD_OPTION', `--engine ${String(engine)} is not supported`, 'use --engine duckdb or --engine bigquery');
  }
  return {
    engine,
    database: String(opts.database ?? DEFAULT_DATABASE),
    project: String(opts.project ?? DEFAULT_PROJECT),
    location: String(opts.location ?? DEFAULT_LOCATION),
    dataset: String(opts.dataset ?? FEATURES_DATASET),
    runnerDataset: String(opts.runnerDataset ?? DEFAULT_RUNNER_DATASET),
    apiEndpoint: (opts.apiEndpoint as string | undefined) ?? process.env.BQX_BIGQUERY_API_ENDPOINT ?? undefined,
  };
}

/** Writes machine output: JSON when asked, text otherwise. */
export function emit(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
