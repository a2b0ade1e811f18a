/**
 * M008 column names (facts §1.5–1.6), judged from the policy's `columns` section: feature columns
 * `{feature_type}_{metric}_{window}`, reserved metadata columns, targets
 * `target_{variant}{window}_h{horizon}`, and the window-less names the policy documents as
 * exceptions. Pure: no warehouse, no I/O; hostile input is a verdict, never a throw.
 */
import type { Policy } from '../policy';

export const COLUMN_VIOLATIONS = ['WINDOW_VIOLATION', 'PATTERN_VIOLATION', 'INVALID_NAME'] as const;
export type ColumnViolation = (typeof COLUMN_VIOLATIONS)[number];

/** Why a name is what it is: the rule that decided. */
export type ColumnRule = 'feature' | 'target' | 'reserved' | 'exempt' | 'exception' | 'violation';

export interface ColumnVerdict {
  readonly name: string;
  readonly compliant: boolean;
  /** The class of the violation, null when compliant (documented exceptions included). */
  readonly violation: ColumnViolation | null;
  readonly rule: ColumnRule;
  /** For a documented window-less exception: the policy's reason. */
  readonly exception: string | null;
  readonly note: string | null;
  /** For a PATTERN_VIOLATION: the compliant name the policy's feature types give (`ema_45` → `mom_ema_45`). */
  readonly proposal: string | null;
}

/** The policy's column section, compiled once per policy. */
export interface ColumnGrammar {
  readonly feature: RegExp;
  readonly windowSuffix: RegExp;
  readonly target: RegExp;
  readonly variants: ReadonlySet<string>;
  readonly windows: ReadonlySet<number>;
  readonly horizons: ReadonlySet<number>;
  readonly exempt: ReadonlySet<string>;
  readonly reserved: ReadonlySet<string>;
  /** Name → reason. */
  readonly exceptions: ReadonlyMap<string, string>;
  /** The team's recorded decision: its validator's pattern and exemptions, window-less names accepted or not. */
  readonly team: { readonly pattern: RegExp; readonly exempt: ReadonlySet<string>; readonly windowlessAccepted: boolean };
  /** Metric (the first token of a PATTERN_VIOLATION) → the feature type to prefix. */
  readonly proposedType: ReadonlyMap<string, string>;
}

const compiled = new WeakMap<Policy, ColumnGrammar>();

export function columnGrammar(policy: Policy): ColumnGrammar {
  let g = compiled.get(policy);
  if (!g) {
    const c = policy.doc.columns;
    g = {
      feature: new RegExp(c.featurePattern),
      windowSuffix: new RegExp(c.windowSuffix),
      target: new RegExp(c.targetPattern),
      variants: policy.variants,
      windows: policy.windows,
      horizons: new Set(c.horizons),
      exempt: new Set(c.exempt),
      reserved: new Set(c.reserved),
      exceptions: new Map(c.windowlessExceptions.flatMap((e) => e.names.map((n) => [n, e.reason] as const))),
      team: { pattern: new RegExp(c.teamDecision.pattern), exempt: new Set(c.teamDecision.exempt), windowlessAccepted: c.teamDecision.windowlessAccepted },
      proposedType: new Map(Object.entries(c.proposedFeatureTypes).flatMap(([type, metrics]) => metrics.map((m) => [m, type] as const))),
    };
    compiled.set(policy, g);
  }
  return g;
}

/** Letters, digits and `_`, not starting with a digit: what a BigQuery column name can be. */
const IDENTIFIER_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_SHOWN = 80;

function shown(name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_SHOWN ? `${printable.slice(0, MAX_SHOWN)}…` : printable;
}

const verdict = (name: string, rule: ColumnRule, violation: ColumnViolation | null, note: string | null = null, exception: string | null = null, proposal: string | null = null): ColumnVerdict => ({
  name,
  compliant: violation === null,
  violation,
  rule,
  exception,
  note,
  proposal,
});

/** The compliant name for `{metric}_{window}`: the policy's feature type for the metric, prefixed. */
function propose(grammar: ColumnGrammar, name: string): string | null {
  const type = grammar.proposedType.get(name.split('_')[0]);
  if (!type) return null;
  const candidate = `${type}_${name}`;
  return grammar.feature.test(candidate) && grammar.windows.has(Number(/_(\d+)$/.exec(candidate)?.[1])) ? candidate : null;
}

