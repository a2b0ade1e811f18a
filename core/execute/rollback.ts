import { catalogueFingerprint } from '../catalogue';
import { BqxError } from '../errors';
import type { LedgerRecord } from '../ledger/types';
import { isActionable, type CompatibilityView, type Plan, type PlanOperation } from '../plan/types';
import type { Policy } from '../policy';
import { silentProgress, type Progress } from '../report/progress';
import { recordResult, type OperationResult } from '../report/summary';
import type { Engine, Step } from '../ports/engine';
import { guarded, operationRecord, operationResult, type RunResult } from './run-common';
import { lockLost, summaryEnd, withRun } from './run-shell';
import { historyOf, readHistory, type OperationHistory } from './history';
import { jobIdFor } from './ids';
import { TrackedState, type WarehouseState } from './warehouse-state';
import { catalogueDifferences } from './preflight';
import type { Reason } from './reasons';
import { consolidatedTables, describeStep, stepKey, viewsByOperation } from './steps';

export interface RollbackOptions {
  readonly approve?: string;
  readonly planSource?: string;
  readonly progress?: Progress;
  readonly now?: () => Date;
}

type Undo = { steps: Step[] } | { blocked: string };

/**
 * The steps that undo an operation, read from the warehouse as it is now: views dropped, renames
 * reversed, dropped tables restored from their backups, consolidated targets dropped last.
 */
export async function undoSteps(state: WarehouseState, views: readonly CompatibilityView[], op: PlanOperation, h: OperationHistory): Promise<Undo> {
  const steps: Step[] = [];
  const kindOf = async (n: string) => (await state.get(n))?.kind ?? null;
  for (const v of views) if ((await kindOf(v.name)) === 'VIEW') steps.push({ kind: 'DROP_VIEW', name: v.name });
  const target = op.target as string;
  const dropped = new Set(views.map((v) => v.name));
  const restore = async (name: string): Promise<string | null> => {
    const k = await kindOf(name);
    if (k === 'TABLE') return null;
    if (k !== null && !dropped.has(name)) return `${name} is a ${k} the rollback did not create`;
    const backupName = h.backups.get(name);
    if (!backupName) return `${name} is gone and the ledger records no backup of it`;
    steps.push({ kind: 'RESTORE_TABLE', backupName, name });
    return null;
  };
  if (op.action === 'RENAME') {
    const from = op.sources[0];
    const [src, dst] = [await kindOf(from), await kindOf(target)];
    if (dst === 'TABLE' && (src === null || dropped.has(from))) steps.push({ kind: 'RENAME_TABLE', from: target, to: from });
    else if (dst === 'TABLE' && src === 'TABLE') return { blocked: `both ${from} and ${target} are tables` };
    else if (src !== 'TABLE' && !dropped.has(from)) return { blocked: `neither ${from} nor ${target} is a table` };
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

/** Replays the ledger backwards until the warehouse is as the plan found it. */
export async function rollbackPlan(engine: Engine, planInput: Plan | unknown, policy: Policy, opts: RollbackOptions): Promise<RunResult & { restoredExactly: boolean }> {
  const lock = { ttlSeconds: policy.doc.execution.lockTtlSeconds, heartbeat: false };
  return withRun(engine, planInput, { mode: 'rollback', planSource: opts.planSource, now: opts.now, lock }, async (run) => {
    const { plan, planSource, summary, clock, runId } = run;
    const progress = opts.progress ?? silentProgress;
    const history = await readHistory(engine.ledger, plan.planHash);
    const todo = [...plan.operations]
      .filter((o) => isActionable(o.action))
      .filter((o) => {
        const h = historyOf(history, o.id);
        return h.applied || h.open || h.stepsDone.size > 0;
      })
      .sort((a, b) => b.seq - a.seq);
    const drops = todo.filter((o) => o.action === 'CONSOLIDATE');
    if (drops.length && opts.approve !== plan.planHash) {
      await run.refuse({
        code: 'APPROVAL_MISSING',
        message: `rolling back ${drops.length} consolidation(s) drops their consolidated tables (e.g. ${drops[0].target}); no matching --approve was given`,
        hint: `bqx rollback ${planSource} --approve ${plan.planHash}`,
        kind: 'REFUSED',
      });
    }
    let failed = 0;
    const state = new TrackedState(engine, await engine.listTables());
    const viewsOf = viewsByOperation(plan);
    for (const [i, op] of todo.entries()) {
      await run.lock?.renewIfDue();
      if (run.lock?.lost) throw lockLost('rollback', run.lock.lost);
      const h = historyOf(history, op.id);
      const rec = (state: LedgerRecord['state'], reason: string, extra: Partial<LedgerRecord> = {}): LedgerRecord =>
        operationRecord({ runId, planHash: plan.planHash, at: clock().toISOString() }, op, h.attempts, state, reason, extra);
      const res = (outcome: 'ROLLED_BACK' | 'FAILED', reason: Reason, detail: string | null): OperationResult => operationResult(op, outcome, reason, detail);
      await state.refresh([...op.sources, op.target as string]);
      const undo = await undoSteps(state, viewsOf.get(op.id) ?? [], op, h);
      let r: OperationResult;
      if ('blocked' in undo) {
        r = res('FAILED', 'ROLLBACK_BLOCKED', undo.blocked);
      } else {
        r = res('ROLLED_BACK', 'ROLLBACK_OK', undo.steps.map(describeStep).join('; ') || 'nothing left to undo');
        for (const [j, s] of undo.steps.entries()) {
          try {
            const out = await engine.run(s, { jobId: jobIdFor(plan.planHash, `${op.id}_rb`, j, h.attempts) });
            await state.afterStep(s);
            const k = stepKey(s);
            await guarded(() => engine.ledger.append([rec('STEP_DONE', k.reason, { detail: k.detail, jobId: out.jobId })]));
          } catch (e) {
            if (e instanceof BqxError && e.code === 'LEDGER_UNWRITABLE') throw e;
            r = res('FAILED', 'STEP_FAILED', `${describeStep(s)}: ${(e as Error).message}`);
            break;
          }
        }
      }
      if (r.outcome === 'FAILED') failed += 1;
      await guarded(() => engine.ledger.append([rec(r.outcome, r.reason, { detail: r.detail })]));
      recordResult(summary, r);
      progress.update(i + 1, todo.length, `${r.outcome} ${op.action} ${op.sources[0]}`);
    }
    progress.done();
    const tables = await engine.listTables();
    const restoredExactly = catalogueFingerprint(tables) === plan.catalogueFingerprint;
    if (!restoredExactly) {
      const d = catalogueDifferences(plan, tables);
      summary.warnings.push(`the catalogue does not match the plan's pre-apply fingerprint: ${d.slice(0, 10).join('; ')}${d.length > 10 ? '; …' : ''}`);
    }
    summary.status = failed ? 'INCOMPLETE' : 'OK';
    return summaryEnd(run, { summary, restoredExactly });
  });
}
