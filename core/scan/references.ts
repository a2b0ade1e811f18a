/**
 * Where a file writes, reads or discovers tables: SQL anywhere in it (CREATE TABLE, INSERT, MERGE,
 * DROP, ALTER … RENAME, FROM/JOIN, INFORMATION_SCHEMA.TABLES / __TABLES__ with LIKE, STARTS_WITH,
 * REGEXP_CONTAINS), the BigQuery Python client (get_table, destination=, load jobs, to_gbq,
 * list_tables and its filters) and the bq CLI (mk, cp, query --destination_table, show, rm, load,
 * extract, ls | grep). References carry the raw template of the table, not yet resolved.
 */
import { matchingParen, pythonTemplate, shellTemplate, slotName, splitArgs, type SourceKind } from './templates';

export type Direction = 'write' | 'read' | 'discover';

export interface RawReference {
  readonly line: number;
  readonly direction: Direction;
  /** The table reference as written: `{PROJECT}.{DATASET}.cov_{variant}_{pair1}_{pair2}`. */
  readonly ref: string;
  /** What wrote it: `CREATE TABLE`, `get_table`, `bq cp`, `INFORMATION_SCHEMA.TABLES`, … */
  readonly via: string;
  /** Discovery: name patterns as regexes whose `{slot}`s are still to expand (empty: every name). */
  readonly patterns?: readonly string[];
  /** Discovery: the query or filter keeps base tables only (views excluded). */
  readonly baseTablesOnly?: boolean;
}

const REF = '(`[^`\\n]+`|[\\w{}$.:\\-]+(?:\\[[^\\]]*\\])?)';
const SQL_RULES: readonly { re: RegExp; direction: Direction; via: string }[] = [
  { re: new RegExp(`\\bCREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TEMP(?:ORARY)?\\s+)?(TABLE|VIEW|MATERIALIZED\\s+VIEW)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${REF}`, 'gi'), direction: 'write', via: 'CREATE' },
  { re: new RegExp(`\\bINSERT\\s+(?:INTO\\s+)?${REF}`, 'gi'), direction: 'write', via: 'INSERT' },
  { re: new RegExp(`\\bMERGE\\s+(?:INTO\\s+)?${REF}`, 'gi'), direction: 'write', via: 'MERGE' },
  { re: new RegExp(`\\bDROP\\s+(?:TABLE|VIEW)\\s+(?:IF\\s+EXISTS\\s+)?${REF}`, 'gi'), direction: 'write', via: 'DROP' },
  { re: new RegExp(`\\bALTER\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?${REF}`, 'gi'), direction: 'write', via: 'ALTER TABLE' },
  { re: new RegExp(`\\bRENAME\\s+TO\\s+${REF}`, 'gi'), direction: 'write', via: 'RENAME TO' },
  { re: new RegExp(`\\b(?:FROM|JOIN)\\s+${REF}`, 'gi'), direction: 'read', via: 'FROM/JOIN' },
];

const lineAt = (starts: readonly number[], index: number) => {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
};

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') out.push(i + 1);
  return out;
}

/** `%(name)s`, `%s`, `{}` left in SQL strings become slots; quotes and backticks go. */
function cleanRef(ref: string, kind: SourceKind): string {
  let r = ref.replace(/^`|`$/g, '').replace(/[;,)]+$/, '');
  r = r.replace(/%\((\w+)\)s/g, '{$1}').replace(/%s/g, '{?}').replace(/\{\}/g, '{?}');
  if (kind !== 'python') r = shellTemplate(r);
  else r = r.replace(/\{([^{}]*)\}/g, (_m, e: string) => `{${slotName(e)}}`);
  return r;
}

/** LIKE pattern → regex (`%` any run, `_` one character: as BigQuery reads it). */
function likeRegex(like: string): string {
  let out = '';
  for (let i = 0; i < like.length; i++) {
    const c = like[i];
    if (c === '{') {
      const j = like.indexOf('}', i);
      if (j > i) {
        out += like.slice(i, j + 1);
        i = j;
        continue;
      }
    }
    if (c === '%') out += '.*';
    else if (c === '_') out += '.';
    else out += c.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  }
  return out;
}

const literalRegex = (s: string) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');

