/**
 * Linearity of audit, plan, the paper run and synth over catalogue size (1x to 10x the 5,817 tables):
 *   npm run build && node dist/bench/scale.js [--scales full,2x,5x,10x] [--cache DIR] [--clean]
 *
 * For each scale (`full` = 1x: the 5,817 tables; `2x`, `5x`, `10x`: copies of it with synthetic
 * tokens, warehouse/catalogue.ts), the warehouse is seeded once into the cache directory (default
 * $TMPDIR/bqx-bench-scale, kept between runs unless --clean: seeding 10x takes minutes; a changed
 * catalogue model gets a new file) and the policy copy with the scale's synthetic tokens is written
 * beside it (warehouse/scaled-policy.ts; the real policy is never touched). Then each verb runs as
 * its own process, timed from spawn to exit, with its CPU time (user + system) and peak RSS from
 * /usr/bin/time:
 *
 *   audit   bqx audit --json --policy COPY                  (stdout to a file)
 *   plan    bqx plan --out PLAN --policy COPY --grace-start 2026-11-21   (also writes the review file)
 *   paper   bqx apply PLAN --dry-run --approve HASH --policy COPY        (every gate, as a rehearsal)
 *   synth   the prod stacks with that plan's views (bench/synth.ts --child), views.shards = 10 × k
 *           so each views stack holds what prod's do at 1x (the environment object only)
 *
 * Prints per verb and scale: wall and CPU seconds, ms per table, peak MB, KB per table; the 10x/1x
 * per-table ratios of CPU time, memory and wall time (goal ≤ 1.25x; the verdict is on CPU time and
 * memory, since on a shared machine the wall clock also counts whatever else runs) and the marginal
 * CPU time per table (5x→10x against 1x→2x: start-up costs, which flatter the plain ratio, cancel);
 * one JSON line per measurement and per verb. The seed is printed, never part of a ratio. Exit 1
 * when a verb misses the goal.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import * as path from 'path';
import { repoPath } from '../core/paths';
import { scaleFactor, type Scale } from '../warehouse/catalogue';
import { scaledPolicyText } from '../warehouse/scaled-policy';
import { runChild } from './synth';
import { flagValue } from './args';

const BIN = repoPath('bin', 'bqx.js');
const TIME = '/usr/bin/time';
const GOAL = 1.25;
const GRACE_START = '2026-11-21';
const VERBS = ['audit', 'plan', 'paper', 'synth'] as const;
type Verb = (typeof VERBS)[number];

interface Measurement {
  readonly bench: 'scale';
  readonly verb: Verb;
  readonly scale: Scale;
  readonly k: number;
  readonly tables: number;
  /** Compatibility views of the scale's plan (not for audit, which runs before the plan). */
  readonly views?: number;
  readonly seconds: number;
  readonly msPerTable: number;
  /** CPU time (user + system) of the process: what the verb did, whatever else the machine ran. */
  readonly cpuSeconds: number;
  readonly cpuMsPerTable: number;
  readonly peakMB: number;
  readonly kbPerTable: number;
  readonly extra?: Record<string, unknown>;
}

