import { tableStateHash } from '../catalogue';
import { isColumnName, isTableName } from '../identifiers';
import type { CompatibilityView, PlanOperation } from '../plan/types';
import type { GateName, Reason } from './reasons';
import { GATE_ORDER } from './reasons';
import type { WarehouseState } from './warehouse-state';

export interface GateVerdict {
  readonly gate: GateName;
  readonly ok: boolean;
  readonly reason?: Reason;
  readonly detail?: string;
}

export interface GateContext {
  readonly state: WarehouseState;
  readonly views: readonly CompatibilityView[];
  readonly datasetExpirationMs: number | null;
  /** Dollars this operation would add, and what the run already committed. */
  readonly costUsd: number;
  readonly committedUsd: number;
  readonly budgetUsd: number;
  readonly approved: boolean;
  /** Paper runs evaluate every gate to show each verdict; real runs stop at the first failure. */
  readonly evaluateAll: boolean;
}

type Check = Omit<GateVerdict, 'gate'>;
const pass: Check = { ok: true };
const fail = (reason: Reason, detail: string): Check => ({ ok: false, reason, detail });

function identifiers(op: PlanOperation, views: readonly CompatibilityView[]): Check {
  const allViews = op.view ? [...views, op.view] : views;
  const tables = [...op.sources, ...(op.target ? [op.target] : []), ...allViews.flatMap((v) => [v.name, v.target])];
  const c = op.consolidation;
  if (c) c.windows.forEach((w) => tables.push(w.source, ...w.copies));
  const badTable = tables.find((t) => !isTableName(t));
  if (badTable !== undefined) return fail('INVALID_IDENTIFIER', `table name ${JSON.stringify(String(badTable).slice(0, 80))}`);
  const columns = [
    ...allViews.flatMap((v) => v.columns.flatMap((x) => [x.name, x.column])),
    ...allViews.flatMap((v) => (v.filter ? [v.filter] : [])),
    ...(c ? [c.key, ...c.windows.map((w) => w.presenceColumn), ...c.columns.flatMap((x) => [x.name, ...x.from.map((f) => f.column)])] : []),
  ];
  const badColumn = columns.find((x) => !isColumnName(x));
  if (badColumn !== undefined) return fail('INVALID_IDENTIFIER', `column name ${JSON.stringify(String(badColumn).slice(0, 80))}`);
  return pass;
}

async function sourceExists(op: PlanOperation, state: WarehouseState): Promise<Check> {
  // A retirement's source is the compatibility view it drops; every other action's are tables.
  const kind = op.action === 'RETIRE_VIEW' ? 'VIEW' : 'TABLE';
  for (const s of op.sources) {
    const t = await state.get(s);
    if (!t || t.kind !== kind) return fail('SOURCE_MISSING', `${s} ${t ? `is a ${t.kind}, not a ${kind.toLowerCase()}` : 'does not exist'}`);
    if (tableStateHash(t) !== op.sourceState[s]) {
      return fail('SOURCE_CHANGED', `${s} now has ${t.rowCount} rows and ${t.columns.length} columns, not the schema and row count the plan recorded`);
    }
  }
  return pass;
}

async function targetFree(op: PlanOperation, ctx: GateContext): Promise<Check> {
  const { state } = ctx;
  const target = op.target as string;
  // A retirement takes no name: its target is the table the view's readers use instead.
  if (op.action === 'RETIRE_VIEW') return pass;
  if (op.action === 'DEDUPE') {
    const twin = await state.get(target);
    if (!twin || twin.kind !== 'TABLE') return fail('TWIN_MISSING', `${target} ${twin ? `is a ${twin.kind}` : 'does not exist'}`);
    const [tf, sf] = await Promise.all([state.contentFingerprint(target), state.contentFingerprint(op.sources[0])]);
    if (tf && tf.hash !== op.twin?.hash) return fail('TWIN_CHANGED', `${target} content ${tf.hash.slice(0, 12)}… (${tf.rows} rows) ≠ planned ${op.twin?.hash.slice(0, 12)}…`);
    if (sf && sf.hash !== op.twin?.hash) return fail('CONTENT_DIFFERS', `${op.sources[0]} content ${sf.hash.slice(0, 12)}… ≠ twin ${op.twin?.hash.slice(0, 12)}…`);
  } else {
    const t = await state.get(target);
    if (t) return fail('TARGET_EXISTS', `${target} already exists (${t.kind})`);
  }
  // Each compatibility view takes a name this operation frees; anything else there is a collision.
  for (const v of ctx.views) {
    if (op.sources.includes(v.name)) continue;
    const t = await state.get(v.name);
    if (t) return fail('TARGET_EXISTS', `view name ${v.name} is taken (${t.kind})`);
  }
  return pass;
}

async function streamingBuffer(op: PlanOperation, state: WarehouseState): Promise<Check> {
  for (const s of op.sources) {
    const t = await state.get(s);
    if (t?.streamingBuffer) return fail('STREAMING_BUFFER', `${s} has rows in the streaming buffer`);
  }
  return pass;
}

/**
 * The gates of one operation in their fixed order. The first failure is the operation's reason.
 * Paper runs evaluate them all so the report shows each verdict.
 */
export async function evaluateGates(op: PlanOperation, ctx: GateContext): Promise<GateVerdict[]> {
  const run: Record<GateName, () => Promise<Check> | Check> = {
    IDENTIFIERS: () => identifiers(op, ctx.views),
    SOURCE_EXISTS: () => sourceExists(op, ctx.state),
    TARGET_FREE: () => targetFree(op, ctx),
    STREAMING_BUFFER: () => streamingBuffer(op, ctx.state),
    DATASET_EXPIRATION: () =>
      ctx.datasetExpirationMs !== null ? fail('DATASET_EXPIRATION', `default table expiration ${ctx.datasetExpirationMs} ms: a renamed table could be deleted at once`) : pass,
    BUDGET: () =>
      ctx.committedUsd + ctx.costUsd > ctx.budgetUsd + 1e-9
        ? fail('OVER_BUDGET', `$${(ctx.committedUsd + ctx.costUsd).toFixed(4)} would exceed the budget of $${ctx.budgetUsd}`)
        : pass,
    APPROVAL: () => (op.destructive && !ctx.approved ? fail('APPROVAL_MISSING', 'drops a table; pass --approve with the plan hash') : pass),
  };
  const verdicts: GateVerdict[] = [];
  for (const gate of GATE_ORDER) {
    let c: Check;
    try {
      c = await run[gate]();
    } catch (e) {
      c = fail(gate === 'TARGET_FREE' && op.action === 'DEDUPE' ? 'CONTENT_DIFFERS' : 'SOURCE_MISSING', `gate could not read the warehouse: ${(e as Error).message}`);
    }
    verdicts.push({ gate, ...c });
    // Identifiers must hold before anything else reads the warehouse with them.
    if (!c.ok && (!ctx.evaluateAll || gate === 'IDENTIFIERS')) break;
  }
  return verdicts;
}

export function firstFailure(verdicts: readonly GateVerdict[]): GateVerdict | null {
  return verdicts.find((v) => !v.ok) ?? null;
}
