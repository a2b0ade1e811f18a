import type { Command } from 'commander';
import { catalogueFingerprint, type TableInfo } from '../../catalogue';
import { catalogueDifferences } from '../../execute/preflight';
import { isBqxError } from '../../errors';
import { loadPlanFile, validatePlan } from '../../plan/load';
import type { Plan } from '../../plan/types';
import { loadPolicy, type Policy } from '../../policy';
import type { Engine } from '../../../engines/engine';
import type { Findings } from '../findings';
import type { Priority } from '../types';

/** Every verb the runbook relies on, and what its absence means. */
export const EXPECTED_VERBS: readonly { readonly verb: string; readonly priority: Priority; readonly role: string; readonly readsWarehouse: boolean }[] = [
  { verb: 'warehouse seed', priority: 'P3', role: 'seeds the local warehouse for rehearsals', readsWarehouse: false },
  { verb: 'audit', priority: 'P2', role: 'audits names against M008', readsWarehouse: true },
  { verb: 'plan', priority: 'P1', role: 'makes the plan', readsWarehouse: true },
  { verb: 'apply', priority: 'P0', role: 'executes the plan (paper and real runs)', readsWarehouse: true },
  { verb: 'verify', priority: 'P1', role: 'validates applied operations', readsWarehouse: true },
  { verb: 'reconcile', priority: 'P1', role: 'compares the plan with the warehouse after a run', readsWarehouse: true },
  { verb: 'rollback', priority: 'P0', role: 'replays the ledger backwards', readsWarehouse: true },
  { verb: 'unlock', priority: 'P1', role: 'clears a held or frozen runner lock', readsWarehouse: true },
  { verb: 'readiness', priority: 'P2', role: 'this audit', readsWarehouse: true },
];

/**
 * A verb passes its self-check when it is registered, renders its help, has an action and, if it
 * reads the warehouse, accepts the shared engine options.
 */
export function selfCheckVerb(program: Command, verb: string, readsWarehouse: boolean): string | null {
  // `warehouse seed`: a verb of a command group.
  let cmd: Command | undefined = program;
  for (const part of verb.split(' ')) {
    cmd = cmd.commands.find((c) => c.name() === part);
    if (!cmd) return `not registered in the CLI`;
  }
  let help: string;
  try {
    help = cmd.helpInformation();
  } catch (e) {
    return `--help fails: ${(e as Error).message}`;
  }
  if (!help.includes(`Usage: bqx ${verb}`)) return `--help does not show the usage line (got ${JSON.stringify(help.slice(0, 60))})`;
  // commander keeps the action in a private field; a verb without one would do nothing.
  if (typeof (cmd as unknown as { _actionHandler?: unknown })._actionHandler !== 'function') return 'has no action';
  if (readsWarehouse) {
    const longs = cmd.options.map((o) => o.long);
    const missing = ['--engine', '--dataset', '--runner-dataset'].filter((o) => !longs.includes(o));
    if (missing.length) return `does not accept the engine options ${missing.join(', ')}`;
  }
  return null;
}

export async function checkCli(findings: Findings, buildProgram: () => Command): Promise<void> {
  let program: Command | null = null;
  await findings.run(
    {
      id: 'tools.cli',
      section: 'tools',
      title: 'CLI builds',
      onError: (m) => ({ code: 'CLI_BROKEN', priority: 'P0', title: 'the CLI program cannot be built', impact: 'no command can run', mitigation: `fix the error: ${m.slice(0, 200)}` }),
    },
    () => {
      program = buildProgram();
      return `bqx registers ${program.commands.length} verbs: ${program.commands.map((c) => c.name()).join(', ')}`;
    },
  );
  for (const v of EXPECTED_VERBS) {
    await findings.run({ id: `tools.cli.${v.verb.replace(/ /g, '.')}`, section: 'tools', title: `bqx ${v.verb}` }, (scope) => {
      if (!program) {
        scope.skip();
        return 'not checked: the CLI did not build';
      }
      const problem = selfCheckVerb(program, v.verb, v.readsWarehouse);
      if (problem) {
        scope.block({
          code: 'VERB_NOT_READY',
          priority: v.priority,
          title: `bqx ${v.verb} ${problem}`,
          impact: `nothing ${v.role}`,
          mitigation: `register and build bqx ${v.verb} (scripts/commands/index.ts), then run npm run build`,
        });
        return problem;
      }
      return `registered, --help renders, action attached${v.readsWarehouse ? ', engine options accepted' : ''}`;
    });
  }
  // Verbs registered beyond the expected ones self-check too (a broken extra verb is still broken).
  const expected = new Set(EXPECTED_VERBS.map((v) => v.verb.split(' ')[0]));
  for (const cmd of (program as Command | null)?.commands ?? []) {
    if (expected.has(cmd.name())) continue;
    const verbs = cmd.commands.length ? cmd.commands.map((c) => `${cmd.name()} ${c.name()}`).filter((v) => !v.endsWith(' help')) : [cmd.name()];
    for (const verb of verbs) {
      await findings.run({ id: `tools.cli.${verb.replace(/ /g, '.')}`, section: 'tools', title: `bqx ${verb}` }, (scope) => {
        const problem = selfCheckVerb(program as unknown as Command, verb, false);
        if (problem) {
          scope.block({ code: 'VERB_NOT_READY', priority: 'P2', title: `bqx ${verb} ${problem}`, impact: 'that verb does not work', mitigation: 'fix its registration in scripts/commands/' });
          return problem;
        }
        return 'registered, --help renders, action attached';
      });
    }
  }
}

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
  await findings.run({ id: 'tools.plan', section: 'tools', title: 'plan parses and matches the current catalogue' }, (scope) => {
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
    if (tables) {
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
