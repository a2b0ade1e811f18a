import { auditNames, type AuditSummary } from '../../core/audit';
import type { TableInfo } from '../../core/catalogue';
import type { Plan } from '../../core/plan/types';
import type { Policy } from '../../core/policy';
import type { ComplianceSide } from './types';

function side(s: AuditSummary): ComplianceSide {
  const byFamily = Object.fromEntries(
    Object.entries(s.byFamily).map(([f, c]) => [f, { total: c.total, compliant: c.total - c.nonCompliant, nonCompliant: c.nonCompliant }]),
  );
  return { tables: s.tables, compliant: s.compliant, nonCompliant: s.nonCompliant, byFamily };
}

/**
 * The table names the warehouse holds once the plan is applied: KEEP and REVIEW keep their
 * sources, RENAME and CONSOLIDATE leave their target, DEDUPE removes its source (the twin stays).
 * Compatibility views are not tables and are not judged.
 */
export function namesAfterPlan(plan: Plan): string[] {
  const names = new Set<string>();
  for (const op of plan.operations) {
    if (op.action === 'KEEP' || op.action === 'REVIEW') op.sources.forEach((s) => names.add(s));
    else if (op.action === 'RENAME' || op.action === 'CONSOLIDATE') names.add(op.target as string);
  }
  return [...names];
}

/** Compliance by family of the current catalogue, and of the names the plan would leave. */
export function complianceBeforeAfter(policy: Policy, tables: readonly TableInfo[], plan: Plan | null): { before: ComplianceSide; after: ComplianceSide | null } {
  const before = auditNames(
    policy,
    tables.filter((t) => t.kind !== 'VIEW').map((t) => t.name),
    tables.filter((t) => t.kind === 'VIEW').map((t) => t.name),
  );
  const after = plan ? auditNames(policy, namesAfterPlan(plan)) : null;
  return { before: side(before.summary), after: after ? side(after.summary) : null };
}
