import type { TableInfo } from '../catalogue';
import type { LedgerRecord, TerminalOutcome } from '../ledger/types';
import type { PlanOperation } from '../plan/types';
import type { OperationResult } from '../report/summary';
import { stepJobLabels, type Engine, type Step } from '../ports/engine';
import type { RunContext } from './context';
import { evaluateGates, firstFailure, type GateVerdict } from './gates';
import { historyOf } from './history';
import { backupNameFor, jobIdFor } from './ids';
import { dollars } from './preflight';
import type { Reason } from './reasons';
import { guarded, operationRecord, operationResult } from './run-common';
import { checkStep, consolidatedTables, describeStep, matchesSourceState, sameColumns, stepKey, stepsFor, type OpStep, type StepCheck } from './steps';
import { validateConsolidation, type ValidationCheck } from './validate';
import { SimulatedState, TrackedState } from './warehouse-state';

export function record(ctx: RunContext, op: PlanOperation, state: LedgerRecord['state'], reason: string, extra: Partial<LedgerRecord> = {}): LedgerRecord {
  const run = { runId: ctx.runId, planHash: ctx.plan.planHash, at: ctx.clock().toISOString() };
  return operationRecord(run, op, historyOf(ctx.history, op.id).attempts + 1, state, reason, extra);
}

export function result(op: PlanOperation, outcome: TerminalOutcome, reason: Reason, detail: string | null, extra: Partial<OperationResult> = {}): OperationResult {
  return operationResult(op, outcome, reason, detail, extra);
}

/** Why an operation is not run at all (before its gates), or null. */
function precondition(ctx: RunContext, op: PlanOperation): OperationResult | null {
  const idle: TerminalOutcome = ctx.paper ? 'PAPER' : 'SKIPPED';
  if (op.action === 'KEEP') return result(op, idle, 'NOTHING_TO_DO', null);
  if (op.action === 'REVIEW') return result(op, idle, 'NEEDS_REVIEW', op.reason);
  if (historyOf(ctx.history, op.id).applied) return result(op, ctx.paper ? 'PAPER' : 'SKIPPED_ALREADY_APPLIED', 'ALREADY_APPLIED', null);
  if (!ctx.selected.has(op.id)) return result(op, idle, 'NOT_IN_THIS_RUN', null);
  if (ctx.halted) return result(op, idle, 'RUN_HALTED', null);
  if (!ctx.paper && ctx.opts.signal?.aborted) return result(op, idle, 'RUN_INTERRUPTED', null);
  if (ctx.lock?.lost) return result(op, idle, 'LOCK_LOST', ctx.lock.lost);
  for (const dep of op.after ?? []) {
    const o = ctx.outcomes.get(dep);
    const ok = historyOf(ctx.history, dep).applied || o?.outcome === 'APPLIED' || (ctx.paper && o?.reason === 'WOULD_APPLY');
    if (!ok) return result(op, ctx.paper ? 'PAPER' : 'REJECTED', 'DEPENDENCY_NOT_APPLIED', `waits for ${dep}`);
  }
  return null;
}

/**
 * A backup an interrupted attempt took but could not record (its ledger record was lost with the
 * process): the deterministic backup names are evidence. Reused when it holds the source as it is
 * now (same schema and row count), or, when the source is already gone (the drop ran too), as the
 * plan recorded it. This attempt's own name is looked at too: an attempt whose STARTED record was
 * lost reuses its number.
 */
export async function findRecordlessBackup(engine: Engine, op: PlanOperation, table: string, attempt: number, source: TableInfo | null): Promise<string | null> {
  for (let a = attempt; a >= 1; a--) {
    const name = backupNameFor(op.id, table, a);
    const b = await engine.getBackup(name);
    if (!b) continue;
    if (source?.kind === 'TABLE' ? b.rowCount === source.rowCount && sameColumns(b.columns, source.columns) : !source && matchesSourceState(op, table, b)) return name;
  }
  return null;
}

/**
 * Runs one operation. `changesAfter` (pipelined runs): the operation may read its gates now, but
 * changes and records nothing before it settles (the validation of the batch two before its own);
 * a halt found there turns it into RUN_HALTED, whatever its gates said.
 */
