import { bytesToUsd as toUsd, TIB } from '../../core/cost';

export { TIB };
/** On-demand query pricing: bytes billed → dollars (policy `execution.pricePerTiBUsd`, $6.25 by default). */
export const DEFAULT_PRICE_PER_TIB_USD = 6.25;

/** BigQuery bills at least 10 MiB per table referenced by a query that reads data. */
export const MIN_BILLED_BYTES_PER_TABLE = 10 * 2 ** 20;

export function bytesToUsd(bytes: number, pricePerTiBUsd: number = DEFAULT_PRICE_PER_TIB_USD): number {
  if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`bytes must be a non-negative number, got ${bytes}`);
  return toUsd(bytes, pricePerTiBUsd);
}

export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}
