import { stepsFor, viewsByOperation } from '../../../core/execute/steps';
import { isActionable, type Plan, type PlanOperation } from '../../../core/plan/types';
import type { Policy } from '../../../core/policy';
import type { Engine, Step } from '../../../core/ports/engine';
import type { Findings } from '../findings';
import type { CostEstimate } from '../types';

export const OPERATION_CLASSES = ['RENAME', 'DEDUPE', 'CONSOLIDATE', 'VIEWS', 'VALIDATION'] as const;
export type OperationClass = (typeof OPERATION_CLASSES)[number];

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

/** The first operation of a class whose sources are all still tables (not yet applied). */
async function firstPending(engine: Engine, plan: Plan, action: PlanOperation['action']): Promise<PlanOperation | null> {
  for (const op of [...plan.operations].sort((a, b) => a.seq - b.seq)) {
    if (op.action !== action) continue;
    const sources = await Promise.all(op.sources.map((s) => engine.getTable(s)));
    if (sources.every((t) => t?.kind === 'TABLE')) return op;
  }
  return null;
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
  const viewsOf = viewsByOperation(plan);
  const counts: Record<OperationClass, number> = {
    RENAME: plan.operations.filter((o) => o.action === 'RENAME').length,
    DEDUPE: plan.operations.filter((o) => o.action === 'DEDUPE').length,
    CONSOLIDATE: plan.operations.filter((o) => o.action === 'CONSOLIDATE').length,
    VIEWS: plan.views.length,
    VALIDATION: plan.operations.filter((o) => isActionable(o.action)).length,
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
        const facts: string[] = [];
        if (cls === 'VIEWS') {
          // A view is rehearsed with the operation that frees its name (its target exists only after it).
          const v = plan.views[0];
          const p = renderProblem(engine, { kind: 'CREATE_VIEW', name: v.name, target: v.target, columns: v.columns, filter: v.filter });
          if (p) problems.push(p);
          else facts.push(`CREATE VIEW ${v.name} renders; views are rehearsed with their operations`);
        } else if (cls === 'VALIDATION') {
          const missing = (['rowCount', 'nullCounts', 'coverage', 'mismatchedRows', 'probe', 'contentFingerprint'] as const).filter((f) => typeof engine[f] !== 'function');
          if (missing.length) problems.push(`the engine lacks ${missing.join(', ')}`);
          const op = [...plan.operations].sort((a, b) => a.seq - b.seq).find((o) => isActionable(o.action)) as PlanOperation;
          const table = await engine.getTable(op.sources[0]);
          // Once applied, the name may be a compatibility view: a view has no stored row count to lag.
          if (table?.kind === 'VIEW') facts.push(`${op.sources[0]} is a compatibility view now (already applied): row count not probed`);
          else if (table) {
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
          const op = await firstPending(engine, plan, cls);
          if (!op) {
            scope.skip();
            return `every ${cls.toLowerCase()} of the plan is applied: nothing to rehearse`;
          }
          const list = stepsFor(op, viewsOf.get(op.id) ?? [], 1).filter((s): s is Step => s.kind !== 'VALIDATE_CONSOLIDATION');
          for (const s of list) {
            const p = renderProblem(engine, s);
            if (p) problems.push(p);
          }
          const what = `${op.id} (${op.sources.slice(0, 2).join(', ')}${op.sources.length > 2 ? ', …' : ''} → ${op.target})`;
          if (!problems.length) {
            try {
              const r = await engine.rehearse(list);
              facts.push(`${what}: ${list.length} steps render; the engine accepted ${r.statements} statement(s) without changing anything${r.deferred ? `, ${r.deferred} wait for an earlier step` : ''}`);
            } catch (e) {
              problems.push(`the engine refuses a statement of ${what}: ${(e as Error).message.split('\n')[0].slice(0, 200)}`);
            }
          }
          if (cls === 'CONSOLIDATE' && policy && !problems.length) {
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
