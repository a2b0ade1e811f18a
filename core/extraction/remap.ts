/**
 * Training-column remap (facts §6.1): training files name each column `{prefix}_{column}` with the
 * prefix taken from the table name, so every RENAME, DEDUPE and CONSOLIDATE changes names that
 * feature-selection lists and ledgers are keyed on. The plan's compatibility views say exactly
 * where each old column went (old name → target column), so the remap is read from them: no second
 * description of what the plan does.
 */
import { BqxError } from '../errors';
import type { Plan, PlanOperation } from '../plan/types';
import { extractionBasis, extractionSetsOf, trainingPrefix, type DiscoveryRule, type ExtractionBasis, type ExtractionSets, type ListedTable } from './discovery';

export const REMAP_KINDS = ['RENAMED', 'MERGED', 'UNCHANGED'] as const;
export type RemapKind = (typeof REMAP_KINDS)[number];

export interface RemapMapping {
  readonly old: string;
  readonly new: string;
  readonly kind: RemapKind;
}

export interface RemapResult {
  readonly pair: string;
  readonly planHash: string;
  /** Every training column of the old extraction set (what the job read by name before the plan). */
  readonly mappings: RemapMapping[];
  /** New training columns no old column becomes (consolidations' window-presence markers). */
  readonly added: string[];
  readonly counts: Readonly<Record<RemapKind, number>> & { readonly old: number; readonly new: number; readonly added: number };
  /** Old tables read by name before the plan, and base tables read after it. */
  readonly tables: { readonly old: number; readonly new: number };
}

interface Move {
  /** Old table name → the table its columns land in, with the column mapping (old → new column). */
  readonly target: string;
  readonly columns: ReadonlyMap<string, string> | null;
}

/** Where each old table's columns go, from the plan's operations and views. */
function movesOf(plan: Plan): Map<string, Move> {
  const views = new Map(plan.views.map((v) => [v.name, v]));
  const moves = new Map<string, Move>();
  const viaView = (name: string, fallbackTarget: string): Move => {
    const v = views.get(name);
    return v ? { target: v.target, columns: new Map(v.columns.map((c) => [c.name, c.column])) } : { target: fallbackTarget, columns: null };
  };
  for (const op of plan.operations as PlanOperation[]) {
    if (op.action === 'KEEP' || op.action === 'REVIEW') {
      for (const s of op.sources) moves.set(s, { target: s, columns: null });
    } else {
      for (const s of op.sources) moves.set(s, viaView(s, op.target as string));
      for (const w of op.consolidation?.windows ?? []) for (const c of w.copies) moves.set(c, viaView(c, op.target as string));
    }
  }
  return moves;
}

/** Columns of a table in the end state (KEEP/REVIEW: as listed; RENAME: the source's; CONSOLIDATE: the spec's). */
function newTableColumns(plan: Plan, listed: ReadonlyMap<string, ListedTable>): Map<string, string[]> {
  const views = new Map(plan.views.map((v) => [v.name, v]));
  const out = new Map<string, string[]>();
  for (const op of plan.operations) {
    if (op.action === 'KEEP' || op.action === 'REVIEW') {
      for (const s of op.sources) out.set(s, (listed.get(s)?.columns ?? []).map((c) => c.name));
    } else if (op.action === 'RENAME' && op.target) {
      const v = views.get(op.sources[0]);
      out.set(op.target, v ? v.columns.map((c) => c.column) : (listed.get(op.target) ?? listed.get(op.sources[0]))?.columns.map((c) => c.name) ?? []);
    } else if (op.action === 'CONSOLIDATE' && op.target && op.consolidation) {
      out.set(op.target, [...op.consolidation.columns.map((c) => c.name), ...op.consolidation.windows.map((w) => w.presenceColumn)]);
    }
  }
  return out;
}

/** What the remap derives from a listing and a plan once, for any number of pairs. */
export interface RemapBasis {
  readonly extraction: ExtractionBasis;
  readonly plan: Plan;
  readonly listed: ReadonlyMap<string, ListedTable>;
  readonly viewColumns: ReadonlyMap<string, readonly string[]>;
  readonly moves: ReadonlyMap<string, Move>;
  readonly endColumns: ReadonlyMap<string, readonly string[]>;
}

/** `extraction`: the caller's `extractionBasis(rule, listing, plan)` of the same listing and plan, when it has one. */
export function remapBasis(rule: DiscoveryRule, listing: readonly ListedTable[], plan: Plan, extraction: ExtractionBasis = extractionBasis(rule, listing, plan)): RemapBasis {
  const listed = new Map(listing.map((t) => [t.name, t]));
  return {
    extraction,
    plan,
    listed,
    viewColumns: new Map(plan.views.map((v) => [v.name, v.columns.map((c) => c.name)])),
    moves: movesOf(plan),
    endColumns: newTableColumns(plan, listed),
  };
}