/** Name filters in the text after a discovery (SQL conditions, Python filters, grep). */
function discoveryPatterns(window: string): { patterns: string[]; baseTablesOnly: boolean } {
  const patterns: string[] = [];
  for (const m of window.matchAll(/table_(?:name|id)\s+LIKE\s+[rRfF]?(['"])(.+?)\1/gi)) patterns.push(likeRegex(m[2]));
  for (const m of window.matchAll(/STARTS_WITH\s*\(\s*table_(?:name|id)\s*,\s*[rRfF]?(['"])(.+?)\1\s*\)/gi)) patterns.push(`${literalRegex(m[2])}.*`);
  for (const m of window.matchAll(/REGEXP_CONTAINS\s*\(\s*table_(?:name|id)\s*,\s*[rRfF]?(['"])(.+?)\1\s*\)/gi)) patterns.push(m[2].startsWith('^') ? `${m[2].slice(1).replace(/\$$/, '')}${m[2].endsWith('$') ? '' : '.*'}` : `.*${m[2]}.*`);
  for (const m of window.matchAll(/\.startswith\(\s*[rRfF]?(['"])(.+?)\1\s*\)/g)) patterns.push(`${literalRegex(m[2])}.*`);
  for (const m of window.matchAll(/\.endswith\(\s*[rRfF]?(['"])(.+?)\1\s*\)/g)) if (!/not\s+\w[\w.]*\.endswith/.test(m.input?.slice(Math.max(0, (m.index ?? 0) - 30), m.index) ?? '')) patterns.push(`.*${literalRegex(m[2])}`);
  for (const m of window.matchAll(/re\.(?:match|search|fullmatch)\(\s*[rR]?(['"])(.+?)\1/g)) patterns.push(m[2].startsWith('^') ? `${m[2].slice(1)}.*` : `.*${m[2]}.*`);
  for (const m of window.matchAll(/\bgrep\s+(?:-[a-zA-Z]*E[a-zA-Z]*\s+|-[a-zA-Z]+\s+)*(['"]?)([^'"|\s]+)\1/g)) {
    if (/grep\s+-[a-zA-Z]*v/.test(m[0]) || /TABLE|VIEW/.test(m[2])) continue;
    patterns.push(m[2].startsWith('^') ? `${shellTemplate(m[2].slice(1))}.*` : `.*${shellTemplate(m[2])}.*`);
  }
  const baseTablesOnly =
    /table_type\s*(?:=|==|IN\s*\()\s*['"](?:BASE TABLE|TABLE)['"]/i.test(window) ||
    /\btype\s*=\s*1\b/.test(window) ||
    /\.table_type\s*==\s*['"]TABLE['"]/.test(window) ||
    /grep\s+(?:-\w+\s+)*['"]?\s*TABLE\b/.test(window) ||
    /\$2\s*==\s*"TABLE"/.test(window);
  return { patterns, baseTablesOnly };
}

/** The argument texts of a call opened at `open` (index of `(`). */
function callArgs(text: string, open: number): string[] {
  const close = matchingParen(text, open);
  return close < 0 ? [] : splitArgs(text.slice(open + 1, close));
}

const PY_CALLS: readonly { name: string; roles: readonly (Direction | null)[]; kw?: Readonly<Record<string, Direction>> }[] = [
  { name: 'get_table', roles: ['read'] },
  { name: 'list_rows', roles: ['read'] },
  { name: 'extract_table', roles: ['read'] },
  { name: 'delete_table', roles: ['write'] },
  { name: 'update_table', roles: [] },
  { name: 'create_table', roles: ['write'] },
  { name: 'copy_table', roles: ['read', 'write'], kw: { sources: 'read', destination: 'write' } },
  { name: 'load_table_from_uri', roles: [null, 'write'], kw: { destination: 'write' } },
  { name: 'load_table_from_dataframe', roles: [null, 'write'], kw: { destination: 'write' } },
  { name: 'load_table_from_file', roles: [null, 'write'], kw: { destination: 'write' } },
  { name: 'load_table_from_json', roles: [null, 'write'], kw: { destination: 'write' } },
  { name: 'to_gbq', roles: ['write'], kw: { destination_table: 'write' } },
  { name: 'read_gbq_table', roles: ['read'] },
];

function pythonReferences(text: string, starts: readonly number[], out: RawReference[]): void {
  for (const call of PY_CALLS) {
    const re = new RegExp(`\\b${call.name}\\s*\\(`, 'g');
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (/def\s+$/.test(text.slice(Math.max(0, m.index - 5), m.index))) continue;
      const args = callArgs(text, m.index + m[0].length - 1);
      let positional = 0;
      for (const arg of args) {
        const kw = /^(\w+)\s*=(?!=)\s*([\s\S]*)$/.exec(arg);
        const direction = kw ? call.kw?.[kw[1]] : call.roles[positional++];
        if (!direction) continue;
        const t = pythonTemplate(kw ? kw[2] : arg);
        if (t !== null) out.push({ line: lineAt(starts, m.index), direction, ref: t, via: call.name });
      }
    }
  }
  for (const m of text.matchAll(/\bdestination\s*=\s*([^,)\n]+)/g)) {
    if (/\bcopy_table|load_table_from/.test(text.slice(Math.max(0, (m.index ?? 0) - 200), m.index))) continue;
    const t = pythonTemplate(m[1]);
    if (t !== null) out.push({ line: lineAt(starts, m.index ?? 0), direction: 'write', ref: t, via: 'destination=' });
  }
  for (const m of text.matchAll(/\blist_tables\s*\(([^)\n]*)\)/g)) {
    const index = m.index ?? 0;
    if (/def\s+$/.test(text.slice(Math.max(0, index - 5), index))) continue;
    const window = text.slice(index, index + 1200).split('\n').slice(0, 20).join('\n');
    const { patterns, baseTablesOnly } = discoveryPatterns(window);
    const t = pythonTemplate(m[1].split(',')[0] ?? '') ?? '';
    out.push({ line: lineAt(starts, index), direction: 'discover', ref: t, via: 'list_tables', patterns, baseTablesOnly });
  }
}

/** bq commands, one logical line each (backslash continuations joined). */
function bqReferences(text: string, starts: readonly number[], out: RawReference[]): void {
  const re = /\bbq\s+(mk|cp|query|show|rm|load|extract|head|ls|update)\b((?:[^\n\\]|\\\n|\\.)*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const line = lineAt(starts, m.index);
    const verb = m[1];
    const rest = m[2].replace(/\\\n/g, ' ');
    const cut = rest.search(/\s(?:\||&&|\|\||;|>|<|2>)/);
    const words = (cut >= 0 ? rest.slice(0, cut) : rest).match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
    const positional: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      const dest = /^--destination_table(?:=(.+))?$/.exec(w);
      if (dest) {
        const v = dest[1] ?? words[++i];
        if (v) out.push({ line, direction: 'write', ref: shellTemplate(v), via: 'bq query --destination_table' });
        continue;
      }
      if (w.startsWith('-')) {
        if (!w.includes('=') && /^--(format|max_results|project_id|location|source_format|schema|time_partitioning_field|clustering_fields|expiration|description|label|n|dataset_id|parameter|max_rows)$/.test(w)) i++;
        continue;
      }
      positional.push(w);
    }
    const tableArgs = positional.filter((p) => !/^["']?(SELECT|WITH|CREATE|INSERT|MERGE|DROP|ALTER)\b/i.test(p) && !/^["']?gs:\/\//.test(p));
    const ref = (w: string) => shellTemplate(w);
    const push = (direction: Direction, w: string | undefined) => {
      if (w) out.push({ line, direction, ref: ref(w), via: `bq ${verb}` });
    };
    if (verb === 'cp') {
      tableArgs.slice(0, -1).forEach((w) => push('read', w));
      push('write', tableArgs[tableArgs.length - 1]);
    } else if (verb === 'mk' || verb === 'rm' || verb === 'load' || verb === 'update') {
      if (tableArgs[0] && /[.:]|\{/.test(ref(tableArgs[0]))) push('write', tableArgs[0]);
    } else if (verb === 'show' || verb === 'head' || verb === 'extract') {
      push('read', tableArgs[0]);
    } else if (verb === 'ls') {
      const pipe = m[2].replace(/\\\n/g, ' ');
      const { patterns, baseTablesOnly } = discoveryPatterns(pipe);
      out.push({ line, direction: 'discover', ref: ref(tableArgs[0] ?? ''), via: 'bq ls', patterns, baseTablesOnly });
    }
  }
}

/** Every reference of a file, before resolution. */
export function findReferences(kind: SourceKind, text: string): RawReference[] {
  if (kind === 'dockerfile') return [];
  const starts = lineStarts(text);
  const out: RawReference[] = [];
  for (const rule of SQL_RULES) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(text); m; m = rule.re.exec(text)) {
      const raw = m[m.length - 1];
      if (/INFORMATION_SCHEMA|__TABLES(_SUMMARY)?__/i.test(raw)) continue;
      const via = rule.via === 'CREATE' ? `CREATE ${m[1].toUpperCase().replace(/\s+/g, ' ')}` : rule.via;
      out.push({ line: lineAt(starts, m.index), direction: rule.direction, ref: cleanRef(raw, kind), via });
    }
  }
  const schema = /(`[^`\n]*?|[\w{}$.:-]*?)\.?(INFORMATION_SCHEMA\.TABLES\b|__TABLES(?:_SUMMARY)?__)/g;
  for (let m = schema.exec(text); m; m = schema.exec(text)) {
    const end = text.slice(m.index).search(/"""|'''|\n\s*\n/);
    const window = text.slice(m.index, m.index + Math.min(end > 0 ? end : 800, 800));
    const after = text.slice(m.index, m.index + 2500).split('\n').slice(0, 30).join('\n');
    const sql = discoveryPatterns(window);
    const code = discoveryPatterns(after);
    const patterns = sql.patterns.length ? sql.patterns : code.patterns;
    out.push({ line: lineAt(starts, m.index), direction: 'discover', ref: cleanRef(`${m[1]}.x`, kind).replace(/\.x$/, ''), via: m[2], patterns, baseTablesOnly: sql.baseTablesOnly || code.baseTablesOnly });
  }
  if (kind === 'python') pythonReferences(text, starts, out);
  if (kind === 'shell' || kind === 'cloudbuild' || kind === 'python') bqReferences(text, starts, out);
  const seen = new Set<string>();
  return out
    .filter((r) => {
      const key = `${r.line}\u0000${r.direction}\u0000${r.ref}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || (a.direction < b.direction ? -1 : 1));
}
