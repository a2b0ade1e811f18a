/**
 * Seed and audit benchmark of the local warehouse (full catalogue):
 *   npx tsc -p tsconfig.build.json && node dist/bench/seed.js [--keep DIR]
 * Prints the full seed's seconds and file size, and the full audit's seconds (in-process and
 * through the CLI, which adds Node start-up and opening the file).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { auditNames } from '../core/audit';
import { repoPath } from '../core/paths';
import { loadPolicy } from '../core/policy';
import { openDuckDbEngine } from '../engines/duckdb/engine';
import { localEngineOptions } from '../scripts/options';
import { seedWarehouse } from '../warehouse/seed';

async function main(): Promise<void> {
  const keepIdx = process.argv.indexOf('--keep');
  const dir = keepIdx > 0 ? process.argv[keepIdx + 1] : mkdtempSync(path.join(tmpdir(), 'bqx-bench-seed-'));
  const database = path.join(dir, 'warehouse.duckdb');
  try {
    const seed = await seedWarehouse({ database, scale: 'full', force: true });

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

    const result = {
      seedSeconds: Number(seed.seconds.toFixed(2)),
      fileMiB: Number((seed.bytes / 2 ** 20).toFixed(1)),
      featureTables: seed.featureTables,
      tables: seed.tables,
      auditSeconds: Number(auditSeconds.toFixed(2)),
      auditCliSeconds: Number(cliSeconds.toFixed(2)),
      nonCompliant: audit.summary.nonCompliant,
      cliNonCompliant,
    };
    process.stdout.write(
      [
        `full seed:  ${result.seedSeconds} s, ${result.fileMiB} MiB, ${result.featureTables} feature tables (${result.tables} in all datasets)`,
        `full audit: ${result.auditSeconds} s in-process, ${result.auditCliSeconds} s through \`bqx audit --json\`; non-compliant ${result.nonCompliant}`,
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
