/**
 * Phase 4C through the full executor (core/execute/apply.ts `applyPlan`: gates, ledger, validation,
 * halts) on the BigQuery engine against the REST double under the latency model of
 * bench/bigquery-model.ts, measured against the changes-only bound, fault-free and behind the fault
 * proxy (testing/bigquery/fault-proxy.ts, every kind of fault) at each rate of `--faults`:
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/bigquery.js --executor [--rounds 5] [--faults 0,0.05]
 *     [--plan-cache FILE] [--limit 50] [--rate-limit-share 0.02] [--seed 7] [--ops N] [--fuse N] [--trace-ends]
 *
 * The plan is made once, through the engine against a double seeded like every round's (the
 * executor re-checks dedupe fingerprints against the plan's evidence); `--plan-cache FILE` keeps it
 * between invocations. Each round is a fresh double, proxy and engine. Fault-free and faulted rounds
 * both go through the proxy (at rate 0 it only forwards), so they differ only in the faults.
 *
 * Per rate it prints each round's ratio, their median against the goal, where the time above the
 * bound went (before the first catalogue change, after the last one, and job slots left idle in
 * between: while the engine's limiter held jobs back, or while the executor had none to submit),
 * and one JSON line `{"bench":"bigquery-executor",…}`. A faulted round must end as the fault-free
 * one did: the same terminal ledger outcome for every operation, exactly one per operation, the
 * same catalogue, no job id run twice; the bench says so, and exits non-zero when not.
 * `--trace-ends` also prints every REST call and job before the first catalogue change and after
 * the last one, and the jobs running / waiting for the engine's limiter in each second.
 */
import { createHash } from 'crypto';
import { existsSync, readFileSync, writeFileSync } from 'fs';
import { applyPlan } from '../core/execute/apply';
import { TERMINAL_OUTCOMES } from '../core/ledger/types';
import { loadPolicy, type Policy } from '../core/policy';
import { isActionable, type Plan } from '../core/plan/types';
import { runOutcome } from '../core/report/summary';
import { openBigQueryEngine, type BigQueryEngine } from '../engines/bigquery/engine';
import { scaledClock } from '../engines/bigquery/limits';
import { FEATURES_DATASET } from '../warehouse/catalogue';
import { BigQueryDouble } from '../testing/bigquery/double';
import { FaultProxy } from '../testing/bigquery/fault-proxy';
import { phase4cPlan } from '../testing/bigquery/phase4c';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../testing/bigquery/warehouse';
import { flagValue } from './args';
import { API_LATENCY_MS, benchClock, changesOnlyBound, clockKind, jobsByKind, limit, meanRunning, modelDouble, rateLimitShare, s1, seed, speedup } from './bigquery-model';

/** Goal: the executor's wall time at most this many times the changes-only bound (each fault rate). */
export const EXECUTOR_GOAL = 1.1;

const engineDeps = () => ({
  // `--fixed-concurrency N`: the engine's limiter held at N jobs (ablation of its AIMD).
  jobs: { concurrency: process.argv.includes('--fixed-concurrency') ? { initial: Number(flagValue('fixed-concurrency', '64')), min: Number(flagValue('fixed-concurrency', '64')), max: Number(flagValue('fixed-concurrency', '64')) } : { initial: 16, min: 1, max: 64 } },
  ...(process.argv.includes('--ops') ? { maxParallelOperations: Number(flagValue('ops', '128')) } : {}),
  ...(process.argv.includes('--fuse') ? { fusedReads: Number(flagValue('fuse', '16')) } : {}),
});

const engineOptions = (apiEndpoint: string) => ({ engine: 'bigquery' as const, project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint });

/** The Phase 4C plan, made through the engine against a latency-free double seeded as every round's. */
async function planOnce(): Promise<{ plan: Plan; policy: Policy }> {
  const cache = flagValue('plan-cache', '');
  const policy = loadPolicy();
  if (cache && existsSync(cache)) {
    console.log(`plan: read from ${cache}`);
    return { plan: JSON.parse(readFileSync(cache, 'utf8')) as Plan, policy };
  }
  const t0 = Date.now();
  const clock = scaledClock(1000);
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock });
  seedDouble(double, 'full', { withRunnerDataset: true });
  const engine = await openBigQueryEngine(engineOptions(await double.start()), { clock });
  const { plan } = await phase4cPlan('full', engine);
  await engine.close();
  await double.stop();
  console.log(`plan: made through the BigQuery engine against the double in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(plan.summary.byAction)}, ${plan.views.length} views`);
  if (cache) writeFileSync(cache, JSON.stringify(plan));
  return { plan, policy };
}

