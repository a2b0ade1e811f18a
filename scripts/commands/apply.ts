import type { Command } from 'commander';
import { applyPlan, RunRefused } from '../../core/execute/apply';
import { BqxError, EXIT } from '../../core/errors';
import { loadPlanFile } from '../../core/plan/load';
import { loadPolicy } from '../../core/policy';
import { DEFAULT_METRICS_FILE, DEFAULT_REPORTS_DIR, writeEvidence } from '../../core/report/evidence';
import { terminalProgress } from '../../core/report/progress';
import { formatStatements, formatSummaryText } from '../../core/report/render';
import { logRunEnd } from '../../core/report/runner-log';
import type { RunSummary } from '../../core/report/summary';
import { openEngine } from '../../engines';
import { emit, engineOptions, withEngineOptions } from '../options';

export function parseNonNegative(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new BqxError('BAD_OPTION', `${flag} ${JSON.stringify(value)} is not a non-negative ${integer ? 'integer' : 'number'}`, `pass e.g. ${flag} ${integer ? '10' : '15'}`);
  }
  return n;
}

/** Options every executor verb shares for its evidence. */
export function withEvidenceOptions(cmd: Command): Command {
  return cmd
    .option('--policy <file>', 'policy YAML (default: policy/m008.policy.yaml)')
    .option('--json', 'print the run summary as JSON')
    .option('--metrics-file <file>', 'Prometheus textfile to write', DEFAULT_METRICS_FILE)
    .option('--reports-dir <dir>', 'directory for run-<mode>.md/json', DEFAULT_REPORTS_DIR);
}

export async function finishRun(summary: RunSummary, opts: Record<string, unknown>, text: () => string): Promise<void> {
  logRunEnd(summary);
  const files = await writeEvidence(summary, { reportsDir: opts.reportsDir as string, metricsFile: opts.metricsFile as string });
  emit(Boolean(opts.json), summary, () => `${text()}\n  reports: ${files.markdown}, ${files.json}; metrics: ${files.metrics}`);
}

export function registerApply(program: Command): void {
  withEvidenceOptions(
    withEngineOptions(
      program
        .command('apply')
        .argument('<plan>', 'plan file written by `bqx plan --out FILE`')
        .description('Carry out a plan: --dry-run is paper mode (prints every statement, bytes, cost and gate verdict; changes nothing).')
        .option('--dry-run', 'paper mode: simulate the whole run, change nothing')
        .option('--approve <hash>', 'the plan hash, approving its destructive operations (drops)')
        .option('--budget-usd <n>', 'budget for bytes read in this run (default: policy execution.budgetUsd)')
        .option('--max-operations <n>', 'run only the first N pending operations'),
    ),
  ).action(async (planFile: string, opts) => {
    const budgetUsd = parseNonNegative(opts.budgetUsd, '--budget-usd', false);
    const maxOperations = parseNonNegative(opts.maxOperations, '--max-operations', true);
    const policy = loadPolicy(opts.policy);
    const plan = loadPlanFile(planFile);
    const engine = await openEngine(engineOptions(opts));
    try {
      const mode = opts.dryRun ? 'paper' : 'real';
      let result;
      try {
        result = await applyPlan(engine, plan, policy, { mode, approve: opts.approve, budgetUsd, maxOperations, planSource: planFile, progress: terminalProgress() });
      } catch (e) {
        if (e instanceof RunRefused) await finishRun(e.summary, opts, () => formatSummaryText(e.summary));
        throw e;
      }
      const { summary, exitCode } = result;
      await finishRun(summary, opts, () => (mode === 'paper' ? `${formatStatements(summary)}\n\n` : '') + formatSummaryText(summary));
      if (exitCode !== EXIT.OK) process.exitCode = exitCode;
    } finally {
      await engine.close();
    }
  });
}
