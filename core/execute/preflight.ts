import { bytesToUsd } from '../cost';
import { catalogueFingerprint, tableStateHash, type TableInfo } from '../catalogue';
import type { OutcomeKind } from '../errors';
import type { Plan, PlanOperation } from '../plan/types';
import type { Engine, Step } from '../ports/engine';
import type { StatementPreview } from '../report/summary';
import { describeStep, type OpStep } from './steps';

export interface Finding {
  readonly code: 'CATALOGUE_CHANGED' | 'APPROVAL_MISSING' | 'OVER_BUDGET' | 'DATASET_EXPIRATION' | 'PLAN_ELSEWHERE' | 'PLAN_NOT_APPLIED_HERE';
  readonly message: string;
  readonly hint: string;
  readonly kind: OutcomeKind;
}

export function dollars(bytes: number, pricePerTiBUsd: number): number {
  return bytesToUsd(bytes, pricePerTiBUsd);
}

/** The tables that differ from what the plan saw, named from each operation's recorded source state. */
export function catalogueDifferences(plan: Plan, tables: readonly TableInfo[]): string[] {
  const now = new Map(tables.map((t) => [t.name, t]));
  const known = new Set<string>();
  const out: string[] = [];
  for (const op of plan.operations) {
    for (const s of op.sources) {
      known.add(s);
      const t = now.get(s);
      if (!t) out.push(`${s}: gone`);
      else if (t.kind === 'VIEW') out.push(`${s}: a view now (the plan saw a table)`);
      else if (tableStateHash(t) !== op.sourceState[s]) out.push(`${s}: schema or row count changed (now ${t.rowCount} rows, ${t.columns.length} columns)`);
    }
  }
  for (const t of tables) if (!known.has(t.name)) out.push(`${t.name}: not in the plan (created since)`);
  return out;
}

export function checkCatalogue(plan: Plan, tables: readonly TableInfo[], planSource: string): Finding | null {
  const fp = catalogueFingerprint(tables);
  if (fp === plan.catalogueFingerprint) return null;
  const diffs = catalogueDifferences(plan, tables);
  const shown = diffs.slice(0, 10).join('; ');
  return {
    code: 'CATALOGUE_CHANGED',
    message:
      `plan ${planSource} was made from catalogue ${plan.catalogueFingerprint.slice(0, 12)}…, the warehouse is now ${fp.slice(0, 12)}…` +
      (diffs.length ? `: ${diffs.length} table(s) differ — ${shown}${diffs.length > 10 ? '; …' : ''}` : ' (same tables, different state)'),
    hint: 'make a new plan from the current warehouse (`bqx plan --out FILE`), review it, and apply that one',
    kind: 'REFUSED',
  };
}

export function checkApproval(plan: Plan, ops: readonly PlanOperation[], approve: string | undefined, planSource: string): Finding | null {
  const destructive = ops.filter((o) => o.destructive);
  if (!destructive.length || approve === plan.planHash) return null;
  return {
    code: 'APPROVAL_MISSING',
    message:
      `${destructive.length} operation(s) drop tables${ops.some((o) => o.action === 'RETIRE_VIEW') ? ' or views' : ''} (e.g. ${destructive[0].action} ${destructive[0].sources.slice(0, 3).join(', ')}) and ` +
      (approve ? `--approve ${approve.slice(0, 16)}… does not match the plan hash` : 'no --approve was given'),
    hint: `review the plan (\`bqx apply ${planSource} --dry-run\`), then approve it: bqx apply ${planSource} --approve ${plan.planHash}`,
    kind: 'REFUSED',
  };
}

export function checkBudget(
  ops: readonly PlanOperation[],
  bytesOf: ReadonlyMap<string, number>,
  budgetUsd: number,
  pricePerTiBUsd: number,
  planSource: string,
): Finding | null {
  const total = ops.reduce((n, o) => n + (bytesOf.get(o.id) ?? 0), 0);
  const cost = dollars(total, pricePerTiBUsd);
  if (cost <= budgetUsd + 1e-9) return null;
  let fit = 0;
  let acc = 0;
  for (const o of ops) {
    acc += bytesOf.get(o.id) ?? 0;
    if (dollars(acc, pricePerTiBUsd) > budgetUsd + 1e-9) break;
    fit += 1;
  }
  return {
    code: 'OVER_BUDGET',
    message: `the ${ops.length} pending operation(s) would read ${total} bytes ($${cost.toFixed(2)}), over the budget of $${budgetUsd}; the first ${fit} fit`,
    hint: fit > 0 ? `run a smaller batch: bqx apply ${planSource} --max-operations ${fit}, or raise --budget-usd` : 'raise --budget-usd (the first operation alone exceeds it)',
    kind: 'REFUSED',
  };
}

export function checkExpiration(expirationMs: number | null, dataset: string, pending: number): Finding | null {
  if (expirationMs === null || pending === 0) return null;
  return {
    code: 'DATASET_EXPIRATION',
    message: `dataset ${dataset} has a default table expiration of ${expirationMs} ms: a renamed table keeps its creation time and could be deleted at once`,
    hint: `remove the dataset's default table expiration (bq update --default_table_expiration 0 ${dataset}) and retry`,
    kind: 'REFUSED',
  };
}

/** Renames, drops and views are metadata-only (free); only these steps may read data. */
const MAY_READ = new Set(['CONSOLIDATE', 'BACKUP_TABLE', 'RESTORE_TABLE']);

/** Rendered statements and estimated bytes of an operation's steps (paper mode prints them). */
export async function previewSteps(
  engine: Engine,
  steps: readonly OpStep[],
  pricePerTiBUsd: number,
  fallbackBytes: number,
  withStatements: boolean,
): Promise<{ bytes: number; statements: StatementPreview[] }> {
  const statements: StatementPreview[] = [];
  let bytes = 0;
  let estimated = false;
  for (const s of steps) {
    if (s.kind === 'VALIDATE_CONSOLIDATION') {
      statements.push({ step: describeStep(s), sql: ['-- coverage of the key, per-column equality and null counts against every source, before any drop'], bytes: null, costUsd: null });
      continue;
    }
    let b: number | null = 0;
    if (withStatements || MAY_READ.has(s.kind)) {
      try {
        b = await engine.estimateBytes(s as Step);
        estimated = true;
      } catch {
        b = null;
      }
    }
    bytes += b ?? 0;
    if (withStatements) statements.push({ step: describeStep(s), sql: engine.render(s as Step), bytes: b, costUsd: b === null ? null : dollars(b, pricePerTiBUsd) });
  }
  return { bytes: estimated ? bytes : fallbackBytes, statements };
}
