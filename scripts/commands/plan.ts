import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { makeSnapshot } from '../../core/catalogue';
import { BqxError } from '../../core/errors';
import { buildPlan } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { openEngine } from '../../engines';
import { emit, engineOptions, withEngineOptions } from '../options';
import { terminalProgress } from '../../core/report/progress';

export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export function formatPlanSummary(plan: Plan, out: string | null): string {
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
  if (out) lines.push('', `  written to ${out}; approve destructive operations with --approve ${plan.planHash}`);
  return lines.join('\n');
}

export function registerPlan(program: Command): void {
  withEngineOptions(
    program
      .command('plan')
      .description('Decide one action per table (KEEP, RENAME, DEDUPE, CONSOLIDATE, REVIEW) from the catalogue, its data and the policy. Changes nothing.')
      .requiredOption('--out <file>', 'where to write the plan JSON')
      .option('--policy <file>', 'policy YAML (default: policy/m008.policy.yaml)')
      .option('--grace-start <date>', 'first day of the compatibility views’ grace period, YYYY-MM-DD (default: today, UTC)')
      .option('--json', 'print the plan summary as JSON'),
  ).action(async (opts) => {
    const policy = loadPolicy(opts.policy);
    const graceStart: string = opts.graceStart ?? todayUtc();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(graceStart) || Number.isNaN(Date.parse(`${graceStart}T00:00:00Z`))) {
      throw new BqxError('BAD_OPTION', `--grace-start ${graceStart} is not a date`, 'use the form YYYY-MM-DD');
    }
    const eo = engineOptions(opts);
    const engine = await openEngine(eo);
    let plan: Plan;
    try {
      const tables = await engine.listTables();
      if (tables.length === 0) {
        throw new BqxError('EMPTY_CATALOGUE', `dataset ${eo.dataset} has no tables`, 'check --dataset (and --database or --project); seed a local warehouse with `bqx warehouse seed`');
      }
      const snapshot = makeSnapshot(engine.kind, eo.project, eo.dataset, tables);
      const progress = terminalProgress();
      plan = await buildPlan(engine, { snapshot, policy, graceStart }, (stage, done, total) => progress.update(done, total, `plan: ${stage}`));
      progress.done();
    } finally {
      await engine.close();
    }
    const out = path.resolve(opts.out);
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(plan, null, 2)}\n`);
    emit(Boolean(opts.json), { planHash: plan.planHash, out, catalogueFingerprint: plan.catalogueFingerprint, summary: plan.summary }, () => formatPlanSummary(plan, opts.out));
  });
}
