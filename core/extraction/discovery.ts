/**
 * What the extract job (Job 1, facts §6.1) reads for a pair, before and after a plan. The job's
 * discovery rule is data (policy `extraction.groups`): by name only, from
 * INFORMATION_SCHEMA.TABLES, which lists views too. During the grace period every compatibility
 * view keeps an old name that matches the same groups as before, so a name-only discovery reads
 * each renamed feature twice (and before Phase 4C it already read each legacy twin beside its
 * canonical copy). Pure: a catalogue listing and a plan in, sets of table names out.
 */
import type { Plan } from '../plan/types';
import type { Policy } from '../policy';

/** The extract job's environment variable that says how it finds its tables. */
export const DISCOVERY_ENV = 'EXTRACTION_DISCOVERY';
/** With `manifest`: where the per-pair manifest is (`{pair}` is replaced by the job). */
export const MANIFEST_ENV = 'EXTRACTION_MANIFEST';
/**
 * How the extract job finds its tables: `name-only` (INFORMATION_SCHEMA.TABLES by name, views
 * included: what the job did before the setting existed, and what a job without DISCOVERY_ENV
 * does), `base-tables` (the same, `table_type = 'BASE TABLE'` only), `manifest` (the per-pair
 * manifest the runner writes after apply).
 */
export const DISCOVERY_MODES = ['name-only', 'base-tables', 'manifest'] as const;
export type DiscoveryMode = (typeof DISCOVERY_MODES)[number];
/** Discovery modes that read each feature once during the grace period. */
export const FIXED_MODES = ['base-tables', 'manifest'] as const satisfies readonly DiscoveryMode[];

export interface DiscoveryGroup {
  readonly name: string;
  readonly contains?: string;
  readonly prefix?: string;
  readonly excludeSuffix?: string;
}

export interface DiscoveryRule {
  readonly groups: readonly DiscoveryGroup[];
  readonly excludeColumns: ReadonlySet<string>;
  readonly manifestPath: string;
  /** The pairs of the policy's token set. */
  readonly pairs: readonly string[];
}

export function discoveryRule(policy: Policy): DiscoveryRule {
  const e = policy.doc.extraction;
  return { groups: e.groups, excludeColumns: new Set(e.excludeColumns), manifestPath: e.manifestPath, pairs: policy.doc.tokens.pair };
}

/** A matcher of one pair's discovery: the group that picks a table up (by name only), or null. */
export function discoveryMatcher(rule: DiscoveryRule, pair: string): (table: string) => string | null {
  const groups = rule.groups.map((g) => ({ ...g, contains: g.contains?.split('{pair}').join(pair) }));
  return (table) => {
    for (const g of groups) {
      if (g.excludeSuffix && table.endsWith(g.excludeSuffix)) continue;
      if (g.contains !== undefined && table.includes(g.contains)) return g.name;
      if (g.prefix !== undefined && table.startsWith(g.prefix)) return g.name;
    }
    return null;
  };
}

/** The prefix of a table's training columns: every `_{pair}` removed, `__` collapsed (facts §6.1). */
export function trainingPrefix(table: string, pair: string): string {
  const cut = table.includes(`_${pair}`) ? table.split(`_${pair}`).join('') : table;
  return cut.includes('__') ? cut.replace(/__+/g, '_') : cut;
}

/** A training-file column name: `{prefix}_{column}`. */
export function trainingColumn(table: string, pair: string, column: string): string {
  return `${trainingPrefix(table, pair)}_${column}`;
}

export function manifestObjectPath(rule: DiscoveryRule, pair: string): string {
  return rule.manifestPath.split('{pair}').join(pair);
}

/** A pair of the policy, or a BAD_INPUT message saying which ones exist. */
export function pairProblem(rule: DiscoveryRule, pair: string): string | null {
  return rule.pairs.includes(pair) ? null : `"${pair}" is not a pair of the policy (${rule.pairs.join(', ')})`;
}