/** The M008 verdict for one column name. */
export function judgeColumn(grammar: ColumnGrammar, rawName: unknown): ColumnVerdict {
  const name = typeof rawName === 'string' ? rawName : String(rawName);
  if (name.length === 0) return verdict(name, 'violation', 'INVALID_NAME', 'empty name');
  if (!IDENTIFIER_RE.test(name)) {
    return verdict(name, 'violation', 'INVALID_NAME', `"${shown(name)}" is not a column identifier (letters, digits and "_", not starting with a digit)`);
  }
  if (grammar.reserved.has(name)) return verdict(name, 'reserved', null, 'reserved metadata column');
  if (grammar.exempt.has(name)) return verdict(name, 'exempt', null, 'exempt by the validator');

  const target = grammar.target.exec(name);
  if (name.startsWith('target_') || target) {
    if (!target) return verdict(name, 'violation', 'PATTERN_VIOLATION', 'a target is target_{variant}{window}_h{horizon}, e.g. target_bqx45_h15');
    const [, variant, window, horizon] = target;
    const wrong: string[] = [];
    if (!grammar.variants.has(variant)) wrong.push(`variant "${variant}" is not ${[...grammar.variants].join(' or ')}`);
    if (!grammar.windows.has(Number(window)) || String(Number(window)) !== window) wrong.push(`window ${window} is not one of ${[...grammar.windows].join(', ')}`);
    if (!grammar.horizons.has(Number(horizon)) || String(Number(horizon)) !== horizon) wrong.push(`horizon h${horizon} is not one of ${[...grammar.horizons].map((h) => `h${h}`).join(', ')}`);
    return wrong.length ? verdict(name, 'violation', 'PATTERN_VIOLATION', wrong.join('; ')) : verdict(name, 'target', null);
  }

  if (/[A-Z]/.test(name)) return verdict(name, 'violation', 'PATTERN_VIOLATION', 'uppercase letters: column names are lowercase');
  if (grammar.feature.test(name)) {
    const window = /_([0-9]+)$/.exec(name)?.[1] ?? '';
    if (grammar.windows.has(Number(window)) && String(Number(window)) === window) return verdict(name, 'feature', null);
    return verdict(name, 'violation', 'WINDOW_VIOLATION', `trailing ${window} is not a window (${[...grammar.windows].join(', ')})`);
  }
  const exception = grammar.exceptions.get(name);
  if (exception !== undefined) return verdict(name, 'exception', null, 'documented window-less exception', exception);
  if (!grammar.windowSuffix.test(name)) return verdict(name, 'violation', 'WINDOW_VIOLATION', 'no trailing window (_45, _90, …)');
  const proposal = propose(grammar, name);
  return verdict(name, 'violation', 'PATTERN_VIOLATION', `ends in a window but is not {feature_type}_{metric}_{window}${proposal ? `: propose ${proposal}` : ''}`, null, proposal);
}

/** One column of one table (warehouse mode), or one name of a list (names mode). */
export interface ColumnAuditEntry {
  readonly name: string;
  /** The table holding the column; absent for a list of names. */
  readonly table?: string;
  readonly compliant: boolean;
  readonly violation: ColumnViolation | null;
}

/** One distinct column name, with how many tables hold it (warehouse) or how often the list names it. */
export interface ColumnNameEntry {
  readonly name: string;
  readonly compliant: boolean;
  readonly violation: ColumnViolation | null;
  readonly rule: ColumnRule;
  readonly occurrences: number;
  readonly note: string | null;
  readonly proposal: string | null;
}

/** A name the tool judges otherwise than the team's recorded decision did, and why. */
export interface ColumnDeparture {
  readonly name: string;
  /** What the team's decision says of the name. */
  readonly team: 'accepted' | 'violation';
  /** Stricter: the tool flags a name the team accepted; looser: the tool accepts one the team flagged. */
  readonly tool: 'stricter' | 'looser';
  readonly why: string;
}

export interface ColumnCounts {
  readonly total: number;
  readonly compliant: number;
  /** Compliant only because the policy documents them (window-less exceptions). */
  readonly exceptions: number;
  readonly nonCompliant: number;
  readonly byViolation: Readonly<Record<ColumnViolation, number>>;
  readonly byRule: Readonly<Record<ColumnRule, number>>;
}

export interface ColumnAuditSummary {
  /** Base tables judged (views are not: a compatibility view repeats its old table's columns). */
  readonly tables: number | null;
  readonly views: number | null;
  /** Every (table, column) pair; in names mode, every name of the list. */
  readonly columns: ColumnCounts;
  /** Distinct column names. */
  readonly names: ColumnCounts;
  /** Tables holding at least one non-compliant column. */
  readonly tablesWithViolations: number | null;
}

export interface ColumnAuditResult {
  readonly columns: ColumnAuditEntry[];
  readonly names: ColumnNameEntry[];
  readonly summary: ColumnAuditSummary;
  /** Names judged otherwise than the team's recorded decision, by name. */
  readonly departures: ColumnDeparture[];
  /** Documented exceptions no audited table holds (warehouse mode; empty for a list of names). */
  readonly unusedExceptions: string[];
}

/** The team's decision on one name: its validator's pattern, its exemptions, and (when recorded) every window-less name accepted. */
function teamAccepts(grammar: ColumnGrammar, name: string): boolean {
  return grammar.team.exempt.has(name) || grammar.team.pattern.test(name) || (grammar.team.windowlessAccepted && !grammar.windowSuffix.test(name));
}

