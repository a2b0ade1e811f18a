/**
 * BigQuery job labels: every job the engine submits carries the engine's own `bqx_kind` (what the
 * job is), the static labels of the engine options (config/job-labels.ts: `bqx-phase`, which the
 * Phase 4C budget filters on) and, for steps, the run's labels (`bqx-plan`, `bqx-run`).
 *
 * Rules (https://cloud.google.com/bigquery/docs/labels-intro#requirements): at most 64 labels; keys
 * 1–63 characters, starting with a lowercase letter; keys and values only lowercase letters,
 * digits, `_` and `-` (Google also allows international lowercase letters; the runner never needs
 * them, so they are refused here); values up to 63 characters, possibly empty.
 */
import { BqxError } from '../../core/errors';

export const MAX_LABELS = 64;
export const LABEL_KEY_RE = /^[a-z][a-z0-9_-]{0,62}$/;
export const LABEL_VALUE_RE = /^[a-z0-9_-]{0,63}$/;

/** Why a label set is not valid on a BigQuery job, or null. */
export function labelProblem(labels: Readonly<Record<string, string>>): string | null {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) return `${entries.length} labels, more than BigQuery's ${MAX_LABELS}`;
  for (const [k, v] of entries) {
    if (!LABEL_KEY_RE.test(k)) return `label key ${JSON.stringify(k)} is not 1-63 lowercase letters, digits, _ or -, starting with a letter`;
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v)) return `label ${k}=${JSON.stringify(v)}: the value is not 0-63 lowercase letters, digits, _ or -`;
  }
  return null;
}

/** Throws BAD_OPTION (static labels) or BAD_INPUT (a step's) when BigQuery would refuse the labels. */
export function assertLabels(labels: Readonly<Record<string, string>>, what: string, code: 'BAD_OPTION' | 'BAD_INPUT' = 'BAD_INPUT'): Readonly<Record<string, string>> {
  const problem = labelProblem(labels);
  if (problem) throw new BqxError(code, `${what}: ${problem}`, 'BigQuery job labels: lowercase letters, digits, _ and -, keys start with a letter, up to 63 characters');
  return labels;
}

/**
 * One job's labels: the engine's own, then the caller's, then the static ones. A key given twice
 * with different values is a programming error (a step must not relabel the phase).
 */
export function mergeLabels(...sets: (Readonly<Record<string, string>> | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) {
    for (const [k, v] of Object.entries(set ?? {})) {
      if (k in out && out[k] !== v) throw new BqxError('BAD_INPUT', `job label ${k} given twice (${out[k]}, ${v})`, 'labels of the engine, the step and the options must not overlap');
      out[k] = v;
    }
  }
  return out;
}
