import { writeFileSync } from 'fs';
import * as path from 'path';
import type { ReconcileResult } from '../../core/execute/reconcile';
import { REASONS, isReason } from '../../core/execute/reasons';
import type { RunSummary } from '../../core/report/summary';
import { ensureWritableDir } from '../output-paths';

const usd = (n: number) => `$${n.toFixed(n < 0.01 && n > 0 ? 6 : 2)}`;

/** A short text for the terminal. */
export function formatSummaryText(s: RunSummary): string {
  const lines = [
    `${s.mode} run ${s.runId}: ${s.status}`,
    `  plan ${s.planHash.slice(0, 16)}…   ${s.engine}:${s.dataset}   ${s.durationSeconds.toFixed(1)} s`,
    `  operations: ${s.operations}   ` + Object.entries(s.byOutcome).map(([k, v]) => `${k} ${v}`).join('   '),
    `  rows ${s.rowsProcessed}   bytes ${s.bytesProcessed}   estimated ${s.estimatedBytes} bytes (${usd(s.estimatedCostUsd)})`,
    `  validation: ${s.validation.passed}/${s.validation.checks} checks passed (score ${s.validation.score.toFixed(3)})`,
  ];
  const notable = Object.entries(s.byReason).filter(([k]) => !/\/(OK|NOTHING_TO_DO|ALREADY_APPLIED|WOULD_APPLY|ROLLBACK_OK)$/.test(k));
  if (notable.length) lines.push('  reasons: ' + notable.map(([k, v]) => `${k} ${v}`).join('   '));
  if (s.halt) lines.push(`  HALTED after batch ${s.halt.batch}: ${s.halt.why}`);
  if (s.refusal) lines.push(`  REFUSED (${s.refusal.code}): ${s.refusal.message}`);
  if (s.interruption) lines.push(`  INTERRUPTED by ${s.interruption.reason} at ${s.interruption.at}: operations in flight stopped at a step boundary; the next run resumes them`);
  if (s.differences.length) {
    lines.push(`  not as the plan expects (${s.differences.length}):`);
    for (const d of s.differences.slice(0, 20)) lines.push(`    ${d}`);
    if (s.differences.length > 20) lines.push(`    … ${s.differences.length - 20} more in the JSON report`);
  }
  for (const f of s.validation.failures.slice(0, 10)) lines.push(`  check failed: ${f.operationId} ${f.check}: ${f.detail}`);
  for (const w of s.warnings.slice(0, 10)) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

/** Paper mode's statement listing: every statement with its bytes and cost, and every gate verdict. */
export function formatStatements(s: RunSummary, limit = Infinity): string {
  const lines: string[] = [];
  let shown = 0;
  for (const r of s.results) {
    if (!r.statements?.length && !r.gates?.length) continue;
    if (shown++ >= limit) {
      lines.push(`… ${s.results.length - limit} more operations in the JSON report`);
      break;
    }
    lines.push(`-- ${r.operationId} #${r.seq} ${r.action} ${r.sources.join(', ')} -> ${r.target ?? ''}: ${r.reason}${r.detail ? ` (${r.detail})` : ''}`);
    if (r.gates?.length) lines.push(`--   gates: ${r.gates.map((g) => `${g.gate}=${g.ok ? 'pass' : `FAIL(${g.reason})`}`).join(' ')}`);
    for (const st of r.statements ?? []) {
      lines.push(`--   ${st.step}: ${st.bytes === null ? 'bytes unknown' : `${st.bytes} bytes, ${usd(st.costUsd ?? 0)}`}`);
      for (const sql of st.sql) lines.push(sql.endsWith(';') ? sql : `${sql};`);
    }
  }
  return lines.join('\n');
}

export function renderMarkdown(s: RunSummary): string {
  const out = [
    `# bqx ${s.mode} run ${s.runId}`,
    '',
    `| field | value |`,
    `|---|---|`,
    `| status | **${s.status}** |`,
    `| plan hash | \`${s.planHash}\` |`,
    `| warehouse | ${s.engine}:${s.dataset} |`,
    `| started / ended | ${s.startedAt} / ${s.endedAt} |`,
    `| duration | ${s.durationSeconds.toFixed(2)} s |`,
    `| operations | ${s.operations} |`,
    `| rows processed | ${s.rowsProcessed} |`,
    `| bytes processed | ${s.bytesProcessed} |`,
    `| estimated bytes / cost | ${s.estimatedBytes} / ${usd(s.estimatedCostUsd)} |`,
    `| validation | ${s.validation.passed}/${s.validation.checks} (score ${s.validation.score.toFixed(4)}) |`,
    '',
    '## Outcomes and reasons',
    '',
    '| outcome | reason | operations | kind |',
    '|---|---|---:|---|',
    ...Object.entries(s.byReason)
      .sort()
      .map(([k, v]) => {
        const [outcome, reason] = k.split('/');
        return `| ${outcome} | ${reason} | ${v} | ${isReason(reason) ? REASONS[reason].class : ''} |`;
      }),
  ];
  if (s.refusal) out.push('', '## Refused', '', `**${s.refusal.code}**: ${s.refusal.message}`, '', s.refusal.hint ? `What to do: ${s.refusal.hint}` : '');
  if (s.halt) out.push('', '## Halted', '', `After batch ${s.halt.batch}: ${s.halt.why}`);
  if (s.interruption) out.push('', '## Interrupted', '', `By ${s.interruption.reason} at ${s.interruption.at}: no operation started after it; one in flight stopped at a step boundary (FAILED/INTERRUPTED) and the next run resumes it.`);
  if (s.differences.length) {
    out.push('', '## Not as the plan expects', '', ...s.differences.slice(0, 500).map((d) => `- ${d}`));
    if (s.differences.length > 500) out.push(`- … ${s.differences.length - 500} more in the JSON report`);
  }
  if (s.validation.batches.length) {
    out.push('', '## Validation by batch', '', '| batch | checks | passed | score |', '|---:|---:|---:|---:|');
    for (const b of s.validation.batches) out.push(`| ${b.batch} | ${b.checks} | ${b.passed} | ${b.score.toFixed(4)} |`);
  }
  if (s.validation.failures.length) {
    out.push('', '## Failed checks', '', '| operation | check | detail |', '|---|---|---|');
    for (const f of s.validation.failures.slice(0, 200)) out.push(`| ${f.operationId} | ${f.check} | ${f.detail.replace(/\|/g, '\\|')} |`);
  }
  const attention = s.results.filter((r) => ['REJECTED', 'FAILED'].includes(r.outcome) || (r.outcome === 'PAPER' && !['WOULD_APPLY', 'NOTHING_TO_DO', 'ALREADY_APPLIED', 'NEEDS_REVIEW'].includes(r.reason)));
  if (attention.length) {
    out.push('', '## Operations needing attention', '', '| seq | operation | action | sources | outcome | reason | detail |', '|---:|---|---|---|---|---|---|');
    for (const r of attention.slice(0, 500)) out.push(`| ${r.seq} | ${r.operationId} | ${r.action} | ${r.sources.join(', ')} | ${r.outcome} | ${r.reason} | ${(r.detail ?? '').replace(/\|/g, '\\|')} |`);
  }
  if (s.warnings.length) out.push('', '## Warnings', '', ...s.warnings.map((w) => `- ${w}`));
  return `${out.join('\n')}\n`;
}

/** Writes reports/run-<mode>.md and .json; returns their paths. */
export function writeRunReports(dir: string, s: RunSummary): { markdown: string; json: string } {
  ensureWritableDir(dir, 'reports directory');
  const markdown = path.join(dir, `run-${s.mode}.md`);
  const json = path.join(dir, `run-${s.mode}.json`);
  writeFileSync(markdown, renderMarkdown(s));
  writeFileSync(json, `${JSON.stringify(s, null, 2)}\n`);
  return { markdown, json };
}

export function formatReconcile(r: ReconcileResult, limit = 50): string {
  const lines = [
    `reconcile against plan ${r.planHash.slice(0, 16)}… (${r.expectation} expectation)`,
    `  MATCHED ${r.counts.MATCHED}   DRIFT ${r.counts.DRIFT}   MISSING ${r.counts.MISSING}   UNMANAGED ${r.counts.UNMANAGED}`,
  ];
  const off = r.entries.filter((e) => e.status !== 'MATCHED');
  for (const e of off.slice(0, limit)) lines.push(`  ${e.status.padEnd(9)} ${e.name}  expected ${e.expected}${e.detail ? `: ${e.detail}` : ''}`);
  if (off.length > limit) lines.push(`  … ${off.length - limit} more (see --json)`);
  if (r.notApplied.length) lines.push(`  the plan is partly applied: ${r.notApplied.length} operation(s) not applied: ${r.notApplied.slice(0, 10).join('; ')}${r.notApplied.length > 10 ? '; …' : ''}`);
  return lines.join('\n');
}

export function renderReconcileMarkdown(r: ReconcileResult): string {
  const out = [
    `# bqx reconcile run ${r.runId}`,
    '',
    `Plan \`${r.planHash}\`, ${r.expectation} expectation.`,
    '',
    '| status | tables and views |',
    '|---|---:|',
    ...Object.entries(r.counts).map(([k, v]) => `| ${k} | ${v} |`),
  ];
  const off = r.entries.filter((e) => e.status !== 'MATCHED');
  if (off.length) {
    out.push('', '| name | status | expected | operation | detail |', '|---|---|---|---|---|');
    for (const e of off.slice(0, 1000)) out.push(`| ${e.name} | ${e.status} | ${e.expected} | ${e.operationId ?? ''} | ${(e.detail ?? '').replace(/\|/g, '\\|')} |`);
  }
  if (r.notApplied.length) out.push('', `The plan is partly applied: ${r.notApplied.length} operation(s) not applied.`, '', ...r.notApplied.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

export function writeReconcileReports(dir: string, r: ReconcileResult): { markdown: string; json: string } {
  ensureWritableDir(dir, 'reports directory');
  const markdown = path.join(dir, 'run-reconcile.md');
  const json = path.join(dir, 'run-reconcile.json');
  writeFileSync(markdown, renderReconcileMarkdown(r));
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  return { markdown, json };
}
