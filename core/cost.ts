/** On-demand BigQuery pricing: bytes billed ↔ dollars at the policy's `execution.pricePerTiBUsd`. */
export const TIB = 2 ** 40;

export function bytesToUsd(bytes: number, pricePerTiBUsd: number): number {
  return (bytes / TIB) * pricePerTiBUsd;
}

export function usdToBytes(usd: number, pricePerTiBUsd: number): number {
  return (usd / pricePerTiBUsd) * TIB;
}
