/**
 * What changed between a reviewed plan and a new one (`bqx plan --diff PREVIOUS_PLAN`): the
 * operations added, removed and changed, and the catalogue drift behind them (tables that appeared,
 * disappeared or changed state between the two catalogues), as `terraform plan` shows changes
 * against state. The PR workflow posts it when `plans/` changes.
 *
 * An operation is known by its sources (every table belongs to exactly one operation of a plan),
 * so the same tables with another action, reason, target or variant are one changed operation; a
 * regrouping (a CONSOLIDATE over other windows) is one removed and one added. Pure.
 */
import type { Plan, PlanOperation } from '../core/plan/types';
import { ACTION_MARKERS, operationText } from './plan-review';

/** The fields whose change changes what an operation does. */
const COMPARED = ['action', 'reason', 'target', 'variant', 'destructive'] as const;

export interface PlanSide {
  readonly planHash: string;
  readonly catalogue: string;
  readonly catalogueFingerprint: string;
  readonly tables: number;
  readonly policyHash: string;
  readonly grace: string;
}

export interface ChangedOperation {
  readonly sources: string;
  readonly fields: readonly string[];
  readonly before: string;
  readonly after: string;
}

export interface PlanDiff {
  readonly previous: PlanSide;
  readonly current: PlanSide;
  /** Tables by name, from each plan's record of its sources' state. */
  readonly catalogue: { readonly added: string[]; readonly removed: string[]; readonly changed: string[] };
  readonly operations: {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: ChangedOperation[];
    readonly unchanged: number;
  };
}

const side = (p: Plan): PlanSide => ({
  planHash: p.planHash,
  catalogue: `${p.engine}:${p.project}.${p.dataset}`,
  catalogueFingerprint: p.catalogueFingerprint,
  tables: p.tableCount,
  policyHash: p.policyHash,
  grace: `${p.graceStart} + ${p.graceDays} days`,
});

const keyOf = (op: PlanOperation) => [...op.sources].sort().join(' + ');
const byKey = (p: Plan) => new Map(p.operations.map((o) => [keyOf(o), o]));
/** `marker ACTION REASON sources -> target   evidence`: a line of the diff, marked as the review file marks it. */
const opLine = (op: PlanOperation) => `${ACTION_MARKERS[op.action]} ${operationText(op)}`;

function tableStates(p: Plan): Map<string, string> {
  const out = new Map<string, string>();
  for (const op of p.operations) for (const s of op.sources) out.set(s, op.sourceState[s] ?? '');
  return out;
}

export function diffPlans(previous: Plan, current: Plan): PlanDiff {
  const before = tableStates(previous);
  const after = tableStates(current);
  const sorted = (xs: Iterable<string>) => [...xs].sort();
  const catalogue = {
    added: sorted([...after.keys()].filter((t) => !before.has(t))),
    removed: sorted([...before.keys()].filter((t) => !after.has(t))),
    changed: sorted([...after].filter(([t, h]) => before.has(t) && before.get(t) !== h).map(([t]) => t)),
  };

  const old = byKey(previous);
  const now = byKey(current);
  const added: string[] = [];
  const changed: ChangedOperation[] = [];
  let unchanged = 0;
  for (const op of [...current.operations].sort((a, b) => a.seq - b.seq)) {
    const was = old.get(keyOf(op));
    if (!was) {
      added.push(opLine(op));
      continue;
    }
    const fields = COMPARED.filter((f) => JSON.stringify(was[f] ?? null) !== JSON.stringify(op[f] ?? null));
    if (fields.length) changed.push({ sources: keyOf(op), fields, before: opLine(was), after: opLine(op) });
    else unchanged++;
  }
  const removed = [...previous.operations].sort((a, b) => a.seq - b.seq).filter((o) => !now.has(keyOf(o))).map(opLine);
  return { previous: side(previous), current: side(current), catalogue, operations: { added, removed, changed, unchanged } };
}

const num = (n: number) => n.toLocaleString('en-US');
const short = (h: string) => `${h.replace(/^sha256:/, '').slice(0, 12)}…`;

function sideChange(label: string, a: string, b: string): string {
  return `  ${label.padEnd(10)} ${a === b ? `unchanged (${a})` : `${a} -> ${b}`}`;
}

/** The diff as text: header, catalogue drift, then the operations (+ added, - removed, ~ changed). */
export function formatPlanDiff(d: PlanDiff, previousName: string, currentName: string): string {
  const { previous: p, current: c, catalogue: cat, operations: ops } = d;
  const lines = [
    `Plan diff: ${previousName} (${short(p.planHash)}) -> ${currentName} (${short(c.planHash)})`,
    sideChange('catalogue', `${p.catalogue}, ${num(p.tables)} tables, ${short(p.catalogueFingerprint)}`, `${c.catalogue}, ${num(c.tables)} tables, ${short(c.catalogueFingerprint)}`),
    sideChange('policy', short(p.policyHash), short(c.policyHash)),
    sideChange('grace', p.grace, c.grace),
    '',
    `Catalogue drift: ${num(cat.added.length)} tables added, ${num(cat.removed.length)} removed, ${num(cat.changed.length)} changed (schema or row count)`,
    ...cat.added.map((t) => `  + ${t}`),
    ...cat.removed.map((t) => `  - ${t}`),
    ...cat.changed.map((t) => `  ~ ${t}`),
    '',
    `Operations: ${num(ops.added.length)} added, ${num(ops.removed.length)} removed, ${num(ops.changed.length)} changed, ${num(ops.unchanged)} unchanged`,
    ...ops.added.map((l) => `+ ${l}`),
    ...ops.removed.map((l) => `- ${l}`),
    ...ops.changed.flatMap((x) => [`~ ${x.sources}: ${x.fields.join(', ')} changed`, `    was ${x.before}`, `    now ${x.after}`]),
  ];
  if (!ops.added.length && !ops.removed.length && !ops.changed.length) lines.push('  no operation changed');
  return lines.join('\n');
}
