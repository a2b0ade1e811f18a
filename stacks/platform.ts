import * as path from 'path';
import { App, Aspects, TerraformResource, TerraformStack } from 'cdktf';
import type { EnvironmentConfig, IdentityKey } from '../config/environment';
import { datasetByRole, placeholders } from '../config/environment';
import { BqxError } from '../core/errors';
import { PlatformPolicy, PlatformPolicyProps } from '../constructs/policy';
import type { ExpiringView } from '../constructs/compatibility-view-set';
import { FoundationStack } from './foundation-stack';
import { DataStack } from './data-stack';
import { PipelineStack } from './pipeline-stack';
import { ViewsStack } from './views-stack';
import { ViewPlan, readRetiredViews, readViewPlan } from './view-plan';
import { assignShards, shardId, shardNeed, type ShardNeed } from './sharding';
import { resolveNow } from './clock';

/**
 * Who applies each stack (RUNBOOK "Identities"): the foundation can grant roles and mint
 * identities, so only break glass applies it; everything else is the CI deployer's, behind the
 * GitHub environment of the deploy.
 */
export function stackApplier(stackId: string): Extract<IdentityKey, 'breakGlass' | 'ciDeployer'> {
  return stackId === 'foundation' ? 'breakGlass' : 'ciDeployer';
}

/** Per-view warning lines printed at most; the rest are counted in one line and listed in a file. */
const MAX_EXPIRY_LINES = 20;

export interface PlatformOptions {
  readonly env: EnvironmentConfig;
  /** The clock for grace periods. @default BQX_NOW, else now */
  readonly now?: Date;
  /** A plan given directly (tests, bench). @default read from env.views.planFile; `null` means none */
  readonly plan?: ViewPlan | null;
  /** Plan file to read instead of env.views.planFile (relative to repoRoot). */
  readonly planFile?: string;
  /**
   * A retirement plan of the plan's views (`bqx retire`), once applied: the views stacks stop
   * declaring exactly the views it retired (relative to repoRoot). @default none: views drop out by date
   */
  readonly retirePlanFile?: string;
  /** Directory the plan file is relative to. @default process.cwd() */
  readonly repoRoot?: string;
  /** Extra policy settings (tests exempt nothing; kept for reviewed exceptions). */
  readonly policy?: Partial<PlatformPolicyProps>;
}

export interface PlatformResult {
  readonly stacks: readonly TerraformStack[];
  /** Lines synth prints as warnings (missing plan, views expiring soon, placeholder billing account). */
  readonly warnings: readonly string[];
  /** Every view ending within the warning window, soonest first. */
  readonly expiring: readonly (ExpiringView & { readonly stack: string })[];
  readonly views: {
    readonly declared: number;
    readonly expired: number;
    readonly expiringSoon: number;
    readonly planHash: string | null;
    /** The catalogue the plan was made from (`engine:project.dataset`), and whether it is the environment's own BigQuery one. */
    readonly catalogue: { readonly name: string; readonly fromWarehouse: boolean; readonly allowedBecause: string | null } | null;
    /** The shard count the plan's views need against the environment's (`views.shards`, never changed here); null without a plan. */
    readonly sharding: ShardNeed | null;
  };
}

