/**
 * Phase 4C on the BigQuery engine against the local REST double with a latency model:
 *   npx tsc -p tsconfig.build.json && node dist/bench/bigquery.js [--speedup 5] [--limit 50]
 *     [--rate-limit-share 0.02] [--seed 7] [--executor]
 *
 * The double runs every DDL job for 1–2 s of simulated time (uniform), at most `--limit` jobs at
 * once (more wait in its queue, as BigQuery queues interactive queries), answers a share of
 * jobs.insert calls with rateLimitExceeded and fails jobs that would exceed 5 metadata updates per
 * table per 10 s. Simulated time runs `--speedup` times faster than the wall clock.
 *
 * The plan is the project planner's Phase 4C plan of the full catalogue (facts from the
 * catalogue's content description). By default the bench drives `engine.run` directly with the
 * executor's step sequence (core/execute/steps.ts `stepsFor`): every operation's steps in order,
 * operations concurrently up to `engine.maxParallelOperations`, rename chains (`after`) respected.
 * `--executor` runs core/execute/apply.ts `applyPlan` instead (ledger, gates, validation reads).
 *
 * Prints wall time (simulated) next to the model's lower bound: max(total job-seconds / limit,
 * longest operation chain), and the dry-run bytes and dollars of the whole phase with the facts'
 * table sizes.
 */
import PQueue from 'p-queue';
import { stepsFor, viewsByOperation } from '../core/execute/steps';
import { isActionable, type PlanOperation } from '../core/plan/types';
import { runOutcome } from '../core/report/summary';
import { openBigQueryEngine } from '../engines/bigquery/engine';
import { bytesToUsd, formatUsd } from '../engines/bigquery/cost';
import { scaledClock } from '../engines/bigquery/limits';
import { fingerprintSql } from '../engines/bigquery/sql';
import type { Step } from '../core/ports/engine';
import { FEATURES_DATASET } from '../warehouse/catalogue';
import { BigQueryDouble, mulberry32 } from '../testing/bigquery/double';
import { phase4cPlan } from '../testing/bigquery/phase4c';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../testing/bigquery/warehouse';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}


