import { createHash } from 'crypto';

/** JSON with object keys sorted, so a hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The plan hash: sha256 of the canonical JSON of everything but `planHash` itself. */
export function computePlanHash(plan: object): string {
  const { planHash: _ignored, ...rest } = plan as Record<string, unknown>;
  return sha256(canonicalJson(rest));
}

/** Deterministic operation id from what the operation does. */
export function operationId(action: string, sources: readonly string[], target: string | null): string {
  return `op_${sha256(`${action}|${sources.join(',')}|${target ?? ''}`).slice(0, 16)}`;
}
