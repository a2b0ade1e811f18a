import * as path from 'path';
import type { Plan, PlanOperation } from '../../plan/types';
import type { Policy } from '../../policy';
import type { Engine, Step } from '../../../engines/engine';
import type { Findings } from '../findings';
import type { CostEstimate } from '../types';

type StepsModule = typeof import('../../execute/steps');

/** Executor modules and the exports each operation class needs at run time. */
export const EXECUTOR_EXPORTS: Readonly<Record<string, readonly string[]>> = {
  'execute/apply': ['applyPlan'],
  'execute/steps': ['stepsFor', 'viewsByOperation'],
  'execute/validate': ['validateOperation', 'validateConsolidation'],
  'execute/rollback': ['rollbackPlan'],
  'execute/verify': ['verifyPlan'],
  'execute/reconcile': ['reconcilePlan'],
};

/** Loads a module of core/ at run time (source under tests, compiled under dist) and lists missing exports. */
export function missingExports(module: string, names: readonly string[], load: (m: string) => unknown = (m) => require(path.join(__dirname, '..', '..', m))): string[] {
  let mod: Record<string, unknown>;
  try {
    mod = load(module) as Record<string, unknown>;
  } catch (e) {
    return [`core/${module} does not load (${(e as Error).message.split('\n')[0].slice(0, 120)})`];
  }
  return names.filter((n) => typeof mod[n] !== 'function').map((n) => `core/${module} lacks ${n}()`);
}

export const OPERATION_CLASSES = ['RENAME', 'DEDUPE', 'CONSOLIDATE', 'VIEWS', 'VALIDATION'] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];

const CLASS_MODULES: Record<OperationClass, readonly string[]> = {
  RENAME: ['execute/apply', 'execute/steps', 'execute/rollback'],
  DEDUPE: ['execute/apply', 'execute/steps', 'execute/rollback'],
  CONSOLIDATE: ['execute/apply', 'execute/steps', 'execute/validate', 'execute/rollback'],
  VIEWS: ['execute/steps'],
  VALIDATION: ['execute/validate', 'execute/verify', 'execute/reconcile'],
};

/** Names a step's rendered SQL must mention for it to be the statement the step asks for. */
function expectedNames(step: Step): string[] {
  switch (step.kind) {
    case 'RENAME_TABLE':
      return [step.from, step.to];
    case 'DROP_TABLE':
    case 'DROP_VIEW':
    case 'CREATE_VIEW':
      return [step.name];
    case 'BACKUP_TABLE':
      return [step.name, step.backupName];
    case 'RESTORE_TABLE':
      return [step.backupName, step.name];
    case 'CONSOLIDATE':
      return [step.target, ...step.spec.windows.map((w) => w.source)];
  }
}

/** Renders a step with the engine and checks the SQL is there and names what it must. */
export function renderProblem(engine: Engine, step: Step): string | null {
  let sql: string[];
  try {
    sql = engine.render(step);
  } catch (e) {
    return `${step.kind} does not render: ${(e as Error).message.slice(0, 160)}`;
  }
  if (!Array.isArray(sql) || sql.length === 0 || sql.some((s) => typeof s !== 'string' || s.trim() === '')) return `${step.kind} renders no statement`;
  const text = sql.join('\n');
  const absent = expectedNames(step).filter((n) => !text.includes(n));
  return absent.length ? `${step.kind} SQL does not mention ${absent.join(', ')}` : null;
}

function firstOf(plan: Plan, action: PlanOperation['action']): PlanOperation | undefined {
  return [...plan.operations].sort((a, b) => a.seq - b.seq).find((o) => o.action === action);
}

export interface PhaseResult {
  /** One consolidation's bytes measured by dry run (for the cost section). */
  dryRunSample: CostEstimate['dryRunSample'];
}

