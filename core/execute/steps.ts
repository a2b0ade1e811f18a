import { tableStateHash, type TableInfo } from '../catalogue';
import type { CompatibilityView, Plan, PlanOperation } from '../plan/types';
import type { Step } from '../ports/engine';
import { backupNameFor } from './ids';
import type { WarehouseState } from './warehouse-state';

/** The consolidation is validated between its CTAS and its first drop; the marker sits in the list. */
export type OpStep = Step | { readonly kind: 'VALIDATE_CONSOLIDATION' };

export function viewsByOperation(plan: Plan): Map<string, CompatibilityView[]> {
  const out = new Map<string, CompatibilityView[]>();
  for (const v of plan.views) {
    const list = out.get(v.operationId) ?? [];
    list.push(v);
    out.set(v.operationId, list);
  }
  return out;
}

function viewStep(v: CompatibilityView): Step {
  return { kind: 'CREATE_VIEW', name: v.name, target: v.target, columns: v.columns, filter: v.filter };
}

/** Every table a CONSOLIDATE removes: window sources and their proven copies. */
export function consolidatedTables(op: PlanOperation): string[] {
  const fromSpec = op.consolidation?.windows.flatMap((w) => [w.source, ...w.copies]) ?? [];
  return [...new Set([...fromSpec, ...op.sources])];
}

/** The steps an operation is carried out with, in order. KEEP and REVIEW have none. */
export function stepsFor(op: PlanOperation, views: readonly CompatibilityView[], attempt: number): OpStep[] {
  const target = op.target as string;
  switch (op.action) {
    case 'RENAME':
      return [{ kind: 'RENAME_TABLE', from: op.sources[0], to: target }, ...views.map(viewStep)];
    case 'DEDUPE': {
      const s = op.sources[0];
      return [
        { kind: 'BACKUP_TABLE', name: s, backupName: backupNameFor(op.id, s, attempt) },
        { kind: 'DROP_TABLE', name: s },
        ...views.map(viewStep),
      ];
    }
    case 'CONSOLIDATE': {
      // Every backup before the first drop: the drops then wait once for the backups' records to
      // be durable (ledger.settle), not once per table (on BigQuery each wait is an INSERT job, ~1 s
      // on the operation's own chain). Each drop still follows its backup's durable record.
      const removed = consolidatedTables(op);
      return [
        { kind: 'CONSOLIDATE', target, spec: op.consolidation! },
        { kind: 'VALIDATE_CONSOLIDATION' },
        ...removed.map((t): OpStep => ({ kind: 'BACKUP_TABLE', name: t, backupName: backupNameFor(op.id, t, attempt) })),
        ...removed.map((t): OpStep => ({ kind: 'DROP_TABLE', name: t })),
        ...views.map(viewStep),
      ];
    }
    case 'RETIRE_VIEW':
      return [{ kind: 'DROP_VIEW', name: op.sources[0] }];
    default:
      return [];
  }
}

export function describeStep(s: OpStep): string {
  switch (s.kind) {
    case 'RENAME_TABLE':
      return `RENAME ${s.from} -> ${s.to}`;
    case 'DROP_TABLE':
      return `DROP TABLE ${s.name}`;
    case 'DROP_VIEW':
      return `DROP VIEW ${s.name}`;
    case 'BACKUP_TABLE':
      return `BACKUP ${s.name} -> ${s.backupName}`;
    case 'RESTORE_TABLE':
      return `RESTORE ${s.backupName} -> ${s.name}`;
    case 'CONSOLIDATE':
      return `CONSOLIDATE ${s.spec.windows.map((w) => w.source).join(' + ')} -> ${s.target}`;
    case 'CREATE_VIEW':
      return `CREATE VIEW ${s.name} -> ${s.target}`;
    case 'VALIDATE_CONSOLIDATION':
      return 'VALIDATE consolidation';
  }
}

export type StepCheck = { readonly state: 'done' | 'todo' } | { readonly state: 'conflict'; readonly detail: string };

const DONE: StepCheck = { state: 'done' };
const TODO: StepCheck = { state: 'todo' };

