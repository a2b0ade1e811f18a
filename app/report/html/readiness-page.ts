import type { PairExtraction, ReadinessReport } from '../../readiness/types';
import { SECTIONS } from '../../readiness/types';
import { formatBytes } from '../../readiness/format';
import { esc, num, svgBar, usd } from './html';
import { codeCard, decisionsCard, inventoriesCard, modeBanner, productionCard } from './production-cards';
import { verdictHeadline } from '../../readiness/production';
import { formatMinutes, projectionLine } from '../../readiness/projection';
import type { RunPhase, RunView } from '../run-view';
import type { ColumnAuditSummary } from '../../../core/naming/columns';

const VERDICT_COLORS: Record<ReadinessReport['verdict'], { bg: string; fg: string }> = {
  GO: { bg: '#1e7d3a', fg: '#ffffff' },
  'CONDITIONAL GO': { bg: '#b26a00', fg: '#ffffff' },
  'NO-GO': { bg: '#b3261e', fg: '#ffffff' },
};
const PRIORITY_COLORS: Record<string, string> = { P0: '#b3261e', P1: '#b26a00', P2: '#5c6bc0', P3: '#78909c' };
const ACTION_COLORS: Record<string, string> = { KEEP: '#90a4ae', RENAME: '#1976d2', DEDUPE: '#7b1fa2', CONSOLIDATE: '#00897b', REVIEW: '#e65100' };
const GOOD = '#2e7d32';
const BAD = '#c62828';

const CSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2330;background:#f6f7f9}
header{padding:18px 28px;display:flex;align-items:center;gap:24px;flex-wrap:wrap}
header .verdict{font-size:34px;font-weight:800;letter-spacing:.5px}
header .meta{opacity:.92;font-size:13px}
header .mode{flex-basis:100%;font-size:15px;font-weight:700;letter-spacing:.4px;text-transform:none}
main{padding:18px 28px 40px;max-width:1400px}
.kpis{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:14px;margin-bottom:16px}
.kpi{min-height:118px}.kpi .big{font-size:24px}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;align-items:start}.grid2 .card{margin-bottom:16px}
@media (max-width:900px){.kpis{grid-template-columns:1fr 1fr}.grid2{grid-template-columns:1fr}}
.card{background:#fff;border:1px solid #dfe3e8;border-radius:8px;padding:14px 16px;overflow-x:auto}
section.run > .card{margin-bottom:16px}
.card h2{font-size:14px;text-transform:uppercase;letter-spacing:.6px;color:#5b6472;margin:0 0 10px}
.big{font-size:26px;font-weight:700}.muted{color:#6b7480}.small{font-size:12px}
.badge{display:inline-block;min-width:26px;text-align:center;color:#fff;border-radius:4px;padding:0 6px;font-weight:700;font-size:12px;margin-right:6px}
ul.blockers{list-style:none;padding:0;margin:0}ul.blockers li{margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceff2;vertical-align:top}
th{font-size:12px;color:#5b6472;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.status-pass{color:${GOOD};font-weight:700}.status-fail{color:${BAD};font-weight:700}.status-warn{color:#b26a00;font-weight:700}.status-skip{color:#78909c;font-weight:700}
section.details{margin-top:26px}section.details h2{font-size:17px;margin:22px 0 8px}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f0f2f5;padding:1px 4px;border-radius:3px}
svg.bar{vertical-align:middle}
header .run{font-size:15px;font-weight:600;padding:4px 10px;border-radius:4px;background:rgba(255,255,255,.18)}
.good{color:${GOOD};font-weight:700}.bad{color:${BAD};font-weight:700}
section.run h2.section,section.readiness h2.section{font-size:17px;margin:8px 0 12px}
ul.links{margin:0;padding-left:18px}ul.links li{margin:2px 0}
`;

function blockersCard(r: ReadinessReport): string {
  const top = r.blockers;
  const items = top
    .slice(0, 8)
    .map((b) => `<li><span class="badge" style="background:${PRIORITY_COLORS[b.priority]}">${b.priority}</span>${esc(b.title)}<div class="small muted">${esc(b.mitigation)}</div></li>`)
    .join('');
  const counts = (['P0', 'P1', 'P2', 'P3'] as const).map((p) => `<span class="badge" style="background:${PRIORITY_COLORS[p]}">${p} ${r.counts[p]}</span>`).join('');
  return `<div class="card" id="blockers"><h2>Blockers: what to do</h2><div style="margin-bottom:8px">${counts}</div>${
    `<ul class="blockers">${items}</ul>${top.length > 8 ? `<div class="small muted">… ${top.length - 8} more below</div>` : ''}`
  }</div>`;
}

/** Compliance by family (the headline numbers are in the KPI card, once). */
function complianceCard(r: ReadinessReport): string {
  const c = r.compliance;
  if (!c) return `<div class="card" id="compliance"><h2>Compliance by family</h2><div class="muted">The catalogue could not be read.</div></div>`;
  const { before, after } = c;
  const families = [...new Set([...Object.keys(before.byFamily), ...Object.keys(after?.byFamily ?? {})])].sort();
  const max = Math.max(1, ...families.map((f) => Math.max(before.byFamily[f]?.total ?? 0, after?.byFamily[f]?.total ?? 0)));
  const rows = families
    .map((f) => {
      const b = before.byFamily[f] ?? { total: 0, compliant: 0, nonCompliant: 0 };
      const a = after?.byFamily[f];
      const bar = (x: { compliant: number; nonCompliant: number }, when: string) =>
        svgBar(
          [
            { value: x.compliant, color: GOOD, label: `${f} ${when}: ${x.compliant} compliant` },
            { value: x.nonCompliant, color: BAD, label: `${f} ${when}: ${x.nonCompliant} non-compliant` },
          ],
          max,
          110,
          10,
        );
      return `<tr><td>${esc(f)}</td><td class="n">${num(b.nonCompliant)}/${num(b.total)}</td><td>${bar(b, 'before')}</td><td class="n">${a ? `${num(a.nonCompliant)}/${num(a.total)}` : '–'}</td><td>${a ? bar(a, 'after') : ''}</td></tr>`;
    })
    .join('');
  return `<div class="card" id="compliance"><h2>Compliance by family${after ? ' (the plan’s projection)' : ''}</h2>
<table><tr><th>family</th><th class="n">non-compliant now</th><th></th><th class="n">after the plan</th><th></th></tr>${rows}</table>
<div class="legend small muted" style="margin-top:6px"><span><i style="background:${GOOD}"></i>compliant</span><span><i style="background:${BAD}"></i>non-compliant</span></div></div>`;
}

/** Share of a budget as people read it; tiny shares are written out, never drawn as an empty bar. */
function share(value: number, budget: number): string {
  const pct = budget > 0 ? (100 * value) / budget : 0;
  if (value === 0) return '0%';
  if (pct < 0.0001) return '< 0.0001%';
  return pct < 1 ? `${pct.toPrecision(2)}%` : `${pct.toFixed(1)}%`;
}

/** A budget bar only when the value is big enough to see (≥ 1% of the budget); otherwise the share in words. */
function budgetBar(id: string, value: number, budget: number, label: string, width: number): string {
  if (budget <= 0) return `<div class="small muted" id="${id}">no budget set</div>`;
  const over = value > budget + 1e-9;
  if (value / budget < 0.01) return `<div class="small" id="${id}"><b>${esc(share(value, budget))}</b> of the ${esc(usd(budget))} budget: too small to draw</div>`;
  return `<div id="${id}">${svgBar([{ value, color: over ? BAD : GOOD, label: `${label} ${usd(value)}` }], Math.max(budget, value), width, 12)} <span class="small">${esc(share(value, budget))} of ${esc(usd(budget))}</span></div>`;
}

function columnsCard(before: ColumnAuditSummary | null, after: ColumnAuditSummary | null): string {
  if (!before) return '';
  const row = (label: string, f: (s: ColumnAuditSummary) => number, cls = '') =>
    `<tr><td>${label}</td><td class="n ${cls}">${num(f(before))}</td>${after ? `<td class="n ${cls}">${num(f(after))}</td>` : ''}</tr>`;
  return `<div class="card" id="columns"><h2>Column audit (reports only)</h2>
<div class="small muted">Distinct column names of ${num(before.tables ?? 0)} tables${after ? `, before and after the run (${num(after.tables ?? 0)} tables)` : ''}; renaming columns is not part of Phase 4C.</div>
<table style="margin-top:6px"><tr><th>names</th><th class="n">${after ? 'before' : 'now'}</th>${after ? '<th class="n">after</th>' : ''}</tr>
${row('distinct names', (s) => s.names.total)}
${row('{type}_{metric}_{window}', (s) => s.names.byRule.feature)}
${row('reserved, exempt, targets', (s) => s.names.byRule.reserved + s.names.byRule.exempt + s.names.byRule.target)}
${row('documented window-less exceptions', (s) => s.names.exceptions)}
${row('WINDOW_VIOLATION', (s) => s.names.byViolation.WINDOW_VIOLATION, 'bad')}
${row('PATTERN_VIOLATION', (s) => s.names.byViolation.PATTERN_VIOLATION, 'bad')}
${row('non-compliant columns (table × column)', (s) => s.columns.nonCompliant)}
</table></div>`;
}

function extractionCard(r: ReadinessReport, focus: string | null, manifests: string | null): string {
  const x = r.extraction;
  if (!x) return '';
  // Pairs with the same figures fold into one row (at full scale most of the 28 pairs repeat).
  const groups = new Map<string, PairExtraction[]>();
  for (const p of x.pairs) {
    const key = [p.before, p.after, p.duplicatesDuringGrace, p.duplicatesBefore, p.remap?.RENAMED, p.remap?.MERGED, p.remap?.UNCHANGED].join('/');
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const rows = [...groups.values()]
    .map((ps) => {
      const p = ps[0];
      const names = ps.map((q) => q.pair.toUpperCase());
      const label = ps.length > 1 ? `${ps.length} pairs: ${names.join(', ')}` : names[0];
      const bold = focus !== null && ps.some((q) => q.pair === focus);
      return `<tr${bold ? ' style="font-weight:700"' : ''}><td>${esc(label)}</td><td class="n">${num(p.before)}</td><td class="n">${num(p.after)}</td><td class="n">${num(p.duplicatesDuringGrace)}</td><td class="n">${num(p.duplicatesBefore)}</td><td class="n">${p.remap ? num(p.remap.RENAMED) : '–'}</td><td class="n">${p.remap ? num(p.remap.MERGED) : '–'}</td><td class="n">${p.remap ? num(p.remap.UNCHANGED) : '–'}</td></tr>`;
    })
    .join('');
  return `<div class="card" id="extraction"><h2>What the extract job reads, per pair</h2>
<div class="small">Base tables read, each feature once, before and after the plan. A discovery by name alone (what the job does today: <b>${esc(x.jobDiscovery.mode)}</b>, ${esc(x.jobDiscovery.source)}) also reads every compatibility view during the grace period: <b id="extraction-duplicates">${num(x.duplicatesDuringGrace)}</b> duplicate feature tables across ${x.pairs.length} pairs.</div>
<table style="margin-top:6px"><tr><th>pair(s)</th><th class="n">before</th><th class="n">after</th><th class="n">views read twice</th><th class="n">legacy copies before</th><th class="n">RENAMED</th><th class="n">MERGED</th><th class="n">UNCHANGED</th></tr>${rows}</table>
<div class="small" style="margin-top:6px"><b>Fix in the job, before the first apply:</b><ul>${x.fixes.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>Right after the apply, rewrite feature-selection lists: <code>bqx remap --plan PLAN --pair PAIR --features FILE</code>.${manifests ? ` Manifests written to <code>${esc(manifests)}</code>.` : ''}</div></div>`;
}

function planCard(r: ReadinessReport): string {
  const p = r.plan;
  if (!p) return `<div class="card" id="operations"><h2>Plan operations</h2><div class="muted">No valid plan was given.</div></div>`;
  const actions = Object.entries(p.byAction);
  const max = Math.max(1, ...actions.map(([, n]) => n));
  const rows = actions
    .map(([a, n]) => `<tr><td>${esc(a)}</td><td class="n">${num(n)}</td><td>${svgBar([{ value: n, color: ACTION_COLORS[a] ?? '#607d8b', label: `${a} ${n}` }], max, 170, 12)}</td></tr>`)
    .join('');
  const reasons = Object.entries(p.byReason)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `<tr><td><code>${esc(reason)}</code></td><td class="n">${num(n)}</td></tr>`)
    .join('');
  return `<div class="card" id="operations"><h2>Plan operations</h2>
<div class="small muted">${num(p.tables)} tables · ${num(p.views)} compatibility views · plan <code>${esc(p.planHash.slice(0, 12))}…</code></div>
<table style="margin-top:6px"><tr><th>action</th><th class="n">operations</th><th></th></tr>${rows}</table>
<table style="margin-top:8px"><tr><th>reason</th><th class="n">operations</th></tr>${reasons}</table></div>`;
}

function costCard(r: ReadinessReport): string {
  const c = r.cost;
  if (!c) return `<div class="card" id="cost"><h2>Cost details</h2><div class="muted">Not assessed (no valid plan or policy).</div></div>`;
  return `<div class="card" id="cost"><h2>Cost details (the plan’s estimate${r.mode === 'rehearsal' ? ', synthetic copy' : ''})</h2>
<table><tr><td>bytes read by operations</td><td class="n">${esc(formatBytes(c.estimatedBytes))} (${esc(usd(c.estimatedCostUsd))})</td></tr>
<tr><td>of which consolidations</td><td class="n">${esc(formatBytes(c.consolidationBytes))} (${esc(usd(c.consolidationCostUsd))})</td></tr>
<tr><td>budget per run</td><td class="n">${esc(usd(c.budgetUsd))} (estimate: ${esc(share(c.estimatedCostUsd, c.budgetUsd))})</td></tr>
<tr><td>price</td><td class="n">$${esc(c.pricePerTiBUsd)}/TiB</td></tr>
${c.dryRunSample ? `<tr><td>one consolidation, dry run</td><td class="n">${esc(formatBytes(c.dryRunSample.dryRunBytes))} (planned ${esc(formatBytes(c.dryRunSample.plannedBytes))})</td></tr>` : ''}
</table><div class="small muted" style="margin-top:6px">Renames, drops and views are free; only consolidations read data.${r.mode === 'rehearsal' ? ' These are the SYNTHETIC copy’s figures.' : ''}</div>${
    r.projection
      ? `<div class="small" id="projection" style="margin-top:8px"><b>${esc(projectionLine(r.projection))}</b>.<div class="muted">Basis: ${esc(r.projection.basis)}. The team’s own estimate for Phase 4C: $5–15.</div></div>`
      : ''
  }</div>`;
}

function details(r: ReadinessReport, links: readonly string[]): string {
  const blockerRows = r.blockers
    .map(
      (b) =>
        `<tr><td><span class="badge" style="background:${PRIORITY_COLORS[b.priority]}">${b.priority}</span></td><td><code>${esc(b.code)}</code></td><td>${esc(b.title)}</td><td>${esc(b.impact)}</td><td>${esc(b.mitigation)}</td><td><code>${esc(b.check)}</code></td></tr>`,
    )
    .join('');
  const checks = SECTIONS.map((s) => {
    const rows = r.checks
      .filter((c) => c.section === s)
      .map((c) => `<tr><td class="status-${c.status}">${c.status.toUpperCase()}</td><td>${esc(c.title)}</td><td>${esc(c.detail)}</td><td class="n small">${c.durationMs} ms</td></tr>`)
      .join('');
    return rows ? `<h3>${esc(s)}</h3><table><tr><th>status</th><th>check</th><th>detail</th><th class="n">time</th></tr>${rows}</table>` : '';
  }).join('');
  const conditions = r.conditions.length ? `<h2>Conditions</h2><ul>${r.conditions.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : '';
  return `<section class="details">${conditions}
<h2>All blockers (${r.blockers.length})</h2>${r.blockers.length ? `<table><tr><th>P</th><th>code</th><th>blocker</th><th>impact</th><th>mitigation</th><th>found by</th></tr>${blockerRows}</table>` : '<p>None.</p>'}
<h2>Checks (${r.counts.checks}, ${r.counts.failed} failed)</h2>${checks}
${links.length ? `<h2>Other reports in this folder</h2><ul>${links.map((l) => `<li><a href="${esc(encodeURI(l))}">${esc(l)}</a></li>`).join('')}</ul>` : ''}
<h2>Identity</h2><table>
<tr><td>engine</td><td><code>${esc(r.engine.kind)}</code> project <code>${esc(r.engine.project)}</code>, dataset <code>${esc(r.engine.dataset)}</code>, runner dataset <code>${esc(r.engine.runnerDataset)}</code>, location <code>${esc(r.engine.location)}</code></td></tr>
<tr><td>catalogue now</td><td><code>${esc(r.currentFingerprint ?? 'not read')}</code></td></tr>
${r.plan ? `<tr><td>plan</td><td><code>${esc(r.plan.planHash)}</code>${r.plan.file ? ` from <code>${esc(r.plan.file)}</code>` : ''}; made from catalogue <code>${esc(r.plan.catalogueFingerprint)}</code></td></tr>` : ''}
<tr><td>generated</td><td>${esc(r.generatedAt)} in ${num(r.durationMs)} ms</td></tr></table></section>`;
}

const pct = (x: { compliant: number; tables: number }) => (x.tables ? `${((100 * x.compliant) / x.tables).toFixed(1)}%` : '–');

function complianceBars(x: { compliant: number; nonCompliant: number; tables: number }, when: string, id: string): string {
  return `<div class="small">${svgBar([{ value: x.compliant, color: GOOD, label: `compliant ${when}` }, { value: x.nonCompliant, color: BAD, label: `non-compliant ${when}` }], x.tables, 100, 10)} <span class="big" style="font-size:15px;white-space:nowrap" id="${id}">${num(x.compliant)} / ${num(x.tables)}</span> <span class="muted">${esc(when)}</span></div>`;
}

function blockersKpi(r: ReadinessReport): string {
  const top = r.blockers.filter((b) => b.priority === 'P0' || b.priority === 'P1');
  const badges = (['P0', 'P1', 'P2', 'P3'] as const).map((p) => `<span class="badge" style="background:${PRIORITY_COLORS[p]}">${p} ${r.counts[p]}</span>`).join('');
  return `<div class="card kpi" id="kpi-blockers"><h2>Readiness: ${esc(r.verdict)}</h2><div>${badges}</div><div class="small" style="margin-top:6px">${
    top.length ? top.slice(0, 3).map((b) => `<div><b>${b.priority}</b> ${esc(b.title)}</div>`).join('') + (top.length > 3 ? `<div class="muted">… ${top.length - 3} more</div>` : '') : 'No P0 or P1 blocker.'
  }</div></div>`;
}

function kpis(r: ReadinessReport): string {
  const c = r.compliance;
  const compliance = c
    ? `<div class="card kpi" id="kpi-compliance"><h2>M008 compliance</h2><div><span class="big">${pct(c.before)}</span> <span class="muted">now</span> → <span class="big">${c.after ? pct(c.after) : '–'}</span> <span class="muted">after the plan</span></div>
${complianceBars(c.before, 'tables now', 'compliance-before')}
${c.after ? complianceBars(c.after, 'tables after the plan', 'compliance-after') : ''}</div>`
    : `<div class="card kpi" id="kpi-compliance"><h2>M008 compliance</h2><div class="muted">catalogue not read</div></div>`;
  const p = r.plan;
  const ops = p
    ? `<div class="card kpi" id="kpi-operations"><h2>Operations</h2><div>${svgBar(
        Object.entries(p.byAction).map(([a, n]) => ({ value: n, color: ACTION_COLORS[a] ?? '#607d8b', label: `${a} ${n}` })),
        Math.max(1, Object.values(p.byAction).reduce((x, y) => x + y, 0)),
        260,
        12,
      )}</div><div class="small legend" style="margin-top:6px">${Object.entries(p.byAction)
        .map(([a, n]) => `<span><i style="background:${ACTION_COLORS[a] ?? '#607d8b'}"></i>${esc(a)} <b>${num(n)}</b></span>`)
        .join('')}</div><div class="small muted">${num(p.views)} compatibility views</div></div>`
    : `<div class="card kpi" id="kpi-operations"><h2>Operations</h2><div class="muted">no valid plan</div></div>`;
  const k = r.cost;
  const cost = k
    ? `<div class="card kpi" id="kpi-cost"><h2>Cost estimate${r.mode === 'rehearsal' ? ' (synthetic copy)' : ''}</h2><div><span class="big" id="kpi-cost-estimate">${esc(usd(k.estimatedCostUsd))}</span> <span class="muted">of ${esc(usd(k.budgetUsd))} budget</span></div>${budgetBar('kpi-cost-share', k.estimatedCostUsd, k.budgetUsd, 'estimate', 240)}<div class="small muted">${esc(formatBytes(k.estimatedBytes))} read; consolidations ${esc(formatBytes(k.consolidationBytes))}</div>${
        r.projection ? `<div class="small" id="kpi-cost-real">at real size: <b>${esc(usd(r.projection.usd))}</b> for ${esc(formatBytes(r.projection.bytes))}, ~${esc(formatMinutes(r.projection.wallSeconds))} (projected)</div>` : ''
      }</div>`
    : `<div class="card kpi" id="kpi-cost"><h2>Cost estimate</h2><div class="muted">not assessed</div></div>`;
  return `<div class="kpis">${blockersKpi(r)}${compliance}${ops}${cost}</div>`;
}

const OUTCOME_ORDER = ['APPLIED', 'SKIPPED', 'ROLLED_BACK', 'REJECTED', 'FAILED', 'PAPER'];

function outcomesTable(phase: RunPhase): string {
  const outcomes = [...new Set(Object.values(phase.byAction).flatMap((o) => Object.keys(o)))].sort((a, b) => {
    const ia = OUTCOME_ORDER.indexOf(a);
    const ib = OUTCOME_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || (a < b ? -1 : 1);
  });
  const actions = Object.keys(phase.byAction).sort((a, b) => Object.keys(ACTION_COLORS).indexOf(a) - Object.keys(ACTION_COLORS).indexOf(b));
  const rows = actions
    .map((a) => `<tr><td>${esc(a)}</td>${outcomes.map((o) => `<td class="n">${phase.byAction[a][o] ? num(phase.byAction[a][o]) : '–'}</td>`).join('')}<td class="n"><b>${num(Object.values(phase.byAction[a]).reduce((x, y) => x + y, 0))}</b></td></tr>`)
    .join('');
  return `<table><tr><th>action</th>${outcomes.map((o) => `<th class="n">${esc(o)}</th>`).join('')}<th class="n">total</th></tr>${rows}</table>`;
}

function runKpis(r: ReadinessReport, run: RunView): string {
  const a = run.apply;
  const applied = a?.byOutcome.APPLIED ?? 0;
  const skipped = a?.byOutcome.SKIPPED ?? 0;
  const failed = (a?.byOutcome.FAILED ?? 0) + (a?.byOutcome.REJECTED ?? 0);
  const what = a
    ? `<div class="card kpi" id="kpi-run"><h2>What the run did</h2><div><span class="big" id="run-applied">${num(applied)}</span> <span class="muted">applied</span> · <span id="run-skipped">${num(skipped)}</span> skipped · <span id="run-failed" class="${failed ? 'bad' : ''}">${num(failed)}</span> failed or refused</div>
<div class="small">apply ${esc(a.status)} in ${a.seconds.toFixed(1)} s; whole job <span id="run-seconds">${run.seconds.toFixed(1)}</span> s</div>${a.halt ? `<div class="small bad">halted ${esc(a.halt)}</div>` : ''}${a.refusal ? `<div class="small bad">refused ${esc(a.refusal)}</div>` : ''}</div>`
    : `<div class="card kpi" id="kpi-run"><h2>What the run did</h2><div class="bad" id="run-applied">not applied</div><div class="small">${esc(run.applySkipped ?? 'apply did not run')}</div><div class="small">whole job <span id="run-seconds">${run.seconds.toFixed(1)}</span> s</div></div>`;
  const m = run.compliance;
  const compliance = `<div class="card kpi" id="kpi-compliance"><h2>M008 compliance, measured</h2><div><span class="big">${pct(m.before)}</span> <span class="muted">before</span> → <span class="big">${pct(m.after)}</span> <span class="muted">after</span></div>
${complianceBars(m.before, 'tables before the run', 'compliance-before')}
${complianceBars(m.after, 'tables after the run', 'compliance-after')}
<div class="small muted">audits of the warehouse before and after; the plan projected <span id="compliance-projected">${r.compliance?.after ? `${num(r.compliance.after.compliant)} / ${num(r.compliance.after.tables)}` : '–'}</span></div></div>`;
  const v = run.verify;
  const rc = run.reconcile;
  const checks = (a?.checks ?? 0) + (v?.checks ?? 0);
  const passed = (a?.passed ?? 0) + (v?.passed ?? 0);
  const validation = `<div class="card kpi" id="kpi-validation"><h2>Validation and reconcile</h2><div><span class="big ${passed === checks ? '' : 'bad'}" id="validation-passed">${num(passed)} / ${num(checks)}</span> <span class="muted">checks passed</span></div>
<div class="small">apply ${a ? `${num(a.passed)}/${num(a.checks)}` : '–'} · verify ${v ? `${num(v.passed)}/${num(v.checks)}` : '–'}</div>
<div class="small" id="reconcile">${rc ? Object.entries(rc).map(([k, n]) => `<span class="${k !== 'MATCHED' && n > 0 ? 'bad' : ''}">${esc(k)} ${num(n)}</span>`).join(' · ') : 'not reconciled'}</div></div>`;
  const spent = a?.costUsd ?? 0;
  const cost = `<div class="card kpi" id="kpi-cost"><h2>Bytes and dollars</h2><div><span class="big" id="run-cost">${esc(usd(spent))}</span> <span class="muted">for ${esc(formatBytes(a?.bytes ?? 0))} processed</span></div>${budgetBar('run-cost-share', spent, run.budgetUsd, 'spent', 240)}<div class="small muted">planned ${esc(formatBytes(r.cost?.estimatedBytes ?? 0))} (${esc(usd(r.cost?.estimatedCostUsd ?? 0))})</div></div>`;
  return `<div class="kpis">${what}${compliance}${validation}${cost}</div>`;
}

function linksCard(run: RunView): string {
  const item = (f: string) => `<li><a href="${esc(encodeURI(f))}">${esc(f)}</a></li>`;
  const md = run.links.filter((l) => l.endsWith('.md'));
  const other = run.links.filter((l) => !l.endsWith('.md'));
  return `<div class="card" id="reports"><h2>Reports of this run</h2><ul class="links">${md.map(item).join('')}</ul>${other.length ? `<div class="small muted" style="margin-top:6px">also: ${other.map((f) => `<a href="${esc(encodeURI(f))}">${esc(f)}</a>`).join(', ')}</div>` : ''}${
    run.documents.length ? `<div style="margin-top:8px"><b>Readiness audit documents</b><ul class="links">${run.documents.map(item).join('')}</ul></div>` : ''
  }</div>`;
}

function runSection(r: ReadinessReport, run: RunView): string {
  const steps = run.steps.map((s) => `<tr><td>${esc(s.name)}</td><td class="n">${s.seconds.toFixed(1)} s</td><td>${esc(s.line)}</td></tr>`).join('');
  return `<section class="run">${runKpis(r, run)}
<div class="grid2"><div>
${run.apply ? `<div class="card" id="run-actions"><h2>Apply, by action and outcome</h2>${outcomesTable(run.apply)}<div class="small muted" style="margin-top:6px">${num(run.apply.operations)} plan entries; KEEP and REVIEW change nothing and are recorded as SKIPPED.</div></div>` : ''}
${run.paper ? `<div class="card" id="run-paper"><h2>Paper run first</h2><div class="small">${esc(run.paper.status)}: ${Object.entries(run.paper.byOutcome).map(([k, v]) => `${esc(k)} ${num(v)}`).join(', ')}; ${num(run.paper.passed)}/${num(run.paper.checks)} checks; estimated ${esc(formatBytes(run.paper.estimatedBytes))} (${esc(usd(run.paper.estimatedCostUsd))})</div></div>` : ''}
${columnsCard(run.columns.before, run.columns.after)}
</div><div>
${linksCard(run)}
<div class="card" id="steps"><h2>Steps</h2><table>${steps}</table></div>
</div></div>
${extractionCard(r, run.extraction?.pair ?? null, run.extraction?.manifests ?? null)}
</section>`;
}

/**
 * The page people look at. Before a run: verdict, blockers, compliance, operations and cost first;
 * details below. After `bqx main`: what the run did first (outcomes, validation, reconcile, measured
 * compliance, bytes and dollars, the column audit, the extract job per pair, links to every report),
 * then the readiness it started from.
 */
export function renderReadinessHtml(r: ReadinessReport, opts: { links?: readonly string[]; run?: RunView } = {}): string {
  const run = opts.run ?? null;
  const color = VERDICT_COLORS[r.verdict];
  const runOk = run ? run.outcome === 'OK' : true;
  const head = run ? (runOk ? VERDICT_COLORS.GO : VERDICT_COLORS['NO-GO']) : color;
  const where = `${r.engine.kind} · ${r.engine.kind === 'bigquery' ? `${r.engine.project}.` : ''}${r.engine.dataset}`;
  const title = run ? `Phase 4C run: ${run.outcome}` : `readiness: ${verdictHeadline(r)}`;
  const readiness = `${run ? `<h2 class="section">The readiness the run started from: ${esc(verdictHeadline(r))}</h2>` : kpis(r)}
<div class="grid2"><div>${productionCard(r)}${r.blockers.length ? blockersCard(r) : ''}${decisionsCard(r)}${planCard(r)}${costCard(r)}</div><div>${complianceCard(r)}${inventoriesCard(r)}${codeCard(r)}${run ? '' : columnsCard(r.columns, null)}</div></div>
${run ? '' : extractionCard(r, null, null)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BQX ${esc(title)}</title><style>${CSS}</style></head>
<body>
<header style="background:${head.bg};color:${head.fg}">
${modeBanner(r)}
${run ? `<div class="verdict" id="run-status" data-outcome="${esc(run.outcome)}">${runOk ? 'RUN OK' : esc(`RUN ${run.outcome}`)}</div>` : ''}
${r.mode === 'rehearsal' ? '<div class="run">REHEARSAL</div>' : ''}<div class="${run ? 'run' : 'verdict'}" id="verdict" data-verdict="${esc(r.verdict)}">${esc(r.verdict)}</div>
<div class="run" id="production-verdict" data-verdict="${esc(r.production.verdict)}">PRODUCTION ${esc(r.production.verdict)}</div>
<div class="meta">M008 Phase 4C ${run ? `run of ${esc(run.finishedAt)} · readiness` : 'readiness'} · ${esc(where)}<br>${esc(r.generatedAt)} · ${r.counts.checks} checks, ${r.counts.failed} failed</div>
</header>
<main>
${run ? runSection(r, run) : ''}
<section class="readiness">${readiness}</section>
${details(r, run ? [] : (opts.links ?? []))}
</main></body></html>
`;
}
