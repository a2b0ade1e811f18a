/**
 * The executor's overhead on the embedded engine, against the engine's own floor:
 *   npm run build && node dist/bench/floor.js [--scale full|small] [--rounds 5] [--keep DIR]
 *
 * apply: the full Phase 4C apply (gates, ledger, lock, validation after every batch) against
 * executing the very statements its paper run prints, in order, on one DuckDB connection with no
 * gates, ledger or validation. rollback: the rollback of that apply against replaying the
 * statements the rollback issued. Each measured on a fresh copy of the same seeded warehouse, in
 * `--rounds` rounds (each round: floor, apply, rollback, rollback floor); the ratio printed is the
 * median of the rounds' ratios, with every round's beside it (this machine's noise moves a single
 * round's floor by 15%). Prints the ratios with their goals and one JSON line.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { planWarehouse } from '../app/plan';
import { applyPlan } from '../core/execute/apply';
import { rollbackPlan } from '../core/execute/rollback';
import { verifyPlan } from '../core/execute/verify';
import { median } from '../core/plan/facts';
import { loadPolicy } from '../core/policy';
import type { Plan } from '../core/plan/types';
import type { Engine, Step } from '../core/ports/engine';
import { openDuckDbEngine } from '../engines/duckdb/engine';
import { CHECKPOINT_THRESHOLD } from '../engines/duckdb/db';
import { ENGINE_THREADS } from '../engines/duckdb/open';
import { localEngineOptions } from '../scripts/options';
import type { Scale } from '../warehouse/catalogue';
import { seedWarehouse } from '../warehouse/seed';
import { flagValue } from './args';

/** The safe apply is to cost no more than replaying its statements bare; a rollback up to half as much again. */
const APPLY_GOAL = 1.0;
const ROLLBACK_GOAL = 1.5;

