import type { Policy } from './policy';
import { judgeName, VIOLATION_CLASSES, type NameVerdict, type ViolationClass } from './naming/grammar';

/** Column audits (M008 §1.5–1.6) live with the column grammar; re-exported beside the table audit. */
export { auditCatalogueColumns, auditColumnNames, type ColumnAuditResult, type ColumnAuditSummary } from './naming/columns';

export interface AuditEntry {
  readonly name: string;
  readonly compliant: boolean;
  readonly family: string;
  readonly violations: readonly ViolationClass[];
  readonly canonical: string | null;
  readonly canonicalTemplate: string | null;
  readonly notes: readonly string[];
}

export interface AuditSummary {
  readonly tables: number;
  readonly compliant: number;
  readonly nonCompliant: number;
  /** Views (compatibility views) seen in the dataset; not judged as tables. */
  readonly views: number;
  readonly bookkeeping: number;
  readonly byFamily: Record<string, { total: number; nonCompliant: number }>;
  readonly nonCompliantByFamily: Record<string, number>;
  readonly byViolation: Record<ViolationClass, number>;
}

export interface AuditResult {
  readonly summary: AuditSummary;
  readonly tables: AuditEntry[];
}

function entry(v: NameVerdict): AuditEntry {
  return {
    name: v.name,
    compliant: v.compliant,
    family: v.family,
    violations: v.violations,
    canonical: v.canonical,
    canonicalTemplate: v.canonicalTemplate,
    notes: v.notes,
  };
}

/**
 * Audits table names against M008. `views` are the dataset's views: counted, not judged (a
 * compatibility view keeps an old name on purpose for its grace period).
 */
export function auditNames(policy: Policy, names: readonly string[], views: readonly string[] = []): AuditResult {
  const verdicts = [...names].sort().map((n) => judgeName(policy, n));
  const byFamily: Record<string, { total: number; nonCompliant: number }> = {};
  const byViolation = Object.fromEntries(VIOLATION_CLASSES.map((c) => [c, 0])) as Record<ViolationClass, number>;
  let bookkeeping = 0;
  for (const v of verdicts) {
    if (v.bookkeeping) {
      bookkeeping++;
      continue;
    }
    const f = (byFamily[v.family] ??= { total: 0, nonCompliant: 0 });
    f.total++;
    if (!v.compliant) f.nonCompliant++;
    for (const c of v.violations) byViolation[c]++;
  }
  const judged = verdicts.filter((v) => !v.bookkeeping);
  const nonCompliant = judged.filter((v) => !v.compliant).length;
  const sortedFamilies = Object.fromEntries(Object.entries(byFamily).sort(([a], [b]) => (a < b ? -1 : 1)));
  const nonCompliantByFamily = Object.fromEntries(
    Object.entries(sortedFamilies)
      .filter(([, c]) => c.nonCompliant > 0)
      .map(([f, c]) => [f, c.nonCompliant]),
  );
  return {
    summary: {
      tables: judged.length,
      compliant: judged.length - nonCompliant,
      nonCompliant,
      views: views.length,
      bookkeeping,
      byFamily: sortedFamilies,
      nonCompliantByFamily,
      byViolation,
    },
    tables: verdicts.map(entry),
  };
}

/** Audits a catalogue listing: its tables are judged, its views counted. */
export function auditCatalogue(policy: Policy, tables: readonly { readonly name: string; readonly kind: string }[]): AuditResult {
  return auditNames(
    policy,
    tables.filter((t) => t.kind !== 'VIEW').map((t) => t.name),
    tables.filter((t) => t.kind === 'VIEW').map((t) => t.name),
  );
}
