import type { TableInfo } from '../catalogue';
import type { CompatibilityView, PlanOperation } from '../plan/types';
import { consolidatedTables, sameColumns } from './steps';
import type { ValidationCheck } from './validate';
import type { WarehouseState } from './warehouse-state';

/**
 * What paper mode can check without changing anything: in the simulated end state every old name
 * is a view with exactly the old table's columns (names and types), and the target is a table.
 */
export async function paperChecks(state: WarehouseState, op: PlanOperation, views: readonly CompatibilityView[], before: ReadonlyMap<string, TableInfo>): Promise<ValidationCheck[]> {
  const out: ValidationCheck[] = [];
  if (op.action === 'RETIRE_VIEW') {
    const now = await state.get(op.sources[0]);
    return [{ operationId: op.id, check: `view ${op.sources[0]} dropped`, kind: 'schema', ok: !now, detail: now ? `still a ${now.kind}` : 'gone' }];
  }
  const target = await state.get(op.target as string);
  out.push({ operationId: op.id, check: `target ${op.target} is a table`, kind: 'schema', ok: target?.kind === 'TABLE', detail: target ? target.kind : 'missing' });
  const gone = op.action === 'CONSOLIDATE' ? consolidatedTables(op) : op.sources;
  const viewNames = new Set(views.map((v) => v.name));
  for (const s of gone) {
    if (!viewNames.has(s)) out.push({ operationId: op.id, check: `${s} has a compatibility view`, kind: 'view', ok: false, detail: 'the plan has no view for this name' });
  }
  for (const v of views) {
    const now = await state.get(v.name);
    const old = before.get(v.name);
    const ok = now?.kind === 'VIEW' && (!old || sameColumns(now.columns, old.columns));
    out.push({
      operationId: op.id,
      check: `view ${v.name} columns`,
      kind: 'schema',
      ok,
      detail: ok ? `${now!.columns.length} columns as the old table` : `simulated view has ${now?.columns.map((c) => `${c.name}:${c.type}`).join(',') ?? 'nothing'}; old table ${old?.columns.map((c) => `${c.name}:${c.type}`).join(',')}`,
    });
  }
  return out;
}
