import { formatBytes, formatUsd as usd } from './format';
import { SECTIONS, type ReadinessReport } from './types';

const MAX_BLOCKERS = 30;
const STATUS: Record<string, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };

const cell = (s: string, max = 170) => (s.length > max ? `${s.slice(0, max - 1)}…` : s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The summary people read: verdict first, then blockers, then what was checked. At most ~150 lines. */
export function readinessMarkdown(r: ReadinessReport): string {
  const L: string[] = [];
  L.push(`# Readiness: ${r.verdict}`, '');
  L.push(
    `${r.engine.kind}:${r.engine.kind === 'duckdb' ? '' : `${r.engine.project}.`}${r.engine.dataset} · ${r.generatedAt} · ` +
      `${r.counts.checks} checks, ${r.counts.failed} failed · blockers P0 ${r.counts.P0}, P1 ${r.counts.P1}, P2 ${r.counts.P2}, P3 ${r.counts.P3}`,
    '',
  );
  if (r.verdict === 'GO') L.push('No P0 or P1 blocker: the plan can start.', '');
  if (r.verdict === 'NO-GO') L.push(`**Do not start.** ${r.counts.P0} P0 blocker(s) prevent execution.`, '');
  if (r.conditions.length) {
    L.push(r.verdict === 'CONDITIONAL GO' ? '**Conditions** (each must hold before starting):' : 'Also required (P1):', '');
    for (const c of r.conditions.slice(0, 10)) L.push(`- ${cell(c, 240)}`);
    L.push('');
  }

  L.push('## Blockers', '');
  if (r.blockers.length === 0) L.push('None.', '');
  else {
    L.push('| P | blocker | impact | mitigation | found by |', '|---|---|---|---|---|');
    for (const b of r.blockers.slice(0, MAX_BLOCKERS)) L.push(`| ${b.priority} | ${cell(b.title, 140)} | ${cell(b.impact, 110)} | ${cell(b.mitigation, 150)} | \`${b.check}\` |`);
    if (r.blockers.length > MAX_BLOCKERS) L.push('', `… ${r.blockers.length - MAX_BLOCKERS} more in readiness.json`);
    L.push('');
  }

  if (r.plan) {
    const p = r.plan;
    L.push('## Plan', '');
    L.push(`Plan \`${p.planHash.slice(0, 16)}…\`${p.file ? ` (${p.file})` : ''}: ${p.tables} tables, ${p.views} compatibility views.`, '');
    L.push(`Operations by action: ${Object.entries(p.byAction).map(([a, n]) => `${a} ${n}`).join(' · ')}`, '');
    L.push(`By reason: ${Object.entries(p.byReason).map(([a, n]) => `${a} ${n}`).join(' · ')}`, '');
  }
  if (r.cost) {
    const c = r.cost;
    L.push(
      `Cost: ${formatBytes(c.estimatedBytes)} read (${usd(c.estimatedCostUsd)}), consolidations ${formatBytes(c.consolidationBytes)} (${usd(c.consolidationCostUsd)}); budget ${usd(c.budgetUsd)} at $${c.pricePerTiBUsd}/TiB` +
        (c.dryRunSample ? `; one consolidation's dry run read ${formatBytes(c.dryRunSample.dryRunBytes)} (planned ${formatBytes(c.dryRunSample.plannedBytes)})` : ''),
      '',
    );
  }

  if (r.compliance) {
    const { before, after } = r.compliance;
    L.push('## M008 compliance', '');
    L.push(`Before: ${before.compliant}/${before.tables} compliant (${before.nonCompliant} violations)` + (after ? `; after the plan: ${after.compliant}/${after.tables} (${after.nonCompliant} left)` : ''), '');
    const families = [...new Set([...Object.keys(before.byFamily), ...Object.keys(after?.byFamily ?? {})])].sort();
    L.push('| family | tables before | non-compliant before | tables after | non-compliant after |', '|---|---:|---:|---:|---:|');
    for (const f of families) {
      const b = before.byFamily[f];
      const a = after?.byFamily[f];
      L.push(`| ${f} | ${b?.total ?? 0} | ${b?.nonCompliant ?? 0} | ${a ? a.total : '–'} | ${a ? a.nonCompliant : '–'} |`);
    }
    L.push('');
  }

  L.push('## Checks', '');
  for (const s of SECTIONS) {
    const checks = r.checks.filter((c) => c.section === s);
    if (!checks.length) continue;
    L.push(`**${s}**`, '');
    for (const c of checks) L.push(`- ${STATUS[c.status]} ${c.title}: ${cell(c.detail, 200)}`);
    L.push('');
  }
  L.push(`Exit codes: 0 GO, 10 NO-GO, 11 CONDITIONAL GO. Full detail: readiness.json and index.html.`);
  return `${L.join('\n')}\n`;
}
