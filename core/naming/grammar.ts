import type { FamilyGrammar, FormSlot, Policy, SlotKind } from '../policy';

export const VIOLATION_CLASSES = [
  'UNKNOWN_FAMILY',
  'UPPERCASE',
  'LEGACY_ALIAS',
  'MISSING_VARIANT',
  'VARIANT_IN_WRONG_SLOT',
  'WINDOW_IN_TABLE_NAME',
  'UNSORTED_ENTITIES',
  'UNKNOWN_TOKEN',
] as const;
export type ViolationClass = (typeof VIOLATION_CLASSES)[number];

/** Where the canonical name's variant comes from. */
export type VariantSource = 'name' | 'policy-default' | 'needs-data' | 'alias';

export interface NameVerdict {
  readonly name: string;
  readonly compliant: boolean;
  /** Key the name is counted under: the family (cov, tri, …) or, for primary names, the type (lag, tmp, …). */
  readonly family: string;
  /** The grammar the name was read with (primary, cov, …), null when none fits. */
  readonly grammar: string | null;
  readonly violations: readonly ViolationClass[];
  readonly type: string | null;
  readonly variant: string | null;
  /** Entity tokens (pairs, currencies, ETFs) in canonical order. */
  readonly entities: readonly string[];
  /** Windows found in the table name (they belong in column names). */
  readonly windows: readonly number[];
  /** The compliant name, when the name alone determines it. */
  readonly canonical: string | null;
  /** The compliant name with a `{variant}` placeholder when the variant must come from the data. */
  readonly canonicalTemplate: string | null;
  readonly variantSource: VariantSource | null;
  /** Outside the standard: the tool's own bookkeeping tables. */
  readonly bookkeeping: boolean;
  readonly notes: readonly string[];
}

const VARIANT_PLACEHOLDER = '{variant}';
const IDENTIFIER_RE = /^[A-Za-z0-9_]+$/;
const WINDOW_TOKEN_RE = /^w?(\d+)$/;

interface Reading {
  grammar: FamilyGrammar;
  formText: string;
  violations: Set<ViolationClass>;
  type: string | null;
  variant: string | null;
  entities: string[];
  canonicalTemplate: string | null;
  notes: string[];
}

function orderViolations(set: Set<ViolationClass>): ViolationClass[] {
  return VIOLATION_CLASSES.filter((v) => set.has(v));
}

function unknownFamily(name: string, notes: string[], extra: ViolationClass[] = []): NameVerdict {
  const set = new Set<ViolationClass>(['UNKNOWN_FAMILY', ...extra]);
  return {
    name,
    compliant: false,
    family: 'unknown',
    grammar: null,
    violations: orderViolations(set),
    type: null,
    variant: null,
    entities: [],
    windows: [],
    canonical: null,
    canonicalTemplate: null,
    variantSource: null,
    bookkeeping: false,
    notes,
  };
}

function slotAccepts(policy: Policy, grammar: FamilyGrammar, slot: FormSlot, tok: string): boolean {
  switch (slot.kind) {
    case 'literal':
      return slot.value === tok;
    case 'type':
      return grammar.types.has(tok);
    case 'variant':
      return policy.variants.has(tok);
    case 'pair':
    case 'ccy':
    case 'etf':
      return policy.tokenSets[slot.kind].has(tok);
  }
}

function render(slots: readonly FormSlot[], values: Map<SlotKind, string[]>): string {
  const cursor = new Map<SlotKind, number>();
  return slots
    .map((slot) => {
      if (slot.kind === 'literal') return slot.value;
      const list = values.get(slot.kind) ?? [];
      const i = cursor.get(slot.kind) ?? 0;
      cursor.set(slot.kind, i + 1);
      return list[i] ?? `{${slot.kind}}`;
    })
    .join('_');
}

