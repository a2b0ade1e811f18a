/**
 * The parts of the readiness page that say what was proven where: rehearsal or production, the
 * production verdict and what was NOT CHECKED, the decisions a person owes (REVIEW tables, the grace
 * period's end, the rollback command), how the counts relate to the team's inventories, and the
 * team's code.
 */
import { TEAM_INVENTORIES, TEAM_TOTALS } from '../../readiness/decisions';
import type { ReadinessReport } from '../../readiness/types';
import { esc, num } from './html';

export function modeBanner(r: ReadinessReport): string {
  return r.mode === 'rehearsal'
    ? `<div class="mode" id="mode" data-mode="rehearsal">REHEARSAL on a synthetic copy — the embedded DuckDB warehouse, not the production feature store ${esc(r.engine.project)}.${esc(r.engine.dataset)}</div>`
    : `<div class="mode" id="mode" data-mode="production">PRODUCTION — BigQuery ${esc(r.engine.project)}.${esc(r.engine.dataset)}</div>`;
}

export function productionCard(r: ReadinessReport): string {
  const p = r.production;
  const conditions = p.conditions.length ? `<ul>${p.conditions.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : '<div class="small">No condition.</div>';
  const notChecked = r.notChecked.length
    ? `<h3 style="font-size:13px;margin:10px 0 4px">NOT CHECKED (${r.notChecked.length})</h3><table id="not-checked"><tr><th>what</th><th>the command that checks it</th></tr>${r.notChecked.map((x) => `<tr><td>${esc(x.what)}</td><td><code>${esc(x.command)}</code></td></tr>`).join('')}</table>`
    : '';
  const rehearsal = r.rehearsal
    ? `<div class="small" style="margin-bottom:6px">Rehearsal verdict <b id="rehearsal-verdict">${esc(r.rehearsal.verdict)}</b>: ${r.rehearsal.verdict === 'GO' ? 'this local run may proceed on the synthetic copy (what <code>npm start</code> acts on)' : 'this local run may not proceed'}. Severities below are production’s.</div>`
    : '';
  return `<div class="card" id="production"><h2>Production: <span id="production-verdict-card">${esc(p.verdict)}</span></h2>${rehearsal}<div class="small"><b>Conditions before the first apply on the feature store:</b></div>${conditions}${notChecked}</div>`;
}

export function decisionsCard(r: ReadinessReport): string {
  const p = r.plan;
  if (!p) return '';
  const review = p.review.length
    ? `<table id="review"><tr><th>table</th><th>why</th><th>who must decide</th></tr>${p.review.map((x) => `<tr><td><code>${esc(x.table)}</code></td><td><code>${esc(x.reason)}</code> ${esc(x.detail)}</td><td>${esc(x.decides)}</td></tr>`).join('')}</table>`
    : '<div class="small">No REVIEW table.</div>';
  return `<div class="card" id="decisions"><h2>Decisions and dates</h2>
<div class="small"><b>REVIEW (${num(p.review.length)})</b>: left untouched by the apply until a person decides.</div>${review}
<table style="margin-top:8px"><tr><td>grace period ends</td><td><b id="grace-end">${esc(p.graceEnd)}</b>: the ${num(p.views)} compatibility views are dropped after it; every consumer of an old name must have moved by then</td></tr>
<tr><td>rollback</td><td><code id="rollback-command">${esc(p.rollback)}</code> (from the ledger, newest operation first; backups in the runner dataset)</td></tr></table></div>`;
}

export function inventoriesCard(r: ReadinessReport): string {
  const here = r.compliance?.before.nonCompliant ?? null;
  const rows = TEAM_INVENTORIES.map((x) => `<tr><td>${esc(x.family.toUpperCase())}</td><td class="n">${num(x.ea1968)}</td><td class="n">${num(x.ba2042)}</td><td class="n">${num(x.here)}</td><td class="small">${esc(x.why)}</td></tr>`).join('');
  const scale =
    here === TEAM_TOTALS.here
      ? `This warehouse’s audit finds <b>${num(here)}</b>, the full catalogue’s figure.`
      : `This ${r.mode === 'rehearsal' ? 'synthetic copy' : 'warehouse'} has ${here === null ? 'an unknown number of' : num(here)} violation(s); the full 5,817-table catalogue has ${num(TEAM_TOTALS.here)} (<code>bqx warehouse seed --scale full &amp;&amp; bqx audit</code>).`;
  return `<div class="card" id="inventories"><h2>These counts and the team’s inventories</h2>
<div class="small">The team counted ${num(TEAM_TOTALS.ea1968)} violations (EA, 2025-12-13) and ${num(TEAM_TOTALS.ba2042)} (BA/EA re-audit, 2025-12-14, a simpler regex); the M008 grammar of <code>policy/m008.policy.yaml</code> counts ${num(TEAM_TOTALS.here)}. ${scale}</div>
<table style="margin-top:6px"><tr><th>class</th><th class="n">EA 1,968</th><th class="n">BA 2,042</th><th class="n">here</th><th>why they differ</th></tr>${rows}
<tr><td><b>total</b></td><td class="n"><b>${num(TEAM_TOTALS.ea1968)}</b></td><td class="n"><b>${num(TEAM_TOTALS.ba2042)}</b></td><td class="n"><b>${num(TEAM_TOTALS.here)}</b></td><td></td></tr></table></div>`;
}

export function codeCard(r: ReadinessReport): string {
  const c = r.code;
  if (!c) return `<div class="card" id="team-code"><h2>The team’s code</h2><div class="small muted">NOT CHECKED: give <code>bqx readiness --code DIR</code> (a checkout of the team’s repository).</div></div>`;
  const s = c.summary;
  const codes = Object.entries(s.referencesByCode)
    .filter(([k]) => k !== 'OK')
    .map(([k, v]) => `<tr><td><code>${esc(k)}</code></td><td class="n">${num(v)}</td><td class="n">${num(s.findings[k as keyof typeof s.findings])}</td></tr>`)
    .join('');
  const blocked = c.scripts.filter((x) => x.status === 'BLOCKED' && x.kind !== 'dockerfile' && x.kind !== 'cloudbuild').slice(0, 12);
  return `<div class="card" id="team-code"><h2>The team’s code</h2>
<div class="small">${num(s.scripts)} files scanned, ${num(s.withReferences)} touch the feature dataset: READY ${s.byStatus.READY} · PARTIAL ${s.byStatus.PARTIAL} · BLOCKED ${s.byStatus.BLOCKED} · MISSING ${s.byStatus.MISSING}${s.earliestBreak ? ` · the first consumer of an old name breaks on <b>${esc(s.earliestBreak)}</b>` : ''}.</div>
<table style="margin-top:6px"><tr><th>finding</th><th class="n">places</th><th class="n">names</th></tr>${codes}</table>
${blocked.length ? `<div class="small" style="margin-top:6px"><b>BLOCKED</b> (must change before the first apply): ${blocked.map((x) => `<code>${esc(x.path)}</code>`).join(', ')}</div>` : ''}</div>`;
}
