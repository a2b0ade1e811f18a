/**
 * `npm run build && node dist/bench/synth.js [--runs N] [--no-cli]`
 *
 * Times the full prod synthesis the way CI runs it (`bqx synth`, a fresh process: wall time from
 * spawn to exit, peak RSS as the process reports it), with the committed Phase 4C plan. Then the
 * same with --hcl, then a plain `npx cdktf synth` of the same app (the CLI adds its own start-up and
 * runs `node dist/main.js` as a child). Then synthetic views plans (bench/synthetic-plan.ts) of
 * 2,482 and 25,000 views, each in a fresh process, with the shard count the config chooses: prod's
 * 10 for 2,482, 80 for 25,000 (which also shows prod's 10 refused with the shard count it needs).
 * Prints the per-view time ratio (goal ≤ 1.25x) and the fullest stack (goal ≤ 400), and one JSON line.
 *
 * Child mode (used here and by bench/scale.ts), one synthesis in this process:
 *   node dist/bench/synth.js --child (--plan FILE | --views N) [--shards N] --out DIR
 * prints one JSON line: views, shards, stacks, resources per stack, the fullest views stack, the
 * synthesis's own milliseconds and the process's peak RSS. `--shards` replaces prod's views.shards
 * in the environment object handed to the stacks, after validation: the environment file is not
 * changed, and config/environment.ts would refuse more than 64 shards (25,000 views need 71).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { EnvironmentConfig } from '../config/environment';
import { loadEnvironment } from '../config/environments';
import { synthesizeEnvironment } from '../stacks/synthesize';
import type { ViewPlan } from '../stacks/view-plan';
import { syntheticViewPlan } from './synthetic-plan';
import { flagValue } from './args';

const REPO = path.resolve(__dirname, '..', '..');
const NOW = '2026-11-21T00:00:00.000Z';

function planFile(): { file: string; label: string } {
  const committed = path.join(REPO, loadEnvironment('prod').views.planFile);
  if (!fs.existsSync(committed)) throw new Error(`${committed} is missing: the synthesis bench declares the committed plan's views`);
  return { file: committed, label: 'committed plan' };
}

function run(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, encoding: 'utf8' });
  const wallMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) {
    process.stdout.write(`${label}: FAILED (exit ${r.status}) after ${wallMs} ms\n${(r.stderr || r.stdout).slice(-1500)}\n`);
    return '';
  }
  const rss = /peak RSS (\d+) MB/.exec(r.stdout)?.[1];
  process.stdout.write(`${label}: wall ${wallMs} ms${rss ? `, peak RSS ${rss} MB` : ''}\n`);
  return r.stdout;
}

export interface SynthChildResult {
  readonly views: number;
  readonly shards: number;
  readonly stacks: number;
  readonly viewStacks: number;
  readonly resources: Record<string, number>;
  readonly fullestViewStack: number;
  readonly synthMs: number;
  /** CPU time of the whole child process (user + system), ms. */
  readonly cpuMs: number;
  readonly peakMB: number;
  readonly shardNeed: string | null;
}

/** Prod with another views.shards (the environment object only: the config file is not changed). */
export function prodWithShards(shards: number): EnvironmentConfig {
  const prod = loadEnvironment('prod');
  return { ...prod, views: { ...prod.views, shards } };
}

