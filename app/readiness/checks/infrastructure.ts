import { bytesToUsd } from '../../../core/cost';
import type { DatasetInfo } from '../../../core/catalogue';
import type { Plan } from '../../../core/plan/types';
import type { Policy } from '../../../core/policy';
import type { Engine } from '../../../core/ports/engine';
import type { Findings } from '../findings';
import type { DeclaredStacks } from '../stacks';
import { formatUsd as usd } from '../format';
import type { CostEstimate } from '../types';

const DAY_MS = 86_400_000;

const days = (ms: number) => `${(ms / DAY_MS).toFixed(ms % DAY_MS === 0 ? 0 : 2)} day(s)`;

/** The dataset the plan renames in: it exists and has no default table expiration. */
export async function checkTargetDataset(findings: Findings, engine: Engine, dataset: string): Promise<DatasetInfo | null> {
  let info: DatasetInfo | null = null;
  await findings.run({ id: 'infrastructure.dataset', section: 'infrastructure', title: `dataset ${dataset}` }, async (scope) => {
    info = await engine.datasetInfo(dataset);
    const i = info as DatasetInfo;
    if (!i.exists) {
      scope.block({
        code: 'DATASET_MISSING',
        priority: 'P0',
        title: `dataset ${dataset} does not exist`,
        impact: 'there is nothing to remediate; every operation fails SOURCE_MISSING',
        mitigation: 'check --dataset and --project (or --database); deploy the data stack',
      });
      return 'does not exist';
    }
    if (i.defaultTableExpirationMs !== null) {
      scope.block({
        code: 'DATASET_EXPIRATION',
        priority: 'P0',
        title: `dataset ${dataset} has a default table expiration of ${days(i.defaultTableExpirationMs)}`,
        impact: 'a renamed table keeps its creation time and can be deleted at once; consolidated tables would expire too',
        mitigation: `remove it: bq update --default_table_expiration 0 ${engine.where.project}:${dataset} (and keep it out of the data stack)`,
      });
    }
    return `exists${i.location ? ` in ${i.location}` : ''}; default table expiration: ${i.defaultTableExpirationMs === null ? 'none' : days(i.defaultTableExpirationMs)}`;
  });
  return info;
}

/** The runner's dataset holds the ledger, the lock and the backups rollback restores from. */
export async function checkRunnerDataset(findings: Findings, engine: Engine): Promise<void> {
  const dataset = engine.where.runnerDataset;
  await findings.run({ id: 'infrastructure.runner-dataset', section: 'infrastructure', title: `runner dataset ${dataset}` }, async (scope) => {
    const i = await engine.datasetInfo(dataset);
    if (!i.exists) {
      if (engine.kind === 'bigquery') {
        scope.block({
          code: 'RUNNER_DATASET_MISSING',
          priority: 'P1',
          title: `runner dataset ${dataset} does not exist`,
          impact: 'the first run must create it, which needs bigquery.datasets.create (the runner should not hold it)',
          mitigation: 'deploy the data stack (it declares the ledger dataset) before the first run',
        });
      } else {
        scope.block({
          code: 'RUNNER_DATASET_MISSING',
          priority: 'P3',
          title: `runner schema ${dataset} does not exist yet`,
          impact: 'none: the local ledger creates it on the first run',
          mitigation: 'nothing to do',
        });
      }
      return 'does not exist';
    }
    if (i.defaultTableExpirationMs !== null) {
      scope.block({
        code: 'RUNNER_DATASET_EXPIRATION',
        priority: 'P0',
        title: `runner dataset ${dataset} has a default table expiration of ${days(i.defaultTableExpirationMs)}`,
        impact: 'ledger records and backups would expire: re-runs would repeat work and rollback could not restore dropped tables',
        mitigation: `remove it: bq update --default_table_expiration 0 ${engine.where.project}:${dataset}`,
      });
    }
    return `exists; default table expiration: ${i.defaultTableExpirationMs === null ? 'none' : days(i.defaultTableExpirationMs)}`;
  });
}

export function costOf(plan: Plan, policy: Policy, dryRunSample: CostEstimate['dryRunSample']): CostEstimate {
  const price = policy.doc.execution.pricePerTiBUsd;
  const consolidationBytes = plan.operations.filter((o) => o.action === 'CONSOLIDATE').reduce((n, o) => n + o.estimatedBytes, 0);
  const estimatedBytes = plan.operations.reduce((n, o) => n + o.estimatedBytes, 0);
  return {
    estimatedBytes,
    estimatedCostUsd: bytesToUsd(estimatedBytes, price),
    consolidationBytes,
    consolidationCostUsd: bytesToUsd(consolidationBytes, price),
    budgetUsd: policy.doc.execution.budgetUsd,
    pricePerTiBUsd: price,
    dryRunSample,
  };
}


