/**
 * Linearity of audit, plan, the paper run and synth over catalogue size (1x to 10x the 5,817 tables):
 *   npm run build && node dist/bench/scale.js [--scales full,2x,5x,10x] [--rounds 5] [--verbs …] [--cache DIR] [--clean]
 *
 * For each scale (`full` = 1x: the 5,817 tables; `2x`, `5x`, `10x`: copies of it with synthetic
 * tokens, warehouse/catalogue.ts), the warehouse is seeded once into the cache directory (default
 * $TMPDIR/bqx-bench-scale, kept between runs unless --clean: seeding 10x takes minutes). The cached
 * file is named by a hash of every compiled module the seed loads and the DuckDB version, so a
 * changed catalogue model, seed or DuckDB seeds anew. The policy copy with the scale's synthetic
 * tokens is written beside it (warehouse/scaled-policy.ts; the real policy is never touched).
 *
 * Each round runs every scale in turn (so each round's scales see the same minute of this shared
 * machine) on a fresh copy of the seeded file, each verb as its own process timed from spawn to
 * exit, with CPU time (user + system) and peak RSS from /usr/bin/time, in this order:
 *
 *   plan    bqx plan --out PLAN --policy COPY --grace-start 2026-11-21   (also writes the review file)
 *   paper   bqx apply PLAN --dry-run --approve HASH --policy COPY        (every gate, as a rehearsal;
 *           it records its ledger, so it writes the file and closes it)
 *   audit   bqx audit --json --policy COPY   (after the paper run: it opens the file the paper run
 *           closed, so what that close left to the next open, e.g. a WAL to replay, is counted)
 *   synth   the prod stacks with that plan's views (bench/synth.ts --child), views.shards = 10 × k
 *           so each views stack holds what prod's do at 1x (the environment object only)
 *
 * Prints each round's measurements, then per verb and scale the medians; the per-table ratios of
 * the last scale to the first (wall time, CPU time and peak memory; goal ≤ 1.25x each), as the
 * median of the rounds' ratios with each round's beside it, and the marginal CPU time per table
 * (5x→10x against 1x→2x: start-up costs, which flatter the plain ratio, cancel). One JSON line per
 * verb and scale (medians and rounds) and one per verb's ratios (bench/goals.ts reads its `goals`).
 * The seed is printed, never part of a ratio. Exit 1 when a verb misses a goal.
 */
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import * as path from 'path';
import { repoPath } from '../core/paths';
import { median } from '../core/plan/facts';
import { scaleFactor, type Scale } from '../warehouse/catalogue';
import { scaledPolicyText } from '../warehouse/scaled-policy';
import { runChild } from './synth';
import { flagValue } from './args';

const BIN = repoPath('bin', 'bqx.js');
const TIME = '/usr/bin/time';
const GOAL = 1.25;
const GRACE_START = '2026-11-21';
const VERBS = ['plan', 'paper', 'audit', 'synth'] as const;
type Verb = (typeof VERBS)[number];

interface Measurement {
  readonly verb: Verb;
  readonly scale: Scale;
  readonly round: number;
  readonly tables: number;
  readonly seconds: number;
  /** CPU time (user + system) of the process: what the verb did, whatever else the machine ran. */
  readonly cpuSeconds: number | null;
  readonly peakMB: number | null;
  readonly extra?: Record<string, unknown>;
}

interface Timed {
  readonly seconds: number;
  readonly cpuSeconds: number | null;
  readonly peakMB: number | null;
  readonly stdout: string;
}