function child(): void {
  const shards = Number(flagValue('shards', String(loadEnvironment('prod').views.shards)));
  const planFile = flagValue('plan', '');
  const viewCount = Number(flagValue('views', '0'));
  const out = flagValue('out', '');
  if (!out || (!planFile && !viewCount)) throw new Error('--child needs --out DIR and --plan FILE or --views N');
  const t0 = process.hrtime.bigint();
  const plan: ViewPlan | undefined = planFile ? undefined : syntheticViewPlan({ views: viewCount });
  const result = synthesizeEnvironment({ env: prodWithShards(shards), outdir: out, now: new Date(NOW), planFile: planFile || undefined, plan, repoRoot: REPO });
  const synthMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  const viewStacks = Object.entries(result.resources).filter(([id]) => id.startsWith('views-'));
  const line: SynthChildResult = {
    views: result.views.declared,
    shards,
    stacks: result.stacks.length,
    viewStacks: viewStacks.length,
    resources: result.resources,
    fullestViewStack: Math.max(0, ...viewStacks.map(([, n]) => n)),
    synthMs,
    cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
    peakMB: Math.round(process.resourceUsage().maxRSS / 1024),
    shardNeed: result.views.sharding?.message ?? null,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** One synthesis in a fresh process: wall time from spawn to exit, and the child's own report. */
export function runChild(args: readonly string[]): { wallMs: number; result: SynthChildResult | null; error: string | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [__filename, '--child', ...args], { cwd: REPO, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const wallMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) {
    let error: string;
    try {
      error = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { error: string }).error;
    } catch {
      error = (r.stderr || String(r.error)).trim().slice(-1500);
    }
    return { wallMs, result: null, error };
  }
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { wallMs, result: JSON.parse(last) as SynthChildResult, error: null };
}

const GOAL_RATIO = 1.25;

/** Synthetic plans of 2,482 and 25,000 views, each with the shard count its config chooses. */
function syntheticSizes(tmp: string): void {
  const prodShards = loadEnvironment('prod').views.shards;
  const cases: { views: number; shards: number }[] = [
    { views: 2482, shards: prodShards },
    { views: 25000, shards: 80 },
  ];
  process.stdout.write(`\nsynthetic views plans (bench/synthetic-plan.ts), a fresh process each (wall = spawn to exit):\n`);
  const measured: { views: number; shards: number; wallMs: number; synthMs: number; peakMB: number; stacks: number; fullest: number }[] = [];
  for (const c of cases) {
    const r = runChild(['--views', String(c.views), '--shards', String(c.shards), '--out', path.join(tmp, `synthetic-${c.views}`)]);
    if (!r.result) {
      process.stdout.write(`  ${c.views} views, ${c.shards} shards: FAILED ${r.error}\n`);
      continue;
    }
    const x = r.result;
    measured.push({ views: c.views, shards: c.shards, wallMs: r.wallMs, synthMs: x.synthMs, peakMB: x.peakMB, stacks: x.stacks, fullest: x.fullestViewStack });
    process.stdout.write(
      `  ${String(c.views).padStart(6)} views, ${String(c.shards).padStart(2)} shards: wall ${r.wallMs} ms (synthesis ${x.synthMs} ms), peak RSS ${x.peakMB} MB, ${x.stacks} stacks, fullest views stack ${x.fullestViewStack} resources (goal ≤ 400)\n    ${x.shardNeed}\n`,
    );
  }
  // The same 25,000 views with prod's own shard count: refused, naming the shard, its count and the count needed.
  const refused = runChild(['--views', '25000', '--shards', String(prodShards), '--out', path.join(tmp, 'synthetic-refused')]);
  process.stdout.write(`  25000 views, ${prodShards} shards (prod as committed): ${refused.result ? 'synthesized (unexpected)' : `refused: ${refused.error}`}\n`);
  if (measured.length === 2) {
    const [a, b] = measured;
    const perView = (m: (typeof measured)[number]) => m.wallMs / m.views;
    const timeRatio = Number((perView(b) / perView(a)).toFixed(2));
    const memoryRatio = Number((b.peakMB / b.views / (a.peakMB / a.views)).toFixed(2));
    process.stdout.write(`  per-view time 25,000 vs 2,482: ${timeRatio}x (goal ≤ ${GOAL_RATIO}x); per-view memory ${memoryRatio}x (goal ≤ ${GOAL_RATIO}x); fullest stack ${b.fullest} (goal ≤ 400)\n`);
    process.stdout.write(
      `${JSON.stringify({ bench: 'synth-views', sizes: measured, timeRatio, memoryRatio, ratioGoal: GOAL_RATIO, fullestStack: Math.max(a.fullest, b.fullest), fullestGoal: 400, refusedWithProdShards: refused.result === null })}\n`,
    );
  }
}

function main(): void {
  const runs = Number(flagValue('runs', '3'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqx-bench-'));
  try {
    const { file, label } = planFile();
    process.stdout.write(`bench: prod, ${label}, BQX_NOW=${NOW}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}\n`);
    const synth = [path.join(REPO, 'bin/bqx.js'), 'synth', '--env', 'prod', '--plan', file, '--now', NOW];
    let report = '';
    for (let i = 1; i <= runs; i++) {
      const out = run(`npm run synth (json) #${i}`, process.execPath, [...synth, '--out', path.join(tmp, `json${i}`)], {});
      if (i === 1) report = out;
    }
    run('npm run synth --hcl', process.execPath, [...synth, '--hcl', '--out', path.join(tmp, 'hcl')], {});
    process.stdout.write(report.split('\n').filter((l) => /^\s+(foundation|data|pipeline|views-)/.test(l) || l.startsWith('synthesized') || l.includes('views:')).join('\n') + '\n');
    if (!process.argv.includes('--no-cli')) {
      run('npx cdktf synth (cdktf-cli 0.21)', 'npx', ['cdktf', 'synth', '--output', path.join(tmp, 'cli')], {
        BQX_ENV: 'prod',
        BQX_PLAN_FILE: file,
        BQX_NOW: NOW,
        CHECKPOINT_DISABLE: '1',
      });
      const stacks = fs.existsSync(path.join(tmp, 'cli', 'stacks')) ? fs.readdirSync(path.join(tmp, 'cli', 'stacks')).length : 0;
      process.stdout.write(`  cdktf synth wrote ${stacks} stacks\n`);
    }
    if (!process.argv.includes('--no-synthetic')) syntheticSizes(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (process.argv.includes('--child')) {
    try {
      child();
    } catch (e) {
      // One JSON line either way: the parent reports the refusal (e.g. SHARD_FULL) as it is worded.
      process.stdout.write(`${JSON.stringify({ error: `${(e as { code?: string }).code ?? 'ERROR'}: ${(e as Error).message}` })}\n`);
      process.exitCode = 1;
    }
  } else main();
}