/** Slot-seconds the double's job slots stood idle between the first and the last catalogue change, by cause. */
interface IdleSlots {
  /** The engine held jobs back (its limiter's slots were full: AIMD below the double's limit, or slots spent on round trips and backoff). */
  readonly limiter: number;
  /** The engine had no job waiting: the executor had nothing to submit (gates, ledger waits, batch windows). */
  readonly executor: number;
}

interface Round {
  readonly rate: number;
  readonly outcome: string;
  readonly simS: number;
  readonly realS: number;
  readonly cpuS: number;
  readonly boundS: number;
  readonly ratio: number;
  readonly startupS: number;
  readonly tailS: number;
  readonly idle: IdleSlots;
  readonly meanRunning: number;
  readonly jobs: ReturnType<typeof jobsByKind>;
  readonly halvings: number;
  readonly aimdMean: number;
  readonly injected: number;
  readonly requests: number;
  readonly reapplied: number;
  readonly dryRuns: number;
  readonly tablesGet: number;
  /** One line per operation: its terminal outcome and reason (ledger). */
  readonly outcomes: string[];
  /** Operations whose ledger has other than exactly one terminal record for this run. */
  readonly notOneTerminal: string[];
  readonly catalogue: string;
  readonly validationChecks: number;
}

/** Integral of a step function given as [time, value] changes (value before the first change: `initial`). */
function integrate(history: readonly (readonly [number, number])[], from: number, to: number, initial: number, weight: (v: number, t: number) => number = (v) => v): number {
  let area = 0;
  let last = from;
  let v = initial;
  for (const [t, n] of history) {
    if (t >= to) break;
    if (t > from) area += weight(v, last) * (t - last);
    last = Math.max(from, t);
    v = n;
  }
  return area + weight(v, last) * Math.max(0, to - last);
}

/** The value of a step function at time t. */
function valueAt(history: readonly (readonly [number, number])[], t: number, initial: number): number {
  let v = initial;
  for (const [at, n] of history) {
    if (at > t) break;
    v = n;
  }
  return v;
}

