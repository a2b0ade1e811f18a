import { catalogueFingerprint, tableStateHash, type TableInfo } from '../catalogue';
import { BqxError } from '../errors';
import type { LedgerRecord } from '../ledger/types';
import { isActionable, type CompatibilityView, type Plan, type PlanOperation } from '../plan/types';
import type { Policy } from '../policy';
import { stepJobLabels, type Engine, type Step } from '../ports/engine';
import { silentProgress, type Progress } from '../report/progress';
import { recordResult, type OperationResult } from '../report/summary';
import { historyOf, readHistory, type OperationHistory, type PlanHistory } from './history';
import { checkAppliedHere } from './applied-here';
import { backupNameFor, undoJobIdFor } from './ids';
import { catalogueDifferences } from './preflight';
import type { Reason } from './reasons';
import { guarded, operationRecord, operationResult, type RunResult } from './run-common';
import { lockLost, summaryEnd, withRun } from './run-shell';
import { consolidatedTables, describeStep, stepKey, viewsByOperation } from './steps';
import { TrackedState, type WarehouseState } from './warehouse-state';

export interface RollbackOptions {
  readonly approve?: string;
  readonly planSource?: string;
  readonly progress?: Progress;
  readonly now?: () => Date;
  /** Aborted (a signal): no further operation is undone; the run ends INTERRUPTED. */
  readonly signal?: AbortSignal;
}

type Undo = { steps: Step[] } | { blocked: string };

/** Where a dropped table's content can be restored from: the backup the ledger names, else the deterministic names. */
export interface BackupFinder {
  find(op: PlanOperation, table: string, h: OperationHistory): Promise<string | null>;
  /** What was looked for, for the message when nothing is found. */
  describe(op: PlanOperation, table: string): string;
}

/**
 * Backups by evidence: the one the ledger records for the drop, if it still exists; otherwise the
 * newest `bk_<op>_a<n>_<table>` in the runner dataset that holds the table as the plan recorded it.
 * A crash or a failing step can lose the ledger record; the backup itself is the proof.
 */
export function backupFinder(engine: Engine, runnerTables: readonly string[]): BackupFinder {
  const present = new Set(runnerTables);
  return {
    async find(op, table, h) {
      const recorded = h.backups.get(table);
      if (recorded && present.has(recorded)) return recorded;
      const prefix = `bk_${op.id.replace(/^op_/, '')}_a`;
      const candidates = runnerTables
        .filter((name) => name.startsWith(prefix))
        .map((name) => ({ name, attempt: Number(/^(\d+)_/.exec(name.slice(prefix.length))?.[1] ?? NaN) }))
        .filter((c) => Number.isInteger(c.attempt) && c.name === backupNameFor(op.id, table, c.attempt))
        .sort((a, b) => b.attempt - a.attempt);
      for (const c of candidates) {
        const b = await engine.getBackup(c.name);
        if (b && tableStateHash({ name: table, kind: 'TABLE', columns: b.columns, rowCount: b.rowCount }) === op.sourceState[table]) return c.name;
      }
      return null;
    },
    describe(op, table) {
      return `${backupNameFor(op.id, table, 1).replace(/_a1_/, '_a<n>_')} in ${engine.where.runnerDataset}`;
    },
  };
}

/** Every name the operation removes when applied is a table again, and its new name is free: nothing to undo. */
async function isPreApply(state: WarehouseState, op: PlanOperation): Promise<boolean> {
  if (op.action === 'RETIRE_VIEW') return (await state.get(op.sources[0]))?.kind === 'VIEW';
  for (const t of op.action === 'CONSOLIDATE' ? consolidatedTables(op) : op.sources) if ((await state.get(t))?.kind !== 'TABLE') return false;
  return op.action === 'DEDUPE' || (await state.get(op.target as string)) === null;
}

/**
 * The steps that undo an operation, read from the warehouse as it is now: views dropped, renames
 * reversed, dropped tables restored from their backups, consolidated targets dropped last. Works
 * from any state an apply can leave (a crash, a failed step, an interrupted run): what the
 * warehouse shows is undone; what it does not show is not.
 */
