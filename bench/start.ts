/**
 * `npm start` as a new user meets it: `node bin/bqx.js main` (what the start script runs) in a fresh
 * directory, then once more in the same directory (the second run finds the warehouse applied):
 *   npm run build && node dist/bench/start.js [--rounds 5] [--scale full|small]
 *
 * Each round uses a new directory (the warehouse, plan, reports and stacks land in it, as in a fresh
 * clone), times both runs from spawn to exit and reads each step's seconds from `bqx main --json`.
 * Prints every round, then the medians against the goals (first run ≤ 30 s with its seed ≤ 5 s,
 * second run < 8 s) and one JSON line (bench/goals.ts reads its `goals`).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import * as path from 'path';
import { median } from '../core/plan/facts';
import { repoPath } from '../core/paths';
import { flagValue } from './args';

const BIN = repoPath('bin', 'bqx.js');
const GOALS = { first: 30, seed: 5, second: 8 } as const;

interface Run {
  readonly seconds: number;
  /** Seconds per step as `bqx main --json` reports them (seed, audit, plan, …). */
  readonly steps: Record<string, number>;
}

function runMain(cwd: string, scale: string): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, 'main', '--json', '--scale', scale], { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bqx main in ${cwd} exited ${r.status}\n${(r.stderr ?? '').slice(-3000)}`);
  const summary = JSON.parse(r.stdout) as { steps: { name: string; seconds: number }[] };
  const steps: Record<string, number> = {};
  for (const s of summary.steps) steps[s.name] = (steps[s.name] ?? 0) + s.seconds;
  return { seconds, steps };
}

const r1 = (x: number) => Number(x.toFixed(1));

function main(): void {
  const rounds = Math.max(1, Number(flagValue('rounds', '5')));
  const scale = flagValue('scale', 'full');
  process.stdout.write(`npm start (bqx main) on a fresh directory, then again in it; ${scale} catalogue, ${rounds} rounds; load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs\n`);
  const measured: { first: Run; second: Run }[] = [];
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bqx-bench-start-'));
    try {
      const first = runMain(dir, scale);
      const second = runMain(dir, scale);
      measured.push({ first, second });
      const steps = Object.entries(first.steps).map(([n, s]) => `${n} ${s.toFixed(1)}`).join(', ');
      process.stdout.write(`  round ${i + 1}: first ${first.seconds.toFixed(1)} s (${steps}); second ${second.seconds.toFixed(1)} s; load ${loadavg()[0].toFixed(1)}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const firsts = measured.map((m) => m.first.seconds);
  const seeds = measured.map((m) => m.first.steps.seed ?? 0);
  const seconds = measured.map((m) => m.second.seconds);
  const stepNames = [...new Set(measured.flatMap((m) => Object.keys(m.first.steps)))];
  const stepMedians = (pick: (m: { first: Run; second: Run }) => Run) =>
    Object.fromEntries(stepNames.map((n) => [n, r1(median(measured.map((m) => pick(m).steps[n] ?? 0)))]));
  const goals = [
    { name: 'first run', median: r1(median(firsts)), goal: GOALS.first, unit: 's', rounds: firsts.map(r1) },
    { name: 'seed (first run)', median: r1(median(seeds)), goal: GOALS.seed, unit: 's', rounds: seeds.map(r1) },
    { name: 'second run', median: r1(median(seconds)), goal: GOALS.second, unit: 's', strict: true, rounds: seconds.map(r1) },
  ];
  for (const g of goals) {
    process.stdout.write(`  ${g.name.padEnd(17)} median ${g.median.toFixed(1).padStart(5)} s  goal ${g.strict ? '<' : '≤'} ${g.goal} s  (${(g.median / g.goal).toFixed(2)} of it; rounds ${g.rounds.join(', ')})\n`);
  }
  process.stdout.write(
    `${JSON.stringify({ bench: 'npm-start', scale, rounds, goals, firstRunSteps: stepMedians((m) => m.first), secondRunSteps: stepMedians((m) => m.second), loadAverage: Number(loadavg()[0].toFixed(1)) })}\n`,
  );
}

main();
