/**
 * What the failure suites compare on the BigQuery double: the feature dataset as a reader sees it
 * (every table and view, its kind, columns and content), the statements that changed it, and the
 * ledger's terminal outcomes per run and operation.
 */
import type { LedgerRecord } from '../../core/ledger/types';
import { TERMINAL_OUTCOMES } from '../../core/ledger/types';
import type { BigQueryDouble } from './double';

export interface DatasetState {
  readonly [name: string]: string;
}

/** One line per table or view of `dataset`: kind, columns and what it holds (or shows). */
export function datasetState(double: BigQueryDouble, dataset: string): DatasetState {
  const out: Record<string, string> = {};
  for (const t of double.tables.values()) {
    if (t.dataset !== dataset) continue;
    const cols = t.columns.map((c) => `${c.name}:${c.type}`).join(',');
    const content = t.type === 'VIEW' ? `view of ${t.viewTarget?.dataset}.${t.viewTarget?.name}` : `${t.contentKey} ${t.numRows} rows`;
    out[t.name] = `${t.type} [${cols}] ${content}`;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The changes a run made to the warehouse, normalised so runs compare: backup names lose their
 * attempt number, snapshot expirations their timestamp. Ledger and lock writes are left out.
 */
export function catalogueChanges(double: BigQueryDouble, runnerDataset: string): string[] {
  return double.applied
    .map((a) => a.sql)
    .filter((sql) => !new RegExp(`\`[^\`]+\\.${runnerDataset}\\.(ledger|runs|lock_events)\``).test(sql) && !/^CREATE (SCHEMA|TABLE IF NOT EXISTS)/.test(sql))
    .map((sql) => sql.replace(/_a\d+_/g, '_a*_').replace(/TIMESTAMP '[^']+'/g, "TIMESTAMP '*'"));
}

/** Statements that appear more than once (a statement executed twice). */
export function repeated(statements: readonly string[]): string[] {
  const seen = new Map<string, number>();
  for (const s of statements) seen.set(s, (seen.get(s) ?? 0) + 1);
  return [...seen.entries()].filter(([, n]) => n > 1).map(([s, n]) => `${n}× ${s.slice(0, 160)}`);
}

/** Per run and operation, how many terminal outcomes the ledger holds (must be exactly one). */
export function terminalCounts(records: readonly LedgerRecord[]): Map<string, number> {
  const terminal = new Set<string>(TERMINAL_OUTCOMES);
  const out = new Map<string, number>();
  for (const r of records) if (terminal.has(r.state)) out.set(`${r.runId} ${r.operationId}`, (out.get(`${r.runId} ${r.operationId}`) ?? 0) + 1);
  return out;
}
