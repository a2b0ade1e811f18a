/**
 * `npm run bench`: every benchmark in turn, each in its own process so none warms another's caches,
 * then a summary of every goal: the median each bench measured, the goal, met or not, and the single
 * rounds. Timings are printed, never asserted (tests assert behaviour; benchmarks measure it).
 *
 * Each bench prints what it likes and one JSON line per benchmark (`{"bench": …}`); the summary is
 * read from those lines only, by the contract in bench/goals.ts, so a bench may change its text
 * freely. `--rounds N` (default 5) is passed to every bench that takes rounds; `--only a,b` runs the
 * benches whose file is named (e.g. `--only start.js,scale.js`).
 */
import { spawn } from 'child_process';
import { cpus, loadavg } from 'os';
import * as path from 'path';
import { flagValue } from './args';
import { benchLines, goalsOf, summaryTable, type Goal } from './goals';

interface Bench {
  readonly title: string;
  readonly file: string;
  readonly args: readonly string[];
  /** A goal of the speed work is measured here: no goal line from it is a failure. */
  readonly hasGoal: boolean;
}

const rounds = flagValue('rounds', '5');
const R = ['--rounds', rounds];

const BENCHES: readonly Bench[] = [
  { title: 'seed and audit (full local warehouse; goal: seed ≤ 5 s)', file: 'seed.js', args: R, hasGoal: true },
  { title: 'Phase 4C on the full local warehouse, verb by verb', file: 'phase4c.js', args: [], hasGoal: false },
  { title: 'npm start on a fresh directory, then again (goals: first run ≤ 30 s, its seed ≤ 5 s, second run < 8 s)', file: 'start.js', args: R, hasGoal: true },
  { title: 'embedded apply and rollback against replaying their statements (goal: apply ≤ 1.0x)', file: 'floor.js', args: R, hasGoal: true },
  { title: 'BigQuery engine against the local double with a latency model (changes-only bound)', file: 'bigquery.js', args: R, hasGoal: false },
  { title: 'the same through the full executor, fault-free and at 5% API faults (goal ≤ 1.1x of the bound)', file: 'bigquery.js', args: ['--executor', ...R], hasGoal: true },
  { title: 'bqx verify on the BigQuery engine behind the fault proxy: fault-free and at 20% faults (small catalogue)', file: 'bigquery.js', args: ['--verify-faults'], hasGoal: false },
  { title: 'CDKTF synthesis of the prod environment', file: 'synth.js', args: [], hasGoal: false },
  {
    title: 'audit, plan, paper run and synth at 1x and 10x the catalogue, per table (goal ≤ 1.25x in wall time, CPU time and memory; seeds cached in $TMPDIR/bqx-bench-scale)',
    file: 'scale.js',
    args: ['--scales', 'full,10x', ...R],
    hasGoal: true,
  },
];

/** Runs one bench, its output passed through as it comes, and returns its stdout. */
function runBench(b: Bench): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, b.file), ...b.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      process.stdout.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

async function main(): Promise<void> {
  const only = flagValue('only', '');
  const chosen = only ? BENCHES.filter((b) => only.split(',').includes(b.file)) : BENCHES;
  const goals: Goal[] = [];
  const missing: string[] = [];
  let failed = 0;
  for (const b of chosen) {
    process.stdout.write(`\n== ${b.title} ==\n(${[b.file, ...b.args].join(' ')}; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs)\n`);
    const { code, stdout } = await runBench(b);
    const found = benchLines(stdout).flatMap(goalsOf);
    goals.push(...found);
    if (code !== 0) {
      failed++;
      process.stdout.write(`(${b.file} exited ${code})\n`);
    }
    if (b.hasGoal && !found.length) missing.push(`${[b.file, ...b.args.filter((a) => a !== '--rounds' && a !== rounds)].join(' ')} (printed no goal line${code !== 0 ? `; exited ${code}` : ''})`);
  }
  process.stdout.write(`\n== every goal: the median of the rounds (the single rounds beside it); load average now ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs ==\n`);
  process.stdout.write(`${summaryTable(goals, missing)}\n`);
  const notMet = goals.filter((g) => !g.met).length + missing.length;
  process.stdout.write(`${goals.length - goals.filter((g) => !g.met).length} of ${goals.length + missing.length} goals met\n`);
  process.exitCode = failed || notMet ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
