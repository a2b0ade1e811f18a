import { catalogueFingerprint, type TableInfo } from '../../../core/catalogue';
import { readHistory } from '../../../core/execute/history';
import { catalogueDifferences } from '../../../core/execute/preflight';
import { isBqxError } from '../../../core/errors';
import { loadPlanFile, validatePlan } from '../../../core/plan/load';
import type { Plan } from '../../../core/plan/types';
import { loadPolicy, type Policy } from '../../../core/policy';
import type { Engine } from '../../../core/ports/engine';
import type { Findings } from '../findings';

export async function checkPolicy(findings: Findings, policyFile: string | undefined): Promise<Policy | null> {
  let policy: Policy | null = null;
  await findings.run(
    {
      id: 'tools.policy',
      section: 'tools',
      title: 'policy loads',
      onError: (m) => ({ code: 'POLICY_INVALID', priority: 'P0', title: 'the policy does not load', impact: 'no plan can be made or checked', mitigation: m.slice(0, 240) }),
    },
    () => {
      policy = loadPolicy(policyFile);
      const p = policy as Policy;
      return `${p.source}: ${p.families.length} families, budget $${p.doc.execution.budgetUsd}, hash ${p.hash.slice(0, 12)}…`;
    },
  );
  return policy;
}

export async function checkCatalogue(findings: Findings, engine: Engine): Promise<TableInfo[] | null> {
  let tables: TableInfo[] | null = null;
  await findings.run(
    {
      id: 'tools.catalogue',
      section: 'tools',
      title: 'warehouse catalogue reads to the last page',
      onError: (m) => ({
        code: 'WAREHOUSE_UNREACHABLE',
        priority: 'P0',
        title: `the ${engine.kind} warehouse cannot be listed`,
        impact: 'nothing can be planned, gated or validated',
        mitigation: `check the engine options (--database / --project, --dataset) and credentials: ${m.slice(0, 200)}`,
      }),
    },
    async () => {
      tables = await engine.listTables();
      const views = tables.filter((t) => t.kind === 'VIEW').length;
      return `${engine.where.dataset}: ${tables.length - views} tables and ${views} views, fingerprint ${catalogueFingerprint(tables).slice(0, 12)}…`;
    },
  );
  return tables;
}

/** Tables that differ from what the plan recorded, named (at most `limit`); the executor's own comparison. */
export function planDifferences(plan: Plan, tables: readonly TableInfo[], limit = 5): { count: number; shown: string[] } {
  const out = catalogueDifferences(plan, tables);
  return { count: out.length, shown: out.slice(0, limit) };
}

export interface PlanCheckInput {
  readonly planFile?: string;
  readonly plan?: Plan;
  readonly engine: Engine;
  readonly tables: readonly TableInfo[] | null;
  readonly policy: Policy | null;
}

export async function checkPlan(findings: Findings, input: PlanCheckInput): Promise<Plan | null> {
  const { engine, tables, policy } = input;
  let plan: Plan | null = null;
  await findings.run({ id: 'tools.plan', section: 'tools', title: 'plan parses and matches the current catalogue' }, async (scope) => {
    if (!input.planFile && !input.plan) {
      scope.block({
        code: 'NO_PLAN',
        priority: 'P1',
        title: 'no plan was given',
        impact: 'phase readiness and the budget were not assessed',
        mitigation: 'make one (bqx plan --out plan.json) and run bqx readiness --plan plan.json',
      });
      return 'no --plan given';
    }
    const source = input.planFile ?? 'the given plan';
    try {
      plan = input.planFile ? loadPlanFile(input.planFile) : validatePlan(input.plan, source);
    } catch (e) {
      scope.block({
        code: isBqxError(e) ? e.code : 'PLAN_INVALID',
        priority: 'P0',
        title: `plan ${source} is not valid`,
        impact: 'the executor refuses it',
        mitigation: `${(e as Error).message.slice(0, 200)}; regenerate it with bqx plan --out FILE`,
      });
      return (e as Error).message;
    }
    const p = plan as Plan;
    const facts = [`plan ${p.planHash.slice(0, 12)}… (${p.operations.length} operations, ${p.views.length} views) is valid`];
    if (p.dataset !== engine.where.dataset) {
      scope.block({
        code: 'PLAN_ELSEWHERE',
        priority: 'P0',
        title: `plan is for dataset ${p.dataset}, the engine targets ${engine.where.dataset}`,
        impact: 'the executor refuses it',
        mitigation: `pass --dataset ${p.dataset}, or make a plan for ${engine.where.dataset}`,
      });
    }
    // An apply of this plan that began here changed the catalogue: the executor resumes it instead of comparing fingerprints.
    const inProgress = tables && catalogueFingerprint(tables) !== p.catalogueFingerprint && (await readHistory(engine.ledger, p.planHash)).touched;
    if (inProgress) facts.push('catalogue changed by this plan\'s own apply (the ledger records it): the executor resumes it');
    else if (tables) {
      const fp = catalogueFingerprint(tables);
      if (fp !== p.catalogueFingerprint) {
        const d = planDifferences(p, tables);
        scope.block({
          code: 'PLAN_STALE',
          priority: 'P0',
          title: `plan was made from catalogue ${p.catalogueFingerprint.slice(0, 12)}…, the warehouse is ${fp.slice(0, 12)}…`,
          impact: 'the executor refuses a plan from another catalogue',
          mitigation: `make a new plan from the current warehouse and review it (${d.count} table(s) differ${d.shown.length ? `: ${d.shown.join('; ')}` : ''})`,
        });
        facts.push(`catalogue fingerprint differs (${d.count} tables)`);
      } else facts.push(`catalogue fingerprint ${fp.slice(0, 12)}… matches`);
    } else facts.push('catalogue not read: fingerprint not compared');
    if (policy && policy.hash !== p.policyHash) {
      scope.block({
        code: 'POLICY_CHANGED',
        priority: 'P2',
        title: `plan was made under policy ${p.policyHash.slice(0, 12)}…, the current policy is ${policy.hash.slice(0, 12)}…`,
        impact: 'the plan may not be what the current rules decide',
        mitigation: 're-plan with the current policy and compare, or keep the policy the plan was made with',
      });
    }
    return facts.join('; ');
  });
  return plan;
}