export async function runOperation(ctx: RunContext, op: PlanOperation, batchChecks: ValidationCheck[], changesAfter?: Promise<unknown>): Promise<OperationResult> {
  const pre = precondition(ctx, op);
  if (pre) return pre;
  const { engine, state, plan } = ctx;
  const h = historyOf(ctx.history, op.id);
  const views = ctx.viewsOf.get(op.id) ?? [];
  const steps = stepsFor(op, views, h.attempts + 1);
  // What earlier attempts recorded. Each step asks only about itself, before it is carried out, so
  // what this attempt records never needs to be asked.
  const ledgerSaysDone = (s: OpStep) => {
    if (s.kind === 'BACKUP_TABLE') return h.backups.has(s.name);
    const k = stepKey(s);
    return h.stepsDone.has(`${k.reason}|${k.detail}`);
  };

  // Gates read these names fresh: a change since the run started must refuse the operation.
  if (state instanceof TrackedState && !engine.soleWriter) await state.refresh([...op.sources, ...(op.target ? [op.target] : []), ...views.map((v) => v.name)]);

  // An earlier attempt that changed something is resumed: its gates described the state before it.
  // The warehouse is the evidence, not only the ledger: a write-behind ledger can lose the records
  // of a step that ran (BigQuery: a rename whose STARTED record had not landed when the process
  // died). A source that is merely gone proves nothing on its own: drops happen only after their
  // records are durable (ledger.settle), so without any record it was removed by someone else.
  let resumed = false;
  if (!ctx.paper) {
    for (const s of steps) {
      if (s.kind === 'BACKUP_TABLE' || s.kind === 'VALIDATE_CONSOLIDATION') continue;
      // Without any record, a view at one of the operation's view names is someone else's: the
      // views are created after the drops, which wait for their records to be durable.
      if ((s.kind === 'DROP_TABLE' || s.kind === 'DROP_VIEW' || s.kind === 'CREATE_VIEW') && h.attempts === 0) continue;
      if ((await checkStep(s, op, state, ledgerSaysDone)).state === 'done') {
        resumed = true;
        break;
      }
    }
  }

  const bytes = ctx.bytesOf.get(op.id) ?? op.estimatedBytes;
  const costUsd = dollars(bytes, ctx.policy.doc.execution.pricePerTiBUsd);
  let gates: GateVerdict[] = [];
  if (!resumed) {
    for (const s of op.sources) {
      const t = await state.get(s);
      if (t) ctx.before.set(s, t);
    }
    gates = await evaluateGates(op, {
      state,
      views,
      datasetExpirationMs: ctx.datasetExpirationMs,
      costUsd,
      committedUsd: ctx.committedUsd,
      budgetUsd: ctx.budgetUsd,
      approved: ctx.opts.approve === plan.planHash,
      evaluateAll: ctx.paper,
    });
  }
  if (changesAfter) {
    await changesAfter;
    const late = precondition(ctx, op);
    if (late) return late;
  }
  const failed = firstFailure(gates);
  if (failed) return result(op, ctx.paper ? 'PAPER' : 'REJECTED', failed.reason!, `${failed.gate}: ${failed.detail ?? ''}`, { gates, statements: ctx.statementsOf.get(op.id) });
  ctx.committedUsd += costUsd;
  const rows = op.sources.reduce((n, s) => n + (ctx.before.get(s)?.rowCount ?? 0), 0);

  if (ctx.paper) {
    const sim = state as SimulatedState;
    for (const s of steps) {
      if (s.kind === 'VALIDATE_CONSOLIDATION') continue;
      try {
        sim.apply(s);
      } catch (e) {
        return result(op, 'PAPER', 'STATE_CONFLICT', `${describeStep(s)}: ${(e as Error).message}`, { gates, statements: ctx.statementsOf.get(op.id) });
      }
    }
    return result(op, 'PAPER', 'WOULD_APPLY', null, { gates, statements: ctx.statementsOf.get(op.id), bytes, rows });
  }

  if (ctx.opts.signal?.aborted) return result(op, 'SKIPPED', 'RUN_INTERRUPTED', null, { gates });
  const attempt = h.attempts + 1;
  const append = (recs: LedgerRecord[]) => guarded(() => engine.ledger.append(recs));

  // On an engine that commits an operation as one transaction (DuckDB) the whole attempt, steps
  // and records, commits together or not at all: a failure rolls it back and is recorded after.
  if (engine.atomically) {
    // Never from inside the transaction: a rolled-back renewal would lose the lease (a batch's
    // transaction renews before it begins).
    if (!ctx.inBatchTransaction) await ctx.lock?.renewIfDue();
    try {
      return await engine.atomically(() => carryOut(ctx, op, steps, { attempt, resumed, rows, atomic: true, ledgerSaysDone, batchChecks }));
    } catch (e) {
      if (!(e instanceof OperationAborted)) throw e;
      const recordFailure = async (): Promise<OperationResult> => {
        if (state instanceof TrackedState) await state.refresh([...consolidatedTables(op), ...op.sources, ...(op.target ? [op.target] : []), ...views.map((v) => v.name)]);
        await append([record(ctx, op, 'FAILED', e.reason, { detail: `${e.detail} (rolled back: nothing of this attempt remains)`, attempt, bytes: e.spent })]);
        return result(op, 'FAILED', e.reason, e.detail, { bytes: e.spent });
      };
      if (!ctx.inBatchTransaction) return recordFailure();
      // The batch's transaction rolls back with this operation; once the operations before it are
      // redone, its failure is recorded as above, with what its gates left in the context.
      const found = [...op.sources].map((s) => [s, ctx.before.get(s)] as const);
      throw new BatchAborted(op.id, async () => {
        ctx.committedUsd += costUsd;
        for (const [s, t] of found) if (t) ctx.before.set(s, t);
        return recordFailure();
      });
    }
  }
  return carryOut(ctx, op, steps, { attempt, resumed, rows, atomic: false, ledgerSaysDone, batchChecks });
}

