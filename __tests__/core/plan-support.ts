/**
 * Small in-process planner inputs for the planner's pure tests: tables, snapshots and a policy with
 * edited settings. No warehouse: the planner's decision is a function of (snapshot, policy, facts).
 */
import { readFileSync } from 'fs';
import { makeSnapshot, type Column, type TableInfo } from '../../core/catalogue';
import { emptyFacts, type PlanningFacts } from '../../core/plan/facts';
import { decidePlan } from '../../core/plan/planner';
import type { Plan, PlanOperation } from '../../core/plan/types';
import { compilePolicy, loadPolicy, type Policy } from '../../core/policy';
import { repoPath } from '../../core/paths';

export const policy = loadPolicy();
export const ts: Column = { name: 'interval_time', type: 'TIMESTAMP' };
export const pair: Column = { name: 'pair', type: 'STRING' };
export const f = (name: string): Column => ({ name, type: 'FLOAT64' });
export const covCols: Column[] = [ts, { name: 'pair1', type: 'STRING' }, { name: 'pair2', type: 'STRING' }, f('val1'), f('val2')];

export function table(name: string, columns: readonly Column[], rowCount = 10): TableInfo {
  return { name, kind: 'TABLE', columns, rowCount, bytes: rowCount * columns.length * 8, partitionBy: 'interval_time', clusterBy: ['pair'] };
}

export function plan(tables: readonly TableInfo[], facts: PlanningFacts, p: Policy = policy, graceStart = '2026-12-01'): Plan {
  return decidePlan({ snapshot: makeSnapshot('test', 'bqx-ml', 'ds', [...tables]), policy: p, graceStart }, facts);
}

export const opFor = (p: Plan, source: string): PlanOperation => {
  const op = p.operations.find((o) => o.sources.includes(source));
  if (!op) throw new Error(`no operation for ${source}`);
  return op;
};

/** The shipped policy with one setting's text replaced (`planningBudgetUsd: 10` → `planningBudgetUsd: 0`). */
export function policyWith(from: string, to: string): Policy {
  const key = `${from}\u0000${to}`;
  const known = edited.get(key);
  if (known) return known;
  const text = readFileSync(repoPath('policy', 'm008.policy.yaml'), 'utf8');
  if (!text.includes(from)) throw new Error(`policy has no ${from}`);
  const compiled = compilePolicy(text.replace(from, to), `edited: ${to}`);
  edited.set(key, compiled);
  return compiled;
}
/** Compiled edited policies (a compile takes ~150 ms; the policy is not what these tests test). */
const edited = new Map<string, Policy>();

/** A bqx lag table of one window: its level columns and an un-windowed INT64. */
export const bqxLag = (w: number): Column[] => [ts, pair, f('bqx_close'), f(`bqx_lag_${w}`), { name: 'period_minutes', type: 'INT64' }];

/** Two windows of lag_bqx_eurusd, each with one proven copy (`_w45`, `_w90`). */
export const lagTables: TableInfo[] = [
  table('lag_bqx_eurusd_45', bqxLag(45)),
  table('lag_bqx_eurusd_w45', bqxLag(45)),
  table('lag_bqx_eurusd_90', bqxLag(90), 8),
  table('lag_bqx_eurusd_w90', bqxLag(90), 8),
];

/** Facts of `lagTables`: copies identical, unique keys, and the un-windowed columns' agreement given. */
export function lagFacts(agree: Record<string, boolean>): PlanningFacts {
  const facts = emptyFacts();
  for (const n of ['lag_bqx_eurusd_45', 'lag_bqx_eurusd_w45']) facts.fingerprints.set(n, { rows: 10, hash: 'L45' });
  for (const n of ['lag_bqx_eurusd_90', 'lag_bqx_eurusd_w90']) facts.fingerprints.set(n, { rows: 8, hash: 'L90' });
  facts.keyStats.set('lag_bqx_eurusd_45', { rows: 10, distinctKeys: 10, nullKeys: 0 });
  facts.keyStats.set('lag_bqx_eurusd_90', { rows: 8, distinctKeys: 8, nullKeys: 0 });
  facts.agreement.set('lag_bqx_eurusd_45|lag_bqx_eurusd_90', agree);
  return facts;
}

/** One operation of each action: RENAME, DEDUPE, CONSOLIDATE (lagTables), KEEP and REVIEW. */
export function planOfEachAction(): Plan {
  const facts = lagFacts({ pair: true, bqx_close: true, period_minutes: true });
  facts.samples.set('cov_mom_audcad_audchf', { column: 'val1', values: [100] });
  facts.samples.set('cov_agg_audcad_audchf', { column: 'val1', values: [100] });
  facts.fingerprints.set('cov_agg_audcad_audchf', { rows: 10, hash: 'A' });
  facts.fingerprints.set('cov_agg_idx_audcad_audchf', { rows: 10, hash: 'A' });
  const cov = ['cov_mom_audcad_audchf', 'cov_agg_audcad_audchf', 'cov_agg_idx_audcad_audchf'].map((n) => table(n, covCols));
  return plan([...lagTables, ...cov, table('eurusd_agg', [ts, f('x')])], facts);
}
