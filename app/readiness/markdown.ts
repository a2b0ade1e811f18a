import { formatBytes, formatUsd as usd } from './format';
import { modeLine, verdictHeadline } from './production';
import { projectionLine } from './projection';
import { SECTIONS, type ReadinessReport } from './types';

const MAX_BLOCKERS = 30;
const STATUS: Record<string, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };

const cell = (s: string, max = 170) => (s.length > max ? `${s.slice(0, max - 1)}…` : s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The summary people read: verdict first, then blockers, then what was checked. At most ~150 lines. */
export function readinessMarkdown(r: ReadinessReport): string {
  const L: string[] = [];
  L.push(`# Readiness: ${verdictHeadline(r)}`, '');
  L.push(`**${modeLine(r.mode, r.engine)}**`, '');
  L.push(
    `${r.engine.kind}:${r.engine.kind === 'duckdb' ? '' : `${r.engine.project}.`}${r.engine.dataset} · ${r.generatedAt} · ` +
      `${r.counts.checks} checks, ${r.counts.failed} failed · blockers P0 ${r.counts.P0}, P1 ${r.counts.P1}, P2 ${r.counts.P2}, P3 ${r.counts.P3} (severities as in production)`,
    '',
  );
  if (r.rehearsal) {
    L.push(`Rehearsal: **${r.rehearsal.verdict}**: ${r.rehearsal.verdict === 'GO' ? 'no P0 or P1 blocker of this local run; it may proceed on the synthetic copy' : r.rehearsal.verdict === 'NO-GO' ? 'a P0 blocker stops even the local run' : 'the local run has conditions'}.`, '');
    for (const c of r.rehearsal.conditions.slice(0, 10)) L.push(`- ${cell(c, 240)}`);
    if (r.rehearsal.conditions.length) L.push('');
  }
  const pv = r.production.verdict;
  const same = r.rehearsal !== null && r.rehearsal.conditions.join('\n') === r.production.conditions.join('\n');
  L.push(`Production: **${pv}**${pv === 'GO' ? ': no P0 or P1 blocker; the plan can start on the feature store.' : pv === 'NO-GO' ? ': do not start; a P0 blocker prevents execution.' : same ? ': the conditions above hold for the feature store too.' : ': each condition must hold before the first apply on the feature store:'}`, '');
  if (!same) for (const c of r.production.conditions.slice(0, 10)) L.push(`- ${cell(c, 240)}`);
  if (!same && r.production.conditions.length) L.push('');
  if (r.notChecked.length) {
    L.push('## NOT CHECKED (needs Google Cloud)', '');
    for (const x of r.notChecked) L.push(`- ${x.what}: \`${x.command}\``);
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
      `Cost${r.mode === 'rehearsal' ? ' (SYNTHETIC copy)' : ''}: ${formatBytes(c.estimatedBytes)} read (${usd(c.estimatedCostUsd)}), consolidations ${formatBytes(c.consolidationBytes)} (${usd(c.consolidationCostUsd)}); budget ${usd(c.budgetUsd)} at $${c.pricePerTiBUsd}/TiB` +
        (c.dryRunSample ? `; one consolidation's dry run read ${formatBytes(c.dryRunSample.dryRunBytes)} (planned ${formatBytes(c.dryRunSample.plannedBytes)})` : ''),
      '',
    );
    if (r.projection) L.push(`Cost ${projectionLine(r.projection)}. Basis: ${r.projection.basis}.`, '');
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
  L.push(`Exit codes (of the verdict this run acts on${r.mode === 'rehearsal' ? ': the rehearsal’s' : ''}): 0 GO, 10 NO-GO, 11 CONDITIONAL GO. Full detail: readiness.json and index.html.`);
  return `${L.join('\n')}\n`;
}