/** For each operation class the plan holds: the executor is there and the engine renders a real step of it. */
export async function checkPhases(findings: Findings, engine: Engine, plan: Plan | null, policy: Policy | null): Promise<PhaseResult> {
  const result: PhaseResult = { dryRunSample: null };
  if (!plan) {
    await findings.run({ id: 'phases', section: 'phases', title: 'phase readiness' }, (scope) => {
      scope.skip();
      return 'not assessed: no valid plan';
    });
    return result;
  }
  let steps: StepsModule | null = null;
  try {
    steps = require(path.join(__dirname, '..', '..', 'execute', 'steps')) as StepsModule;
  } catch {
    steps = null;
  }
  const viewsOf = steps?.viewsByOperation(plan) ?? new Map();
  const counts: Record<OperationClass, number> = {
    RENAME: plan.operations.filter((o) => o.action === 'RENAME').length,
    DEDUPE: plan.operations.filter((o) => o.action === 'DEDUPE').length,
    CONSOLIDATE: plan.operations.filter((o) => o.action === 'CONSOLIDATE').length,
    VIEWS: plan.views.length,
    VALIDATION: plan.operations.filter((o) => o.action === 'RENAME' || o.action === 'DEDUPE' || o.action === 'CONSOLIDATE').length,
  };

  for (const cls of OPERATION_CLASSES) {
    await findings.run(
      {
        id: `phases.${cls.toLowerCase()}`,
        section: 'phases',
        title: `${cls.toLowerCase()} (${counts[cls]} in the plan)`,
        onError: (m) => ({
          code: 'PHASE_NOT_READY',
          priority: 'P0',
          title: `${cls.toLowerCase()}: the readiness probe failed`,
          impact: `${counts[cls]} ${cls.toLowerCase()} operation(s) cannot be trusted to run`,
          mitigation: m.slice(0, 200),
        }),
      },
      async (scope) => {
        if (counts[cls] === 0) {
          scope.skip();
          return 'none in the plan';
        }
        const problems: string[] = [];
        for (const m of CLASS_MODULES[cls]) problems.push(...missingExports(m, EXECUTOR_EXPORTS[m]));
        const facts: string[] = [];
        if (cls === 'VIEWS') {
          const v = plan.views[0];
          const p = renderProblem(engine, { kind: 'CREATE_VIEW', name: v.name, target: v.target, columns: v.columns, filter: v.filter });
          if (p) problems.push(p);
          else facts.push(`CREATE VIEW ${v.name} renders`);
        } else if (cls === 'VALIDATION') {
          const missing = (['rowCount', 'nullCounts', 'coverage', 'mismatchedRows', 'probe', 'contentFingerprint'] as const).filter((f) => typeof engine[f] !== 'function');
          if (missing.length) problems.push(`the engine lacks ${missing.join(', ')}`);
          const op = [...plan.operations].sort((a, b) => a.seq - b.seq).find((o) => o.action !== 'KEEP' && o.action !== 'REVIEW') as PlanOperation;
          const table = await engine.getTable(op.sources[0]);
          if (table) {
            const rows = await engine.rowCount(op.sources[0]);
            if (rows !== table.rowCount) {
              facts.push(`row count of ${op.sources[0]} reads ${rows}, metadata says ${table.rowCount}`);
              scope.block({
                code: 'ROW_COUNT_LAG',
                priority: 'P2',
                title: `row count of ${op.sources[0]} reads ${rows} but its metadata says ${table.rowCount}`,
                impact: 'row-count validation may report differences that are only metadata lag (streaming inserts)',
                mitigation: 'wait for the streaming buffer to flush, then run readiness again',
              });
            } else facts.push(`row count of ${op.sources[0]} reads ${rows} as the metadata says`);
          } else facts.push(`${op.sources[0]} not present (already applied?): row count not probed`);
        } else {
          const op = firstOf(plan, cls) as PlanOperation;
          if (!steps) problems.push('core/execute/steps does not load: the steps of an operation cannot be derived');
          else {
            const list = steps.stepsFor(op, viewsOf.get(op.id) ?? [], 1).filter((s): s is Step => s.kind !== 'VALIDATE_CONSOLIDATION');
            for (const s of list) {
              const p = renderProblem(engine, s);
              if (p) problems.push(p);
            }
            facts.push(`${op.id} (${op.sources.slice(0, 2).join(', ')}${op.sources.length > 2 ? ', …' : ''} → ${op.target}): ${list.length} steps render`);
            if (cls === 'CONSOLIDATE' && policy) {
              const step = list.find((s) => s.kind === 'CONSOLIDATE') as Step;
              try {
                const bytes = await engine.estimateBytes(step);
                result.dryRunSample = { operationId: op.id, plannedBytes: op.estimatedBytes, dryRunBytes: bytes };
                facts.push(`dry run reads ${bytes} bytes (planned ${op.estimatedBytes})`);
              } catch (e) {
                problems.push(`the consolidation's dry run fails against the warehouse: ${(e as Error).message.slice(0, 200)}`);
              }
            }
          }
        }
        if (problems.length) {
          scope.block({
            code: 'PHASE_NOT_READY',
            priority: 'P0',
            title: `${cls.toLowerCase()}: ${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`,
            impact: `${counts[cls]} ${cls.toLowerCase()} operation(s) cannot run`,
            mitigation: `fix: ${problems.join('; ').slice(0, 300)}`,
          });
        }
        return [...facts, ...problems].join('; ');
      },
    );
  }
  return result;
}
