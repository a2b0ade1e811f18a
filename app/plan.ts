import { writeFileSync } from 'fs';
import * as path from 'path';
import { makeSnapshot } from '../core/catalogue';
import { BqxError } from '../core/errors';
import { buildPlan } from '../core/plan/planner';
import type { Plan } from '../core/plan/types';
import type { Policy } from '../core/policy';
import { loadPolicy } from '../core/policy';
import type { Engine, EngineOptions } from '../core/ports/engine';
import { silentProgress, type Progress } from '../core/report/progress';
import { withEngine } from './engine';
import { ensureWritableFile } from './output-paths';
import { planReview, reviewFileFor } from './plan-review';

export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** `--grace-start`: a real calendar day (2026-02-30 is refused), default today (UTC). */
export function parseGraceStart(value: string | undefined, now: Date = new Date()): string {
  const day = value ?? todayUtc(now);
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== day) {
    throw new BqxError('BAD_OPTION', `--grace-start ${day} is not a date`, 'use a real calendar day in the form YYYY-MM-DD');
  }
  return day;
}

/** Plans the engine's dataset: the catalogue read to its last page, facts, a pure decision. */
export async function planWarehouse(engine: Engine, policy: Policy, graceStart: string, progress: Progress = silentProgress): Promise<Plan> {
  const tables = await engine.listTables();
  if (tables.length === 0) {
    throw new BqxError('EMPTY_CATALOGUE', `dataset ${engine.where.dataset} has no tables`, 'check --dataset (and --database or --project); seed a local warehouse with `bqx warehouse seed`');
  }
  const snapshot = makeSnapshot(engine.kind, engine.where.project, engine.where.dataset, tables);
  const plan = await buildPlan(engine, { snapshot, policy, graceStart }, (stage, done, total) => progress.update(done, total, `plan: ${stage}`));
  progress.done();
  return plan;
}

/** `--out -` / `--review -`: the document goes to stdout, never to a file named `-`. */
export const STDOUT = '-';

/** Writes `text` to `file`, or to stdout for `-`; returns the absolute path or `-`. */
function writeOutput(file: string, what: string, text: string): string {
  if (file === STDOUT) {
    process.stdout.write(text);
    return STDOUT;
  }
  const out = ensureWritableFile(file, what);
  writeFileSync(out, text);
  return out;
}

export function writePlanFile(plan: Plan, file: string): string {
  return writeOutput(file, 'plan file', `${JSON.stringify(plan, null, 2)}\n`);
}

/** Writes the review file of a plan (app/plan-review.ts): one line per operation, KEEP counted per family. */
export function writePlanReview(plan: Plan, file: string): { file: string; bytes: number; lines: number } {
  const text = planReview(plan);
  return { file: writeOutput(file, 'plan review file', text), bytes: Buffer.byteLength(text), lines: text.split('\n').length - 1 };
}

/**
 * Where `bqx plan` writes: the plan file and the review file (default beside the plan; none when
 * the plan goes to stdout). At most one of them may be stdout; both are checked before planning.
 */
export function planOutputs(out: string, review: string | undefined): { out: string; review: string | null } {
  if (out === STDOUT && review === STDOUT) {
    throw new BqxError('BAD_OPTION', '--out - and --review - both name stdout', 'send one of them to a file');
  }
  const reviewFile = review ?? (out === STDOUT ? null : reviewFileFor(out));
  if (out !== STDOUT) ensureWritableFile(out, 'plan file');
  if (reviewFile !== null && reviewFile !== STDOUT) {
    ensureWritableFile(reviewFile, 'plan review file');
    if (path.resolve(reviewFile) === path.resolve(out)) {
      throw new BqxError('BAD_OPTION', `--review ${reviewFile} is the plan file itself`, 'name another file for the review (default: the plan file + .txt)');
    }
  }
  return { out, review: reviewFile };
}

/**
 * `bqx plan`: plan the warehouse, write the plan file and its review file beside it (`review`,
 * default `<out>.txt`). Changes nothing in the warehouse.
 */
export async function runPlan(input: {
  engine: EngineOptions;
  policyFile?: string;
  graceStart?: string;
  out: string;
  review?: string;
  progress?: Progress;
}): Promise<{ plan: Plan; out: string; review: { file: string; bytes: number; lines: number } | null }> {
  const policy = loadPolicy(input.policyFile);
  const graceStart = parseGraceStart(input.graceStart);
  const outputs = planOutputs(input.out, input.review);
  const plan = await withEngine({ ...input.engine, readOnly: true }, (engine) => planWarehouse(engine, policy, graceStart, input.progress));
  const out = writePlanFile(plan, outputs.out);
  return { plan, out, review: outputs.review === null ? null : writePlanReview(plan, outputs.review) };
}

export function formatPlanSummary(plan: Plan, out: string | null, reviewFile?: { file: string; bytes: number; lines: number } | null): string {
  const s = plan.summary;
  const lines = [
    `Plan ${plan.planHash.slice(0, 16)}… for ${plan.engine}:${plan.project}.${plan.dataset} (${s.tables} tables, catalogue ${plan.catalogueFingerprint.slice(0, 12)}…)`,
    '',
    '  action        operations   tables',
    ...Object.entries(s.byAction).map(([a, n]) => `  ${a.padEnd(12)} ${String(n).padStart(11)} ${String(s.sourcesByAction[a as keyof typeof s.sourcesByAction]).padStart(8)}`),
    '',
    '  reason                      operations',
    ...Object.entries(s.byReason).map(([r, n]) => `  ${r.padEnd(26)} ${String(n).padStart(11)}`),
    '',
    `  compatibility views: ${s.views} (grace period ${plan.graceStart} + ${plan.graceDays} days)`,
    `  estimated bytes read by operations: ${s.estimatedBytes} ($${s.estimatedCostUsd.toFixed(4)}); read while planning: ${s.planningBytes}`,
  ];
  const review = plan.operations.filter((o) => o.action === 'REVIEW');
  if (review.length) {
    lines.push('', `  left for REVIEW (${review.length}):`);
    for (const o of review.slice(0, 20)) lines.push(`    ${o.sources.join(', ')}: ${o.reason}${o.detail ? ` (${o.detail})` : ''}`);
    if (review.length > 20) lines.push(`    … ${review.length - 20} more in the plan file`);
  }
  if (out) lines.push('', `  written to ${out === STDOUT ? 'stdout' : out}; approve destructive operations with --approve ${plan.planHash}`);
  if (reviewFile) lines.push(`  review file (one line per operation): ${reviewFile.file === STDOUT ? 'stdout' : reviewFile.file} (${reviewFile.lines} lines, ${reviewFile.bytes} bytes)`);
  return lines.join('\n');
}