function departures(grammar: ColumnGrammar, verdicts: Iterable<ColumnVerdict>): ColumnDeparture[] {
  const out: ColumnDeparture[] = [];
  for (const v of verdicts) {
    if (v.violation === 'INVALID_NAME') continue;
    const team = teamAccepts(grammar, v.name);
    if (team && !v.compliant) {
      const why = !grammar.windowSuffix.test(v.name)
        ? 'window-less, and not a documented exception: a statistic over a lookback whose window the name must carry (it collides when window tables are consolidated)'
        : `${v.note ?? String(v.violation)}; the team's validator accepts any trailing number`;
      out.push({ name: v.name, team: 'accepted', tool: 'stricter', why });
    }
    if (!team && v.compliant) out.push({ name: v.name, team: 'violation', tool: 'looser', why: v.exception ?? v.note ?? v.rule });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function count(verdicts: readonly ColumnVerdict[]): ColumnCounts {
  const byViolation = Object.fromEntries(COLUMN_VIOLATIONS.map((v) => [v, 0])) as Record<ColumnViolation, number>;
  const byRule: Record<ColumnRule, number> = { feature: 0, target: 0, reserved: 0, exempt: 0, exception: 0, violation: 0 };
  let compliant = 0;
  for (const v of verdicts) {
    byRule[v.rule]++;
    if (v.compliant) compliant++;
    else if (v.violation) byViolation[v.violation]++;
  }
  return { total: verdicts.length, compliant, exceptions: byRule.exception, nonCompliant: verdicts.length - compliant, byViolation, byRule };
}

/** Audits a list of column names (the pre-commit lint): each name once, in the order given. */
export function auditColumnNames(policy: Policy, names: readonly string[]): ColumnAuditResult {
  const grammar = columnGrammar(policy);
  const verdicts = names.map((n) => judgeColumn(grammar, n));
  const distinct = new Map<string, { v: ColumnVerdict; n: number }>();
  for (const v of verdicts) {
    const d = distinct.get(v.name);
    if (d) d.n++;
    else distinct.set(v.name, { v, n: 1 });
  }
  const names_ = [...distinct.values()].map(({ v, n }) => nameEntry(v, n));
  return {
    columns: verdicts.map((v) => ({ name: v.name, compliant: v.compliant, violation: v.violation })),
    names: names_,
    summary: { tables: null, views: null, columns: count(verdicts), names: count([...distinct.values()].map((d) => d.v)), tablesWithViolations: null },
    departures: departures(grammar, [...distinct.values()].map((d) => d.v)),
    unusedExceptions: [],
  };
}

function nameEntry(v: ColumnVerdict, occurrences: number): ColumnNameEntry {
  return { name: v.name, compliant: v.compliant, violation: v.violation, rule: v.rule, occurrences, note: v.exception ?? v.note, proposal: v.proposal };
}

/**
 * Audits the columns of a catalogue listing: every column of every base table, and every distinct
 * name once. Views and the tool's bookkeeping tables are not judged.
 */
export function auditCatalogueColumns(
  policy: Policy,
  tables: readonly { readonly name: string; readonly kind: string; readonly columns: readonly { readonly name: string }[] }[],
): ColumnAuditResult {
  const grammar = columnGrammar(policy);
  const cache = new Map<string, ColumnVerdict>();
  const judge = (n: string) => {
    let v = cache.get(n);
    if (!v) cache.set(n, (v = judgeColumn(grammar, n)));
    return v;
  };
  const judged = tables.filter((t) => t.kind !== 'VIEW' && !t.name.startsWith(policy.doc.bookkeepingPrefix)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const columns: ColumnAuditEntry[] = [];
  const all: ColumnVerdict[] = [];
  const perName = new Map<string, number>();
  let tablesWithViolations = 0;
  for (const t of judged) {
    let bad = false;
    for (const c of t.columns) {
      const v = judge(c.name);
      all.push(v);
      columns.push({ name: c.name, table: t.name, compliant: v.compliant, violation: v.violation });
      perName.set(c.name, (perName.get(c.name) ?? 0) + 1);
      if (!v.compliant) bad = true;
    }
    if (bad) tablesWithViolations++;
  }
  const names = [...perName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([n, k]) => nameEntry(judge(n), k));
  return {
    columns,
    names,
    summary: {
      tables: judged.length,
      views: tables.filter((t) => t.kind === 'VIEW').length,
      columns: count(all),
      names: count(names.map((n) => judge(n.name))),
      tablesWithViolations,
    },
    departures: departures(grammar, names.map((n) => judge(n.name))),
    unusedExceptions: [...grammar.exceptions.keys()].filter((n) => !perName.has(n)).sort(),
  };
}