export async function undoSteps(state: WarehouseState, views: readonly CompatibilityView[], op: PlanOperation, h: OperationHistory, backups: BackupFinder): Promise<Undo> {
  const steps: Step[] = [];
  const kindOf = async (n: string) => (await state.get(n))?.kind ?? null;
  for (const v of views) if ((await kindOf(v.name)) === 'VIEW') steps.push({ kind: 'DROP_VIEW', name: v.name });
  const target = op.target as string;
  const dropped = new Set(views.map((v) => v.name));
  const restore = async (name: string): Promise<string | null> => {
    const k = await kindOf(name);
    if (k === 'TABLE') return null;
    if (k !== null && !dropped.has(name)) return `${name} is a ${k} the rollback did not create`;
    const backupName = await backups.find(op, name, h);
    if (!backupName) return `${name} is gone and no backup of it exists (looked for the ledger's record and ${backups.describe(op, name)})`;
    steps.push({ kind: 'RESTORE_TABLE', backupName, name });
    return null;
  };
  if (op.action === 'RETIRE_VIEW') {
    // The retired view comes back exactly as the migration plan made it.
    const v = op.view as CompatibilityView;
    const k = await kindOf(v.name);
    if (k !== null && k !== 'VIEW') return { blocked: `${v.name} is now a ${k}; the retired view cannot be recreated under it` };
    if ((await kindOf(v.target)) !== 'TABLE') return { blocked: `${v.target}, the table view ${v.name} reads, is gone` };
    if (k === null) steps.push({ kind: 'CREATE_VIEW', name: v.name, target: v.target, columns: v.columns, filter: v.filter });
  } else if (op.action === 'RENAME') {
    const from = op.sources[0];
    const [src, dst] = [await kindOf(from), await kindOf(target)];
    if (dst === 'TABLE') {
      // The old name must be free, or hold only the compatibility view this rollback drops first.
      if (src === null || (src === 'VIEW' && dropped.has(from))) steps.push({ kind: 'RENAME_TABLE', from: target, to: from });
      else if (src === 'TABLE') return { blocked: `both ${from} and ${target} are tables` };
      else return { blocked: `${from} is a ${src} the rollback did not create; ${target} cannot be renamed back onto it` };
    } else if (src !== 'TABLE' && !dropped.has(from)) return { blocked: `neither ${from} nor ${target} is a table` };
  } else if (op.action === 'DEDUPE') {
    const why = await restore(op.sources[0]);
    if (why) return { blocked: why };
  } else if (op.action === 'CONSOLIDATE') {
    for (const t of consolidatedTables(op)) {
      const why = await restore(t);
      if (why) return { blocked: `${why}; ${target} is kept` };
    }
    if ((await kindOf(target)) === 'TABLE') steps.push({ kind: 'DROP_TABLE', name: target });
  }
  return { steps };
}