/** Runs `node args` in a fresh process under /usr/bin/time: wall seconds, CPU seconds and peak RSS. */
function timed(args: readonly string[], stdoutFile: string, cwd: string): Timed {
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

/** Every compiled module of this build that `root` loads, itself included (require's own graph). */
function moduleClosure(root: string): string[] {
  const dist = path.resolve(__dirname, '..');
  const seen = new Set<string>();
  const walk = (m: NodeJS.Module | undefined) => {
    if (!m || seen.has(m.filename) || !m.filename.startsWith(dist) || m.filename.includes(`${path.sep}node_modules${path.sep}`)) return;
    seen.add(m.filename);
    m.children.forEach(walk);
  };
  walk(require.cache[require.resolve(root)]);
  return [...seen].sort();
}

/**
 * A key of what a cached warehouse was seeded by: every compiled module the seed loads (the
 * catalogue model, its content and sizes, the environment's dataset names, the DuckDB DDL) and the
 * DuckDB package's version. Any change seeds anew.
 */
function seedKey(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../warehouse/seed');
  const h = createHash('sha256');
  for (const f of moduleClosure('../warehouse/seed')) h.update(path.relative(__dirname, f)).update(readFileSync(f));
  h.update(String((JSON.parse(readFileSync(require.resolve('@duckdb/node-api/package.json'), 'utf8')) as { version: string }).version));
  return h.digest('hex').slice(0, 12);
}

interface Seeded {
  readonly database: string;
  readonly seconds: number | null;
  readonly peakMB: number | null;
  readonly bytes: number;
  readonly tables: number;
}

function seeded(cache: string, scale: Scale, key: string): Seeded {
  const database = path.join(cache, `${scale}-${key}.duckdb`);
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

const walBytes = (database: string) => (existsSync(`${database}.wal`) ? statSync(`${database}.wal`).size : 0);

interface PlanPrinted {
  readonly planHash: string;
  readonly review: { bytes: number; lines: number };
  readonly summary: { views: number; byAction: Record<string, number> };
}

/** One round at one scale: the verbs on a fresh copy of the seeded file. */
function measureRound(cache: string, scale: Scale, seed: Seeded, round: number, only: readonly Verb[]): Measurement[] {
  const k = scaleFactor(scale);
  const work = path.join(cache, `run-${scale}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const policy = path.join(work, 'policy.yaml');
  writeFileSync(policy, scaledPolicyText(scale));
  const database = path.join(work, 'w.duckdb');
  copyFileSync(seed.database, database);
  const db = ['--database', database];
  const planFile = path.join(work, 'plan.json');
  const out: Measurement[] = [];
  const record = (verb: Verb, r: Omit<Timed, 'stdout'>, extra?: Record<string, unknown>) => {
    if (!only.includes(verb)) return;
    out.push({ verb, scale, round, tables: seed.tables, seconds: r.seconds, cpuSeconds: r.cpuSeconds, peakMB: r.peakMB, ...(extra ? { extra } : {}) });
  };
  try {
    // paper and synth need the plan: planned in every round when plan is measured, else once per
    // scale (every round's copy of the seeded file is the same) and kept in the cache.
    const kept = path.join(cache, `plan-${scale}.json`);
    let printed: PlanPrinted;
    if (!only.includes('plan') && existsSync(kept) && existsSync(`${kept}.out`)) {
      copyFileSync(kept, planFile);
      printed = JSON.parse(readFileSync(`${kept}.out`, 'utf8')) as PlanPrinted;
    } else {
      const p = timed([BIN, 'plan', '--out', planFile, '--policy', policy, '--grace-start', GRACE_START, '--json', ...db], path.join(work, 'plan.out.json'), work);
      printed = JSON.parse(p.stdout) as PlanPrinted;
      copyFileSync(planFile, kept);
      writeFileSync(`${kept}.out`, p.stdout);
      record('plan', p, {
        operations: Object.values(printed.summary.byAction).reduce((a, b) => a + b, 0) - printed.summary.byAction.KEEP,
        views: printed.summary.views,
        planMiB: Number((statSync(planFile).size / 2 ** 20).toFixed(1)),
        planLines: lineCount(planFile),
        reviewKiB: Math.round(printed.review.bytes / 1024),
        reviewLines: printed.review.lines,
      });
    }
    const views = printed.summary.views;
    if (only.includes('paper')) {
      const paper = timed(
        [BIN, 'apply', planFile, '--dry-run', '--approve', printed.planHash, '--policy', policy, ...db, '--reports-dir', path.join(work, 'reports'), '--metrics-file', path.join(work, 'metrics.prom'), '--json'],
        path.join(work, 'paper.json'),
        work,
      );
      const summary = JSON.parse(paper.stdout) as { status?: string; byOutcome?: Record<string, number> };
      record('paper', paper, { status: summary.status ?? '?', outcomes: JSON.stringify(summary.byOutcome ?? {}), walKiBAfter: Math.round(walBytes(database) / 1024) });
    }
    if (only.includes('audit')) {
      const walBefore = walBytes(database);
      const a = timed([BIN, 'audit', '--json', '--policy', policy, ...db], path.join(work, 'audit.json'), work);
      const summary = JSON.parse(readFileSync(path.join(work, 'audit.json'), 'utf8')).summary as { nonCompliant: number };
      record('audit', a, { nonCompliant: summary.nonCompliant, walKiBBefore: Math.round(walBefore / 1024) });
    }
    if (only.includes('synth')) {
      const shards = 10 * k;
      const t0 = process.hrtime.bigint();
      const c = runChild(['--plan', planFile, '--shards', String(shards), '--out', path.join(work, 'cdktf.out')]);
      if (!c.result) throw new Error(`synth ${scale}: ${c.error}`);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      record('synth', { seconds, cpuSeconds: c.result.cpuMs / 1000, peakMB: c.result.peakMB }, { views, shards, stacks: c.result.stacks, fullestViewStack: c.result.fullestViewStack });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return out;
}

const perTable = {
  wall: (m: Measurement) => (m.seconds * 1000) / m.tables,
  cpu: (m: Measurement) => (m.cpuSeconds === null ? null : (m.cpuSeconds * 1000) / m.tables),
  memory: (m: Measurement) => (m.peakMB === null ? null : (m.peakMB * 1024) / m.tables),
} as const;
type Measure = keyof typeof perTable;
const MEASURES: readonly { key: Measure; label: string }[] = [
  { key: 'wall', label: 'wall time per table' },
  { key: 'cpu', label: 'CPU time per table' },
  { key: 'memory', label: 'peak memory per table' },
];

const r2 = (x: number) => Number(x.toFixed(2));
const r4 = (x: number) => Number(x.toFixed(4));
const medianOf = (xs: readonly (number | null)[]): number | null => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? median(ok) : null;
};

function printRound(ms: readonly Measurement[]): void {
  for (const m of ms) {
    const extra = m.extra ? Object.entries(m.extra).filter(([a]) => /wal|status|nonCompliant/.test(a)).map(([a, b]) => `${a} ${b}`).join(', ') : '';
    process.stdout.write(
      `  ${m.scale.padEnd(4)} ${m.verb.padEnd(6)} ${m.seconds.toFixed(1).padStart(6)} s  ${perTable.wall(m).toFixed(3).padStart(6)} ms/table  cpu ${(m.cpuSeconds ?? -1).toFixed(1).padStart(6)} s  ${String(m.peakMB ?? -1).padStart(6)} MB${extra ? `   ${extra}` : ''}\n`,
    );
  }
}

/** The plans kept between rounds when plan is not measured (a run's own: never reused by the next run). */
function dropKeptPlans(cache: string, scales: readonly Scale[]): void {
  for (const scale of scales) for (const f of [`plan-${scale}.json`, `plan-${scale}.json.out`]) rmSync(path.join(cache, f), { force: true });
}

function main(): void {
  const scales = flagValue('scales', 'full,2x,5x,10x').split(',') as Scale[];
  const only = flagValue('verbs', VERBS.join(',')).split(',') as Verb[];
  const rounds = Math.max(1, Number(flagValue('rounds', '5')));
  const cache = flagValue('cache', path.join(tmpdir(), 'bqx-bench-scale'));
  mkdirSync(cache, { recursive: true });
  process.stdout.write(
    `linearity over catalogue size: ${scales.join(', ')}; ${rounds} rounds, each running every scale on a fresh copy of its seeded file; each verb a fresh process (wall from spawn to exit; CPU time and peak RSS from ${TIME}); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs; cache ${cache}\n`,
  );
  const key = seedKey();
  const seeds = new Map<Scale, Seeded>();
  for (const scale of scales) {
    const s = seeded(cache, scale, key);
    seeds.set(scale, s);
    process.stdout.write(
      `  ${scale} (k=${scaleFactor(scale)}): ${s.tables.toLocaleString('en-US')} feature tables, ${(s.bytes / 2 ** 20).toFixed(0)} MiB` +
        (s.seconds === null ? ' (cached seed)' : `, seeded in ${s.seconds.toFixed(0)} s, peak ${s.peakMB} MB (not in any ratio)`) +
        '\n',
    );
  }
  const all: Measurement[] = [];
  dropKeptPlans(cache, scales);
  try {
    for (let round = 1; round <= rounds; round++) {
      process.stdout.write(`\nround ${round} of ${rounds} (load average ${loadavg()[0].toFixed(1)})\n`);
      for (const scale of scales) {
        const ms = measureRound(cache, scale, seeds.get(scale)!, round, only);
        printRound(ms);
        all.push(...ms);
      }
    }

    process.stdout.write(`\nmedians of ${rounds} rounds\n`);
    for (const verb of only) {
      for (const scale of scales) {
        const ms = all.filter((m) => m.verb === verb && m.scale === scale);
        if (!ms.length) continue;
        const seconds = median(ms.map((m) => m.seconds));
        const cpuSeconds = medianOf(ms.map((m) => m.cpuSeconds));
        const peakMB = medianOf(ms.map((m) => m.peakMB));
        const tables = ms[0].tables;
        const line = {
          bench: 'scale',
          verb,
          scale,
          k: scaleFactor(scale),
          tables,
          seconds: r2(seconds),
          msPerTable: r4((seconds * 1000) / tables),
          cpuSeconds: cpuSeconds === null ? null : r2(cpuSeconds),
          cpuMsPerTable: cpuSeconds === null ? null : r4((cpuSeconds * 1000) / tables),
          peakMB,
          kbPerTable: peakMB === null ? null : r2((peakMB * 1024) / tables),
          roundsSeconds: ms.map((m) => r2(m.seconds)),
          roundsCpuSeconds: ms.map((m) => (m.cpuSeconds === null ? null : r2(m.cpuSeconds))),
          roundsPeakMB: ms.map((m) => m.peakMB),
          ...(ms[0].extra ? { extra: ms[0].extra } : {}),
        };
        process.stdout.write(
          `  ${verb.padEnd(6)} ${scale.padEnd(4)} ${seconds.toFixed(1).padStart(6)} s  ${line.msPerTable.toFixed(3).padStart(6)} ms/table  cpu ${(cpuSeconds ?? -1).toFixed(1).padStart(6)} s  ${(line.cpuMsPerTable ?? -1).toFixed(3).padStart(6)} ms/table  ${String(peakMB ?? -1).padStart(6)} MB  ${(line.kbPerTable ?? -1).toFixed(1).padStart(6)} KB/table\n`,
        );
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
    }

    const base = scales[0];
    const top = scales[scales.length - 1];
    if (base === top) return;
    process.stdout.write(
      `\nper-table ratios ${top}/${base}: the median of the rounds' ratios (each round's in brackets), goal ≤ ${GOAL}x each; load average now ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs; marginal = CPU ms per table added from 5x to 10x over that from 1x to 2x (start-up costs cancel)\n`,
    );
    let failed = 0;
    for (const verb of only) {
      const at = (s: Scale, round: number) => all.find((m) => m.verb === verb && m.scale === s && m.round === round);
      const goals = MEASURES.map(({ key: measure, label }) => {
        const ratios: number[] = [];
        for (let round = 1; round <= rounds; round++) {
          const a = at(base, round);
          const b = at(top, round);
          const x = a && perTable[measure](a);
          const y = b && perTable[measure](b);
          if (x && y) ratios.push(r2(y / x));
        }
        return ratios.length ? { name: label, median: r2(median(ratios)), goal: GOAL, unit: 'x', rounds: ratios } : null;
      }).filter((g): g is NonNullable<typeof g> => g !== null);
      if (!goals.length) continue;
      const cpuAt = (s: string) => medianOf(all.filter((m) => m.verb === verb && m.scale === s).map((m) => m.cpuSeconds));
      const tablesAt = (s: string) => seeds.get(s as Scale)?.tables ?? 0;
      const slope = (x: string, y: string) => ((cpuAt(y) ?? NaN) - (cpuAt(x) ?? NaN)) / (tablesAt(y) - tablesAt(x));
      const marginalRaw = slope('5x', '10x') / slope('full', '2x');
      const marginal = Number.isFinite(marginalRaw) && marginalRaw > 0 ? r2(marginalRaw) : null;
      const ok = goals.every((g) => g.median <= GOAL);
      if (!ok) failed++;
      const text = goals.map((g) => `${g.name.replace(' per table', '')} ${g.median.toFixed(2)}x [${g.rounds.join(' ')}]`).join('   ');
      process.stdout.write(`  ${verb.padEnd(6)} ${text}${marginal === null ? '' : `   marginal cpu ${marginal.toFixed(2)}x`}  ${ok ? 'ok' : 'NOT LINEAR'}\n`);
      process.stdout.write(`${JSON.stringify({ bench: 'scale-ratio', verb, from: base, to: top, rounds, goals, marginalCpuRatio: marginal, ok })}\n`);
    }
    if (failed) process.exitCode = 1;
  } finally {
    for (const scale of scales) rmSync(path.join(cache, `run-${scale}`), { recursive: true, force: true });
    dropKeptPlans(cache, scales);
    if (process.argv.includes('--clean')) rmSync(cache, { recursive: true, force: true });
    else process.stdout.write(`\nseeded warehouses kept in ${cache} for the next run (--clean removes them)\n`);
  }
}

main();
