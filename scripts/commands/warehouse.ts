import type { Command } from 'commander';
import { fingerprintWarehouse } from '../../app/warehouse';
import { BqxError } from '../../core/errors';
import { isScale, SCALES } from '../../warehouse/catalogue';
import { seedWarehouse } from '../../warehouse/seed';
import type { Finish } from '../exit-codes';
import { registerWarehouseRead } from './retirement';
import { DEFAULT_DATABASE, emit, engineOptions, withEngineOptions, withJsonOption } from '../options';

function parseRows(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const rows = Number(value);
  if (!Number.isInteger(rows) || rows < 1 || rows > 100_000) {
    throw new BqxError('BAD_OPTION', `--rows ${String(value)} is not a whole number between 1 and 100000`, 'omit --rows for the default of 24');
  }
  return rows;
}

export function registerWarehouse(program: Command, finish: Finish): void {
  const warehouse = program.command('warehouse').description('Manage the local DuckDB warehouse the duckdb engine works on.');
  const seed = warehouse
    .command('seed')
    .description('Build the local warehouse from the catalogue model: every dataset as a schema, deterministic synthetic rows.')
    .option('--database <path>', 'DuckDB file to create', DEFAULT_DATABASE)
    .option('--scale <scale>', 'full (5,817 feature tables), small (447, for tests), or 2x, 5x, 10x (copies of full with synthetic tokens, for bench/scale.ts)', 'full')
    .option('--rows <n>', 'rows per table (default 24)')
    .option('--force', 'replace an existing file');
  withJsonOption(seed, 'the seed statistics').action(async (opts) => {
    if (!isScale(opts.scale)) {
      throw new BqxError('BAD_OPTION', `--scale ${String(opts.scale)} is not a scale`, `use --scale ${SCALES.join(', ')}`);
    }
    const stats = await seedWarehouse({ database: String(opts.database), scale: opts.scale, force: Boolean(opts.force), rows: parseRows(opts.rows) });
    emit(Boolean(opts.json), stats, () =>
      [
        `seeded ${stats.database} (${stats.scale}): ${stats.featureTables} feature tables, ${stats.tables} tables in ${stats.datasets} datasets, ${stats.rows} rows`,
        `  ${stats.seconds.toFixed(1)} s, ${(stats.bytes / 2 ** 20).toFixed(1)} MiB`,
      ].join('\n'),
    );
    finish('OK');
  });

  const fingerprint = warehouse
    .command('fingerprint')
    .description(
      'Content fingerprint (row count + order-independent hash of every row) of every table and view of the dataset: ' +
        'compare the output before and after a run to prove that every old name still returns the same rows.',
    );
  withJsonOption(withEngineOptions(fingerprint), '{ name: { rows, hash } }').action(async (opts) => {
    const out = await fingerprintWarehouse(engineOptions(opts));
    emit(Boolean(opts.json), out, () =>
      Object.entries(out)
        .map(([n, f]) => `${f.hash}  ${String(f.rows).padStart(8)}  ${f.kind.padEnd(5)} ${n}`)
        .join('\n'),
    );
    finish('OK');
  });

  registerWarehouseRead(warehouse, finish);
}