/** Runs `node args` in a fresh process under /usr/bin/time: wall seconds, CPU seconds and peak RSS. */
function timed(args: readonly string[], stdoutFile: string, cwd: string): { seconds: number; cpuSeconds: number | null; peakMB: number | null; stdout: string } {
  const useTime = existsSync(TIME);
  const rusage = path.join(cwd, 'rusage.txt');
  const cmd = useTime ? TIME : process.execPath;
  const argv = useTime ? ['-f', '%U %S %M', '-o', rusage, process.execPath, ...args] : [...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 1024 * 2 ** 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  writeFileSync(stdoutFile, r.stdout ?? '');
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}\n${(r.stderr ?? '').slice(-3000)}`);
  let peakMB: number | null = null;
  let cpuSeconds: number | null = null;
  if (useTime) {
    const [user, sys, kb] = readFileSync(rusage, 'utf8').trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
    peakMB = Number.isFinite(kb) ? Math.round(kb / 1024) : null;
    cpuSeconds = Number.isFinite(user + sys) ? user + sys : null;
  }
  return { seconds, cpuSeconds, peakMB, stdout: r.stdout ?? '' };
}

/** A key of the catalogue model the cached warehouses were seeded from: the compiled warehouse modules. */
function modelKey(): string {
  const h = createHash('sha256');
  const dir = path.join(__dirname, '..', 'warehouse');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 12);
}

function seeded(cache: string, scale: Scale): { database: string; seconds: number | null; peakMB: number | null; bytes: number; tables: number } {
  const database = path.join(cache, `${scale}-${modelKey()}.duckdb`);
  const statsFile = `${database}.seed.json`;
  if (existsSync(database) && existsSync(statsFile)) {
    const stats = JSON.parse(readFileSync(statsFile, 'utf8'));
    return { database, seconds: null, peakMB: stats.peakMB, bytes: stats.bytes, tables: stats.featureTables };
  }
  for (const f of readdirSync(cache).filter((n) => n.startsWith(`${scale}-`))) rmSync(path.join(cache, f), { force: true });
  const run = timed([BIN, 'warehouse', 'seed', '--scale', scale, '--database', database, '--force', '--json'], path.join(cache, `seed-${scale}.out`), cache);
  const stats = JSON.parse(run.stdout) as { featureTables: number; bytes: number; seconds: number };
  writeFileSync(statsFile, JSON.stringify({ ...stats, peakMB: run.peakMB }));
  return { database, seconds: run.seconds, peakMB: run.peakMB, bytes: stats.bytes, tables: stats.featureTables };
}

const lineCount = (file: string) => {
  const text = readFileSync(file, 'utf8');
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
};

function measureScale(cache: string, scale: Scale, only: readonly Verb[]): Measurement[] {
  const k = scaleFactor(scale);
  const seed = seeded(cache, scale);
  process.stdout.write(
    `\n${scale} (k=${k}): ${seed.tables.toLocaleString('en-US')} feature tables, ${(seed.bytes / 2 ** 20).toFixed(0)} MiB` +
      (seed.seconds === null ? ' (cached seed)' : `, seeded in ${seed.seconds.toFixed(0)} s, peak ${seed.peakMB} MB (not in any ratio)`) +
      '\n',
  );
  const work = path.join(cache, `run-${scale}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const policy = path.join(work, 'policy.yaml');
  writeFileSync(policy, scaledPolicyText(scale));
  const db = ['--database', seed.database];
  const planFile = path.join(work, 'plan.json');
  const out: Measurement[] = [];
  let views = 0;
  const record = (verb: Verb, run: { seconds: number; cpuSeconds: number | null; peakMB: number | null }, extra?: Record<string, unknown>) => {
    const { seconds, cpuSeconds, peakMB } = run;
    const m: Measurement = {
      bench: 'scale',
      verb,
      scale,
      k,
      tables: seed.tables,
      ...(verb === 'audit' ? {} : { views }),
      seconds: Number(seconds.toFixed(2)),
      msPerTable: Number(((seconds * 1000) / seed.tables).toFixed(4)),
      cpuSeconds: cpuSeconds === null ? -1 : Number(cpuSeconds.toFixed(2)),
      cpuMsPerTable: cpuSeconds === null ? -1 : Number(((cpuSeconds * 1000) / seed.tables).toFixed(4)),
      peakMB: peakMB ?? -1,
      kbPerTable: peakMB === null ? -1 : Number(((peakMB * 1024) / seed.tables).toFixed(2)),
      ...(extra ? { extra } : {}),
    };
    out.push(m);
    const extraText = extra ? `   ${Object.entries(extra).map(([a, b]) => `${a} ${b}`).join(', ')}` : '';
    process.stdout.write(
      `  ${verb.padEnd(6)} ${m.seconds.toFixed(1).padStart(7)} s  ${m.msPerTable.toFixed(3).padStart(7)} ms/table  cpu ${m.cpuSeconds.toFixed(1).padStart(6)} s  ${m.cpuMsPerTable.toFixed(3).padStart(7)} ms/table  ${String(m.peakMB).padStart(6)} MB  ${m.kbPerTable.toFixed(1).padStart(6)} KB/table${extraText}\n`,
    );
    process.stdout.write(`${JSON.stringify(m)}\n`);
  };

  if (only.includes('audit')) {
    const r = timed([BIN, 'audit', '--json', '--policy', policy, ...db], path.join(work, 'audit.json'), work);
    const summary = JSON.parse(readFileSync(path.join(work, 'audit.json'), 'utf8')).summary as { nonCompliant: number };
    record('audit', r, { nonCompliant: summary.nonCompliant });
  }
  // plan is needed by paper and synth, so it always runs.
  {
    const r = timed([BIN, 'plan', '--out', planFile, '--policy', policy, '--grace-start', GRACE_START, '--json', ...db], path.join(work, 'plan.out.json'), work);
    const printed = JSON.parse(r.stdout) as { planHash: string; review: { bytes: number; lines: number }; summary: { views: number; byAction: Record<string, number> } };
    views = printed.summary.views;
    if (only.includes('plan')) {
      record('plan', r, {
        operations: Object.values(printed.summary.byAction).reduce((a, b) => a + b, 0) - printed.summary.byAction.KEEP,
        review: printed.summary.byAction.REVIEW,
        planMiB: Number((statSync(planFile).size / 2 ** 20).toFixed(1)),
        planLines: lineCount(planFile),
        reviewKiB: Math.round(printed.review.bytes / 1024),
        reviewLines: printed.review.lines,
      });
    }
    if (only.includes('paper')) {
      const p = timed(
        [BIN, 'apply', planFile, '--dry-run', '--approve', printed.planHash, '--policy', policy, ...db, '--reports-dir', path.join(work, 'reports'), '--metrics-file', path.join(work, 'metrics.prom'), '--json'],
        path.join(work, 'paper.json'),
        work,
      );
      const summary = JSON.parse(p.stdout) as { status?: string; byOutcome?: Record<string, number> };
      record('paper', p, { status: summary.status ?? '?', outcomes: JSON.stringify(summary.byOutcome ?? {}) });
    }
  }
  if (only.includes('synth')) {
    const shards = 10 * k;
    const t0 = process.hrtime.bigint();
    const c = runChild(['--plan', planFile, '--shards', String(shards), '--out', path.join(work, 'cdktf.out')]);
    if (!c.result) throw new Error(`synth ${scale}: ${c.error}`);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    record('synth', { seconds, cpuSeconds: c.result.cpuMs / 1000, peakMB: c.result.peakMB }, { shards, stacks: c.result.stacks, fullestViewStack: c.result.fullestViewStack, synthMs: c.result.synthMs });
  }
  rmSync(path.join(work, 'cdktf.out'), { recursive: true, force: true });
  rmSync(path.join(work, 'reports'), { recursive: true, force: true });
  return out;
}

