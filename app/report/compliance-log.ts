/**
 * The continuous-compliance signal: the scheduled audit (`bqx audit --columns --json` in the runner's
 * Cloud Run job) logs one structured line per non-compliant table name and per non-compliant column,
 * which the pipeline stack counts as the log-based metric `bqx_m008_violations` (labels: `kind`
 * table|column, `class` the violation class, `baseline` plan|new) and alerts on when a `new` one
 * appears. A violation is `plan` when its table is one the committed plan knows (a source, a
 * target or a compatibility view: decided, or left for REVIEW), `new` otherwise (a table created
 * since, e.g. by a generation script): that is the regression to page on.
 */
import type pino from 'pino';
import type { AuditResult } from '../../core/audit';
import type { ColumnAuditResult } from '../../core/naming/columns';
import type { Plan } from '../../core/plan/types';
import { runnerLogger } from './runner-log';

/** Contract with the pipeline stack's metric: `jsonPayload.component="bqx-runner" AND jsonPayload.event="audit_violation"`. */
export const AUDIT_VIOLATION_EVENT = 'audit_violation';

export interface ViolationEvent {
  readonly event: typeof AUDIT_VIOLATION_EVENT;
  readonly kind: 'table' | 'column';
  readonly class: string;
  readonly table: string;
  readonly column: string | null;
  readonly baseline: 'plan' | 'new';
}

/** Every table name the plan knows: what it decided on or left for review, and what it creates. */
export function knownTables(plan: Plan): Set<string> {
  return new Set([...plan.operations.flatMap((o) => [...o.sources, ...(o.target ? [o.target] : [])]), ...plan.views.map((v) => v.name)]);
}

export function violationEvents(tables: AuditResult | null, columns: ColumnAuditResult | null, known: ReadonlySet<string> | null): ViolationEvent[] {
  const baseline = (table: string) => (known?.has(table) ? 'plan' : 'new');
  const out: ViolationEvent[] = [];
  for (const t of tables?.tables ?? []) {
    for (const v of t.compliant ? [] : t.violations) out.push({ event: AUDIT_VIOLATION_EVENT, kind: 'table', class: v, table: t.name, column: null, baseline: baseline(t.name) });
  }
  for (const c of columns?.columns ?? []) {
    if (!c.compliant && c.table) out.push({ event: AUDIT_VIOLATION_EVENT, kind: 'column', class: c.violation ?? 'UNKNOWN', table: c.table, column: c.name, baseline: baseline(c.table) });
  }
  return out;
}

export function logViolations(events: readonly ViolationEvent[], log: pino.Logger = runnerLogger()): void {
  for (const e of events) log.warn(e, `M008 ${e.kind} violation ${e.class}: ${e.column ? `${e.table}.${e.column}` : e.table} (${e.baseline})`);
}