/**
 * Maps every training column the job read for `pair` before the plan to its name after it.
 * `listing` supplies the columns of tables the plan keeps (and of old tables without a view).
 */
export function remapTrainingColumns(rule: DiscoveryRule, listing: readonly ListedTable[], plan: Plan, pair: string): RemapResult {
  return remapPair(remapBasis(rule, listing, plan), pair);
}

/** Every training column the job read for `pair` before the plan (`olds`), and its name after it (`news`, same order). */
function columnMoves(basis: RemapBasis, pair: string, sets: ExtractionSets): { oldTables: string[]; olds: string[]; news: string[] } {
  const { plan, listed, moves } = basis;
  const excluded = basis.extraction.rule.excludeColumns;
  const oldTables = [...sets.before.tables, ...sets.duplicatesByName.filter((d) => d.when === 'before').map((d) => d.name)].sort();
  const olds: string[] = [];
  const news: string[] = [];
  const missing: string[] = [];
  for (const table of oldTables) {
    const move = moves.get(table) ?? { target: table, columns: null };
    // A view under the old name returns exactly the old columns, in order; else the listing has them.
    const columns = basis.viewColumns.get(table) ?? listed.get(table)?.columns.map((c) => c.name);
    if (!columns) {
      missing.push(table);
      continue;
    }
    const from = trainingPrefix(table, pair);
    const to = trainingPrefix(move.target, pair);
    for (const c of columns) {
      if (excluded.has(c)) continue;
      olds.push(`${from}_${c}`);
      news.push(`${to}_${move.columns?.get(c) ?? c}`);
    }
  }
  if (missing.length) {
    throw new BqxError(
      'REMAP_CATALOGUE_MISMATCH',
      `${missing.length} table(s) of plan ${plan.planHash.slice(0, 12)}… are neither in the catalogue nor covered by a view of the plan: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`,
      'run bqx reconcile PLAN to see what changed since the plan, or make a new plan',
    );
  }
  return { oldTables, olds, news };
}

/** How many old training columns become each new name (a name two or more become is MERGED). */
function sourcesOf(news: readonly string[]): Map<string, number> {
  const sources = new Map<string, number>();
  for (const n of news) sources.set(n, (sources.get(n) ?? 0) + 1);
  return sources;
}

const kindOf = (old: string, n: string, sources: ReadonlyMap<string, number>): RemapKind => ((sources.get(n) as number) > 1 ? 'MERGED' : old === n ? 'UNCHANGED' : 'RENAMED');

/** New training columns (of the base tables read after the plan) that no old column becomes. */
function addedColumns(basis: RemapBasis, pair: string, sets: ExtractionSets, reached: ReadonlyMap<string, number>): Set<string> {
  const excluded = basis.extraction.rule.excludeColumns;
  const added = new Set<string>();
  for (const table of sets.after.tables) {
    const prefix = trainingPrefix(table, pair);
    for (const c of basis.endColumns.get(table) ?? basis.listed.get(table)?.columns.map((x) => x.name) ?? []) {
      if (excluded.has(c)) continue;
      const name = `${prefix}_${c}`;
      if (!reached.has(name)) added.add(name);
    }
  }
  return added;
}

/** `sets`: the caller's `extractionSetsOf(basis.extraction, pair)`, when it has them. */
export function remapPair(basis: RemapBasis, pair: string, sets: ExtractionSets = extractionSetsOf(basis.extraction, pair)): RemapResult {
  const { oldTables, olds, news } = columnMoves(basis, pair, sets);
  const sources = sourcesOf(news);
  const mappings: RemapMapping[] = olds.map((old, i) => ({ old, new: news[i], kind: kindOf(old, news[i], sources) }));
  mappings.sort((a, b) => (a.old < b.old ? -1 : a.old > b.old ? 1 : 0));
  const added = addedColumns(basis, pair, sets, sources);
  const counts = { RENAMED: 0, MERGED: 0, UNCHANGED: 0 };
  for (const m of mappings) counts[m.kind]++;
  return {
    pair,
    planHash: basis.plan.planHash,
    mappings,
    added: [...added].sort(),
    counts: { ...counts, old: mappings.length, new: sources.size, added: added.size },
    tables: { old: oldTables.length, new: sets.after.tables.length },
  };
}

/** `remapPair`'s counts alone (readiness reports these per pair): no mapping list built or sorted. */
export function remapCounts(basis: RemapBasis, pair: string, sets: ExtractionSets = extractionSetsOf(basis.extraction, pair)): RemapResult['counts'] {
  const { olds, news } = columnMoves(basis, pair, sets);
  const sources = sourcesOf(news);
  const counts = { RENAMED: 0, MERGED: 0, UNCHANGED: 0 };
  for (let i = 0; i < olds.length; i++) counts[kindOf(olds[i], news[i], sources)]++;
  return { ...counts, old: olds.length, new: sources.size, added: addedColumns(basis, pair, sets, sources).size };
}

