/**
 * The Phase 4C plan for the catalogue of warehouse/catalogue.ts, made by the project's planner
 * (core/plan/planner.ts). Facts come either from a live engine (the bench: the BigQuery engine
 * against the double) or from the catalogue's own content description (the ZetaSQL test, which
 * only needs the statements): samples are the seed's values of the sampled column, fingerprints its
 * content key.
 */
import { makeSnapshot, type TableInfo } from '../../core/catalogue';
import type { FactSource } from '../../core/plan/facts';
import { buildPlan } from '../../core/plan/planner';
import type { Plan } from '../../core/plan/types';
import { loadPolicy, type Policy } from '../../core/policy';
import { buildCatalogue, CatalogueTable, FEATURES_DATASET, Scale } from '../../warehouse/catalogue';
import { columnGenerator } from '../../warehouse/content';
import { PROJECT, tableBytes } from './warehouse';

export const GRACE_START = '2026-12-01';

/**
 * `realisticBytes: false` gives every table 1 MB: with the facts' real sizes (1.48 TB) the
 * policy's $5 planning budget cannot fingerprint every twin and the planner sends ~340 tables to
 * REVIEW (PLANNING_BUDGET_EXCEEDED / READ_ERROR). The catalogue fingerprint ignores bytes, so a
 * plan made this way still matches the double's realistic listing.
 */
export function tableInfoOf(t: CatalogueTable, realisticBytes = false): TableInfo {
  return {
    name: t.name,
    kind: 'TABLE',
    columns: t.columns,
    rowCount: t.content.rows,
    bytes: realisticBytes ? tableBytes(t.name) : 1_000_000,
    partitionBy: t.partitionBy,
    clusterBy: t.clusterBy,
  };
}

/** Facts read from the catalogue's content description (no warehouse involved). */
export function catalogueFacts(tables: readonly CatalogueTable[]): FactSource {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const must = (n: string) => {
    const t = byName.get(n);
    if (!t) throw new Error(`no table ${n}`);
    return t;
  };
  return {
    maxParallelOperations: 64,
    async sampleNumeric(table, column, limit) {
      const t = must(table);
      const c = t.columns.find((x) => x.name === column);
      if (!c) throw new Error(`no column ${column} in ${table}`);
      const gen = columnGenerator({ tableName: t.name, content: t.content }, c);
      return Array.from({ length: Math.min(limit, t.content.rows) }, (_, i) => gen(i) as number);
    },
    async contentFingerprint(table) {
      const t = must(table);
      return { rows: t.content.rows, hash: `${t.content.key}${t.content.perturbed ? '#p' : ''}` };
    },
    async keyStats(table) {
      const t = must(table);
      return { rows: t.content.rows, distinctKeys: t.content.rows, nullKeys: 0 };
    },
    async columnsAgreeOnKey(_a, _b, _key, columns) {
      return Object.fromEntries(columns.map((c) => [c, true]));
    },
  };
}

export async function phase4cPlan(scale: Scale, source?: FactSource, snapshotTables?: readonly TableInfo[]): Promise<{ plan: Plan; tables: CatalogueTable[]; policy: Policy }> {
  const tables = buildCatalogue({ scale });
  const policy = loadPolicy();
  const snapshot = makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, snapshotTables ?? tables.map((t) => tableInfoOf(t)));
  const plan = await buildPlan(source ?? catalogueFacts(tables), { snapshot, policy, graceStart: GRACE_START });
  return { plan, tables, policy };
}
