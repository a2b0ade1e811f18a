import { auditNames, type AuditSummary } from '../../core/audit';
import type { TableInfo } from '../../core/catalogue';
import { namesAfterPlan } from '../../core/extraction/discovery';
import type { Plan } from '../../core/plan/types';
import type { Policy } from '../../core/policy';
import type { ComplianceSide } from './types';

function side(s: AuditSummary): ComplianceSide {
  const byFamily = Object.fromEntries(
    Object.entries(s.byFamily).map(([f, c]) => [f, { total: c.total, compliant: c.total - c.nonCompliant, nonCompliant: c.nonCompliant }]),
  );
  return { tables: s.tables, compliant: s.compliant, nonCompliant: s.nonCompliant, byFamily };
}

export { namesAfterPlan };

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
