/**
 * Which variant a name without one has, from the evidence its family declares in the policy
 * (`variantDetection.evidence`): a level column's sample, or the twin rule. Pure: a function of the
 * policy, the facts read and the table. Nothing else may decide a variant (a correlation, a range, a
 * regime code or a threshold does not carry one).
 */
import type { TableInfo } from '../catalogue';
import type { NameVerdict } from '../naming/grammar';
import type { Policy, PolicyDocument } from '../policy';
import { median, type PlanningFacts } from './facts';
import type { PlanReason, VariantEvidence } from './types';

export type EvidenceRule = PolicyDocument['variantDetection']['evidence'][string];

/** Existing tables of each variant that hold the same thing as the table (its twins). */
export interface TwinSet {
  readonly variant: string;
  readonly names: readonly string[];
}

export interface VariantDecision {
  readonly variant: string | null;
  /** Why no variant (REVIEW). */
  readonly reason?: PlanReason;
  readonly detail?: string;
  readonly evidence: VariantEvidence;
  /** The twin rule found a twin with the same content: the table is a copy of it. */
  readonly identicalTwin?: string;
}

const NUMERIC = new Set(['FLOAT64', 'INT64', 'NUMERIC']);

export function evidenceRule(policy: Policy, verdict: NameVerdict): EvidenceRule | undefined {
  return policy.doc.variantDetection.evidence[verdict.family];
}

/** The first of the family's level columns the table's schema has (numeric), or null. */
export function levelColumn(policy: Policy, table: TableInfo, verdict: NameVerdict): string | null {
  const rule = evidenceRule(policy, verdict);
  const window = verdict.windows[0];
  for (const pattern of rule?.levelColumns ?? []) {
    const re = new RegExp(`^${pattern.replace('{window}', window !== undefined ? String(window) : '[0-9]+')}$`);
    const hit = table.columns.find((c) => NUMERIC.has(c.type) && re.test(c.name));
    if (hit) return hit.name;
  }
  return null;
}

/** The twin rule applies: no level column in the schema, and the family declares the rule. */
export function usesTwinRule(policy: Policy, table: TableInfo, verdict: NameVerdict): boolean {
  return !!evidenceRule(policy, verdict)?.twinRule && levelColumn(policy, table, verdict) === null;
}

export function sameColumns(a: TableInfo, b: TableInfo): boolean {
  return a.columns.length === b.columns.length && a.columns.every((c, i) => c.name === b.columns[i].name && c.type === b.columns[i].type);
}

const NOT_SAMPLED = { column: null, sampled: 0, medianAbs: null, verdict: 'not-sampled' as const };

/** The variant a level column's sample says (the table's family declares level columns and its schema has one). */
export function variantFromLevel(policy: Policy, facts: PlanningFacts, table: TableInfo): VariantDecision {
  const sample = facts.samples.get(table.name);
  const base = { column: null, sampled: 0, medianAbs: null, decidedBy: 'none' as const };
  if (facts.overBudget.has(table.name) && !sample) return { variant: null, reason: 'PLANNING_BUDGET_EXCEEDED', detail: 'the planning budget did not allow sampling this table', evidence: { ...base, verdict: 'error' } };
  if (!sample || 'error' in sample) {
    return { variant: null, reason: 'READ_ERROR', detail: `sampling failed: ${sample && 'error' in sample ? sample.error : 'no sample'}`, evidence: { ...base, verdict: 'error' } };
  }
  if (table.rowCount === 0 || sample.values.length === 0) {
    return { variant: null, reason: 'EMPTY_TABLE', detail: 'the table has no rows, so its variant cannot be read from data', evidence: { ...base, column: sample.column, verdict: 'empty' } };
  }
  const m = median(sample.values.map(Math.abs));
  const { bqxBelow, idxAbove } = policy.doc.variantDetection;
  const ev = { column: sample.column, sampled: sample.values.length, medianAbs: Math.round(m * 1e6) / 1e6 };
  if (m < bqxBelow) return { variant: 'bqx', evidence: { ...ev, verdict: 'bqx', decidedBy: 'sample' } };
  if (m > idxAbove) return { variant: 'idx', evidence: { ...ev, verdict: 'idx', decidedBy: 'sample' } };
  return {
    variant: null,
    reason: 'VARIANT_AMBIGUOUS',
    detail: `median |${sample.column}| = ${ev.medianAbs} is between ${bqxBelow} and ${idxAbove}`,
    evidence: { ...ev, verdict: 'ambiguous', decidedBy: 'none' },
  };
}

