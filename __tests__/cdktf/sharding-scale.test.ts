/**
 * Views sharding at 25,000 views (ten times the catalogue's): the shard count is the config's, every stack
 * stays within 400 resources when the config chooses enough shards, growing the plan never moves
 * a view, and too few shards fail synthesis naming the shard, its count and the count needed.
 */
import { Testing } from 'cdktf';
import { environmentInput } from '../../config/environments';
import { parseEnvironment, type EnvironmentConfig } from '../../config/environment';
import { buildPlatform, resourceCount } from '../../stacks/platform';
import { assignShards, shardId, shardNeed, shardOf } from '../../stacks/sharding';
import { disableTokenStackTraces } from '../../stacks/token-stack-traces';
import { syntheticViewPlan } from '../../bench/synthetic-plan';
import { PINNED_NOW } from './helpers';

disableTokenStackTraces();

/** Prod as committed, placeholders pinned, with another views.shards (prod itself keeps its 10). */
function prodWith(shards: number): EnvironmentConfig {
  const input = environmentInput('prod');
  const prod = parseEnvironment(
    { ...input, ci: { ...input.ci, repositoryId: '812345678', repositoryOwnerId: '91234567' }, budget: { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' } },
    'prod',
  );
  // config/environment.ts validates views.shards ≤ 64; 25,000 views need 71 (see the report), so the
  // environment object is derived after validation rather than parsed with 80.
  return { ...prod, views: { ...prod.views, shards } };
}

const plan25k = syntheticViewPlan({ views: 25000, columns: 4 });
const names25k = plan25k.views.map((v) => v.name);

describe('views sharding at 25,000 views', () => {
  test('with the 80 shards the config chooses, every views stack holds ≤ 400 resources and every view is declared once', () => {
    const result = buildPlatform(Testing.app(), { env: prodWith(80), plan: plan25k, now: PINNED_NOW });
    const views = result.stacks.filter((s) => s.node.id.startsWith('views-'));
    expect(views.map((s) => s.node.id)).toEqual(Array.from({ length: 80 }, (_, i) => shardId(i)));
    const sizes = views.map(resourceCount);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(400);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(25000);
    const declared = views.flatMap((s) => (s as unknown as { viewSet: { included: { name: string }[] } }).viewSet.included.map((v) => v.name));
    expect(new Set(declared).size).toBe(25000);
    expect(result.views.declared).toBe(25000);
    expect(result.views.sharding).toMatchObject({ views: 25000, shards: 80, cap: 400, atLeast: 63, smallestFitting: 71 });
    expect(result.views.sharding?.fullest.views).toBe(Math.max(...sizes));
  });

  test('adding views never moves an existing view to another shard (same N)', () => {
    const grown = syntheticViewPlan({ views: 26000, columns: 4 }).views; // the first 25,000 are the same names
    expect(grown.slice(0, 25000).map((v) => v.name)).toEqual(names25k);
    const before = assignShards(plan25k.views, 80, 400);
    const after = assignShards(grown, 80, 400);
    for (let i = 0; i < 80; i++) {
      const kept = new Set(after[i].map((v) => v.name));
      expect(before[i].every((v) => kept.has(v.name))).toBe(true);
    }
    // Removing views moves none either: a view's shard is a function of its own name and N.
    const shrunk = assignShards(plan25k.views.slice(5000), 80, 400);
    for (let i = 0; i < 80; i++) expect(shrunk[i].every((v) => shardOf(v.name, 80) === i)).toBe(true);
  });

  test('too few shards fail synthesis naming the shard, its count and the shard count needed; N is never changed', () => {
    let message = '';
    try {
      buildPlatform(Testing.app(), { env: prodWith(10), plan: plan25k, now: PINNED_NOW });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^views-0\d would hold \d{4} views \(cap 400\): 25,000 views need ≥ 63 shards at 400 per shard \(71 with these names: the smallest count whose fullest shard holds ≤ 400\); this environment has 10$/);
    const [, shard, count] = /^(views-\d\d) would hold (\d+)/.exec(message) as RegExpExecArray;
    expect(assignShards(plan25k.views, 10, 25000)[Number(shard.slice(6))]).toHaveLength(Number(count));
    // 64 (the most config/environment.ts accepts today) is not enough for these names either.
    expect(() => assignShards(plan25k.views, 64, 400)).toThrow(/would hold 4\d\d views \(cap 400\): .* this environment has 64$/);
  });

  test('the shard need is computed, never applied', () => {
    const need = shardNeed(names25k, 10, 400);
    expect(need).toMatchObject({ views: 25000, shards: 10, atLeast: 63, smallestFitting: 71 });
    expect(need.message).toBe('25,000 views need ≥ 63 shards at 400 per shard (71 with these names: the smallest count whose fullest shard holds ≤ 400); this environment has 10');
    expect(shardNeed(names25k, 71, 400).fullest.views).toBeLessThanOrEqual(400);
    expect(shardNeed(names25k, 70, 400).fullest.views).toBeGreaterThan(400);
  });

  test('the committed plan size (2,482 views) with prod as committed: the message synth prints', () => {
    const result = buildPlatform(Testing.app(), { env: prodWith(10), plan: syntheticViewPlan({ views: 2482, columns: 3 }), now: PINNED_NOW });
    expect(result.views.sharding?.message).toBe('2,482 views need ≥ 7 shards at 400 per shard (7 fits these names); this environment has 10');
    expect(result.stacks.filter((s) => s.node.id.startsWith('views-'))).toHaveLength(10);
  });
});
