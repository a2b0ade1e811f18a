/**
 * Expands a name template with the values the code gives its variables, else with the catalogue's
 * token sets (a slot named like a pair takes the 28 pairs, …), else matches the known names.
 */
import type { Bindings } from './templates';

/** Known names and token sets a template is expanded with when the code does not say. */
export interface NameSpace {
  /** Every table or view name known before or after the plan (sorted). */
  readonly known: readonly string[];
  readonly tokens: { readonly pair: readonly string[]; readonly ccy: readonly string[]; readonly etf: readonly string[]; readonly variant: readonly string[]; readonly type: readonly string[] };
}

export type ResolvedBy = 'literal' | 'code' | 'catalogue' | 'unresolved';

export interface Resolution {
  readonly names: readonly string[];
  readonly by: ResolvedBy;
  /** The template as a regular expression (slots as alternations of their values, or wildcards). */
  readonly regex: string;
}

const MAX_EXPANSION = 20_000;
const MAX_DEPTH = 6;
const NAME_RE = /^[A-Za-z0-9_]+$/;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One expansion and the value each variable took for it (a variable takes one value per name). */
interface Choice {
  readonly s: string;
  readonly env: ReadonlyMap<string, string>;
}

interface Expansion {
  /** Every value, when finite and known; null otherwise. */
  values: Choice[] | null;
  regex: string;
  /** Some slot took the catalogue's token set, not the code's values. */
  fromCatalogue: boolean;
  /** Some slot had no value at all (a wildcard). */
  wildcard: boolean;
}

/** The token set a slot's name suggests (`pair1` → pairs, `ccy` → currencies), or null. */
export function tokenSetFor(slot: string, ns: NameSpace): readonly string[] | null {
  const s = slot.toLowerCase();
  if (/pair/.test(s)) return ns.tokens.pair;
  if (/ccy|curr|currency/.test(s)) return ns.tokens.ccy;
  if (/etf|instrument/.test(s)) return ns.tokens.etf;
  if (/variant/.test(s)) return [...ns.tokens.variant, ...ns.tokens.type];
  if (/^(feature_?)?type$|^family$|^t$/.test(s)) return ns.tokens.type;
  return null;
}

function parts(template: string): { lit?: string; slot?: string }[] {
  const out: { lit?: string; slot?: string }[] = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    if (m.index > last) out.push({ lit: template.slice(last, m.index) });
    out.push({ slot: m[1] });
    last = m.index + m[0].length;
  }
  if (last < template.length) out.push({ lit: template.slice(last) });
  return out;
}

/** Joins two choices; null when a variable would take two values or a loop's row does not occur. */
function merge(a: Choice, b: Choice, bindings: Bindings): Choice | null {
  const env = new Map(a.env);
  for (const [k, v] of b.env) {
    const had = env.get(k);
    if (had !== undefined && had !== v) return null;
    env.set(k, v);
  }
  for (const g of bindings.groups) {
    if (g.vars.every((v) => env.has(v)) && !g.rows.has(g.vars.map((v) => env.get(v)).join('\u0000'))) return null;
  }
  return { s: a.s + b.s, env };
}

