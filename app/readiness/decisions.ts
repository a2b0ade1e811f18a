/**
 * What a person must decide or know before the start: the REVIEW tables and who decides each, the
 * grace period's end, the rollback command, and how this tool's violation count relates to the
 * team's own inventories (facts §0, §3.6–3.8).
 */
import type { Plan } from '../../core/plan/types';

export interface ReviewEntry {
  readonly table: string;
  readonly reason: string;
  readonly detail: string;
  /** Who decides it, in the team's halt-authority terms (CE Tier 2 for edge cases and ambiguous variants). */
  readonly decides: string;
}

const DECIDERS: Readonly<Record<string, string>> = {
  VARIANT_AMBIGUOUS: 'CE (Tier 2: ambiguous variant, decides within 30 min) on EA’s sample of the values',
  TARGET_EXISTS_DIFFERENT: 'CE with EA: which copy is canonical (the contents differ); then BA renames or drops the other',
  COPIES_DIFFER: 'CE with EA: which copy is canonical (the contents differ)',
  EMPTY_TABLE: 'EA: drop the empty table or regenerate it (no data to tell its variant); CE approves a drop',
  READ_ERROR: 'BA: restore read access, then plan again',
  SCHEMA_CONFLICT: 'EA: which columns the consolidated table keeps; CE approves',
  JOIN_KEY_NOT_UNIQUE: 'EA: deduplicate interval_time in the source first; CE approves',
};

export function reviewEntries(plan: Plan): ReviewEntry[] {
  return plan.operations
    .filter((o) => o.action === 'REVIEW')
    .map((o) => ({ table: o.sources[0], reason: o.reason, detail: o.detail ?? '', decides: DECIDERS[o.reason] ?? 'CE (Tier 2: edge cases, decides within 30 min)' }));
}

/** The grace period's last day: the views' date, else graceStart + graceDays. */
export function graceEndOf(plan: Plan): string {
  if (plan.views[0]) return plan.views[0].graceEnd;
  const d = new Date(`${plan.graceStart}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + plan.graceDays);
  return d.toISOString().slice(0, 10);
}

export function rollbackCommand(planFile: string | null, planHash: string): string {
  return `bqx rollback ${planFile ?? 'PLAN'} --approve ${planHash}`;
}

/** One row of the reconciliation with the team's counts: a class, their two figures, ours, and why. */
export interface InventoryRow {
  readonly family: string;
  readonly ea1968: number;
  readonly ba2042: number;
  readonly here: number;
  readonly why: string;
}

/**
 * The team's two inventories (EA 2025-12-13: 1,968; BA/EA re-audit 2025-12-14, a simpler regex:
 * 2,042) against the M008 grammar of policy/m008.policy.yaml on the 5,817 tables (2,485; reproduce
 * with `bqx warehouse seed --scale full && bqx audit`).
 */
export const TEAM_INVENTORIES: readonly InventoryRow[] = [
  { family: 'cov', ea1968: 1596, ba2042: 1596, here: 1596, why: 'same: cov_{type}_{p1}_{p2} lacks its variant' },
  { family: 'corr', ea1968: 0, ba2042: 224, here: 448, why: 'EA counted no CORR; BA only corr_ibkr_* (224); corr_bqx_ibkr_* (224) is the other legacy spelling of corr_etf_{variant}_*' },
  { family: 'lag', ea1968: 224, ba2042: 56, here: 224, why: 'a window in a table name violates M008: BA’s loose regex passed the 168 lag_idx_*_w*, lag_bqx_*_* and lag_bqx_*_w* forms' },
  { family: 'regime', ea1968: 112, ba2042: 56, here: 112, why: 'as LAG: BA passed regime_bqx_{p}_{W}, which keeps its window in the name' },
  { family: 'csi', ea1968: 0, ba2042: 64, here: 64, why: 'EA did not count csi_{t}_{ccy} (no variant)' },
  { family: 'tmp', ea1968: 28, ba2042: 28, here: 28, why: 'same: tmp_{pair} lacks its variant' },
  { family: 'var', ea1968: 7, ba2042: 7, here: 7, why: 'same: var_corr_{ccy} lacks its variant' },
  { family: 'mkt', ea1968: 1, ba2042: 11, here: 6, why: 'EA counted mkt_reg_bqx_summary, which the grammar’s mkt_{type}_{variant}_summary allows; BA also the 5 mkt_*_bqx, which mkt_{type}_{variant} allows; the 6 without a variant remain' },
];

export const TEAM_TOTALS = { ea1968: 1968, ba2042: 2042, here: 2485 } as const;
