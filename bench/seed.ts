/**
 * Seed and audit benchmark of the local warehouse (full catalogue):
 *   npx tsc -p tsconfig.build.json && node dist/bench/seed.js [--rounds 5] [--keep DIR]
 * Seeds the full catalogue `--rounds` times, each into a fresh file, and prints the median seed
 * time against its goal (≤ 5 s) as a ratio, every round's time beside it, the file size, and the
 * full audit's seconds on the last seed (in-process, and through the CLI, which adds Node start-up
 * and opening the file). Then one JSON line `{"bench":"seed",…}` with the machine's load average.
 *
 * Beside it, DuckDB's own floor for the same tables (`tableFloor`): every table of the catalogue,
 * with its columns and row count, created by bare SQL in one transaction and checkpointed, with no
 * content generation, no metadata and no temporary file: once empty, once filled from a staging
 * table per column shape. What the seed costs above the filled floor is ours; the floor itself is
 * DuckDB's per-table and per-column work, which no way of writing the rows removes.
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
import { allTables, BLOCK_SIZE, seedWarehouse, STORAGE_VERSION, type SeedStats } from '../warehouse/seed';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ColumnType } from '../core/catalogue';
import { duckDbType } from '../engines/duckdb/types';
import type { SeedTable } from '../warehouse/other-datasets';
import { flagValue } from './args';

/** The full seed's goal: part of `npm start` within half a minute on an idle machine. */
const GOAL_SECONDS = 5;

/** A value of the column's type for staging row `i` (the floor's rows need only the right types). */
const STAGE_VALUE: Record<ColumnType, string> = {
  TIMESTAMP: "TIMESTAMP '2020-01-01' + to_minutes(i)",
  DATE: "DATE '2020-01-01' + CAST(i AS INTEGER)",
  STRING: "'v' || i",
  FLOAT64: 'random()',
  INT64: 'i',
  BOOL: 'i % 2 = 0',
  NUMERIC: 'CAST(i AS DECIMAL(38,9)) / 7',
  BYTES: "CAST('b' || i AS BLOB)",
  JSON: "'{}'",
  OTHER: "'x'",
};

interface FloorPhases {
  /** Statements creating every table (and filling it), inside one transaction. */
  readonly create: number;
  readonly commit: number;
  /** Writing the committed tables into the file (the WAL left below its threshold until then). */
  readonly checkpoint: number;
}

const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Every table of the catalogue created in one transaction on a fresh file, empty or filled, then checkpointed. */
async function tableFloor(file: string, tables: readonly SeedTable[], filled: boolean): Promise<FloorPhases> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const conn = await instance.connect();
  try {
    await conn.run(`ATTACH '${file.replace(/'/g, "''")}' AS f (BLOCK_SIZE ${BLOCK_SIZE}, STORAGE_VERSION '${STORAGE_VERSION}')`);
    await conn.run("SET checkpoint_threshold = '64GB'");
    const cols = (t: SeedTable) => t.columns.map((c, k) => `c${k} ${duckDbType(c.type)}`).join(', ');
    const statements: string[] = [];
    const schemas = [...new Set(tables.map((t) => t.dataset))];
    const shapes = new Map<string, { stage: string; next: number; types: ColumnType[] }>();
    for (const [i, t] of tables.entries()) {
      const name = `f.s${schemas.indexOf(t.dataset)}.t${i}`;
      const n = t.content.rows;
      if (!filled || n === 0) {
        statements.push(`CREATE TABLE ${name} (${cols(t)});`);
        continue;
      }
      const key = cols(t);
      let shape = shapes.get(key);
      if (!shape) shapes.set(key, (shape = { stage: `stage${shapes.size}`, next: 0, types: t.columns.map((c) => c.type) }));
      statements.push(`CREATE TABLE ${name} AS SELECT * FROM ${shape.stage} WHERE rowid BETWEEN ${shape.next} AND ${shape.next + n - 1};`);
      shape.next += n;
    }
    for (const [k] of schemas.entries()) await conn.run(`CREATE SCHEMA f.s${k}`);
    for (const { stage, next, types } of shapes.values()) {
      await conn.run(`CREATE TEMP TABLE ${stage} AS SELECT ${types.map((ty, k) => `${STAGE_VALUE[ty]} AS c${k}`).join(', ')} FROM range(${next}) r(i)`);
    }
    let t0 = process.hrtime.bigint();
    await conn.run('BEGIN TRANSACTION');
    for (let i = 0; i < statements.length; i += 200) await conn.run(statements.slice(i, i + 200).join('\n'));
    const create = since(t0);
    t0 = process.hrtime.bigint();
    await conn.run('COMMIT');
    const commit = since(t0);
    t0 = process.hrtime.bigint();
    await conn.run('CHECKPOINT f');
    await conn.run('DETACH f');
    return { create, commit, checkpoint: since(t0) };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

const total = (p: FloorPhases) => p.create + p.commit + p.checkpoint;
const r2 = (x: number) => Number(x.toFixed(2));
const phases = (p: FloorPhases) => ({ create: r2(p.create), commit: r2(p.commit), checkpoint: r2(p.checkpoint), total: r2(total(p)) });

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

    const catalogue = allTables('full', undefined);
    const floors: { empty: FloorPhases; filled: FloorPhases }[] = [];
    for (let i = 0; i < rounds; i++) {
      const file = (what: string) => path.join(dir, `floor-${what}-${i}.duckdb`);
      floors.push({ empty: await tableFloor(file('empty'), catalogue, false), filled: await tableFloor(file('filled'), catalogue, true) });
      for (const what of ['empty', 'filled']) rmSync(file(what), { force: true });
    }
    const medianPhases = (pick: (f: { empty: FloorPhases; filled: FloorPhases }) => FloorPhases): FloorPhases => ({
      create: median(floors.map((f) => pick(f).create)),
      commit: median(floors.map((f) => pick(f).commit)),
      checkpoint: median(floors.map((f) => pick(f).checkpoint)),
    });
    const floorEmpty = medianPhases((f) => f.empty);
    const floorFilled = medianPhases((f) => f.filled);
    const filledRounds = floors.map((f) => r2(total(f.filled)));

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
      // DuckDB's floor for the same tables (medians of the rounds): the seed above it, and it against the goal.
      floorEmptySeconds: phases(floorEmpty),
      floorFilledSeconds: phases(floorFilled),
      floorFilledRounds: filledRounds,
      seedOverFloor: r2(seedSeconds / total(floorFilled)),
      floorOverGoal: r2(total(floorFilled) / GOAL_SECONDS),
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
        `DuckDB's floor for the same ${catalogue.length} tables, bare SQL in one transaction (medians): empty ${result.floorEmptySeconds.total} s ` +
          `(create ${result.floorEmptySeconds.create}, commit ${result.floorEmptySeconds.commit}, checkpoint ${result.floorEmptySeconds.checkpoint}); ` +
          `filled ${result.floorFilledSeconds.total} s (create ${result.floorFilledSeconds.create}, commit ${result.floorFilledSeconds.commit}, checkpoint ${result.floorFilledSeconds.checkpoint}; rounds ${filledRounds.join(', ')})`,
        `            the seed is ${result.seedOverFloor}x the filled floor; the floor alone is ${result.floorOverGoal}x the ${GOAL_SECONDS} s goal`,
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
