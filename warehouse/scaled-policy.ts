/**
 * The policy copy the scaled catalogues are planned with (bench/scale.ts): policy/m008.policy.yaml
 * with the synthetic tokens of copies 1..k-1 added to the pair, currency and ETF token sets and to
 * the mkt family's types (warehouse/catalogue.ts `copyToken`). Nothing else changes: grammar,
 * aliases, thresholds, budgets and windows are the real policy's (window tables grow with the pairs,
 * so the window token set needs no synthetic window). The real policy file is never written; the
 * copy goes to a file the caller chooses (a temporary directory) and is passed with `--policy`.
 */
import { readFileSync } from 'fs';
import { parseDocument } from 'yaml';
import { defaultPolicyPath } from '../core/policy';
import { scaleFactor, syntheticTokens, type Scale } from './catalogue';

/** The text of the policy for a scale: the real file, byte for byte, for `small` and `full`. */
export function scaledPolicyText(scale: Scale, source: string = defaultPolicyPath()): string {
  const text = readFileSync(source, 'utf8');
  const k = scaleFactor(scale);
  if (k === 1) return text;
  const extra = syntheticTokens(k);
  const doc = parseDocument(text);
  for (const t of extra.pair) doc.addIn(['tokens', 'pair'], t);
  for (const t of extra.ccy) doc.addIn(['tokens', 'ccy'], t);
  for (const t of extra.etf) doc.addIn(['tokens', 'etf'], t);
  for (const t of extra.mktType) doc.addIn(['families', 'mkt', 'types'], t);
  doc.commentBefore = ` GENERATED for the ${scale} synthetic catalogue (warehouse/scaled-policy.ts): not the policy.\n${doc.commentBefore ?? ''}`;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
