/**
 * `bqx audit --columns`: the M008 column audit of a warehouse (every column of every base table,
 * and every distinct name once) or of a list of names (the pre-commit lint for generation scripts).
 * Reports only: column renames are not part of Phase 4C.
 */
import { auditCatalogueColumns, auditColumnNames, COLUMN_VIOLATIONS, type ColumnAuditResult, type ColumnCounts } from '../core/naming/columns';
import type { Policy } from '../core/policy';
import type { TableInfo } from '../core/catalogue';

export type { ColumnAuditResult } from '../core/naming/columns';

export function auditWarehouseColumns(policy: Policy, tables: readonly TableInfo[]): ColumnAuditResult {
  return auditCatalogueColumns(policy, tables);
}

export function auditListedColumns(policy: Policy, names: readonly string[]): ColumnAuditResult {
  return auditColumnNames(policy, names);
}

const n = (x: number) => x.toLocaleString('en-US');

function countRows(label: string, c: ColumnCounts | null, d: ColumnCounts): string[] {
  const cell = (x: ColumnCounts | null, f: (x: ColumnCounts) => number) => (x ? n(f(x)) : '').padStart(9);
  const row = (what: string, f: (x: ColumnCounts) => number) => `  ${what.padEnd(30)}${cell(c, f)}${cell(d, f)}`;
  return [
    `  ${''.padEnd(30)}${(c ? 'columns' : '').padStart(9)}${label.padStart(9)}`,
    row('compliant', (x) => x.compliant),
    row('  {type}_{metric}_{window}', (x) => x.byRule.feature),
    row('  targets', (x) => x.byRule.target),
    row('  reserved or exempt', (x) => x.byRule.reserved + x.byRule.exempt),
    row('  documented exceptions', (x) => x.exceptions),
    ...COLUMN_VIOLATIONS.map((v) => row(v, (x) => x.byViolation[v])),
  ];
}

/** The terminal summary of a column audit: counts, then the non-compliant names. */
export function formatColumnAudit(r: ColumnAuditResult, source: string, limit = 60): string {
  const s = r.summary;
  const warehouse = s.tables !== null;
  const lines = [
    `M008 column audit of ${source}`,
    warehouse
      ? `  ${n(s.tables ?? 0)} tables (${n(s.views ?? 0)} views not judged), ${n(s.columns.total)} columns, ${n(s.names.total)} distinct names; ${n(s.tablesWithViolations ?? 0)} tables hold a non-compliant column`
      : `  ${n(s.columns.total)} names (${n(s.names.total)} distinct)`,
    '',
    ...(warehouse ? countRows('names', s.columns, s.names) : countRows('names', null, s.names)),
  ];
  const bad = r.names.filter((x) => !x.compliant);
  if (bad.length) {
    lines.push('', `  non-compliant names${warehouse ? ' (tables holding them)' : ''}:`);
    for (const x of bad.slice(0, limit)) lines.push(`  ${String(x.violation).padEnd(18)} ${x.name}${warehouse ? ` (${n(x.occurrences)})` : ''}${x.note ? `: ${x.note}` : ''}`);
    if (bad.length > limit) lines.push(`  … ${bad.length - limit} more (see --json)`);
  }
  if (r.departures.length) {
    const stricter = r.departures.filter((d) => d.tool === 'stricter');
    const looser = r.departures.filter((d) => d.tool === 'looser');
    lines.push('', `  departures from the team's recorded decision (policy columns.teamDecision): ${n(stricter.length)} stricter, ${n(looser.length)} looser:`);
    for (const d of r.departures.slice(0, limit)) lines.push(`  ${d.tool.padEnd(9)} ${d.name} (team: ${d.team}): ${d.why}`);
    if (r.departures.length > limit) lines.push(`  … ${r.departures.length - limit} more (see --json)`);
  }
  if (r.unusedExceptions.length) lines.push('', `  documented exceptions no table holds (remove them from the policy): ${r.unusedExceptions.join(', ')}`);
  return lines.join('\n');
}

/** One line for the main job and the reports. */
export function columnAuditLine(r: ColumnAuditResult): string {
  const s = r.summary;
  return (
    `${n(s.columns.total)} columns in ${n(s.tables ?? 0)} tables, ${n(s.names.total)} names: ` +
    `${n(s.names.nonCompliant)} names non-compliant (WINDOW ${s.names.byViolation.WINDOW_VIOLATION}, PATTERN ${s.names.byViolation.PATTERN_VIOLATION}), ` +
    `${n(s.names.exceptions)} documented exceptions; ${n(s.columns.nonCompliant)} columns`
  );
}