function copy(from: string, dir: string, name: string): string {
  const to = path.join(dir, name);
  copyFileSync(from, to);
  // A round's leftover log must not be replayed into the next round's copy.
  if (existsSync(`${from}.wal`)) copyFileSync(`${from}.wal`, `${to}.wal`);
  else rmSync(`${to}.wal`, { force: true });
  return to;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * Executes statements in order on one connection (the engine's multi-statement steps carry their
 * own BEGIN/COMMIT), with DuckDB's defaults as a new user would, or with the engine's own settings.
 */
async function replay(database: string, statements: readonly string[], engineSettings = false): Promise<number> {
  const instance = await DuckDBInstance.create(database, engineSettings ? { threads: ENGINE_THREADS } : undefined);
  const conn = await instance.connect();
  try {
    if (engineSettings) await conn.run(`SET checkpoint_threshold = '${CHECKPOINT_THRESHOLD}'`);
    const t0 = process.hrtime.bigint();
    for (const s of statements) await conn.run(s);
    return seconds(t0);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The engine with every statement it runs recorded (the rollback's own statements, for its floor). */
function recording(engine: Engine, into: string[]): Engine {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'run') {
        return async (step: Step, opts: { jobId: string }) => {
          into.push(...target.render(step));
          return target.run(step, opts);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

interface Round {
  readonly operations: number;
  readonly applySeconds: number;
  readonly applyFloor: number;
  /** The same replay with the engine's DuckDB settings: how much of the ratio is the settings. */
  readonly applyFloorTuned: number;
  readonly verifySeconds: number;
  readonly rollbackSeconds: number;
  readonly rollbackFloor: number;
  readonly rollbackStatements: number;
}

/** One round on fresh copies of the pristine warehouse: the apply floor, apply and verify, rollback, the rollback floor. */
async function round(dir: string, pristine: string, plan: Plan, statements: readonly string[]): Promise<Round> {
  const policy = loadPolicy();
  const applyFloor = await replay(copy(pristine, dir, 'floor.duckdb'), statements);
  const applyFloorTuned = await replay(copy(pristine, dir, 'floor.duckdb'), statements, true);

  const applied = copy(pristine, dir, 'apply.duckdb');
  let engine = await openDuckDbEngine(localEngineOptions(applied));
  let t0 = process.hrtime.bigint();
  const run = await applyPlan(engine, plan, policy, {
    mode: 'real',
    approve: plan.planHash,
  });
  const applySeconds = seconds(t0);
  t0 = process.hrtime.bigint();
  const verified = await verifyPlan(engine, plan, {});
  const verifySeconds = seconds(t0);
  await engine.close();
  if (run.summary.status !== 'OK' || verified.summary.status !== 'OK') throw new Error(`apply ${run.summary.status}, verify ${verified.summary.status}`);

  // Rollback of the same apply, and the replay of the statements it issued on another applied copy.
  const forFloor = copy(applied, dir, 'applied-copy.duckdb');
  const issued: string[] = [];
  engine = await openDuckDbEngine(localEngineOptions(applied));
  t0 = process.hrtime.bigint();
  const rb = await rollbackPlan(recording(engine, issued), plan, policy, {
    approve: plan.planHash,
  });
  const rollbackSeconds = seconds(t0);
  await engine.close();
  if (!rb.restoredExactly) throw new Error('rollback did not restore the catalogue');
  const rollbackFloor = await replay(forFloor, issued);

  return {
    operations: run.summary.byOutcome.APPLIED ?? 0,
    applySeconds,
    applyFloor,
    applyFloorTuned,
    verifySeconds,
    rollbackSeconds,
    rollbackFloor,
    rollbackStatements: issued.length,
  };
}

async function main(): Promise<void> {
  const scale = flagValue('scale', 'full') as Scale;
  const keep = flagValue('keep', '');
  const dir = keep || mkdtempSync(path.join(tmpdir(), 'bqx-bench-floor-'));
  const policy = loadPolicy();
  try {
    const pristine = path.join(dir, 'pristine.duckdb');
    if (!existsSync(pristine)) await seedWarehouse({ database: pristine, scale, force: true });
    let engine = await openDuckDbEngine(localEngineOptions(pristine));
    const plan = await planWarehouse(engine, policy, '2026-12-01');
    await engine.close();

    // The paper run prints every statement of every operation, in order.
    const paperDb = copy(pristine, dir, 'paper.duckdb');
    engine = await openDuckDbEngine(localEngineOptions(paperDb));
    let t0 = process.hrtime.bigint();
    const paper = await applyPlan(engine, plan, policy, {
      mode: 'paper',
      approve: plan.planHash,
    });
    const paperSeconds = seconds(t0);
    await engine.close();
    const statements = paper.summary.results
      .filter((r) => r.reason === 'WOULD_APPLY')
      .sort((a, b) => a.seq - b.seq)
      .flatMap((r) => (r.statements ?? []).flatMap((st) => st.sql.filter((s) => !s.startsWith('--'))));
    const rounds = Math.max(1, Number(flagValue('rounds', '5')));
    const measured: Round[] = [];
    for (let i = 0; i < rounds; i++) measured.push(await round(dir, pristine, plan, statements));
    const med = (f: (r: Round) => number) => median(measured.map(f));
    const applySeconds = med((r) => r.applySeconds);
    const applyFloor = med((r) => r.applyFloor);
    const applyFloorTuned = med((r) => r.applyFloorTuned);
    const verifySeconds = med((r) => r.verifySeconds);
    const rollbackSeconds = med((r) => r.rollbackSeconds);
    const rollbackFloor = med((r) => r.rollbackFloor);
    const applyRatios = measured.map((r) => r.applySeconds / r.applyFloor);
    const tunedRatios = measured.map((r) => r.applySeconds / r.applyFloorTuned);
    const rollbackRatios = measured.map((r) => r.rollbackSeconds / r.rollbackFloor);

    const result = {
      bench: 'embedded-executor-floor',
      scale,
      operations: measured[0].operations,
      statements: statements.length,
      paperSeconds: Number(paperSeconds.toFixed(2)),
      applySeconds: Number(applySeconds.toFixed(2)),
      applyFloorSeconds: Number(applyFloor.toFixed(2)),
      applyRatio: Number(median(applyRatios).toFixed(2)),
      applyRatios: applyRatios.map((x) => Number(x.toFixed(2))),
      applyGoal: APPLY_GOAL,
      applyFloorTunedSeconds: Number(applyFloorTuned.toFixed(2)),
      applyTunedRatio: Number(median(tunedRatios).toFixed(2)),
      applyTunedRatios: tunedRatios.map((x) => Number(x.toFixed(2))),
      verifySeconds: Number(verifySeconds.toFixed(2)),
      rollbackSeconds: Number(rollbackSeconds.toFixed(2)),
      rollbackStatements: measured[0].rollbackStatements,
      rollbackFloorSeconds: Number(rollbackFloor.toFixed(2)),
      rollbackRatio: Number(median(rollbackRatios).toFixed(2)),
      rollbackRatios: rollbackRatios.map((x) => Number(x.toFixed(2))),
      rounds,
      rollbackGoal: ROLLBACK_GOAL,
    };
    process.stdout.write(
      [
        `embedded engine, ${scale} catalogue: ${result.operations} operations, ${result.statements} statements; medians of ${rounds} rounds`,
        `  apply     ${result.applySeconds.toFixed(1).padStart(6)} s   floor (statement replay) ${result.applyFloorSeconds.toFixed(1).padStart(6)} s   ratio ${result.applyRatio.toFixed(
          2
        )}x (goal ≤ ${APPLY_GOAL}x; rounds ${result.applyRatios.join(', ')})`,
        `            floor with the engine's DuckDB settings (threads ${ENGINE_THREADS}, checkpoint at ${CHECKPOINT_THRESHOLD}) ${result.applyFloorTunedSeconds.toFixed(1)} s   ratio ${result.applyTunedRatio.toFixed(2)}x (rounds ${result.applyTunedRatios.join(', ')})`,
        `  rollback  ${result.rollbackSeconds.toFixed(1).padStart(6)} s   floor (statement replay) ${result.rollbackFloorSeconds.toFixed(1).padStart(6)} s   ratio ${result.rollbackRatio.toFixed(
          2
        )}x (goal ≤ ${ROLLBACK_GOAL}x; rounds ${result.rollbackRatios.join(', ')})`,
        `  paper run ${result.paperSeconds.toFixed(1).padStart(6)} s   verify ${result.verifySeconds.toFixed(1)} s`,
        JSON.stringify(result),
      ].join('\n') + '\n'
    );
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