async function main(): Promise<void> {
  const speedup = arg('speedup', 5);
  const limit = arg('limit', 50);
  const rateLimitShare = arg('rate-limit-share', 0.02);
  const seed = arg('seed', 7);
  const useExecutor = process.argv.includes('--executor');
  const random = mulberry32(seed);

  const t0 = Date.now();
  let { plan, policy } = await phase4cPlan('full');
  let ops = plan.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.seq - b.seq);
  let views = viewsByOperation(plan);
  console.log(`plan: ${ops.length} operations (${JSON.stringify(plan.summary.byAction)}), ${plan.views.length} views, ${plan.summary.sourcesByAction.CONSOLIDATE} consolidated sources; planned in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // ---- dry-run cost of the whole phase, realistic sizes, no latency --------------------------
  {
    const clock = scaledClock(1000);
    const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock });
    seedDouble(double, 'full', { withRunnerDataset: true });
    const endpoint = await double.start();
    const engine = await openBigQueryEngine({ engine: 'bigquery', database: '', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint }, { clock });
    let ctasBytes = 0;
    let lagBytes = 0;
    let regimeBytes = 0;
    for (const op of ops.filter((o) => o.action === 'CONSOLIDATE')) {
      const b = await engine.estimateBytes({ kind: 'CONSOLIDATE', target: op.target!, spec: op.consolidation! });
      ctasBytes += b;
      if (op.target!.startsWith('lag_')) lagBytes += b;
      else regimeBytes += b;
    }
    let freeBytes = 0;
    for (const op of ops.filter((o) => o.action !== 'CONSOLIDATE')) {
      for (const s of stepsFor(op, views.get(op.id) ?? [], 1)) if (s.kind !== 'VALIDATE_CONSOLIDATION') freeBytes += await engine.estimateBytes(s as Step);
    }
    // Re-proving each dedupe before its drop reads source and twin in full (fingerprint).
    let dedupeCheckBytes = 0;
    for (const op of ops.filter((o) => o.action === 'DEDUPE')) {
      for (const t of [op.sources[0], op.target!]) dedupeCheckBytes += (await engine.jobs.dryRun(fingerprintSql(engine.where, t))).bytes;
    }
    const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
    console.log('\ndry-run estimate (facts §2.3 sizes: cov 224 MB, lag 204 MB, regime 277 MB per table):');
    console.log(`  CONSOLIDATE CTAS x112: ${gb(ctasBytes)} (lag ${gb(lagBytes)}, regime ${gb(regimeBytes)}) = ${formatUsd(bytesToUsd(ctasBytes, policy.doc.execution.pricePerTiBUsd))}`);
    console.log(`  renames, snapshots, drops, views: ${freeBytes} bytes = $0`);
    console.log(`  optional dedupe re-check fingerprints (source + twin, 790 ops): ${gb(dedupeCheckBytes)} = ${formatUsd(bytesToUsd(dedupeCheckBytes, policy.doc.execution.pricePerTiBUsd))}`);
    console.log(`  phase total (operations): ${formatUsd(bytesToUsd(ctasBytes, policy.doc.execution.pricePerTiBUsd))}; with re-checks ${formatUsd(bytesToUsd(ctasBytes + dedupeCheckBytes, policy.doc.execution.pricePerTiBUsd))}; original estimate $5–15`);
    await engine.close();
    await double.stop();
  }

  // ---- execution under the latency model ------------------------------------------------------
  const clock = scaledClock(speedup);
  const latencyOf = new Map<string, number>();
  let latencyOn = !useExecutor;
  const double = new BigQueryDouble({
    project: PROJECT,
    location: LOCATION,
    clock,
    maxConcurrentJobs: limit,
    rateLimitShare,
    seed,
    tableUpdateLimit: { limit: 5, windowMs: 10_000 },
    latency: (kind, sql) => {
      if (!latencyOn) return 0;
      const ms = kind === 'ddl' ? 1_000 + 1_000 * random() : kind === 'dml' ? 1_000 : 500;
      latencyOf.set(sql, ms);
      return ms;
    },
  });
  seedDouble(double, 'full', { withRunnerDataset: true });
  const endpoint = await double.start();
  const engine = await openBigQueryEngine(
    { engine: 'bigquery', database: '', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint },
    { clock, jobs: { concurrency: { initial: 16, min: 1, max: 64 } } },
  );

  if (useExecutor) {
    // The executor re-checks dedupe fingerprints against the plan's evidence, so the plan must be
    // made from the same warehouse: the planner reads its facts through the engine (no latency).
    const p0 = Date.now();
    ({ plan, policy } = await phase4cPlan('full', engine));
    ops = plan.operations.filter((o) => isActionable(o.action)).sort((a, b) => a.seq - b.seq);
    views = viewsByOperation(plan);
    console.log(`\nre-planned through the BigQuery engine against the double in ${((Date.now() - p0) / 1000).toFixed(1)} s: ${JSON.stringify(plan.summary.byAction)}`);
    double.jobs.clear();
    double.applied.length = 0;
    for (const k of Object.keys(double.counters) as (keyof typeof double.counters)[]) double.counters[k] = 0;
    for (const k of Object.keys(engine.jobs.stats) as (keyof typeof engine.jobs.stats)[]) engine.jobs.stats[k] = 0;
    latencyOn = true;
  }
  const simStart = clock.now();
  const realStart = Date.now();
  let mode: string;
  if (useExecutor) {
    mode = 'core/execute/apply.ts applyPlan (real mode)';
    const { applyPlan } = await import('../core/execute/apply');
    const res = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, budgetUsd: 15, now: () => new Date(Date.UTC(2026, 11, 1) + clock.now()) });
    console.log(`\nexecutor status ${res.summary.status}, outcome ${runOutcome(res.summary)}, outcomes ${JSON.stringify(res.summary.byOutcome)}`);
    if (res.summary.halt) console.log(`  halt: ${JSON.stringify(res.summary.halt).slice(0, 600)}`);
    for (const w of res.summary.warnings.slice(0, 5)) console.log(`  warning: ${w.slice(0, 300)}`);
  } else {
    mode = 'engine.run driven with stepsFor (all operations concurrently, steps of one operation in order)';
    const queue = new PQueue({ concurrency: engine.maxParallelOperations });
    const done = new Map<string, Promise<void>>();
    const runOp = async (op: PlanOperation) => {
      await Promise.all((op.after ?? []).map((id) => done.get(id)));
      const steps = stepsFor(op, views.get(op.id) ?? [], 1).filter((s): s is Step => s.kind !== 'VALIDATE_CONSOLIDATION');
      for (let i = 0; i < steps.length; i++) await engine.run(steps[i], { jobId: `bqx_bench_${op.id}_s${i}_a1` });
    };
    for (const op of ops) done.set(op.id, queue.add(() => runOp(op)) as Promise<void>);
    await Promise.all(done.values());
  }
  const simWall = clock.now() - simStart;
  const realWall = Date.now() - realStart;

  // Lower bound from what actually ran: job-seconds over the concurrency limit, or the longest
  // operation's chain of jobs, whichever is larger.
  const jobs = [...double.jobs.values()];
  const jobSeconds = jobs.reduce((n, j) => n + (latencyOf.get(j.sql) ?? 0), 0) / 1000;
  const byThroughput = jobSeconds / limit;
  let longestChain = 0;
  if (!useExecutor) {
    for (const op of ops) {
      const steps = stepsFor(op, views.get(op.id) ?? [], 1).filter((s): s is Step => s.kind !== 'VALIDATE_CONSOLIDATION');
      let chain = 0;
      for (const s of steps) for (const stmt of engine.render(s)) chain += latencyOf.get(stmt) ?? 0;
      longestChain = Math.max(longestChain, chain / 1000);
    }
  }
  const bound = Math.max(byThroughput, longestChain);
  const ddl = double.applied.length;
  const reapplied = [...double.runsByJobId.values()].filter((n) => n > 1).length;
  console.log(`\nexecution: ${mode}`);
  console.log(`  model: DDL 1–2 s, DML 1 s, reads 0.5 s; ${limit} jobs at once; ${(rateLimitShare * 100).toFixed(1)}% of jobs.insert rate-limited; 5 updates/table/10 s; time x${speedup}`);
  console.log(`  jobs: ${jobs.length} (${ddl} catalogue changes applied, ${reapplied} job ids run twice), jobs.insert calls ${double.counters.inserts}, rate-limited ${double.counters.rejectedRateLimit}, metadata-limit failures ${double.counters.metadataLimitHits}, dry runs ${double.counters.dryRuns}`);
  console.log(`  engine: submissions ${engine.jobs.stats.submissions}, AIMD concurrency now ${engine.jobs.limiter.concurrency} (min seen ${Math.min(16, ...engine.jobs.limiter.history.map(([, n]) => n))}), double's max running ${double.counters.maxRunning}`);
  console.log(`  wall time ${(simWall / 1000).toFixed(1)} s simulated (${(realWall / 1000).toFixed(1)} s real)`);
  console.log(`  lower bound ${bound.toFixed(1)} s = max(job-seconds ${jobSeconds.toFixed(0)} / ${limit} = ${byThroughput.toFixed(1)} s, longest operation chain ${longestChain.toFixed(1)} s)`);
  console.log(`  ratio ${(simWall / 1000 / bound).toFixed(2)}x (goal <= 1.3x)`);
  const tables = await engine.listTables();
  console.log(`  catalogue after: ${tables.filter((t) => t.kind === 'TABLE').length} tables, ${tables.filter((t) => t.kind === 'VIEW').length} views`);
  await engine.close();
  await double.stop();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