/** Idle slots of the double over [from, to], split by whether the engine had jobs waiting for one of its own slots. */
function idleSlots(double: BigQueryDouble, waiting: readonly [number, number][], from: number, to: number): IdleSlots {
  const times = [...new Set([from, ...double.runningHistory.map(([t]) => t), ...waiting.map(([t]) => t), to])].filter((t) => t >= from && t <= to).sort((a, b) => a - b);
  const out = { limiter: 0, executor: 0 };
  for (let i = 0; i + 1 < times.length; i++) {
    const t = times[i];
    const dt = times[i + 1] - t;
    const idle = Math.max(0, limit - valueAt(double.runningHistory, t, 0));
    if (valueAt(waiting, t, 0) > 0) out.limiter += (idle * dt) / 1000;
    else out.executor += (idle * dt) / 1000;
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function catalogueDigest(engine: BigQueryEngine): Promise<string> {
  const tables = await engine.listTables();
  const lines = tables.map((t) => `${t.name}|${t.kind}|${t.rowCount}|${t.columns.map((c) => `${c.name}:${c.type}`).join(',')}`).sort();
  return `${tables.filter((t) => t.kind === 'TABLE').length} tables, ${tables.filter((t) => t.kind === 'VIEW').length} views, ${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 12)}`;
}

async function executorRound(plan: Plan, policy: Policy, rate: number, round: number): Promise<Round> {
  const bc = benchClock();
  const clock = bc.clock;
  const double = modelDouble(bc);
  const proxy = new FaultProxy({ target: await double.start(), rate, seed: 23 + round });
  const engine = await openBigQueryEngine(engineOptions(await proxy.start()), { clock, ...engineDeps(), notice: () => undefined });
  bc.attach(engine);
  // `--trace-ends`: every REST call and job before the first catalogue change and after the last one.
  const calls: { at: number; end: number; what: string }[] = [];
  if (process.argv.includes('--trace-ends')) {
    const rest = engine.rest as { call: BigQueryEngine['rest']['call'] };
    const call = rest.call.bind(rest);
    rest.call = async (req) => {
      const at = clock.now();
      try {
        return await call(req);
      } finally {
        const body = req.body as { jobReference?: { jobId?: string }; configuration?: { labels?: Record<string, string> } } | undefined;
        const kind = body?.configuration?.labels?.bqx_kind;
        calls.push({ at, end: clock.now(), what: `${req.method} ${req.path}${kind ? ` [${kind}] ${body?.jobReference?.jobId ?? ''}` : ''}` });
      }
    };
  }
  // Jobs waiting for one of the engine's own concurrency slots, over time.
  const waiting: [number, number][] = [];
  let queued = 0;
  const limiter = engine.jobs.limiter as { run: BigQueryEngine['jobs']['limiter']['run'] };
  const run = limiter.run.bind(limiter);
  limiter.run = (task, priority) => {
    waiting.push([clock.now(), ++queued]);
    return run(() => {
      waiting.push([clock.now(), --queued]);
      return task();
    }, priority);
  };

  const bound = changesOnlyBound(engine, plan);
  const simStart = clock.now();
  const realStart = Date.now();
  const cpuStart = process.cpuUsage();
  const res = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, budgetUsd: 15, now: () => new Date(Date.UTC(2026, 11, 1) + clock.now()) });
  const simEnd = clock.now();
  const realS = (Date.now() - realStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const outcome = runOutcome(res.summary);
  if (res.summary.halt) console.log(`    halt: ${JSON.stringify(res.summary.halt).slice(0, 600)}`);
  for (const w of res.summary.warnings.slice(0, 3)) console.log(`    warning: ${w.slice(0, 300)}`);
  const injected = proxy.totalInjected;
  const requests = proxy.requests;
  proxy.rate = 0; // the checks below read the outcome, they are not measured

  const changes = [...double.jobs.values()].filter((j) => j.labels.bqx_kind === 'step' && j.startedAt !== undefined);
  const firstChange = Math.min(...changes.map((j) => j.startedAt!));
  const lastChange = Math.max(...changes.map((j) => j.endedAt ?? simEnd));
  if (process.argv.includes('--trace-ends')) {
    const t = (ms: number) => s1((ms - simStart) / 1000);
    // `--trace-window A,B`: the seconds A to B of the round as well.
    const [wa, wb] = flagValue('trace-window', '-1,-1').split(',').map((x) => simStart + 1000 * Number(x));
    const near = (x: { at: number; end: number }) => x.at < firstChange || x.end > lastChange || (x.at >= wa && x.at <= wb);
    for (const c of calls.filter(near).sort((a, b) => a.at - b.at)) console.log(`    call ${t(c.at)}–${t(c.end)} ${c.what}`);
    for (const j of [...double.jobs.values()].filter((j) => j.startedAt !== undefined && near({ at: j.startedAt!, end: j.endedAt ?? simEnd }))) console.log(`    job ${t(j.createdAt)} ${t(j.startedAt!)}–${t(j.endedAt ?? simEnd)} ${j.labels.bqx_kind}`);
    const line: string[] = [];
    for (let x = simStart; x < simEnd; x += 1000) line.push(`${((x - simStart) / 1000).toFixed(0)}:${meanRunning(double, x, Math.min(simEnd, x + 1000)).toFixed(0)}/${valueAt(waiting, x, 0)}`);
    console.log(`    running/waiting per s: ${line.join(' ')}`);
  }
  const aimd = engine.jobs.limiter.history;
  const halvings = aimd.filter(([t, n], i) => t >= simStart && i > 0 && n < aimd[i - 1][1]).length;

  const records = (await engine.ledger.records(plan.planHash)).filter((r) => r.runId === res.summary.runId);
  const terminal = new Set<string>(TERMINAL_OUTCOMES);
  const terminals = new Map<string, string[]>();
  for (const r of records) if (terminal.has(r.state)) terminals.set(r.operationId, [...(terminals.get(r.operationId) ?? []), `${r.state} ${r.reason}`]);
  const notOneTerminal = plan.operations.filter((o) => (terminals.get(o.id) ?? []).length !== 1).map((o) => o.id);
  const out: Round = {
    rate,
    outcome,
    simS: (simEnd - simStart) / 1000,
    realS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    boundS: bound.bound,
    ratio: (simEnd - simStart) / 1000 / bound.bound,
    startupS: (firstChange - simStart) / 1000,
    tailS: (simEnd - lastChange) / 1000,
    idle: idleSlots(double, waiting, firstChange, lastChange),
    meanRunning: meanRunning(double, simStart, simEnd),
    jobs: jobsByKind(double),
    halvings,
    aimdMean: integrate(aimd, simStart, simEnd, valueAt(aimd, simStart, 16)) / Math.max(1, simEnd - simStart),
    injected,
    requests,
    reapplied: [...double.runsByJobId.values()].filter((n) => n > 1).length,
    dryRuns: double.counters.dryRuns,
    tablesGet: double.counters.tablesGet,
    outcomes: plan.operations.map((o) => `${o.id} ${(terminals.get(o.id) ?? []).join('+')}`),
    notOneTerminal,
    catalogue: await catalogueDigest(engine),
    validationChecks: res.summary.validation.checks,
  };
  await engine.close();
  await proxy.stop();
  await double.stop();
  bc.stop();
  return out;
}

function describeRound(r: Round, i: number): string {
  const k = r.jobs;
  return (
    `  round ${i + 1}: ${s1(r.simS)} s simulated (${s1(r.realS)} s real, ${s1(r.cpuS)} s CPU) = ${r.ratio.toFixed(3)}x of ${s1(r.boundS)} s; outcome ${r.outcome}, ${r.validationChecks} validation checks; ` +
    `before the first change ${s1(r.startupS)} s, after the last ${s1(r.tailS)} s; idle slot-seconds between: ${r.idle.limiter.toFixed(0)} (engine's limiter full) + ${r.idle.executor.toFixed(0)} (nothing to submit) = ${s1((r.idle.limiter + r.idle.executor) / limit)} s at ${limit} slots; ` +
    `jobs: DDL ${k.count.ddl}, ledger DML ${k.count.dmlLedger} (${k.seconds.dmlLedger.toFixed(0)} job-s), reads ${k.count.reads} (${k.seconds.reads.toFixed(0)} job-s, carrying ${k.fusedParts} fused reads); ` +
    `dry runs ${r.dryRuns}, tables.get ${r.tablesGet}; mean running ${s1(r.meanRunning)} of ${limit}; AIMD mean ${s1(r.aimdMean)} (${r.halvings} halvings)` +
    (r.rate ? `; ${r.injected} of ${r.requests} requests met a fault` : '')
  );
}

export async function executorBench(): Promise<void> {
  const rounds = Math.max(1, Number(flagValue('rounds', '5')));
  // Rounds differ by their fault seed; `--first-round K` starts at round K (rounds split across processes).
  const firstRound = Number(flagValue('first-round', '0'));
  // `--digests DIR`: each round's ledger outcomes and catalogue go to DIR/faults-RATE-round-K.json,
  // to compare rounds run by different processes (`--first-round`).
  const digests = flagValue('digests', '');
  const rates = flagValue('faults', '0,0.05').split(',').map(Number);
  const { plan, policy } = await planOnce();
  const ops = plan.operations.filter((o) => isActionable(o.action));
  console.log(`executor: core/execute/apply.ts applyPlan (real mode), ${ops.length} operations, ${rounds} round(s) per fault rate`);
  console.log(`  model: DDL 1–2 s, DML 1 s, reads 0.5 s; ${limit} jobs at once; ${(rateLimitShare * 100).toFixed(1)}% of jobs.insert rate-limited by the double; 5 updates/table/10 s; ${benchClock().describe()}`);
  let reference: Round | null = null;
  let wrong = 0;
  for (const rate of rates) {
    console.log(`\nfaults ${(rate * 100).toFixed(0)}% of requests (testing/bigquery/fault-proxy.ts, every kind):`);
    const done: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      const r = await executorRound(plan, policy, rate, firstRound + i);
      done.push(r);
      console.log(describeRound(r, firstRound + i));
      reference ??= rate === 0 ? r : null;
      if (digests) writeFileSync(`${digests}/faults-${rate}-round-${firstRound + i}.json`, JSON.stringify({ outcomes: r.outcomes, notOneTerminal: r.notOneTerminal, reapplied: r.reapplied, catalogue: r.catalogue }));
      const problems: string[] = [];
      if (r.outcome !== 'OK') problems.push(`outcome ${r.outcome}`);
      if (r.notOneTerminal.length) problems.push(`${r.notOneTerminal.length} operation(s) without exactly one terminal ledger record (${r.notOneTerminal.slice(0, 3).join(', ')})`);
      if (r.reapplied) problems.push(`${r.reapplied} job id(s) ran twice`);
      if (reference && reference !== r) {
        const differ = r.outcomes.filter((o, j) => o !== reference!.outcomes[j]);
        if (differ.length) problems.push(`${differ.length} ledger outcome(s) differ from the fault-free round's (${differ.slice(0, 3).join('; ')})`);
        if (r.catalogue !== reference.catalogue) problems.push(`catalogue ${r.catalogue} differs from the fault-free round's ${reference.catalogue}`);
      }
      if (problems.length) {
        wrong++;
        console.log(`    ** ${problems.join('; ')} **`);
      } else {
        console.log(`    ledger: one terminal outcome per operation${reference && reference !== r ? ', each as in the fault-free round' : ''}; catalogue ${r.catalogue}${reference && reference !== r ? ' (as fault-free)' : ''}; no job id ran twice`);
      }
    }
    const ratio = median(done.map((r) => r.ratio));
    const m = (f: (r: Round) => number) => median(done.map(f));
    console.log(
      `  median ratio ${ratio.toFixed(3)}x of the changes-only bound (goal ≤ ${EXECUTOR_GOAL}x)${ratio <= EXECUTOR_GOAL ? '' : '  ** above the goal **'}; single rounds ${done.map((r) => r.ratio.toFixed(3)).join(', ')}`,
    );
    console.log(
      `  where the ${s1(m((r) => r.simS - r.boundS))} s above the bound went (medians): ${s1(m((r) => r.startupS))} s before the first change, ${s1(m((r) => r.tailS))} s after the last, ` +
        `${s1(m((r) => r.idle.limiter) / limit)} s of idle slots while the engine's limiter was full, ${s1(m((r) => r.idle.executor) / limit)} s while the executor had nothing to submit, ` +
        `${s1(m((r) => r.jobs.seconds.dmlLedger + r.jobs.seconds.reads) / limit)} s of slots spent on the executor's own jobs (ledger writes, reads)`,
    );
    console.log(
      JSON.stringify({
        bench: 'bigquery-executor',
        faultRate: rate,
        rounds,
        ratio: +ratio.toFixed(3),
        goal: EXECUTOR_GOAL,
        met: ratio <= EXECUTOR_GOAL,
        singleRatios: done.map((r) => +r.ratio.toFixed(3)),
        wallSimS: done.map((r) => +r.simS.toFixed(1)),
        wallRealS: done.map((r) => +r.realS.toFixed(1)),
        changesOnlyBoundS: +done[0].boundS.toFixed(1),
        outcomes: done.map((r) => r.outcome),
        startupS: +m((r) => r.startupS).toFixed(1),
        tailS: +m((r) => r.tailS).toFixed(1),
        idleSlotS: { limiter: +m((r) => r.idle.limiter).toFixed(0), executor: +m((r) => r.idle.executor).toFixed(0) },
        jobs: { ddl: done[0].jobs.count.ddl, dmlLedger: m((r) => r.jobs.count.dmlLedger), reads: m((r) => r.jobs.count.reads), dryRuns: m((r) => r.dryRuns), tablesGet: m((r) => r.tablesGet) },
        injected: done.map((r) => r.injected),
        sameAsFaultFree: rate === 0 ? null : wrong === 0,
        model: { clock: clockKind, limit, ...(clockKind === 'scaled' ? { speedup } : { apiLatencyMs: API_LATENCY_MS }), rateLimitShare, seed },
      }),
    );
  }
  if (wrong) {
    console.error(`${wrong} round(s) did not end as they must (see ** above)`);
    process.exitCode = 1;
  }
}
