/**
 * `bqx remap`: the training-column names of a pair before and after a plan (every column the job
 * read by name, RENAMED, MERGED or UNCHANGED), and the rewrite of a selected-features list to the
 * new names. Reads the catalogue only.
 */
import { readFileSync } from 'fs';
import type { TableInfo } from '../core/catalogue';
import { BqxError } from '../core/errors';
import { discoveryRule } from '../core/extraction/discovery';
import { remapTrainingColumns, rewriteFeatureList, type FeatureRewrite, type RemapResult } from '../core/extraction/remap';
import { columnGrammar, judgeColumn } from '../core/naming/columns';
import { loadPolicy, type Policy } from '../core/policy';
import type { EngineOptions } from '../core/ports/engine';
import { withEngine } from './engine';
import { parsePair, planFor } from './extraction';

export interface RemapInput {
  readonly engine: EngineOptions;
  readonly planFile: string;
  readonly pair: string;
  readonly policyFile?: string;
  /** A selected-features list (one name a line, `-` for standard input) to rewrite. */
  readonly featuresFile?: string;
}

export type RemapOutcome = { readonly kind: 'mapping'; readonly remap: RemapResult } | { readonly kind: 'features'; readonly remap: RemapResult; readonly rewrite: FeatureRewrite; readonly source: string };

/** Names that are training columns but no feature table's: `interval_time` and the targets. */
export function passThrough(policy: Policy): (name: string) => boolean {
  const grammar = columnGrammar(policy);
  return (name) => name === 'interval_time' || judgeColumn(grammar, name).rule === 'target';
}

function readFeatures(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new BqxError('FEATURES_UNREADABLE', `cannot read --features ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'pass a file with one training-column name per line or a JSON array of names, or - for standard input');
  }
}

export async function runRemap(input: RemapInput): Promise<RemapOutcome> {
  const policy = loadPolicy(input.policyFile);
  const rule = discoveryRule(policy);
  const pair = parsePair(rule, input.pair);
  const plan = planFor(input.planFile, input.engine);
  const text = input.featuresFile !== undefined ? readFeatures(input.featuresFile) : null;
  const tables: TableInfo[] = await withEngine({ ...input.engine, readOnly: true }, (engine) => engine.listTables());
  const remap = remapTrainingColumns(rule, tables, plan, pair);
  if (text === null) return { kind: 'mapping', remap };
  const rewrite = rewriteFeatureList(remap, text, passThrough(policy));
  if (rewrite.unknown.length) {
    const shown = rewrite.unknown.slice(0, 20).map((u) => (rewrite.nearest[u]?.length ? `${u} (nearest: ${rewrite.nearest[u].join(', ')})` : u));
    throw new BqxError(
      'UNKNOWN_FEATURES',
      `--features ${input.featuresFile}: ${rewrite.unknown.length} name(s) are not training columns of ${pair} before or after plan ${plan.planHash.slice(0, 12)}…: ${shown.join('; ')}${rewrite.unknown.length > shown.length ? `, … (${rewrite.unknown.length - shown.length} more)` : ''}`,
      `check the pair (--pair) and the names (bqx remap --plan ${input.planFile} --pair ${pair} --json lists every known one); nothing was written`,
    );
  }
  return { kind: 'features', remap, rewrite, source: input.featuresFile === '-' ? 'standard input' : (input.featuresFile as string) };
}

const n = (x: number) => x.toLocaleString('en-US');

export function remapLine(r: RemapResult): string {
  return `${n(r.counts.old)} training columns: ${n(r.counts.RENAMED)} RENAMED, ${n(r.counts.MERGED)} MERGED (into ${n(new Set(r.mappings.filter((m) => m.kind === 'MERGED').map((m) => m.new)).size)}), ${n(r.counts.UNCHANGED)} UNCHANGED; ${n(r.counts.added)} new marker columns`;
}

export function formatRemap(r: RemapResult, limit = 15): string {
  const lines = [`Training columns of ${r.pair.toUpperCase()}, plan ${r.planHash.slice(0, 12)}… (${n(r.tables.old)} tables read before, ${n(r.tables.new)} after)`, `  ${remapLine(r)}`];
  for (const kind of ['RENAMED', 'MERGED'] as const) {
    const list = r.mappings.filter((m) => m.kind === kind);
    if (!list.length) continue;
    lines.push('', `  ${kind} (${n(list.length)}):`, ...list.slice(0, limit).map((m) => `    ${m.old} -> ${m.new}`));
    if (list.length > limit) lines.push(`    … ${n(list.length - limit)} more (see --json)`);
  }
  if (r.added.length) lines.push('', `  ADDED (${n(r.added.length)}): new training columns no old one becomes (window-presence markers of consolidations): ${r.added.slice(0, limit).join(', ')}${r.added.length > limit ? ', …' : ''}`);
  return lines.join('\n');
}

/** What `--features` reports beside the rewritten list (on stderr, so stdout stays the list). */
export function formatRewriteReport(o: Extract<RemapOutcome, { kind: 'features' }>): string {
  const f = o.rewrite.features;
  const count = (k: string) => f.filter((x) => x.kind === k).length;
  const lines = [`remap of ${o.source} for ${o.remap.pair.toUpperCase()}: ${f.length} names, ${count('RENAMED')} renamed, ${count('MERGED')} merged, ${count('UNCHANGED')} unchanged${count('ADDED') ? `, ${count('ADDED')} added by a consolidation` : ''}${count('NOT_A_FEATURE') ? `, ${count('NOT_A_FEATURE')} not feature columns (kept)` : ''}`];
  for (const m of o.rewrite.merged) lines.push(`  merged: ${m.old.join(', ')} -> ${m.new} (listed once)`);
  for (const x of f.filter((y) => y.kind === 'MERGED' && !o.rewrite.merged.some((m) => m.new === y.new))) lines.push(`  merged: ${x.old} -> ${x.new} (another old column becomes the same one)`);
  return lines.join('\n');
}