function main(): void {
  const scales = flagValue('scales', 'full,2x,5x,10x').split(',') as Scale[];
  const only = flagValue('verbs', VERBS.join(',')).split(',') as Verb[];
  const cache = flagValue('cache', path.join(tmpdir(), 'bqx-bench-scale'));
  mkdirSync(cache, { recursive: true });
  process.stdout.write(
    `linearity over catalogue size: ${scales.join(', ')}; each verb a fresh process (wall from spawn to exit; CPU time and peak RSS from ${TIME}); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs; cache ${cache}\n`,
  );
  const all: Measurement[] = [];
  try {
    for (const scale of scales) all.push(...measureScale(cache, scale, only));

    const base = scales[0];
    const top = scales[scales.length - 1];
    process.stdout.write(
      `\nper-table ratios ${top}/${base} (goal ≤ ${GOAL}x; load average now ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs); marginal = CPU ms per table added from 5x to 10x over that from 1x to 2x (start-up costs cancel)\n`,
    );
    let failed = 0;
    for (const verb of only) {
      const at = (s: Scale) => all.find((m) => m.verb === verb && m.scale === s);
      const a = at(base);
      const b = at(top);
      if (!a || !b) continue;
      const ratio = (x: number, y: number) => (x > 0 && y > 0 ? Number((x / y).toFixed(2)) : null);
      const timeRatio = ratio(b.msPerTable, a.msPerTable) as number;
      const cpuRatio = ratio(b.cpuMsPerTable, a.cpuMsPerTable);
      const memoryRatio = ratio(b.kbPerTable, a.kbPerTable);
      const [m1, m2, m5, m10] = ['full', '2x', '5x', '10x'].map((s) => at(s as Scale));
      const slope = (x: Measurement, y: Measurement) => (y.cpuSeconds - x.cpuSeconds) / (y.tables - x.tables);
      const marginal = m1 && m2 && m5 && m10 && m1.cpuSeconds > 0 ? ratio(slope(m5, m10), slope(m1, m2)) : null;
      // The verdict is on CPU time where it was measured: on a shared machine the wall clock also
      // counts whatever else ran. Wall time is printed beside it.
      const ok = (cpuRatio ?? timeRatio) <= GOAL && (memoryRatio === null || memoryRatio <= GOAL);
      if (!ok) failed++;
      const x = (r: number | null) => (r === null ? 'n/a' : `${r.toFixed(2)}x`);
      process.stdout.write(
        `  ${verb.padEnd(6)} cpu time ${x(cpuRatio)}  memory ${x(memoryRatio)}  (goal ≤ ${GOAL}x)   wall time ${x(timeRatio)}${marginal === null ? '' : `  marginal cpu ${x(marginal)}`}  ${ok ? 'ok' : 'NOT LINEAR'}\n`,
      );
      process.stdout.write(`${JSON.stringify({ bench: 'scale-ratio', verb, from: base, to: top, cpuTimeRatio: cpuRatio, memoryRatio, wallTimeRatio: timeRatio, marginalCpuRatio: marginal, goal: GOAL, ok })}\n`);
    }
    if (failed) process.exitCode = 1;
  } finally {
    for (const scale of scales) rmSync(path.join(cache, `run-${scale}`), { recursive: true, force: true });
    if (process.argv.includes('--clean')) rmSync(cache, { recursive: true, force: true });
    else process.stdout.write(`\nseeded warehouses kept in ${cache} for the next run (--clean removes them)\n`);
  }
}

main();