export function sameColumns(a: TableInfo['columns'], b: TableInfo['columns']): boolean {
  return a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type);
}

/** The state a renamed (or viewed) table must hash to: the source's, under the source's name. */
export function matchesSourceState(op: PlanOperation, sourceName: string, info: Pick<TableInfo, 'columns' | 'rowCount'>): boolean {
  return tableStateHash({ name: sourceName, kind: 'TABLE', columns: info.columns, rowCount: info.rowCount }) === op.sourceState[sourceName];
}

/**
 * Has this step already happened? Read from the warehouse before a step is (re-)issued, so a crash
 * between a step and its ledger record neither repeats nor loses it. `ledgerSaysDone` covers what
 * the dataset cannot show: a backup (it lives in the runner dataset) and a passed validation.
 */
export async function checkStep(
  step: OpStep,
  op: PlanOperation,
  state: WarehouseState,
  ledgerSaysDone: (s: OpStep) => boolean,
): Promise<StepCheck> {
  switch (step.kind) {
    case 'RENAME_TABLE': {
      const [from, to] = await Promise.all([state.get(step.from), state.get(step.to)]);
      const fromIsTable = from?.kind === 'TABLE';
      if (to?.kind === 'TABLE' && !fromIsTable) {
        return matchesSourceState(op, step.from, to)
          ? DONE
          : { state: 'conflict', detail: `${step.to} exists but does not hold ${step.from}'s planned state (schema/row count)` };
      }
      return TODO;
    }
    case 'CONSOLIDATE': {
      const t = await state.get(step.target);
      if (!t) return TODO;
      const names = new Set(t.columns.map((c) => c.name));
      const want = [...step.spec.columns.map((c) => c.name), ...step.spec.windows.map((w) => w.presenceColumn)];
      const missing = want.filter((n) => !names.has(n));
      if (t.kind === 'TABLE' && missing.length === 0) return DONE;
      return { state: 'conflict', detail: `${step.target} exists but is not the planned consolidation (missing ${missing.slice(0, 5).join(', ') || 'nothing'}; kind ${t.kind})` };
    }
    case 'VALIDATE_CONSOLIDATION':
      return ledgerSaysDone(step) ? DONE : TODO;
    case 'BACKUP_TABLE': {
      if (ledgerSaysDone(step)) return DONE;
      // The drop is only issued after the backup's record is written: a source gone without one
      // was removed by someone else, and there is nothing to back up.
      const t = await state.get(step.name);
      return t?.kind === 'TABLE' ? TODO : { state: 'conflict', detail: `${step.name} is gone and the ledger records no backup of it` };
    }
    case 'DROP_TABLE': {
      const t = await state.get(step.name);
      return t?.kind === 'TABLE' ? TODO : DONE;
    }
    case 'CREATE_VIEW': {
      const v = await state.get(step.name);
      if (!v) return TODO;
      if (v.kind === 'VIEW') return DONE;
      return TODO;
    }
    case 'DROP_VIEW': {
      const v = await state.get(step.name);
      return v?.kind === 'VIEW' ? TODO : DONE;
    }
    case 'RESTORE_TABLE': {
      const t = await state.get(step.name);
      return t?.kind === 'TABLE' ? DONE : TODO;
    }
  }
}

/** The ledger key of a finished step (its STEP_DONE record's reason and detail). */
export function stepKey(step: OpStep): { reason: string; detail: string } {
  switch (step.kind) {
    case 'RENAME_TABLE':
      return { reason: step.kind, detail: `${step.from}>${step.to}` };
    case 'BACKUP_TABLE':
      return { reason: step.kind, detail: `${step.name}>${step.backupName}` };
    case 'RESTORE_TABLE':
      return { reason: step.kind, detail: `${step.backupName}>${step.name}` };
    case 'CONSOLIDATE':
      return { reason: step.kind, detail: step.target };
    case 'VALIDATE_CONSOLIDATION':
      return { reason: step.kind, detail: 'ok' };
    default:
      return { reason: step.kind, detail: step.name };
  }
}