/** Reads `tokens` (windows already removed) against one form of a family. */
function readForm(policy: Policy, grammar: FamilyGrammar, form: readonly FormSlot[], formText: string, tokens: string[]): Reading {
  const violations = new Set<ViolationClass>();
  const notes: string[] = [];
  const variantSlot = form.findIndex((s) => s.kind === 'variant');
  const variantPositions = tokens.map((t, i) => (policy.variants.has(t) ? i : -1)).filter((i) => i >= 0);
  const rest = tokens.filter((t) => !policy.variants.has(t));
  const expected = form.filter((s) => s.kind !== 'variant');
  let variant: string | null = null;

  if (variantPositions.length === 0) {
    violations.add('MISSING_VARIANT');
  } else if (variantPositions.length > 1) {
    violations.add('VARIANT_IN_WRONG_SLOT');
    notes.push(`more than one variant token (${variantPositions.map((i) => tokens[i]).join(', ')})`);
  } else {
    variant = tokens[variantPositions[0]];
    if (variantPositions[0] !== variantSlot) {
      violations.add('VARIANT_IN_WRONG_SLOT');
      notes.push(`variant "${variant}" is token ${variantPositions[0] + 1}, the grammar puts it at ${variantSlot + 1}`);
    }
  }

  const values = new Map<SlotKind, string[]>();
  let type: string | null = null;
  let tokensOk = true;
  if (rest.length !== expected.length) {
    tokensOk = false;
    violations.add('UNKNOWN_TOKEN');
    notes.push(`expected ${expected.length + 1} tokens (${formText}), found ${rest.length + variantPositions.length}`);
  } else {
    expected.forEach((slot, i) => {
      const tok = rest[i];
      if (!slotAccepts(policy, grammar, slot, tok)) {
        tokensOk = false;
        violations.add('UNKNOWN_TOKEN');
        const what = slot.kind === 'literal' ? `"${slot.value}"` : `a ${slot.kind}`;
        notes.push(tok === '' ? `empty token where ${what} belongs` : `"${tok}" is not ${what}`);
        return;
      }
      if (slot.kind === 'literal') return;
      if (slot.kind === 'type') type = tok;
      values.set(slot.kind, [...(values.get(slot.kind) ?? []), tok]);
    });
  }

  for (const kind of grammar.sorted) {
    const list = values.get(kind);
    if (!list || list.length < 2) continue;
    if (new Set(list).size !== list.length) {
      tokensOk = false;
      violations.add('UNKNOWN_TOKEN');
      notes.push(`repeated ${kind} (${list.join(', ')})`);
      continue;
    }
    const sorted = [...list].sort();
    if (sorted.some((v, i) => v !== list[i])) {
      violations.add('UNSORTED_ENTITIES');
      notes.push(`${kind}s must be in ascending order: ${sorted.join(', ')}`);
      values.set(kind, sorted);
    }
  }

  const entities = form
    .filter((s) => s.kind === 'pair' || s.kind === 'ccy' || s.kind === 'etf')
    .map((s) => s.kind as SlotKind)
    .filter((k, i, arr) => arr.indexOf(k) === i)
    .flatMap((k) => values.get(k) ?? []);

  let canonicalTemplate: string | null = null;
  if (tokensOk && variantPositions.length <= 1) {
    values.set('variant', [variant ?? VARIANT_PLACEHOLDER]);
    canonicalTemplate = render(form, values);
  }
  return { grammar, formText, violations, type, variant, entities, canonicalTemplate, notes };
}

function matchAlias(policy: Policy, tokens: string[]): { canonical: string; fromText: string } | null {
  for (const alias of policy.aliases) {
    if (alias.from.length !== tokens.length) continue;
    const values = new Map<SlotKind, string[]>();
    const ok = alias.from.every((slot, i) => {
      const tok = tokens[i];
      if (slot.kind === 'literal') return slot.value === tok;
      const accepted =
        slot.kind === 'variant' ? policy.variants.has(tok) : slot.kind === 'type' ? true : policy.tokenSets[slot.kind].has(tok);
      if (accepted) values.set(slot.kind, [...(values.get(slot.kind) ?? []), tok]);
      return accepted;
    });
    if (ok) return { canonical: render(alias.to, values), fromText: alias.fromText };
  }
  return null;
}

function familyFor(policy: Policy, first: string): FamilyGrammar | null {
  const byLiteral = policy.families.find((f) => f.forms.some((form) => form[0].kind === 'literal' && form[0].value === first));
  if (byLiteral) return byLiteral;
  return policy.families.find((f) => f.forms.some((form) => form[0].kind === 'type') && f.types.has(first)) ?? null;
}

function reportKey(grammar: FamilyGrammar, type: string | null): string {
  return grammar.reportBy === 'type' && type ? type : grammar.name;
}

/**
 * Verdicts already given, per compiled policy: a verdict depends on the policy and the name alone,
 * and a Policy is not changed once compiled (every field readonly). The audits before and after,
 * the planner and readiness judge the same thousands of names in one process; each once now.
 * Frozen, as every caller shares them.
 */
const verdictsByPolicy = new WeakMap<Policy, Map<string, NameVerdict>>();

function frozenVerdict(v: NameVerdict): NameVerdict {
  Object.freeze(v.violations);
  Object.freeze(v.entities);
  Object.freeze(v.windows);
  Object.freeze(v.notes);
  return Object.freeze(v);
}

/**
 * Gives the M008 verdict for one table name. Never throws: hostile input (quotes, `;`, spaces,
 * empty strings) is an UNKNOWN_FAMILY verdict, not a crash.
 */
