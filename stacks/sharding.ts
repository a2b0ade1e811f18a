import { createHash } from 'crypto';
import { BqxError } from '../core/errors';

/**
 * Shard assignment for the compatibility views: shard = first 32 bits of sha256(name) mod N, with
 * N fixed per environment. Why a hash and not sorted ranges: a view's shard depends on its own
 * name only, so adding or removing a view never moves another one (no cross-stack state moves),
 * and the views of one family (same name prefix) spread over all shards instead of filling one.
 * The cost: changing N moves most views, so N is sized with headroom (prod: 10 shards for ~2,500
 * views, ~250 each, cap 400) and a shard above the cap fails synthesis instead of silently growing.
 * Nothing here ever changes N: `shardNeed` only says what N the views need.
 */
export function shardOf(name: string, shards: number): number {
  return hashOf(name) % shards;
}

function hashOf(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0);
}

export const shardId = (index: number): string => `views-${String(index).padStart(2, '0')}`;

/** What the views of a plan need from `views.shards`, and what the environment's N gives them. */
export interface ShardNeed {
  readonly views: number;
  readonly cap: number;
  /** The environment's N. */
  readonly shards: number;
  /** ceil(views / cap): no N below this can hold them. */
  readonly atLeast: number;
  /**
   * The smallest N ≥ atLeast whose fullest shard holds ≤ cap for these names (hash assignment is
   * not perfectly even: 25,000 synthetic views need 71, not 63); null when none up to 4 × atLeast.
   */
  readonly smallestFitting: number | null;
  /** The fullest shard at the environment's N, and its size. */
  readonly fullest: { readonly shard: string; readonly views: number };
  /** `shardNeedMessage` of this need. */
  readonly message: string;
}

const num = (n: number) => n.toLocaleString('en-US');

/** The shard count `names` need at `cap` per shard, and how full the environment's N makes the fullest shard. */
export function shardNeed(names: readonly string[], shards: number, cap: number): ShardNeed {
  const hashes = names.map(hashOf);
  const fullestAt = (n: number): { index: number; size: number } => {
    const counts = new Array<number>(n).fill(0);
    for (const h of hashes) counts[h % n]++;
    let index = 0;
    for (let i = 1; i < n; i++) if (counts[i] > counts[index]) index = i;
    return { index, size: counts[index] };
  };
  const atLeast = Math.max(1, Math.ceil(names.length / cap));
  let smallestFitting: number | null = null;
  for (let n = atLeast; n <= 4 * atLeast && smallestFitting === null; n++) if (fullestAt(n).size <= cap) smallestFitting = n;
  const here = fullestAt(shards);
  const need = { views: names.length, cap, shards, atLeast, smallestFitting, fullest: { shard: shardId(here.index), views: here.size } };
  return { ...need, message: shardNeedMessage(need) };
}

/** "25,000 views need ≥ 63 shards at 400 per shard (71 with these names); this environment has 10". */
export function shardNeedMessage(need: Omit<ShardNeed, 'message'>): string {
  const fitting =
    need.smallestFitting === null
      ? `no count up to ${4 * need.atLeast} keeps every shard within ${need.cap} with these names`
      : need.smallestFitting === need.atLeast
        ? `${need.atLeast} fits these names`
        : `${need.smallestFitting} with these names: the smallest count whose fullest shard holds ≤ ${need.cap}`;
  return `${num(need.views)} views need ≥ ${need.atLeast} shards at ${need.cap} per shard (${fitting}); this environment has ${need.shards}`;
}

export function assignShards<T extends { readonly name: string }>(items: readonly T[], shards: number, maxPerShard: number): T[][] {
  const out: T[][] = Array.from({ length: shards }, () => []);
  for (const item of items) out[shardOf(item.name, shards)].push(item);
  for (const [i, shard] of out.entries()) {
    if (shard.length > maxPerShard) {
      const need = shardNeed(
        items.map((v) => v.name),
        shards,
        maxPerShard,
      );
      throw new BqxError(
        'SHARD_FULL',
        `${shardId(i)} would hold ${shard.length} views (cap ${maxPerShard}): ${need.message}`,
        'raise views.shards in config/environments.ts (a reviewed change: most views move between stacks) or raise the cap; synthesis never changes the shard count by itself',
      );
    }
  }
  return out;
}
