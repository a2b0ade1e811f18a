import { createHash } from 'crypto';
import { BqxError } from '../core/errors';

/**
 * Shard assignment for the compatibility views: shard = first 32 bits of sha256(name) mod N, with
 * N fixed per environment. Why a hash and not sorted ranges: a view's shard depends on its own
 * name only, so adding or removing a view never moves another one (no cross-stack state moves),
 * and the views of one family (same name prefix) spread over all shards instead of filling one.
 * The cost: changing N moves most views, so N is sized with headroom (prod: 10 shards for ~2,500
 * views, ~250 each, cap 400) and a shard above the cap fails synthesis instead of silently growing.
 */
export function shardOf(name: string, shards: number): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) % shards;
}

export const shardId = (index: number): string => `views-${String(index).padStart(2, '0')}`;

export function assignShards<T extends { readonly name: string }>(items: readonly T[], shards: number, maxPerShard: number): T[][] {
  const out: T[][] = Array.from({ length: shards }, () => []);
  for (const item of items) out[shardOf(item.name, shards)].push(item);
  for (const [i, shard] of out.entries()) {
    if (shard.length > maxPerShard) {
      throw new BqxError(
        'SHARD_FULL',
        `${shardId(i)} would hold ${shard.length} views (cap ${maxPerShard})`,
        'raise views.shards in config/environments.ts (a reviewed change: views move between stacks) or raise the cap',
      );
    }
  }
  return out;
}