export function judgeName(policy: Policy, rawName: string): NameVerdict {
  const name = typeof rawName === 'string' ? rawName : String(rawName);
  let verdicts = verdictsByPolicy.get(policy);
  if (!verdicts) verdictsByPolicy.set(policy, (verdicts = new Map()));
  const known = verdicts.get(name);
  if (known) return known;
  const verdict = frozenVerdict(judgeNameOnce(policy, name));
  verdicts.set(name, verdict);
  return verdict;
}

function judgeNameOnce(policy: Policy, name: string): NameVerdict {
  if (name.length === 0) return unknownFamily(name, ['empty name']);
  if (!IDENTIFIER_RE.test(name)) {
    return unknownFamily(name, ['not a valid table identifier (only letters, digits and "_" are allowed)']);
  }
  if (name.startsWith(policy.doc.bookkeepingPrefix)) {
    return {
      name,
      compliant: true,
      family: 'bookkeeping',
      grammar: null,
      violations: [],
      type: null,
      variant: null,
      entities: [],
      windows: [],
      canonical: name,
      canonicalTemplate: name,
      variantSource: null,
      bookkeeping: true,
      notes: ['tool bookkeeping, outside the standard'],
    };
  }

  const violations = new Set<ViolationClass>();
  const notes: string[] = [];
  const lower = name.toLowerCase();
  if (lower !== name) violations.add('UPPERCASE');

  let tokens = lower.split('_');
  if (tokens.some((t) => t === '')) {
    violations.add('UNKNOWN_TOKEN');
    notes.push('empty token (leading, trailing or doubled "_")');
    tokens = tokens.filter((t) => t !== '');
  }
  if (tokens.length === 0) return unknownFamily(name, notes, [...violations]);

  const alias = matchAlias(policy, tokens);
  if (alias) {
    const target = judgeName(policy, alias.canonical);
    violations.add('LEGACY_ALIAS');
    return {
      ...target,
      name,
      compliant: false,
      violations: orderViolations(violations),
      canonical: violations.has('UNKNOWN_TOKEN') ? null : alias.canonical,
      canonicalTemplate: alias.canonical,
      variantSource: 'alias',
      notes: [...notes, `legacy spelling (${alias.fromText}) of ${alias.canonical}`],
    };
  }

  const grammar = familyFor(policy, tokens[0]);
  if (!grammar) return unknownFamily(name, [...notes, `"${tokens[0]}" starts no family of the standard`], [...violations]);

  const windows: number[] = [];
  const withoutWindows = tokens.filter((t, i) => {
    const m = WINDOW_TOKEN_RE.exec(t);
    if (i > 0 && m && policy.windows.has(Number(m[1]))) {
      windows.push(Number(m[1]));
      return false;
    }
    return true;
  });
  if (windows.length) {
    violations.add('WINDOW_IN_TABLE_NAME');
    notes.push(`window ${windows.join(', ')} belongs in column names, not the table name`);
  }

  const readings = grammar.forms.map((form, i) => readForm(policy, grammar, form, grammar.formTexts[i], withoutWindows));
  const best = readings.reduce((a, b) => (b.violations.size < a.violations.size ? b : a));
  for (const v of best.violations) violations.add(v);

  const hadEmptyToken = notes.some((n) => n.startsWith('empty token'));
  let canonical: string | null = null;
  let variantSource: VariantSource | null = null;
  let canonicalTemplate = hadEmptyToken ? null : best.canonicalTemplate;
  if (canonicalTemplate) {
    if (best.variant) {
      variantSource = 'name';
      canonical = canonicalTemplate;
    } else if (best.type && policy.doc.variantlessTypes.includes(best.type)) {
      variantSource = 'policy-default';
      canonical = canonicalTemplate.replace(VARIANT_PLACEHOLDER, policy.doc.defaultVariant);
      canonicalTemplate = canonical;
    } else {
      variantSource = 'needs-data';
    }
  }

  const ordered = orderViolations(violations);
  return {
    name,
    compliant: ordered.length === 0,
    family: reportKey(grammar, best.type),
    grammar: grammar.name,
    violations: ordered,
    type: best.type,
    variant: best.variant,
    entities: best.entities,
    windows,
    canonical,
    canonicalTemplate,
    variantSource,
    bookkeeping: false,
    notes: [...notes, ...best.notes],
  };
}

/** The canonical name for a verdict once the variant is known (from data or policy). */
export function canonicalWithVariant(verdict: NameVerdict, variant: string): string | null {
  if (verdict.canonical) return verdict.canonical;
  if (!verdict.canonicalTemplate) return null;
  return verdict.canonicalTemplate.replace(VARIANT_PLACEHOLDER, variant);
}