function expand(template: string, b: Bindings, ns: NameSpace, depth: number, seen: ReadonlySet<string>, wildcard: string): Expansion {
  let values: Choice[] | null = [{ s: '', env: new Map() }];
  let regex = '';
  let fromCatalogue = false;
  let wild = false;
  for (const p of parts(template)) {
    let pv: Choice[] | null;
    let pr: string;
    if (p.lit !== undefined) {
      pv = [{ s: p.lit, env: new Map() }];
      pr = escape(p.lit);
    } else {
      const [slot, kase] = (p.slot as string).split('|');
      const bound = b.vars.get(slot);
      const tokens = tokenSetFor(slot, ns);
      const caseOf = (x: string) => (kase === 'lower' ? x.toLowerCase() : kase === 'upper' ? x.toUpperCase() : x);
      if (bound && !seen.has(slot) && depth < MAX_DEPTH) {
        const subs = [...bound].map((v) => expand(v, b, ns, depth + 1, new Set([...seen, slot]), wildcard));
        const open = b.open.has(slot) && tokens;
        pv = subs.every((x) => x.values) ? subs.flatMap((x) => (x.values as Choice[]).map((c) => ({ s: caseOf(c.s), env: new Map([...c.env, [slot, c.s]]) }))) : null;
        if (pv && open) pv.push(...tokens.filter((t) => !pv?.some((c) => c.s === t)).map((t) => ({ s: t, env: new Map([[slot, t]]) })));
        pr = `(?:${[...subs.map((x) => x.regex), ...(open ? tokens.map(escape) : [])].join('|')})`;
        fromCatalogue ||= subs.some((x) => x.fromCatalogue) || Boolean(open);
        wild ||= subs.some((x) => x.wildcard);
      } else if (tokens) {
        pv = tokens.map((t) => ({ s: t, env: new Map([[slot, t]]) }));
        pr = `(?:${tokens.map(escape).join('|')})`;
        fromCatalogue = true;
      } else {
        pv = null;
        pr = wildcard;
        wild = true;
      }
    }
    regex += pr;
    if (values && pv && values.length * pv.length <= MAX_EXPANSION) {
      const next: Choice[] = [];
      for (const a of values) for (const c of pv) {
        const m = merge(a, c, b);
        if (m) next.push(m);
      }
      values = next;
    } else values = null;
  }
  return { values, regex, fromCatalogue, wildcard: wild };
}

/** Literal characters of a template that anchor it (a bare `{table}` anchors nothing). */
function anchor(template: string): number {
  return template.replace(/\{[^{}]*\}/g, '').replace(/[_.]/g, '').length;
}

/**
 * A table-name template's names. All slots from the code: every expansion (names that exist
 * nowhere stay: a generator may create them). A slot from the catalogue's token sets or unknown: the
 * known names the template matches (when it has literal text to anchor it).
 */
export function resolveTemplate(template: string, b: Bindings, ns: NameSpace): Resolution {
  const e = expand(template, b, ns, 0, new Set(), '[A-Za-z0-9_]+');
  const isLiteral = !/\{/.test(template);
  if (e.values && !e.fromCatalogue && !e.wildcard) {
    const names = e.values.map((c) => c.s).filter((v) => NAME_RE.test(v));
    return { names: [...new Set(names)].sort(), by: isLiteral ? 'literal' : 'code', regex: e.regex };
  }
  if (anchor(template) < 3) return { names: [], by: 'unresolved', regex: e.regex };
  const re = new RegExp(`^${e.regex}$`);
  return { names: ns.known.filter((n) => re.test(n)), by: 'catalogue', regex: e.regex };
}

/** A value's possible literal values (for a dataset or project slot), or null when not all known. */
export function literalValues(template: string, b: Bindings, ns: NameSpace): string[] | null {
  return expand(template, b, ns, 0, new Set(), '.*').values?.map((c) => c.s) ?? null;
}

/** A discovery pattern (already a regex with template slots) as a regex over table names. */
export function patternRegex(regexWithSlots: string, b: Bindings, ns: NameSpace): RegExp {
  // Slots inside a pattern expand like a template's, their wildcard matching anything.
  let out = '';
  let last = 0;
  const re = /\{([A-Za-z_]\w*)\}/g;
  for (let m = re.exec(regexWithSlots); m; m = re.exec(regexWithSlots)) {
    out += regexWithSlots.slice(last, m.index) + expand(`{${m[1]}}`, b, ns, 0, new Set(), '.*').regex;
    last = m.index + m[0].length;
  }
  out += regexWithSlots.slice(last);
  try {
    return new RegExp(`^(?:${out})$`);
  } catch {
    return /^$/;
  }
}