/**
 * Thrown out of an operation that failed inside its batch's transaction: the whole batch rolls
 * back; `recordFailure`, called once the operations before it are redone, records it FAILED
 * exactly as an operation failing in its own transaction is (the step is not tried again: a
 * failure that would not repeat must still be the one recorded).
 */
export class BatchAborted extends Error {
  constructor(
    readonly operationId: string,
    readonly recordFailure: () => Promise<OperationResult>,
  ) {
    super(`operation ${operationId} failed inside its batch's transaction`);
  }
}

/** Thrown inside an atomic operation to roll it back; recorded FAILED once the rollback is done. */
class OperationAborted extends Error {
  constructor(
    readonly reason: Reason,
    readonly detail: string,
    readonly spent: number,
  ) {
    super(detail);
  }
}

interface Attempt {
  readonly attempt: number;
  readonly resumed: boolean;
  readonly rows: number;
  /** Inside one transaction (engine.atomically): a failure throws to roll everything back. */
  readonly atomic: boolean;
  readonly ledgerSaysDone: (s: OpStep) => boolean;
  readonly batchChecks: ValidationCheck[];
}

/** Step kinds whose consecutive steps (each on its own table) may run side by side. */
const GROUPED = new Set<OpStep['kind']>(['BACKUP_TABLE', 'DROP_TABLE', 'CREATE_VIEW']);