interface UndoContext {
  readonly engine: Engine;
  readonly state: TrackedState;
  readonly rec: (s: LedgerRecord['state'], reason: string, extra?: Partial<LedgerRecord>) => LedgerRecord;
  readonly res: (outcome: 'ROLLED_BACK' | 'FAILED', reason: Reason, detail: string | null) => OperationResult;
  readonly jobId: (step: Step) => string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Runs an operation's undo steps and records them; `atomic`: inside a transaction, a failure throws to roll it back. */
async function undoOperation(u: UndoContext, steps: readonly Step[], atomic: boolean): Promise<OperationResult> {
  const { engine, state, rec, res } = u;
  for (const s of steps) {
    try {
      // A consolidated table is dropped only once the restores it relies on are recorded.
      if (s.kind === 'DROP_TABLE') await guarded(() => engine.ledger.settle());
      const out = await engine.run(s, { jobId: u.jobId(s), labels: u.labels });
      await state.afterStep(s);
      const k = stepKey(s);
      await guarded(() => engine.ledger.append([rec('STEP_DONE', k.reason, { detail: k.detail, jobId: out.jobId })]));
    } catch (e) {
      if (e instanceof BqxError && e.code === 'LEDGER_UNWRITABLE') throw e;
      const failed = res('FAILED', 'STEP_FAILED', `${describeStep(s)}: ${(e as Error).message}`);
      if (atomic) throw new UndoAborted(failed);
      await guarded(() => engine.ledger.append([rec(failed.outcome, failed.reason, { detail: failed.detail })]));
      return failed;
    }
  }
  const done = res('ROLLED_BACK', 'ROLLBACK_OK', steps.map(describeStep).join('; ') || 'nothing left to undo');
  await guarded(() => engine.ledger.append([rec(done.outcome, done.reason, { detail: done.detail })]));
  return done;
}

/** Thrown inside an operation's transaction to undo its rollback steps; recorded FAILED after. */
class UndoAborted extends Error {
  constructor(readonly result: OperationResult) {
    super(result.detail ?? 'rollback step failed');
  }
}

/**
 * Operations the warehouse already shows as before the apply while the ledger still calls them
 * applied: an earlier rollback undid them and died before its ROLLED_BACK record was written (on
 * BigQuery records are written behind the steps). The warehouse is the evidence; the ledger catches up.
 */
async function recordUndoneEarlier(engine: Engine, plan: Plan, history: PlanHistory, preApply: ReadonlySet<string>, runId: string, clock: () => Date, summary: RollbackResult['summary']): Promise<void> {
  const records: LedgerRecord[] = [];
  for (const op of [...plan.operations].sort((a, b) => b.seq - a.seq)) {
    const h = historyOf(history, op.id);
    if (!preApply.has(op.id) || !(h.applied || h.open)) continue;
    const r = operationResult(op, 'ROLLED_BACK', 'ROLLBACK_OK', 'nothing left to undo: the warehouse already shows the operation undone (an earlier rollback stopped before recording it)');
    records.push(operationRecord({ runId, planHash: plan.planHash, at: clock().toISOString() }, op, h.attempts, r.outcome, r.reason, { detail: r.detail }));
    recordResult(summary, r);
  }
  if (records.length) await guarded(() => engine.ledger.append(records));
}

export interface RollbackResult extends RunResult {
  /** The catalogue is exactly the one the plan was made from. */
  readonly restoredExactly: boolean;
}

/**
 * Brings the warehouse back to the catalogue the plan was made from, newest operation first. What
 * to undo is read from the warehouse (the ledger may be short after a crash or a failing step);
 * dropped tables come back from their backups. Ends DRIFT, naming every table, when the catalogue
 * is not exactly the pre-apply one; refuses a consolidation's undo (it drops the consolidated
 * table) without the plan hash as approval.
 */
export async function rollbackPlan(engine: Engine, planInput: Plan | unknown, policy: Policy, opts: RollbackOptions): Promise<RollbackResult> {
  const lock = { ttlSeconds: policy.doc.execution.lockTtlSeconds, heartbeat: false };
  return withRun(engine, planInput, { mode: 'rollback', planSource: opts.planSource, now: opts.now, lock }, {
    preflight: async (pre) => {
      const { plan, planSource } = pre;
      const elsewhere = await checkAppliedHere(engine.ledger, plan, planSource, 'rollback');
      if (elsewhere) await pre.refuse(elsewhere);
      const state = new TrackedState(engine, await engine.listTables());
      const todo: PlanOperation[] = [];
      const preApply = new Set<string>();
      for (const op of [...plan.operations].filter((o) => isActionable(o.action)).sort((a, b) => b.seq - a.seq)) {
        if (await isPreApply(state, op)) preApply.add(op.id);
        else todo.push(op);
      }
      const drops: PlanOperation[] = [];
      for (const op of todo) if (op.action === 'CONSOLIDATE' && (await state.get(op.target as string))?.kind === 'TABLE') drops.push(op);
      if (drops.length && opts.approve !== plan.planHash) {
        await pre.refuse({
          code: 'APPROVAL_MISSING',
          message: `rolling back ${drops.length} consolidation(s) drops their consolidated tables (e.g. ${drops[0].target}); no matching --approve was given`,
          hint: `bqx rollback ${planSource} --approve ${plan.planHash}`,
          kind: 'REFUSED',
        });
      }
      return { state, todo, preApply };
    },
    body: async (run, { state, todo, preApply }) => {
      const { plan, summary, clock, runId } = run;
      const progress = opts.progress ?? silentProgress;
      const history = await readHistory(engine.ledger, plan.planHash);
      const backups = backupFinder(engine, await engine.listRunnerTables());
      const viewsOf = viewsByOperation(plan);
      let failed = 0;
      /** Operations whose undo the warehouse does not allow (a backup gone): the end state differs, by name. */
      let blocked = 0;
      await recordUndoneEarlier(engine, plan, history, preApply, runId, clock, summary);
      for (const [i, op] of todo.entries()) {
        if (opts.signal?.aborted) break;
        await run.lock?.renewIfDue();
        if (run.lock?.lost) throw lockLost('rollback', run.lock.lost);
        const h = historyOf(history, op.id);
        const rec = (s: LedgerRecord['state'], reason: string, extra: Partial<LedgerRecord> = {}): LedgerRecord =>
          operationRecord({ runId, planHash: plan.planHash, at: clock().toISOString() }, op, h.attempts, s, reason, extra);
        const res = (outcome: 'ROLLED_BACK' | 'FAILED', reason: Reason, detail: string | null): OperationResult => operationResult(op, outcome, reason, detail);
        const names = [...new Set([...consolidatedTables(op), ...op.sources, op.target as string, ...(viewsOf.get(op.id) ?? []).map((v) => v.name)])];
        // The sole writer's tracked state is the warehouse (every step it ran is applied to it).
        if (!engine.soleWriter) await state.refresh(names);
        const undo = await undoSteps(state, viewsOf.get(op.id) ?? [], op, h, backups);
        let r: OperationResult;
        if ('blocked' in undo) {
          r = res('FAILED', 'ROLLBACK_BLOCKED', undo.blocked);
          blocked += 1;
          summary.warnings.push(`${op.action} ${op.sources[0]} not rolled back: ${undo.blocked}`);
          await guarded(() => engine.ledger.append([rec(r.outcome, r.reason, { detail: r.detail })]));
        } else {
          const u: UndoContext = { engine, state, rec, res, jobId: (s) => undoJobIdFor(plan.planHash, op.id, Object.values(stepKey(s)).join('|'), h.attempts, h.undoFailures), labels: stepJobLabels({ planHash: plan.planHash, runId }) };
          // DuckDB undoes an operation as one transaction: a failing step leaves the operation applied, as it was.
          if (engine.atomically) {
            try {
              r = await engine.atomically(() => undoOperation(u, undo.steps, true));
            } catch (e) {
              if (!(e instanceof UndoAborted)) throw e;
              await state.refresh(names);
              r = e.result;
              await guarded(() => engine.ledger.append([rec(r.outcome, r.reason, { detail: `${r.detail} (rolled back: the operation is still applied)` })]));
            }
          } else {
            r = await undoOperation(u, undo.steps, false);
          }
        }
        if (r.outcome === 'FAILED') failed += 1;
        recordResult(summary, r);
        progress.update(i + 1, todo.length, `${r.outcome} ${op.action} ${op.sources[0]}`);
      }
      progress.done();
      await guarded(() => engine.ledger.flush());
      const tables: TableInfo[] = await engine.listTables();
      const restoredExactly = catalogueFingerprint(tables) === plan.catalogueFingerprint;
      summary.differences = restoredExactly ? [] : catalogueDifferences(plan, tables);
      if (!restoredExactly) {
        const d = summary.differences;
        summary.warnings.push(`the catalogue does not match the plan's pre-apply fingerprint: ${d.slice(0, 10).join('; ')}${d.length > 10 ? `; … (${d.length} in all)` : ''}`);
      }
      const interrupted = opts.signal?.aborted === true;
      if (interrupted) summary.interruption = { reason: String(opts.signal?.reason ?? 'signal'), at: clock().toISOString() };
      summary.status = interrupted ? 'INTERRUPTED' : failed > blocked ? 'INCOMPLETE' : restoredExactly ? 'OK' : 'DRIFT';
      return summaryEnd(run, { summary, restoredExactly });
    },
  });
}
