import type { TableInfo } from '../../../core/catalogue';
import { auditCatalogueColumns, type ColumnAuditSummary } from '../../../core/naming/columns';
import type { Policy } from '../../../core/policy';
import type { Findings } from '../findings';

/**
 * The column audit runs on the catalogue (a tool of the inventory). It reports; it blocks nothing:
 * column renames are not part of Phase 4C.
 */
export async function checkColumnAudit(findings: Findings, policy: Policy | null, tables: readonly TableInfo[] | null): Promise<ColumnAuditSummary | null> {
  let summary: ColumnAuditSummary | null = null;
  await findings.run({ id: 'tools.column-audit', section: 'tools', title: 'column audit (reports only: column renames are not part of Phase 4C)' }, (scope) => {
    if (!policy || !tables) {
      scope.skip();
      return 'not run: the policy or the catalogue could not be read';
    }
    const s = auditCatalogueColumns(policy, tables).summary;
    summary = s;
    return (
      `${s.columns.total} columns of ${s.tables} tables, ${s.names.total} distinct names: ${s.names.nonCompliant} names non-compliant ` +
      `(WINDOW_VIOLATION ${s.names.byViolation.WINDOW_VIOLATION}, PATTERN_VIOLATION ${s.names.byViolation.PATTERN_VIOLATION}, INVALID_NAME ${s.names.byViolation.INVALID_NAME}), ` +
      `${s.names.exceptions} documented window-less exceptions; ${s.columns.nonCompliant} non-compliant columns in ${s.tablesWithViolations} tables`
    );
  });
  return summary;
}
