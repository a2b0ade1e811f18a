import { createHash } from 'crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { catalogueFingerprint, makeSnapshot } from '../../core/catalogue';
import { buildPlan } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { loadPolicy, type Policy } from '../../core/policy';
import { openDuckDbEngine } from '../../engines/duckdb/engine';
import type { Engine } from '../../core/ports/engine';
import { localEngineOptions } from '../../scripts/options';
import { exitCodeOf } from '../../scripts/exit-codes';
import { runOutcome, type RunSummary } from '../../core/report/summary';
import type { DuckDbEngineOptions } from '../../core/ports/engine';
import { seedWarehouse } from '../../warehouse/seed';

export const policy: Policy = loadPolicy();
export const GRACE_START = '2026-11-21';

export function engineOptionsFor(database: string): DuckDbEngineOptions {
  return localEngineOptions(database);
}

export function openAt(database: string): Promise<Engine> {
  return openDuckDbEngine(engineOptionsFor(database));
}

/** `f` with an engine on `database`, closed after it. */
export async function withEngine<T>(database: string, f: (e: Engine) => Promise<T>): Promise<T> {
  const e = await openAt(database);
  try {
    return await f(e);
  } finally {
    await e.close();
  }
}

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'bqx-exec-'));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

let pristine: { database: string; plan: Plan } | null = null;

/** Changes to any of these rebuild the cached pristine warehouse. */
const INPUTS = ['warehouse', 'engines/duckdb', 'core/plan', 'core/naming', 'policy'];

function inputsKey(): string {
  const root = path.resolve(__dirname, '..', '..');
  const h = createHash('sha256');
  for (const dir of INPUTS) {
    const abs = path.join(root, dir);
    for (const f of readdirSync(abs).sort()) h.update(`${dir}/${f}\0`).update(readFileSync(path.join(abs, f)));
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * One seeded small warehouse and its plan, shared by the test files (cached in the temp dir by the
 * hash of the code that builds them); every test works on a copy.
 */
export async function pristineWarehouse(): Promise<{ database: string; plan: Plan }> {
  if (pristine) return pristine;
  const cache = path.join(tmpdir(), `bqx-exec-pristine-${inputsKey()}`);
  if (!existsSync(path.join(cache, 'plan.json'))) {
    const build = mkdtempSync(path.join(tmpdir(), 'bqx-exec-build-'));
    const database = path.join(build, 'pristine.duckdb');
    await seedWarehouse({ database, scale: 'small' });
    const engine = await openAt(database);
    try {
      writeFileSync(path.join(build, 'plan.json'), JSON.stringify(await planFor(engine)));
    } finally {
      await engine.close();
    }
    try {
      renameSync(build, cache);
    } catch {
      rmSync(build, { recursive: true, force: true }); // another worker published it first
    }
  }
  pristine = { database: path.join(cache, 'pristine.duckdb'), plan: JSON.parse(readFileSync(path.join(cache, 'plan.json'), 'utf8')) };
  return pristine;
}

export async function planFor(engine: Engine, p: Policy = policy): Promise<Plan> {
  const tables = await engine.listTables();
  const snapshot = makeSnapshot(engine.kind, engine.where.project, engine.where.dataset, tables);
  return buildPlan(engine, { snapshot, policy: p, graceStart: GRACE_START });
}

/** A fresh copy of the pristine warehouse (closed engines only: DuckDB files are copied whole). */
export async function freshWarehouse(): Promise<{ database: string; plan: Plan; dir: string }> {
  const p = await pristineWarehouse();
  const dir = tempDir();
  const database = path.join(dir, 'warehouse.duckdb');
  copyFileSync(p.database, database);
  if (existsSync(`${p.database}.wal`)) copyFileSync(`${p.database}.wal`, `${database}.wal`);
  return { database, plan: p.plan, dir };
}

export interface WarehouseFingerprint {
  readonly catalogue: string;
  /** name → kind:content hash, for every table and view. */
  readonly content: Record<string, string>;
}

export async function fingerprintWarehouse(engine: Engine): Promise<WarehouseFingerprint> {
  const tables = await engine.listTables();
  const content: Record<string, string> = {};
  for (const t of [...tables].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const fp = await engine.contentFingerprint(t.name);
    content[t.name] = `${t.kind}:${fp.rows}:${fp.hash}`;
  }
  return { catalogue: catalogueFingerprint(tables), content };
}

/** Content of every name the plan started from, read through whatever now answers to it. */
export async function contentOfOldNames(engine: Engine, plan: Plan): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const op of plan.operations) {
    for (const s of op.sources) {
      const fp = await engine.contentFingerprint(s);
      out[s] = `${fp.rows}:${fp.hash}`;
    }
  }
  return out;
}

/** Changes a warehouse file behind the engine's back, as another writer would (engine closed). */
export async function sqlOnFile(database: string, statements: readonly string[]): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(database);
  const c = await instance.connect();
  try {
    for (const s of statements) await c.run(s);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

/** The exit code the CLI ends a run with (scripts/exit-codes.ts). */
export function exitOf(summary: RunSummary): number {
  return exitCodeOf(runOutcome(summary));
}