export interface FeatureRewrite {
  /** The rewritten list, in the input's order; a name two inputs merge into appears once. */
  readonly lines: string[];
  readonly features: { readonly old: string; readonly new: string; readonly kind: RemapKind | 'ADDED' | 'NOT_A_FEATURE' }[];
  /** New names that two or more listed names merge into. */
  readonly merged: { readonly new: string; readonly old: string[] }[];
  readonly unknown: string[];
  /** Per unknown name, the nearest known training columns (old or new). */
  readonly nearest: Readonly<Record<string, string[]>>;
  /** The list was a JSON array: `lines` holds the rewritten array as JSON. */
  readonly json: boolean;
}

/**
 * The training-column form of a listed name: names that keep the pair (`agg_bqx_eurusd_agg_mean_45`,
 * ledger-style `{table}_{column}`) lose it the way the training prefix does (every `_{pair}`
 * removed, `__` collapsed); lowercase.
 */
export function trainingForm(name: string, pair: string): string {
  const lower = name.toLowerCase();
  const stripped = lower.startsWith(`${pair}_`) ? lower.slice(pair.length + 1) : lower;
  return stripped.split(`_${pair}`).join('').replace(/__+/g, '_');
}

/** Levenshtein distance, bounded: stops counting once every entry of a row exceeds `max`. */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The known names closest to `name` (edit distance, then name order), at most `count`. */
export function nearestNames(name: string, known: Iterable<string>, count = 3): string[] {
  const max = Math.max(3, Math.ceil(name.length / 3));
  const scored: [number, string][] = [];
  for (const k of known) {
    const d = distance(name, k, max);
    if (d <= max) scored.push([d, k]);
  }
  return scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1)).slice(0, count).map(([, k]) => k);
}

/** The names of a selected-features list: a JSON array of strings, or one name a line. */
function listedNames(text: string): { names: string[] | null; json: boolean } {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) return { names: null, json: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (e) {
    throw new BqxError('FEATURES_INVALID', `the features list starts with "[" but is not JSON: ${(e as Error).message}`, 'pass a JSON array of names, or one name a line');
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new BqxError('FEATURES_INVALID', 'the features list is JSON but not an array of names', 'pass a JSON array of strings, or one name a line');
  }
  return { names: parsed as string[], json: true };
}

/**
 * Rewrites a selected-features list (a JSON array of names, or one name a line with blank lines and
 * `#` comments kept). A name is known when it is an old training column, already a new one (a
 * consolidation's presence marker: ADDED), or not a feature column at all (`interval_time`, targets
 * matched by `isPassThrough`); names that keep the pair, ledger-style `{table}_{column}`, are read
 * in their training form.
 */
export function rewriteFeatureList(remap: RemapResult, text: string, isPassThrough: (name: string) => boolean): FeatureRewrite {
  const byOld = new Map(remap.mappings.map((m) => [m.old, m]));
  const added = new Set(remap.added);
  const newNames = new Set([...remap.mappings.map((m) => m.new), ...remap.added]);
  const listed = listedNames(text);
  const lines: string[] = [];
  const features: FeatureRewrite['features'][number][] = [];
  const unknown: string[] = [];
  const seen = new Map<string, string[]>();
  const input = listed.names ?? text.split(/\r?\n/);
  if (!listed.json && input.length && input[input.length - 1] === '') input.pop();
  for (const raw of input) {
    const name = raw.trim();
    if (name === '' || name.startsWith('#')) {
      lines.push(raw);
      continue;
    }
    const form = byOld.has(name) || newNames.has(name) ? name : trainingForm(name, remap.pair);
    const m = byOld.get(form);
    let to: string;
    if (m) {
      to = m.new;
      features.push({ old: name, new: to, kind: m.kind });
    } else if (newNames.has(form)) {
      to = form;
      features.push({ old: name, new: form, kind: added.has(form) ? 'ADDED' : 'UNCHANGED' });
    } else if (isPassThrough(name)) {
      to = name;
      features.push({ old: name, new: name, kind: 'NOT_A_FEATURE' });
    } else {
      unknown.push(name);
      continue;
    }
    const olds = seen.get(to);
    if (olds) {
      olds.push(name);
      continue;
    }
    seen.set(to, [name]);
    lines.push(to);
  }
  const merged = [...seen.entries()].filter(([, olds]) => olds.length > 1).map(([n, olds]) => ({ new: n, old: olds }));
  const known = new Set([...byOld.keys(), ...newNames]);
  const nearest = Object.fromEntries(unknown.slice(0, 20).map((u) => [u, nearestNames(trainingForm(u, remap.pair), known)]));
  return { lines: listed.json ? [JSON.stringify(lines, null, 2)] : lines, features, merged, unknown, nearest, json: listed.json };
}
