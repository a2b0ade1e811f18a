import type { ReadinessReport } from '../../readiness/types';
import { SECTIONS } from '../../readiness/types';
import { formatBytes } from '../../readiness/format';
import { esc, num, svgBar, usd } from './html';

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
main{padding:18px 28px 40px;max-width:1400px}
.kpis{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:14px;margin-bottom:16px}
.kpi{min-height:118px}.kpi .big{font-size:24px}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px;align-items:start}.grid2 .card{margin-bottom:16px}
@media (max-width:900px){.kpis{grid-template-columns:1fr 1fr}.grid2{grid-template-columns:1fr}}
.card{background:#fff;border:1px solid #dfe3e8;border-radius:8px;padding:14px 16px}
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

function complianceCard(r: ReadinessReport): string {
  const c = r.compliance;
  if (!c) return `<div class="card" id="compliance"><h2>M008 compliance</h2><div class="muted">The catalogue could not be read.</div></div>`;
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
  const pct = (x: { compliant: number; tables: number }) => (x.tables ? `${((100 * x.compliant) / x.tables).toFixed(1)}%` : '–');
  return `<div class="card" id="compliance"><h2>M008 compliance</h2>
<div><span class="big" id="compliance-before">${num(before.compliant)} / ${num(before.tables)}</span> <span class="muted">compliant now (${pct(before)})</span></div>
<div><span class="big" id="compliance-after">${after ? `${num(after.compliant)} / ${num(after.tables)}` : '–'}</span> <span class="muted">${after ? `after the plan (${pct(after)}; ${num(after.nonCompliant)} left)` : 'no plan'}</span></div>
<table style="margin-top:8px"><tr><th>family</th><th class="n">non-compliant before</th><th></th><th class="n">after</th><th></th></tr>${rows}</table>
<div class="legend small muted" style="margin-top:6px"><span><i style="background:${GOOD}"></i>compliant</span><span><i style="background:${BAD}"></i>non-compliant</span></div></div>`;
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
  if (!c) return `<div class="card" id="cost"><h2>Cost estimate</h2><div class="muted">Not assessed (no valid plan or policy).</div></div>`;
  const over = c.estimatedCostUsd > c.budgetUsd + 1e-9;
  const max = Math.max(c.budgetUsd, c.estimatedCostUsd, 1e-9);
  return `<div class="card" id="cost"><h2>Cost estimate</h2>
<div><span class="big" id="cost-estimate">${esc(usd(c.estimatedCostUsd))}</span> <span class="muted">of a ${esc(usd(c.budgetUsd))} budget</span></div>
<div style="margin:8px 0">${svgBar([{ value: c.estimatedCostUsd, color: over ? BAD : GOOD, label: `estimate ${usd(c.estimatedCostUsd)}` }], max, 260, 14)}</div>
<table><tr><td>bytes read by operations</td><td class="n">${esc(formatBytes(c.estimatedBytes))}</td></tr>
<tr><td>of which consolidations</td><td class="n">${esc(formatBytes(c.consolidationBytes))} (${esc(usd(c.consolidationCostUsd))})</td></tr>
<tr><td>price</td><td class="n">$${esc(c.pricePerTiBUsd)}/TiB</td></tr>
${c.dryRunSample ? `<tr><td>one consolidation, dry run</td><td class="n">${esc(formatBytes(c.dryRunSample.dryRunBytes))} (planned ${esc(formatBytes(c.dryRunSample.plannedBytes))})</td></tr>` : ''}
</table><div class="small muted" style="margin-top:6px">Renames, drops and views are free; only consolidations read data.</div></div>`;
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

function kpis(r: ReadinessReport): string {
  const top = r.blockers.filter((b) => b.priority === 'P0' || b.priority === 'P1');
  const badges = (['P0', 'P1', 'P2', 'P3'] as const).map((p) => `<span class="badge" style="background:${PRIORITY_COLORS[p]}">${p} ${r.counts[p]}</span>`).join('');
  const blockers = `<div class="card kpi" id="kpi-blockers"><h2>Blockers</h2><div>${badges}</div><div class="small" style="margin-top:6px">${
    top.length ? top.slice(0, 3).map((b) => `<div><b>${b.priority}</b> ${esc(b.title)}</div>`).join('') + (top.length > 3 ? `<div class="muted">… ${top.length - 3} more</div>` : '') : 'No P0 or P1 blocker.'
  }</div></div>`;
  const c = r.compliance;
  const pct = (x: { compliant: number; tables: number }) => (x.tables ? `${((100 * x.compliant) / x.tables).toFixed(1)}%` : '–');
  const compliance = c
    ? `<div class="card kpi" id="kpi-compliance"><h2>M008 compliance</h2><div><span class="big">${pct(c.before)}</span> <span class="muted">now</span> → <span class="big">${c.after ? pct(c.after) : '–'}</span> <span class="muted">after</span></div>
<div class="small">${svgBar([{ value: c.before.compliant, color: GOOD, label: 'compliant now' }, { value: c.before.nonCompliant, color: BAD, label: 'non-compliant now' }], c.before.tables, 170, 10)} ${num(c.before.compliant)} / ${num(c.before.tables)} tables</div>
${c.after ? `<div class="small">${svgBar([{ value: c.after.compliant, color: GOOD, label: 'compliant after' }, { value: c.after.nonCompliant, color: BAD, label: 'non-compliant after' }], c.after.tables, 170, 10)} ${num(c.after.compliant)} / ${num(c.after.tables)} tables</div>` : ''}</div>`
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
    ? `<div class="card kpi" id="kpi-cost"><h2>Cost estimate</h2><div><span class="big" id="kpi-cost-estimate">${esc(usd(k.estimatedCostUsd))}</span> <span class="muted">of ${esc(usd(k.budgetUsd))} budget</span></div><div>${svgBar(
        [{ value: k.estimatedCostUsd, color: k.estimatedCostUsd > k.budgetUsd + 1e-9 ? BAD : GOOD, label: `estimate ${usd(k.estimatedCostUsd)}` }],
        Math.max(k.budgetUsd, k.estimatedCostUsd, 1e-9),
        240,
        12,
      )}</div><div class="small muted">${esc(formatBytes(k.estimatedBytes))} read; consolidations ${esc(formatBytes(k.consolidationBytes))}</div></div>`
    : `<div class="card kpi" id="kpi-cost"><h2>Cost estimate</h2><div class="muted">not assessed</div></div>`;
  return `<div class="kpis">${blockers}${compliance}${ops}${cost}</div>`;
}

/** The page people look at: verdict, blockers, compliance, operations and cost first; details below. */
export function renderReadinessHtml(r: ReadinessReport, opts: { links?: readonly string[] } = {}): string {
  const color = VERDICT_COLORS[r.verdict];
  const where = `${r.engine.kind} · ${r.engine.kind === 'bigquery' ? `${r.engine.project}.` : ''}${r.engine.dataset}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>BQX readiness: ${esc(r.verdict)}</title><style>${CSS}</style></head>
<body>
<header style="background:${color.bg};color:${color.fg}">
<div class="verdict" id="verdict" data-verdict="${esc(r.verdict)}">${esc(r.verdict)}</div>
<div class="meta">M008 Phase 4C readiness · ${esc(where)}<br>${esc(r.generatedAt)} · ${r.counts.checks} checks, ${r.counts.failed} failed</div>
</header>
<main>
${kpis(r)}
<div class="grid2"><div>${r.blockers.length ? blockersCard(r) : ''}${planCard(r)}${costCard(r)}</div><div>${complianceCard(r)}</div></div>
${details(r, opts.links ?? [])}
</main></body></html>
`;
}