/** Declares every stack of one environment in `app` and the policy aspect over all of them. */
export function buildPlatform(app: App, options: PlatformOptions): PlatformResult {
  const { env } = options;
  const now = resolveNow(options.now);
  const warnings: string[] = [];

  const foundation = new FoundationStack(app, 'foundation', env);
  const data = new DataStack(app, 'data', env);
  data.addDependency(foundation);
  const pipeline = new PipelineStack(app, 'pipeline', env);
  pipeline.addDependency(data);
  const stacks: TerraformStack[] = [foundation, data, pipeline];

  for (const p of placeholders(env)) {
    warnings.push(`warning: ${p.path} is the placeholder ${p.value}: ${p.hint} before applying ${p.stacks.join(', ')} (CI refuses to apply those stacks)`);
  }

  const planFile = options.planFile ?? env.views.planFile;
  const planPath = path.resolve(options.repoRoot ?? process.cwd(), planFile);
  const plan = options.plan !== undefined ? options.plan : readViewPlan(planPath);
  let declared = 0;
  let expired = 0;
  let expiringSoon = 0;
  const expiring: (ExpiringView & { stack: string })[] = [];
  let sharding: ShardNeed | null = null;
  let catalogue: PlatformResult['views']['catalogue'] = null;
  if (plan === null) {
    warnings.push(`warning: plan file ${planFile} not found: no views stacks synthesized (commit the Phase 4C plan to declare the compatibility views)`);
  } else {
    if (plan.project !== env.project) {
      throw new BqxError('INVALID_PLAN', `plan ${planFile} is for project ${plan.project}, environment ${env.name} is ${env.project}`, 'point views.planFile of this environment at a plan of its project');
    }
    const retired = options.retirePlanFile ? readRetiredViews(path.resolve(options.repoRoot ?? process.cwd(), options.retirePlanFile), plan) : undefined;
    catalogue = planCatalogue(env, plan, planFile);
    if (!catalogue.fromWarehouse) {
      warnings.push(
        `WARNING: the views of ${env.name} come from plan ${planFile} made from the catalogue ${catalogue.name}, NOT from BigQuery ${env.project}; ` +
          `accepted by views.allowPlanFromLocalCatalogue: ${catalogue.allowedBecause}`,
      );
    }
    const shards = assignShards(plan.views, env.views.shards, env.views.maxViewsPerShard);
    sharding = shardNeed(
      plan.views.map((v) => v.name),
      env.views.shards,
      env.views.maxViewsPerShard,
    );
    shards.forEach((views, i) => {
      const stack = new ViewsStack(app, shardId(i), { env, project: plan.project, dataset: plan.dataset, planHash: plan.planHash, views, now, retired });
      stack.addDependency(data);
      stacks.push(stack);
      const set = stack.viewSet;
      declared += set.included.length;
      expired += set.expired.length;
      expiringSoon += set.expiringSoon.length;
      for (const v of set.expiringSoon) expiring.push({ ...v, stack: shardId(i) });
    });
    expiring.sort((a, b) => a.graceEnd.localeCompare(b.graceEnd) || a.name.localeCompare(b.name));
    for (const v of expiring.slice(0, MAX_EXPIRY_LINES)) {
      warnings.push(`warning: view ${plan.dataset}.${v.name} (${v.stack}) grace period ends ${v.graceEnd} (${v.hoursLeft} h left); it drops out of the stack after that`);
    }
    if (expiring.length > MAX_EXPIRY_LINES) {
      warnings.push(`warning: ... and ${expiring.length - MAX_EXPIRY_LINES} more views end their grace period within ${env.views.warnWithinDays} days (all listed in expiring-views.json)`);
    }
  }

  // On every stack, not on the app: cdktf 0.21 invokes aspects from each stack down
  // (invokeAspects(stack)), so an aspect added with Aspects.of(app) is silently never run.
  const policy = new PlatformPolicy({
    requiredLabels: Object.keys(env.labels),
    runnerDatasets: env.datasets.filter((d) => d.runnerRenamesIn).map((d) => d.id),
    ...options.policy,
  });
  for (const stack of stacks) Aspects.of(stack).add(policy);
  return { stacks, warnings, expiring, views: { declared, expired, expiringSoon, planHash: plan?.planHash ?? null, catalogue, sharding } };
}

/**
 * Where the plan of the views comes from. The views stacks declare what a run of this plan leaves
 * behind, so the plan must be one of this environment's own warehouse (BigQuery, its features
 * dataset); a plan of another catalogue (the embedded DuckDB replica) is refused unless the
 * environment says why it is accepted (views.allowPlanFromLocalCatalogue).
 */
export function planCatalogue(env: EnvironmentConfig, plan: ViewPlan, planFile: string): NonNullable<PlatformResult['views']['catalogue']> {
  const name = `${plan.engine}:${plan.project}.${plan.dataset}`;
  const features = datasetByRole(env, 'features').id;
  if (plan.dataset !== features) {
    throw new BqxError('INVALID_PLAN', `plan ${planFile} is for dataset ${plan.dataset}, environment ${env.name} keeps its features in ${features}`, 'point views.planFile of this environment at a plan of its features dataset');
  }
  if (plan.engine === 'bigquery') return { name, fromWarehouse: true, allowedBecause: null };
  const reason = env.views.allowPlanFromLocalCatalogue;
  if (reason === undefined) {
    throw new BqxError(
      'PLAN_NOT_FROM_WAREHOUSE',
      `plan ${planFile} was made from the catalogue ${name}, not from BigQuery ${env.project}.${features}: the views of ${env.name} would declare what a plan of another catalogue leaves behind`,
      `make the plan from the warehouse (\`bqx plan --engine bigquery --env ${env.name} --out ${planFile}\`), or accept this one knowingly with views.allowPlanFromLocalCatalogue (config/environments.ts) saying why`,
      'REFUSED',
    );
  }
  return { name, fromWarehouse: false, allowedBecause: reason };
}

export function resourceCount(stack: TerraformStack): number {
  return stack.node.findAll().filter((c) => TerraformResource.isTerraformResource(c)).length;
}