/** What the listing tells about a table: its kind and columns (a view: the old table's columns). */
export interface ListedTable {
  readonly name: string;
  readonly kind: string;
  readonly columns: readonly { readonly name: string }[];
  readonly viewQuery?: string;
}

/**
 * The tables the warehouse holds once the plan is applied: KEEP and REVIEW keep their sources,
 * RENAME and CONSOLIDATE leave their target, DEDUPE removes its source (the twin stays).
 * Compatibility views are not tables.
 */
export function namesAfterPlan(plan: Plan): string[] {
  const names = new Set<string>();
  for (const op of plan.operations) {
    if (op.action === 'KEEP' || op.action === 'REVIEW') op.sources.forEach((s) => names.add(s));
    else if (op.action === 'RENAME' || op.action === 'CONSOLIDATE') names.add(op.target as string);
  }
  return [...names];
}

/** Legacy copies the plan folds into a canonical table: DEDUPE sources and consolidation copies. */
export function redundantSources(plan: Plan): Map<string, { kind: 'LEGACY_TWIN' | 'WINDOW_COPY'; sameAs: string }> {
  const out = new Map<string, { kind: 'LEGACY_TWIN' | 'WINDOW_COPY'; sameAs: string }>();
  for (const op of plan.operations) {
    if (op.action === 'DEDUPE' && op.target) for (const s of op.sources) out.set(s, { kind: 'LEGACY_TWIN', sameAs: op.target });
    if (op.action === 'CONSOLIDATE' && op.consolidation) {
      for (const w of op.consolidation.windows) for (const c of w.copies) out.set(c, { kind: 'WINDOW_COPY', sameAs: w.source });
    }
  }
  return out;
}

export type DuplicateKind = 'LEGACY_TWIN' | 'WINDOW_COPY' | 'COMPATIBILITY_VIEW';

/** A table or view a name-only discovery picks up although its feature is already read once. */
export interface DuplicateByName {
  readonly name: string;
  /** `before`: among the tables before the plan; `grace`: a view during the grace period. */
  readonly when: 'before' | 'grace';
  readonly kind: DuplicateKind;
  /** As INFORMATION_SCHEMA.TABLES.table_type says it. */
  readonly tableType: 'BASE TABLE' | 'VIEW';
  /** The table that holds the same feature (null when a view's target cannot be read). */
  readonly sameAs: string | null;
  /** The discovery group that picks it up. */
  readonly group: string;
}

