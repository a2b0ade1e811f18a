import { BqxError } from '../core/errors';

/**
 * The instant the views stack filters grace periods against: an explicit value (tests, the bench),
 * else `BQX_NOW` (ISO 8601, so CI can pin or replay a synth), else the wall clock.
 */
export function resolveNow(explicit?: Date, envValue: string | undefined = process.env.BQX_NOW): Date {
  if (explicit) return explicit;
  if (envValue !== undefined && envValue !== '') {
    const ms = Date.parse(envValue);
    if (Number.isNaN(ms)) {
      throw new BqxError('INVALID_ARGUMENT', `BQX_NOW=${JSON.stringify(envValue)} is not a date`, 'set BQX_NOW to an ISO 8601 timestamp, e.g. 2026-12-01T00:00:00Z, or unset it');
    }
    return new Date(ms);
  }
  return new Date();
}