/** The operation's steps, each checked against the warehouse before it is issued, and their records. */
async function carryOut(ctx: RunContext, op: PlanOperation, steps: readonly OpStep[], a: Attempt): Promise<OperationResult> {
  const { engine, state, plan } = ctx;
  const { attempt, resumed, rows, ledgerSaysDone, batchChecks } = a;
  const append = (recs: LedgerRecord[]) => guarded(() => engine.ledger.append(recs));
  await append([record(ctx, op, 'STARTED', resumed ? 'RESUMED' : 'OK', { detail: resumed ? 'resuming an interrupted attempt' : null, attempt })]);
  const fail = async (reason: Reason, detail: string, spent: number): Promise<OperationResult> => {
    if (a.atomic) throw new OperationAborted(reason, detail, spent);
    await append([record(ctx, op, 'FAILED', reason, { detail, attempt, bytes: spent })]);
    return result(op, 'FAILED', reason, detail, { bytes: spent });
  };
  let spent = 0;
  // A consolidation built by this attempt is validated by this attempt, whatever an earlier one recorded.
  let builtHere = false;
  // A backup recorded by this attempt and not yet made durable: the next drop settles the ledger
  // first. One settle serves every drop after it (a consolidation's backups all come first).
  let backupUnsettled = false;
  type Failure = { readonly reason: Reason; readonly detail: string };
  /** One step: checked, carried out and recorded; a failure is returned, recorded by the caller. */
  const doStep = async (i: number): Promise<Failure | null> => {
    const s = steps[i];
    if (s.kind === 'BACKUP_TABLE' && !ledgerSaysDone(s)) {
      const earlier = await findRecordlessBackup(engine, op, s.name, attempt, await state.get(s.name));
      if (earlier) {
        await append([record(ctx, op, 'STEP_DONE', 'BACKUP_TABLE', { detail: `${s.name}>${earlier}`, attempt })]);
        backupUnsettled = true;
        return null;
      }
    }
    const check: StepCheck = s.kind === 'VALIDATE_CONSOLIDATION' && builtHere ? { state: 'todo' } : await checkStep(s, op, state, ledgerSaysDone);
    const k = stepKey(s);
    if (check.state === 'conflict') return { reason: 'STATE_CONFLICT', detail: `${describeStep(s)}: ${check.detail}` };
    if (check.state === 'done') {
      // A backup found done was recorded by an earlier attempt; anything else is recorded now.
      if (!ledgerSaysDone(s)) {
        await append([record(ctx, op, 'STEP_DONE', k.reason, { detail: k.detail, attempt })]);
        if (s.kind === 'BACKUP_TABLE') backupUnsettled = true;
      }
      return null;
    }
    if (s.kind === 'VALIDATE_CONSOLIDATION') {
      const checks = await validateConsolidation(engine, op);
      batchChecks.push(...checks);
      const bad = checks.filter((c) => !c.ok);
      if (bad.length) return { reason: 'VALIDATION_FAILED', detail: bad.slice(0, 3).map((c) => `${c.check}: ${c.detail}`).join('; ') };
      await append([record(ctx, op, 'STEP_DONE', k.reason, { detail: k.detail, attempt })]);
      return null;
    }
    let res;
    try {
      res = await engine.run(s as Step, { jobId: jobIdFor(plan.planHash, op.id, i, attempt), labels: stepJobLabels({ planHash: plan.planHash, runId: ctx.runId }) });
    } catch (e) {
      return { reason: 'STEP_FAILED', detail: `${describeStep(s)}: ${(e as Error).message}` };
    }
    spent += res.bytesProcessed;
    if (s.kind === 'CONSOLIDATE') builtHere = true;
    await (state as TrackedState).afterStep(s as Step);
    await append([record(ctx, op, 'STEP_DONE', k.reason, { detail: k.detail, attempt, jobId: res.jobId, bytes: res.bytesProcessed, rows: res.rowsAffected })]);
    if (s.kind === 'BACKUP_TABLE') backupUnsettled = true;
    return null;
  };
  // On an engine that runs jobs side by side (not in one transaction), consecutive steps of one
  // kind on distinct tables run together: a consolidation's backups, then its drops, then its
  // views (each group still after the one before; the drops after every backup's durable record).
  const together = !a.atomic && engine.maxParallelOperations > 1;
  for (let i = 0; i < steps.length; ) {
    const s = steps[i];
    let j = i + 1;
    if (together && GROUPED.has(s.kind)) while (j < steps.length && steps[j].kind === s.kind) j++;
    if (!a.atomic) await ctx.lock?.keepAlive();
    if (ctx.lock?.lost) return fail('LOCK_LOST', `${ctx.lock.lost}; stopped before ${describeStep(s)}`, spent);
    // An atomic operation is short and all-or-nothing: it finishes; others stop at a step boundary.
    if (!a.atomic && i > 0 && ctx.opts.signal?.aborted) return fail('INTERRUPTED', `stopped before ${describeStep(s)} (step ${i + 1} of ${steps.length}); the next run resumes here`, spent);
    // A drop relies on the backup's record: it is durable before the drop is issued (a backup
    // recorded by an earlier attempt was read from the ledger, so it is durable already).
    if (s.kind === 'DROP_TABLE' && backupUnsettled) {
      await guarded(() => engine.ledger.settle());
      backupUnsettled = false;
    }
    const failures = j - i === 1 ? [await doStep(i)] : await Promise.all(Array.from({ length: j - i }, (_, n) => doStep(i + n)));
    // Of steps run together, the first that failed is the operation's one FAILED record.
    const failed = failures.find((f): f is Failure => f !== null);
    if (failed) return fail(failed.reason, failed.detail, spent);
    i = j;
  }
  const reason: Reason = resumed ? 'RESUMED' : 'OK';
  await append([record(ctx, op, 'APPLIED', reason, { attempt, bytes: spent, rows })]);
  return result(op, 'APPLIED', reason, null, { bytes: spent, rows });
}