export interface ExtractionSets {
  readonly pair: string;
  readonly planHash: string | null;
  /** The base tables the job must read before the plan, each feature once. */
  readonly before: { readonly tables: string[] };
  /** The base tables the job must read once the plan is applied, each feature once. */
  readonly after: { readonly tables: string[] };
  /** What a discovery by name alone would also pick up. */
  readonly duplicatesByName: DuplicateByName[];
  /** How many tables and views a name-only discovery reads: before the plan, and during the grace period. */
  readonly nameOnly: { readonly before: number; readonly grace: number };
  /** Base tables of the listing the plan does not know (read before and after). */
  readonly unmanaged: string[];
  /** The object the runner writes after apply for the job to read instead of discovering. */
  readonly manifestPath: string;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The target of a view, read from its SQL (`… FROM \`p.d.t\``): null when it cannot be read. */
export function viewTarget(sql: string | undefined): string | null {
  if (!sql) return null;
  const m = /\bFROM\s+((?:[`"]?[\w-]+[`"]?\.)*[`"]?[\w-]+[`"]?)/i.exec(sql);
  if (!m) return null;
  const parts = m[1].split('.').map((p) => p.replace(/[`"]/g, ''));
  return parts[parts.length - 1] || null;
}

/** What `extractionSets` derives from a listing and a plan once, for any number of pairs. */
export interface ExtractionBasis {
  readonly rule: DiscoveryRule;
  readonly plan: Plan | null;
  readonly baseTables: readonly string[];
  readonly listedViews: readonly ListedTable[];
  readonly sources: ReadonlySet<string>;
  readonly afterNames: ReadonlySet<string>;
  readonly redundant: ReadonlyMap<string, { kind: 'LEGACY_TWIN' | 'WINDOW_COPY'; sameAs: string }>;
  readonly planViews: ReadonlySet<string>;
}

export function extractionBasis(rule: DiscoveryRule, listing: readonly ListedTable[], plan: Plan | null): ExtractionBasis {
  return {
    rule,
    plan,
    baseTables: listing.filter((t) => t.kind !== 'VIEW').map((t) => t.name),
    listedViews: listing.filter((t) => t.kind === 'VIEW'),
    sources: new Set(plan ? plan.operations.flatMap((o) => o.sources) : []),
    afterNames: new Set(plan ? namesAfterPlan(plan) : []),
    redundant: plan ? redundantSources(plan) : new Map(),
    planViews: new Set(plan ? plan.views.map((v) => v.name) : []),
  };
}

/**
 * The extraction sets of one pair. With a plan: `before` is the catalogue the plan was made from
 * (its operations' sources) without the legacy copies it folds in; `after` is the end state it
 * implies; the duplicates are those copies (before) and every compatibility view (the plan's, and any
 * the listing already holds). Without a plan: the listing as it is (views are the duplicates).
 */
export function extractionSets(rule: DiscoveryRule, listing: readonly ListedTable[], plan: Plan | null, pair: string): ExtractionSets {
  return extractionSetsOf(extractionBasis(rule, listing, plan), pair);
}

export function extractionSetsOf(basis: ExtractionBasis, pair: string): ExtractionSets {
  const { rule, plan } = basis;
  const group = discoveryMatcher(rule, pair);
  const duplicates: DuplicateByName[] = [];
  const unmanaged: string[] = [];
  const viewDuplicate = (v: ListedTable) => {
    const g = group(v.name);
    if (g) duplicates.push({ name: v.name, when: 'grace', kind: 'COMPATIBILITY_VIEW', tableType: 'VIEW', sameAs: viewTarget(v.viewQuery), group: g });
  };
  let before: string[];
  let after: string[];
  if (plan) {
    for (const t of basis.baseTables) if (!basis.sources.has(t) && !basis.afterNames.has(t) && group(t)) unmanaged.push(t);
    before = [...basis.sources].filter((n) => !basis.redundant.has(n) && group(n));
    after = [...basis.afterNames].filter((n) => group(n));
    for (const [name, r] of basis.redundant) {
      const g = group(name);
      if (g) duplicates.push({ name, when: 'before', kind: r.kind, tableType: 'BASE TABLE', sameAs: r.sameAs, group: g });
    }
    for (const v of plan.views) {
      const g = group(v.name);
      if (g) duplicates.push({ name: v.name, when: 'grace', kind: 'COMPATIBILITY_VIEW', tableType: 'VIEW', sameAs: v.target, group: g });
    }
    for (const v of basis.listedViews) if (!basis.planViews.has(v.name)) viewDuplicate(v);
    before.push(...unmanaged);
    after.push(...unmanaged);
  } else {
    before = basis.baseTables.filter((n) => group(n));
    after = [...before];
    for (const v of basis.listedViews) viewDuplicate(v);
  }
  before = [...new Set(before)].sort(byName);
  after = [...new Set(after)].sort(byName);
  duplicates.sort((a, b) => (a.when === b.when ? byName(a.name, b.name) : a.when === 'before' ? -1 : 1));
  const dupBefore = duplicates.filter((d) => d.when === 'before').length;
  return {
    pair,
    planHash: plan?.planHash ?? null,
    before: { tables: before },
    after: { tables: after },
    duplicatesByName: duplicates,
    nameOnly: { before: before.length + dupBefore, grace: after.length + duplicates.length - dupBefore },
    unmanaged: unmanaged.sort(byName),
    manifestPath: manifestObjectPath(rule, pair),
  };
}

/** Pairs the listing or the plan holds tables for (the policy's pairs, in its order). */
export function pairsInCatalogue(rule: DiscoveryRule, names: Iterable<string>): string[] {
  const all = [...names];
  return rule.pairs.filter((p) => all.some((n) => n.includes(p)));
}
