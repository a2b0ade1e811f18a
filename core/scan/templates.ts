/**
 * Names in a team's code are usually built: f-strings, `.format`, `%`, concatenation, shell
 * variables. A template is the name with its variable parts left as `{var}` slots; this module turns
 * source expressions into templates and collects what the file itself assigns to its variables
 * (literals, lists, loops over lists, `combinations`/`product`/`zip` of lists). Pure text in, data out.
 */

/** Variables bound together by one loop (`for a, b in combinations(X, 2)`): only these rows occur. */
export interface TupleGroup {
  readonly vars: readonly string[];
  /** Each row's values joined by NUL. */
  readonly rows: ReadonlySet<string>;
}

/** What a file gives its variables: each one's possible values (templates themselves), loop groups, and variables read from the environment. */
export interface Bindings {
  readonly vars: Map<string, Set<string>>;
  readonly groups: TupleGroup[];
  /** Variables whose value is an environment variable's default: the environment may say otherwise. */
  readonly open: Set<string>;
}

export function emptyBindings(): Bindings {
  return { vars: new Map(), groups: [], open: new Set() };
}

export type SourceKind = 'python' | 'shell' | 'sql' | 'dockerfile' | 'cloudbuild';

const PY_STRING = /^([rRbBuUfF]{0,2})('''|"""|'|")/;

function bind(b: Bindings, name: string, values: Iterable<string>): void {
  const set = b.vars.get(name) ?? new Set<string>();
  for (const v of values) set.add(v);
  b.vars.set(name, set);
}

/** Rows of `k`-combinations (i < j …), permutations (distinct indexes) or zip of lists, for a tuple group. */
function tupleRows(kind: 'combinations' | 'permutations' | 'zip', lists: readonly (readonly string[])[], k: number): Set<string> {
  const rows = new Set<string>();
  if (kind === 'zip') {
    const len = Math.min(...lists.map((l) => l.length));
    for (let i = 0; i < len; i++) rows.add(lists.map((l) => l[i]).join('\u0000'));
    return rows;
  }
  const items = lists[0];
  const pick = (start: number, chosen: number[]) => {
    if (chosen.length === k) {
      rows.add(chosen.map((i) => items[i]).join('\u0000'));
      return;
    }
    for (let i = kind === 'combinations' ? start : 0; i < items.length; i++) if (!chosen.includes(i)) pick(i + 1, [...chosen, i]);
  };
  if (items.length <= 64) pick(0, []);
  return rows;
}

/**
 * A slot's variable: `pair` → pair, `self.dataset` → dataset, `cfg['x']` → cfg, `ccy.lower()` →
 * `ccy|lower` (the case change applies to its values); anything else `?`.
 */
export function slotName(expr: string): string {
  let e = expr.trim().replace(/![rsa]$/, '');
  const colon = e.indexOf(':');
  if (colon > 0 && !e.slice(0, colon).includes('[')) e = e.slice(0, colon);
  const kase = /\.(lower|upper)\(\)/.exec(e)?.[1];
  e = e.replace(/(\.(lower|upper|strip|replace)\([^)]*\))+$/, '').replace(/\[[^\]]*\]$/, '');
  const m = /^[A-Za-z_][\w.]*$/.exec(e);
  if (!m) return '?';
  const parts = e.split('.');
  const name = parts[parts.length - 1] || '?';
  return kase ? `${name}|${kase}` : name;
}

/** The body of an f-string as a template: `{expr}` → `{var}`, `{{`/`}}` → literal braces (dropped). */
function fstringTemplate(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{' && body[i + 1] === '{') {
      i++;
      continue;
    }
    if (c === '}' && body[i + 1] === '}') {
      i++;
      continue;
    }
    if (c === '{') {
      let depth = 1;
      let j = i + 1;
      while (j < body.length && depth > 0) {
        if (body[j] === '{') depth++;
        else if (body[j] === '}') depth--;
        j++;
      }
      out += `{${slotName(body.slice(i + 1, j - 1))}}`;
      i = j - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/** `%s`/`%(name)s` and `{}`/`{0}`/`{name}` placeholders filled from the given argument names. */
function fillPlaceholders(text: string, args: readonly string[], style: 'percent' | 'format'): string {
  let k = 0;
  if (style === 'percent') {
    return text.replace(/%\((\w+)\)[sd]|%[sd]/g, (_m, named: string | undefined) => `{${named ?? args[k++] ?? '?'}}`);
  }
  return text.replace(/\{(\w*)(?:[:!][^}]*)?\}/g, (_m, key: string) => {
    if (key === '') return `{${args[k++] ?? '?'}}`;
    if (/^\d+$/.test(key)) return `{${args[Number(key)] ?? '?'}}`;
    return `{${key}}`;
  });
}

/** Top-level comma-separated arguments (brackets and quotes respected). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (const c of text) {
    if (quote) {
      cur += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** `name=value` keyword args name their slot by the keyword; positional ones by the value's variable. */
function argSlot(arg: string): string {
  const kw = /^(\w+)\s*=(?!=)/.exec(arg);
  if (kw) return kw[1];
  const lit = /^(['"])([^'"]*)\1$/.exec(arg);
  if (lit) return `=${lit[2]}`;
  return slotName(arg);
}

/**
 * A Python expression that builds a string, as a template: string literals and f-strings,
 * `+` concatenation, `.format(...)`, `% (...)`, bare variables. Null when it is no such expression.
 */
export function pythonTemplate(expr: string): string | null {
  let rest = expr.trim();
  let out = '';
  let any = false;
  while (rest.length) {
    const s = PY_STRING.exec(rest);
    if (s) {
      const quote = s[2];
      const start = s[0].length;
      const end = rest.indexOf(quote, start);
      if (end < 0) return null;
      const body = rest.slice(start, end);
      let piece = /f/i.test(s[1]) ? fstringTemplate(body) : body;
      rest = rest.slice(end + quote.length).trim();
      const fmt = /^\.format\(/.exec(rest);
      if (fmt) {
        const close = matchingParen(rest, fmt[0].length - 1);
        if (close < 0) return null;
        const args = splitArgs(rest.slice(fmt[0].length, close));
        piece = fillPlaceholders(piece, args.map(argSlot), 'format');
        rest = rest.slice(close + 1).trim();
      } else if (/^%/.test(rest) && /%[sd(]/.test(piece)) {
        const after = rest.slice(1).trim();
        let args: string[];
        if (after.startsWith('(')) {
          const close = matchingParen(after, 0);
          args = splitArgs(after.slice(1, close < 0 ? after.length : close));
          rest = close < 0 ? '' : after.slice(close + 1).trim();
        } else {
          const m = /^[\w.]+/.exec(after);
          args = m ? [m[0]] : [];
          rest = after.slice(m ? m[0].length : 0).trim();
        }
        piece = fillPlaceholders(piece, args.map(argSlot), 'percent');
      }
      out += piece;
      any = true;
    } else {
      const v = /^([A-Za-z_][\w.]*(?:\[[^\]]*\])?(?:\.(?:lower|upper|strip)\(\))?)/.exec(rest);
      if (!v) return any ? out : null;
      const slot = slotName(v[1]);
      if (slot === '?' || /^\s*\(/.test(rest.slice(v[1].length))) return any ? out : null;
      out += `{${slot}}`;
      any = true;
      rest = rest.slice(v[1].length).trim();
    }
    if (rest.startsWith('+')) {
      rest = rest.slice(1).trim();
      continue;
    }
    break;
  }
  return any && rest.replace(/^[,)\]}:#].*$/s, '').trim() === '' ? out : any ? out : null;
}

export function matchingParen(text: string, open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const close = pairs[text[open]];
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === text[open]) depth++;
    else if (c === close && --depth === 0) return i;
  }
  return -1;
}

/** A shell word with `$VAR`, `${VAR}`, `${VAR:-default}` as a template. */
export function shellTemplate(word: string): string {
  return word
    .replace(/^["']|["']$/g, '')
    .replace(/\$\{(\w+)(?:\[@\]|\[\*\])?(?::?[-=]([^}]*))?\}/g, (_m, name: string) => `{${name}}`)
    .replace(/\$(\w+)/g, (_m, name: string) => `{${name}}`);
}

/** String literals of a Python list/tuple literal, or null when an element is not a plain literal. */
function pythonListLiterals(text: string): string[] | null {
  const inner = text.trim().slice(1, -1);
  const items = splitArgs(inner.replace(/#[^\n]*/g, ''));
  const out: string[] = [];
  for (const item of items) {
    const t = pythonTemplate(item);
    if (t === null || !/^[rRuUfF]{0,2}['"]/.test(item)) return null;
    out.push(t);
  }
  return out;
}

/** A list literal of tuples of string literals (`[('eur', 'usd', 'gbp'), …]`) as rows, or null. */
function pythonTupleList(text: string): string[][] | null {
  const t = text.trim();
  if (!t.startsWith('[') && !t.startsWith('(')) return null;
  const rows: string[][] = [];
  for (const item of splitArgs(t.slice(1, -1).replace(/#[^\n]*/g, ''))) {
    if (!item.startsWith('(') && !item.startsWith('[')) return null;
    const row = pythonListLiterals(item);
    if (!row || (rows.length && rows[0].length !== row.length)) return null;
    rows.push(row);
  }
  return rows.length ? rows : null;
}

const ENV_DEFAULT = /(?:os\.environ\.get|os\.getenv|environ\.get|getenv)\(\s*['"]\w+['"]\s*,\s*(['"][^'"]*['"])\s*\)/;

/** What a Python file assigns to its variables: literals, templates, lists, loop variables over lists. */
export function pythonBindings(text: string): Bindings {
  const b = emptyBindings();
  const lists = new Map<string, string[]>();
  const tuples = new Map<string, string[][]>();
  const assign = /^[ \t]*([A-Za-z_]\w*)[ \t]*(?::[ \t]*[\w[\], ]+)?=(?!=)[ \t]*(.+)$/gm;
  for (let m = assign.exec(text); m; m = assign.exec(text)) {
    const name = m[1];
    let rhs = m[2].trim();
    if (rhs.startsWith('[') || rhs.startsWith('(')) {
      const start = m.index + m[0].indexOf(rhs);
      const close = matchingParen(text, start);
      if (close > 0) rhs = text.slice(start, close + 1);
      const rows = pythonTupleList(rhs);
      if (rows) {
        tuples.set(name, rows);
        continue;
      }
      const values = pythonListLiterals(rhs);
      if (values) {
        lists.set(name, values);
        bind(b, name, values);
        continue;
      }
    }
    const env = ENV_DEFAULT.exec(rhs);
    if (env) {
      bind(b, name, [env[1].slice(1, -1)]);
      b.open.add(name);
      continue;
    }
    const t = pythonTemplate(rhs.replace(/\s+#.*$/, ''));
    if (t !== null && t !== `{${name}}`) bind(b, name, [t]);
  }
  const loop = /^[ \t]*for[ \t]+([\w, ()]+?)[ \t]+in[ \t]+(.+?):[ \t]*(?:#.*)?$/gm;
  for (let m = loop.exec(text); m; m = loop.exec(text)) {
    const vars = m[1].replace(/[()]/g, '').split(',').map((v) => v.trim()).filter(Boolean);
    const source = m[2].trim();
    const valuesOf = (expr: string): string[] | null => {
      const e = expr.trim();
      if (e.startsWith('[') || e.startsWith('(')) return pythonListLiterals(e);
      const id = /^[A-Za-z_]\w*$/.exec(e);
      return id ? (lists.get(e) ?? (b.vars.has(e) ? [`{${e}}`] : null)) : null;
    };
    const call = /^(?:itertools\.)?(combinations|permutations|product|zip|enumerate|sorted|list|set|reversed)\((.*)\)$/.exec(source);
    if (call) {
      const all = splitArgs(call[2]);
      const args = all.filter((a) => !/^\d+$/.test(a) && !/^\w+\s*=/.test(a));
      if (call[1] === 'combinations' || call[1] === 'permutations') {
        const v = valuesOf(args[0] ?? '');
        if (v) {
          vars.forEach((name) => bind(b, name, v));
          if (vars.length > 1) b.groups.push({ vars, rows: tupleRows(call[1], [v], vars.length) });
        }
      } else if (call[1] === 'product' || call[1] === 'zip') {
        const lists = vars.map((_name, i) => valuesOf(args[i] ?? ''));
        vars.forEach((name, i) => {
          const v = lists[i];
          if (v) bind(b, name, v);
        });
        if (call[1] === 'zip' && vars.length > 1 && lists.every((l) => l)) b.groups.push({ vars, rows: tupleRows('zip', lists as string[][], vars.length) });
      } else if (call[1] === 'enumerate') {
        const v = valuesOf(args[0] ?? '');
        if (v && vars.length === 2) bind(b, vars[1], v);
      } else {
        const v = valuesOf(args[0] ?? '');
        if (v && vars.length === 1) bind(b, vars[0], v);
      }
      continue;
    }
    const rows = tuples.get(source) ?? pythonTupleList(source);
    if (rows && vars.length === rows[0].length) {
      vars.forEach((name, i) => bind(b, name, rows.map((r) => r[i])));
      b.groups.push({ vars, rows: new Set(rows.map((r) => r.join('\u0000'))) });
      continue;
    }
    const v = valuesOf(source);
    if (v && vars.length === 1) bind(b, vars[0], v);
  }
  return b;
}

/** What a shell script (or Dockerfile ENV, Cloud Build substitution) assigns to its variables. */
export function shellBindings(text: string): Bindings {
  const b = emptyBindings();
  const arrays = new Map<string, string[]>();
  const assign = /^[ \t]*(?:export[ \t]+|local[ \t]+|readonly[ \t]+|declare[ \t]+-\w+[ \t]+|ENV[ \t]+|ARG[ \t]+)?([A-Za-z_]\w*)=(\([^)]*\)|"[^"]*"|'[^']*'|[^\s;#]*)/gm;
  for (let m = assign.exec(text); m; m = assign.exec(text)) {
    const rhs = m[2];
    if (rhs.startsWith('(')) {
      const words = rhs.slice(1, -1).split(/\s+/).filter(Boolean).map(shellTemplate);
      arrays.set(m[1], words);
      bind(b, m[1], words);
    } else if (!rhs.includes('$(') && !rhs.includes('`')) {
      const dflt = /^"?\$\{\w+:-([^}]*)\}"?$/.exec(rhs);
      bind(b, m[1], [dflt ? dflt[1] : shellTemplate(rhs)]);
      if (dflt) b.open.add(m[1]);
    }
  }
  const env = /^[ \t]*ENV[ \t]+([A-Za-z_]\w*)[ \t]+(\S+)[ \t]*$/gm;
  for (let m = env.exec(text); m; m = env.exec(text)) bind(b, m[1], [shellTemplate(m[2])]);
  const loop = /\bfor[ \t]+(\w+)[ \t]+in[ \t]+([^;\n]+?)[ \t]*(?:;|\n)[ \t]*do\b/g;
  for (let m = loop.exec(text); m; m = loop.exec(text)) {
    const words = m[2].split(/\s+/).filter(Boolean);
    const values: string[] = [];
    for (const w of words) {
      const arr = /^"?\$\{(\w+)\[[@*]\]\}"?$/.exec(w) ?? /^"?\$\{?(\w+)\}?"?$/.exec(w);
      if (arr && arrays.has(arr[1])) values.push(...(arrays.get(arr[1]) as string[]));
      else if (arr && b.vars.has(arr[1])) values.push(...[...(b.vars.get(arr[1]) as Set<string>)].flatMap((v) => v.split(/\s+/)));
      else if (!w.includes('$(') && !w.includes('`')) values.push(shellTemplate(w));
    }
    if (values.length) bind(b, m[1], values);
  }
  return b;
}

export function bindingsOf(kind: SourceKind, text: string): Bindings {
  if (kind === 'python') return pythonBindings(text);
  if (kind === 'sql') return emptyBindings();
  return shellBindings(text);
}

/** Slots of a template, in order. */
export function slotsOf(template: string): string[] {
  return [...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]);
}