function byTwins(policy: Policy, facts: PlanningFacts, byName: ReadonlyMap<string, TableInfo>, table: TableInfo, rule: EvidenceRule, twins: readonly TwinSet[]): VariantDecision {
  const legacy = rule.legacyVariant ? { legacyVariant: rule.legacyVariant } : {};
  const none = (reason: PlanReason, detail: string, compared: { table: string; variant: string; same: boolean }[] = []): VariantDecision => ({
    variant: null,
    reason,
    detail,
    evidence: { ...NOT_SAMPLED, decidedBy: 'none', ...(compared.length ? { twins: compared } : {}), ...legacy },
  });
  if (table.rowCount === 0) return none('EMPTY_TABLE', 'the table has no rows: the twin rule cannot compare its content');
  const existing = twins.flatMap((t) => t.names.filter((n) => byName.get(n)?.kind === 'TABLE').map((n) => ({ table: n, variant: t.variant })));
  if (!existing.length) {
    const level = rule.levelColumns ? `none of its level columns (${rule.levelColumns.join(', ')})` : 'no level column';
    return none('NO_TWIN_EVIDENCE', `the schema has ${level}, and no twin of any variant exists to compare with (twin rule)`);
  }
  const fingerprintOf = (n: string) => {
    const f = facts.fingerprints.get(n);
    return f && !('error' in f) ? f : null;
  };
  const own = fingerprintOf(table.name);
  const compared: { table: string; variant: string; same: boolean }[] = [];
  for (const t of existing) {
    const other = fingerprintOf(t.table);
    if (!own || !other) {
      const over = facts.overBudget.has(table.name) || facts.overBudget.has(t.table);
      return none(over ? 'PLANNING_BUDGET_EXCEEDED' : 'READ_ERROR', `content of ${table.name} and its twin ${t.table} could not be compared`);
    }
    compared.push({ ...t, same: own.hash === other.hash && own.rows === other.rows && sameColumns(table, byName.get(t.table) as TableInfo) });
  }
  const identical = compared.find((c) => c.same);
  if (identical) return { variant: identical.variant, identicalTwin: identical.table, evidence: { ...NOT_SAMPLED, decidedBy: 'identical-twin', twins: compared, ...legacy } };
  const differing = new Set(compared.map((c) => c.variant));
  const remaining = policy.doc.variants.filter((v) => !differing.has(v));
  const names = compared.map((c) => c.table).join(', ');
  if (remaining.length === 0) return none('TARGET_EXISTS_DIFFERENT', `twins of every variant exist and differ from ${table.name}: ${names}`, compared);
  if (remaining.length > 1) return none('NO_TWIN_EVIDENCE', `only ${names} exists to compare with: variants ${remaining.join(', ')} remain (twin rule)`, compared);
  const variant = remaining[0];
  if (rule.legacyVariant && rule.legacyVariant !== variant) {
    return none('LEGACY_VARIANT_CONFLICT', `the twin rule says ${variant} (${names} differs) but the family's documented legacy variant is ${rule.legacyVariant}`, compared);
  }
  return { variant, evidence: { ...NOT_SAMPLED, decidedBy: 'twin-rule', twins: compared, ...legacy } };
}

/** The variant of a table whose name has none (`variantSource` needs-data), from its family's declared evidence. */
export function decideVariant(
  policy: Policy,
  facts: PlanningFacts,
  byName: ReadonlyMap<string, TableInfo>,
  table: TableInfo,
  verdict: NameVerdict,
  twins: readonly TwinSet[],
): VariantDecision {
  const rule = evidenceRule(policy, verdict);
  if (!rule) {
    return { variant: null, reason: 'NO_VARIANT_EVIDENCE', detail: `the policy declares no variant evidence for family ${verdict.family} (variantDetection.evidence)`, evidence: { ...NOT_SAMPLED, decidedBy: 'none' } };
  }
  if (levelColumn(policy, table, verdict) !== null) return variantFromLevel(policy, facts, table);
  if (rule.twinRule) return byTwins(policy, facts, byName, table, rule, twins);
  return {
    variant: null,
    reason: 'NO_LEVEL_COLUMN',
    detail: `none of the level columns ${(rule.levelColumns ?? []).join(', ')} is in the schema, and family ${verdict.family} declares no twin rule`,
    evidence: { ...NOT_SAMPLED, decidedBy: 'none' },
  };
}
