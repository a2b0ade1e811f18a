/**
 * What a rename loses on BigQuery (search indexes, Data Catalog policy tags): the readiness audit
 * warns about it before the run. Everything else BigQuery-specific that the executor must refuse
 * (streaming buffer, external tables, a default table expiration) is a gate of core/execute/gates.ts
 * read from the engine's TableInfo and DatasetInfo.
 */
import type { CatalogReader } from './catalog';
import { tableInfoFromRest } from './catalog';
import type { JobRunner } from './jobs';
import { searchIndexesSql, SqlLocation } from './sql';

export interface RenameLossFinding {
  readonly code: 'SEARCH_INDEX_DROPPED' | 'POLICY_TAGS_DROPPED';
  readonly severity: 'error' | 'warning';
  /** `dataset.table`, or the dataset. */
  readonly subject: string;
  readonly message: string;
}

/** Search indexes (INFORMATION_SCHEMA.SEARCH_INDEXES) and policy tags (schema) a rename would drop. */
export async function renameLossFindings(
  jobs: JobRunner,
  catalog: CatalogReader,
  loc: SqlLocation,
  tables: readonly string[],
): Promise<RenameLossFinding[]> {
  const out: RenameLossFinding[] = [];
  const wanted = new Set(tables);
  const res = await jobs.run({
    jobId: `bqx_gate_search_indexes_${loc.dataset}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
    query: searchIndexesSql(loc),
    labels: { bqx_kind: 'gate_search_indexes' },
    readRows: true,
  });
  for (const r of res.rows) {
    const name = String(r.table_name);
    if (wanted.has(name)) {
      out.push({ code: 'SEARCH_INDEX_DROPPED', severity: 'warning', subject: `${loc.dataset}.${name}`, message: `table ${loc.dataset}.${name} has ${String(r.indexes)} search index(es); a rename drops them (re-create after the rename)` });
    }
  }
  for (const name of tables) {
    const t = await catalog.getRestTable(name, loc.dataset);
    if (!t) continue;
    const info = tableInfoFromRest(name, t);
    if ((info.policyTags ?? 0) > 0) {
      out.push({ code: 'POLICY_TAGS_DROPPED', severity: 'warning', subject: `${loc.dataset}.${name}`, message: `table ${loc.dataset}.${name} has ${info.policyTags} column(s) with policy tags; Data Catalog tags do not follow a rename` });
    }
  }
  return out;
}
