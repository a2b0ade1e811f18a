import PQueue from 'p-queue';
import type { TableInfo } from '../catalogue';
import { isActionable, type Plan } from '../plan/types';
import type { Engine } from '../ports/engine';
import { recordChecks } from '../report/summary';
import { checkAppliedHere } from './applied-here';
import { historyOf, planMayHaveChanged, readHistory } from './history';
import { checkCatalogue } from './preflight';
import { compareWithPlan, describeMismatch } from './reconcile';
import type { RunResult } from './run-common';
import { summaryEnd, withRun } from './run-shell';
import { viewsByOperation } from './steps';
import { prefetched, scoreChecks, validateOperation, validationReads, type ValidationCheck } from './validate';

/** Operations whose reads are fetched together. */
const VERIFY_CHUNK = 200;

export interface VerifyOptions {
  readonly planSource?: string;
  readonly now?: () => Date;
  /** Checks in flight at once; default the engine's own parallelism (DuckDB 1, BigQuery many). */
  readonly concurrency?: number;
}

/**
 * Re-runs every post-apply check of the operations the ledger records as applied, and compares
 * every table and view with the plan's expected end state (as reconcile does), so a table that is
 * missing, or changed by an operation the ledger does not know of, fails verify by name. Read-only.
 * A plan that cannot have changed the warehouse and whose catalogue is not the warehouse's (a plan
 * of another catalogue) is refused as apply refuses it, instead of naming every table MISSING.
 */
export async function verifyPlan(engine: Engine, planInput: Plan | unknown, opts: VerifyOptions = {}): Promise<RunResult> {
  return withRun(engine, planInput, { mode: 'verify', planSource: opts.planSource, now: opts.now, lock: null, readOnly: true }, {
    preflight: async (pre) => {
      const elsewhere = await checkAppliedHere(engine.ledger, pre.plan, pre.planSource, 'verify');
      if (elsewhere) await pre.refuse(elsewhere);
      if (planMayHaveChanged(await readHistory(engine.ledger, pre.plan.planHash))) return;
      const finding = checkCatalogue(pre.plan, await engine.listTables(), pre.planSource);
      if (finding) await pre.refuse(finding);
    },
    body: async (run) => {
      const { plan, summary } = run;
      const history = await readHistory(engine.ledger, plan.planHash);
      const views = viewsByOperation(plan);
      const none = new Map<string, TableInfo>();
      const applied = plan.operations.filter((o) => isActionable(o.action) && historyOf(history, o.id).applied).sort((a, b) => a.seq - b.seq);
      // Reads only: as wide as the engine allows, checks kept in the operations' order per batch.
      const queue = new PQueue({ concurrency: Math.max(1, opts.concurrency ?? engine.maxParallelOperations) });
      const perOperation: ValidationCheck[][] = [];
      // In chunks: an engine that answers reads in bulk gets them a chunk at a time.
      for (let i = 0; i < applied.length; i += VERIFY_CHUNK) {
        const chunk = applied.slice(i, i + VERIFY_CHUNK);
        const reader = await prefetched(engine, chunk.map((op) => validationReads(op, views.get(op.id) ?? [])));
        perOperation.push(...((await Promise.all(chunk.map((op) => queue.add(() => validateOperation(reader, op, views.get(op.id) ?? [], none))))) as ValidationCheck[][]));
      }
      const byBatch = new Map<number, ValidationCheck[]>();
      applied.forEach((op, i) => byBatch.set(op.batch, [...(byBatch.get(op.batch) ?? []), ...((perOperation[i] ?? []) as ValidationCheck[])]));
      // validateOperation makes no coverage check (that one is apply's, before a consolidation's drops).
      for (const [batch, checks] of [...byBatch.entries()].sort((a, b) => a[0] - b[0])) {
        recordChecks(summary, scoreChecks(batch, checks, (c) => c.kind === 'rows'), checks);
      }

      // The warehouse against the plan: what the ledger says applied must be there, what it does not must be untouched.
      const { entries } = compareWithPlan(plan, (id) => historyOf(history, id).applied, await engine.listTables());
      const mismatches = entries.filter((e) => e.status === 'MISSING' || e.status === 'DRIFT');
      const unmanaged = entries.filter((e) => e.status === 'UNMANAGED');
      const planChecks: ValidationCheck[] = mismatches.map((e) => ({
        operationId: e.operationId ?? '-',
        check: `${e.name} as the plan expects`,
        ok: false,
        kind: e.status === 'MISSING' ? 'rows' : 'schema',
        detail: describeMismatch(e),
      }));
      if (planChecks.length) recordChecks(summary, scoreChecks(-1, planChecks, (c) => c.kind === 'rows'), planChecks);
      summary.differences = mismatches.map(describeMismatch);
      if (unmanaged.length) summary.warnings.push(`${unmanaged.length} table(s) or view(s) not in the plan: ${unmanaged.slice(0, 10).map((e) => e.name).join(', ')}${unmanaged.length > 10 ? ', …' : ''}`);

      summary.operations = applied.length;
      summary.status = summary.validation.failures.length ? 'DRIFT' : 'OK';
      if (!applied.length) summary.warnings.push('the ledger records no applied operation of this plan: the warehouse was compared with the pre-apply state');
      return summaryEnd(run, { summary });
    },
  });
}
