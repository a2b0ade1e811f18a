/**
 * The executor's overhead on the embedded engine, against the engine's own floor:
 *   npm run build && node dist/bench/floor.js [--scale full|small] [--keep DIR]
 *
 * apply: the full Phase 4C apply (gates, ledger, lock, validation after every batch) against
 * executing the very statements its paper run prints, in order, on one DuckDB connection with no
 * gates, ledger or validation. rollback: the rollback of that apply against replaying the
 * statements the rollback issued. Each measured on a fresh copy of the same seeded warehouse.
 * Prints the ratios with their goals and one JSON line.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { DuckDBInstance } from '@duckdb/node-api';
import { planWarehouse } from '../app/plan';
import { applyPlan } from '../core/execute/apply';
import { rollbackPlan } from '../core/execute/rollback';
import { verifyPlan } from '../core/execute/verify';
import { loadPolicy } from '../core/policy';
import type { Engine, Step } from '../core/ports/engine';
import { openDuckDbEngine } from '../engines/duckdb/engine';
import { localEngineOptions } from '../scripts/options';
import type { Scale } from '../warehouse/catalogue';
import { seedWarehouse } from '../warehouse/seed';

const GOAL = 1.5;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function copy(from: string, dir: string, name: string): string {
  const to = path.join(dir, name);
  copyFileSync(from, to);
  if (existsSync(`${from}.wal`)) copyFileSync(`${from}.wal`, `${to}.wal`);
  return to;
}

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Executes statements in order on one connection (the engine's multi-statement steps carry their own BEGIN/COMMIT). */
async function replay(database: string, statements: readonly string[]): Promise<number> {
  const instance = await DuckDBInstance.create(database);
  const conn = await instance.connect();
  try {
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

async function main(): Promise<void> {
  const scale = arg('scale', 'full') as Scale;
  const keep = arg('keep', '');
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
    const paper = await applyPlan(engine, plan, policy, { mode: 'paper', approve: plan.planHash });
    const paperSeconds = seconds(t0);
    await engine.close();
    const statements = paper.summary.results
      .filter((r) => r.reason === 'WOULD_APPLY')
      .sort((a, b) => a.seq - b.seq)
      .flatMap((r) => (r.statements ?? []).flatMap((st) => st.sql.filter((s) => !s.startsWith('--'))));
    const applyFloor = await replay(copy(pristine, dir, 'floor.duckdb'), statements);

    const applied = copy(pristine, dir, 'apply.duckdb');
    engine = await openDuckDbEngine(localEngineOptions(applied));
    t0 = process.hrtime.bigint();
    const run = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash });
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
    const rb = await rollbackPlan(recording(engine, issued), plan, policy, { approve: plan.planHash });
    const rollbackSeconds = seconds(t0);
    await engine.close();
    if (!rb.restoredExactly) throw new Error('rollback did not restore the catalogue');
    const rollbackFloor = await replay(forFloor, issued);

    const result = {
      bench: 'embedded-executor-floor',
      scale,
      operations: run.summary.byOutcome.APPLIED ?? 0,
      statements: statements.length,
      paperSeconds: Number(paperSeconds.toFixed(2)),
      applySeconds: Number(applySeconds.toFixed(2)),
      applyFloorSeconds: Number(applyFloor.toFixed(2)),
      applyRatio: Number((applySeconds / applyFloor).toFixed(2)),
      applyGoal: GOAL,
      verifySeconds: Number(verifySeconds.toFixed(2)),
      rollbackSeconds: Number(rollbackSeconds.toFixed(2)),
      rollbackStatements: issued.length,
      rollbackFloorSeconds: Number(rollbackFloor.toFixed(2)),
      rollbackRatio: Number((rollbackSeconds / rollbackFloor).toFixed(2)),
      rollbackGoal: GOAL,
    };
    process.stdout.write(
      [
        `embedded engine, ${scale} catalogue: ${result.operations} operations, ${result.statements} statements`,
        `  apply     ${result.applySeconds.toFixed(1).padStart(6)} s   floor (statement replay) ${result.applyFloorSeconds.toFixed(1).padStart(6)} s   ratio ${result.applyRatio.toFixed(2)}x (goal ≤ ${GOAL}x)`,
        `  rollback  ${result.rollbackSeconds.toFixed(1).padStart(6)} s   floor (statement replay) ${result.rollbackFloorSeconds.toFixed(1).padStart(6)} s   ratio ${result.rollbackRatio.toFixed(2)}x (goal ≤ ${GOAL}x)`,
        `  paper run ${result.paperSeconds.toFixed(1).padStart(6)} s   verify ${result.verifySeconds.toFixed(1)} s`,
        JSON.stringify(result),
      ].join('\n') + '\n',
    );
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