/** The plan's estimated cost against the policy's per-run budget. */
export async function checkBudget(findings: Findings, cost: CostEstimate | null): Promise<void> {
  await findings.run({ id: 'infrastructure.budget', section: 'infrastructure', title: 'budget room' }, (scope) => {
    if (!cost) {
      scope.skip();
      return 'not assessed: no valid plan or policy';
    }
    const facts = `operations read ${cost.estimatedBytes} bytes (${usd(cost.estimatedCostUsd)}), of which consolidations ${cost.consolidationBytes} (${usd(cost.consolidationCostUsd)}); budget ${usd(cost.budgetUsd)}`;
    if (cost.estimatedCostUsd > cost.budgetUsd + 1e-9) {
      scope.block({
        code: 'BUDGET_TOO_SMALL',
        priority: 'P1',
        title: `the consolidations need ${usd(cost.estimatedCostUsd)}, the budget is ${usd(cost.budgetUsd)}`,
        impact: 'the cost gate refuses the batch that crosses the budget; the run stops part-way',
        mitigation: 'apply in smaller batches (bqx apply --max-operations N) across budget periods, or raise execution.budgetUsd in the policy after approval',
      });
    } else if (cost.budgetUsd > 0 && cost.estimatedCostUsd > 0.8 * cost.budgetUsd) {
      scope.block({
        code: 'BUDGET_TIGHT',
        priority: 'P3',
        title: `the plan uses ${Math.round((100 * cost.estimatedCostUsd) / cost.budgetUsd)}% of the budget`,
        impact: 'a dry run that reads more than planned could cross the budget',
        mitigation: 'watch the cost column of the paper run',
      });
    }
    const sample = cost.dryRunSample;
    if (sample && sample.plannedBytes > 0 && sample.dryRunBytes > 2 * sample.plannedBytes) {
      scope.block({
        code: 'ESTIMATE_LOW',
        priority: 'P2',
        title: `a consolidation's dry run reads ${sample.dryRunBytes} bytes, ${(sample.dryRunBytes / sample.plannedBytes).toFixed(1)}× the plan's estimate`,
        impact: 'the plan underestimates cost; the budget may run out sooner',
        mitigation: 'use the paper run (bqx apply --dry-run) figures, which come from dry runs',
      });
    }
    return facts;
  });
}

/** What the synthesized stacks declare against what the warehouse holds. */
export async function checkStacks(findings: Findings, engine: Engine, load: () => DeclaredStacks | null, stacksDir: string, planDataset: string): Promise<void> {
  await findings.run(
    {
      id: 'infrastructure.stacks',
      section: 'infrastructure',
      title: 'stacks versus warehouse',
      onError: (m) => ({ code: 'STACKS_UNREADABLE', priority: 'P2', title: 'the synthesized stacks cannot be compared', impact: 'declared datasets were not compared with the warehouse', mitigation: m.slice(0, 200) }),
    },
    async (scope) => {
    const stacks = load();
    if (!stacks) {
      scope.block({
        code: 'STACKS_NOT_SYNTHESIZED',
        priority: 'P2',
        title: `no synthesized stacks in ${stacksDir}`,
        impact: 'declared datasets were not compared with the warehouse',
        mitigation: 'npm run synth, then run bqx readiness --stacks cdktf.out',
      });
      return `${stacksDir}/stacks/*/cdk.tf.json not found`;
    }
    const seen = new Set<string>();
    const missing: string[] = [];
    const drift: string[] = [];
    const declared = stacks.datasets.filter((d) => (seen.has(d.datasetId) ? false : (seen.add(d.datasetId), true)));
    for (const d of declared) {
      if (d.datasetId === planDataset && d.defaultTableExpirationMs !== null) {
        scope.block({
          code: 'STACK_DECLARES_EXPIRATION',
          priority: 'P0',
          title: `stack ${d.stack} declares a default table expiration on ${d.datasetId}, which the plan renames in`,
          impact: 'deploying the stack would put back an expiration that can delete renamed tables',
          mitigation: 'remove defaultTableExpirationDays from that dataset in config/environments.ts and synthesize again',
        });
      }
      const info = await engine.datasetInfo(d.datasetId);
      if (!info.exists) {
        missing.push(d.datasetId);
        continue;
      }
      // The plan's and the runner's datasets have their own checks (P0 on any expiration).
      if (d.datasetId !== planDataset && d.datasetId !== engine.where.runnerDataset && info.defaultTableExpirationMs !== d.defaultTableExpirationMs) {
        drift.push(`${d.datasetId} expiration ${info.defaultTableExpirationMs ?? 'none'} ms, declared ${d.defaultTableExpirationMs ?? 'none'}`);
      }
      if (d.location && info.location && d.location.toLowerCase() !== info.location.toLowerCase()) drift.push(`${d.datasetId} in ${info.location}, declared ${d.location}`);
    }
    const others = missing.filter((m) => m !== planDataset && m !== engine.where.runnerDataset);
    if (others.length) {
      scope.block({
        code: 'DECLARED_DATASET_MISSING',
        priority: 'P2',
        title: `${others.length} declared dataset(s) do not exist: ${others.join(', ')}`,
        impact: 'the stacks and the warehouse disagree; jobs that use those datasets fail',
        mitigation: engine.kind === 'bigquery' ? 'deploy the data stack (cdktf deploy data)' : 'seed the local warehouse again (bqx warehouse seed)',
      });
    }
    if (drift.length) {
      scope.block({
        code: 'STACK_DRIFT',
        priority: 'P2',
        title: `${drift.length} dataset setting(s) differ from the stacks`,
        impact: 'the next terraform apply changes them',
        mitigation: `review the drift (${drift.slice(0, 4).join('; ')}) and either deploy the stack or change the declaration`,
      });
    }
    if (!seen.has(planDataset)) {
      scope.block({
        code: 'PLAN_DATASET_UNDECLARED',
        priority: 'P2',
        title: `the stacks do not declare ${planDataset}`,
        impact: 'its settings (no default expiration, IAM) are not under review',
        mitigation: 'declare it in config/environments.ts',
      });
    }
    return `${stacks.stacks.length} stacks declare ${declared.length} datasets, ${stacks.buckets.length} buckets, ${stacks.jobs.length} jobs, ${stacks.alertPolicies.length} alert policies, ${stacks.views} views; ${declared.length - missing.length} datasets exist${missing.length ? `, missing: ${missing.join(', ')}` : ''}`;
  });
}
