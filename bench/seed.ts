/**
 * Seed and audit benchmark of the local warehouse (full catalogue):
 *   npx tsc -p tsconfig.build.json && node dist/bench/seed.js [--rounds 5] [--keep DIR]
 * Seeds the full catalogue `--rounds` times, each into a fresh file, and prints the median seed
 * time against its goal (≤ 5 s) as a ratio, every round's time beside it, the file size, and the
 * full audit's seconds on the last seed (in-process, and through the CLI, which adds Node start-up
 * and opening the file). Then one JSON line `{"bench":"seed",…}` with the machine's load average.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { loadavg, tmpdir } from 'os';
import * as path from 'path';
import { auditNames } from '../core/audit';
import { repoPath } from '../core/paths';
import { median } from '../core/plan/facts';
import { loadPolicy } from '../core/policy';
import { openDuckDbEngine } from '../engines/duckdb/engine';
import { localEngineOptions } from '../scripts/options';
import { seedWarehouse, type SeedStats } from '../warehouse/seed';
import { flagValue } from './args';

/** The full seed's goal: part of `npm start` within half a minute on an idle machine. */
const GOAL_SECONDS = 5;

async function main(): Promise<void> {
  const keepIdx = process.argv.indexOf('--keep');
  const dir = keepIdx > 0 ? process.argv[keepIdx + 1] : mkdtempSync(path.join(tmpdir(), 'bqx-bench-seed-'));
  const database = path.join(dir, 'warehouse.duckdb');
  const rounds = Math.max(1, Number(flagValue('rounds', '5')));
  const load = loadavg()[0];
  try {
    const seeds: SeedStats[] = [];
    for (let i = 0; i < rounds; i++) seeds.push(await seedWarehouse({ database, scale: 'full', force: true }));
    const seed = seeds[seeds.length - 1];

    const started = process.hrtime.bigint();
    const engine = await openDuckDbEngine(localEngineOptions(database));
    const tables = await engine.listTables();
    const audit = auditNames(loadPolicy(), tables.filter((t) => t.kind !== 'VIEW').map((t) => t.name));
    await engine.close();
    const auditSeconds = Number(process.hrtime.bigint() - started) / 1e9;

    const cliStarted = process.hrtime.bigint();
    const cli = spawnSync(process.execPath, [repoPath('bin', 'bqx.js'), 'audit', '--database', database, '--json'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    const cliSeconds = Number(process.hrtime.bigint() - cliStarted) / 1e9;
    const cliNonCompliant = cli.status === 0 ? JSON.parse(cli.stdout).summary.nonCompliant : null;

    const seedRounds = seeds.map((s) => Number(s.seconds.toFixed(2)));
    const seedSeconds = Number(median(seedRounds).toFixed(2));
    const result = {
      bench: 'seed',
      rounds,
      seedSeconds,
      seedRounds,
      goalSeconds: GOAL_SECONDS,
      ratio: Number((seedSeconds / GOAL_SECONDS).toFixed(2)),
      // The summary of npm run bench reads ratio, goal and ratios (bench/goals.ts): the seed's time over its 5 s.
      goal: 1,
      ratios: seedRounds.map((s) => Number((s / GOAL_SECONDS).toFixed(2))),
      fileMiB: Number((seed.bytes / 2 ** 20).toFixed(1)),
      featureTables: seed.featureTables,
      tables: seed.tables,
      rows: seed.rows,
      auditSeconds: Number(auditSeconds.toFixed(2)),
      auditCliSeconds: Number(cliSeconds.toFixed(2)),
      nonCompliant: audit.summary.nonCompliant,
      cliNonCompliant,
      loadAverage: { start: Number(load.toFixed(2)), end: Number(loadavg()[0].toFixed(2)) },
    };
    process.stdout.write(
      [
        `full seed:  ${result.seedSeconds} s, median of ${rounds} rounds (${seedRounds.join(', ')}); goal ≤ ${GOAL_SECONDS} s: ratio ${result.ratio.toFixed(2)}x`,
        `            ${result.fileMiB} MiB, ${result.featureTables} feature tables (${result.tables} in all datasets), ${result.rows} rows`,
        `full audit: ${result.auditSeconds} s in-process, ${result.auditCliSeconds} s through \`bqx audit --json\`; non-compliant ${result.nonCompliant}`,
        `load average (1 min): ${result.loadAverage.start} at start, ${result.loadAverage.end} at end`,
        JSON.stringify(result),
      ].join('\n') + '\n',
    );
    if (cli.status !== 0) process.stderr.write(`bqx audit failed (exit ${cli.status}): ${cli.stderr}\n`);
  } finally {
    if (keepIdx < 0) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
