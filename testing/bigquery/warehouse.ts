/**
 * Seeds the HTTP double with the catalogue of warehouse/catalogue.ts (the real 5,817 table names
 * and schemas), with table sizes from the facts (§2.3: cov ~224 MB/table, lag ~204 MB/table,
 * regime 31 GB / 112 tables) and content the planner can read: a sample of the table's level
 * column (the values the local seed holds), and a content key whose equality means identical rows.
 */
import type { ColumnType } from '../../core/catalogue';
import { buildCatalogue, CatalogueTable, FEATURES_DATASET, Scale } from '../../warehouse/catalogue';
import { columnKind } from '../../warehouse/column-kinds';
import { columnGenerator } from '../../warehouse/content';
import type { BigQueryDouble, DoubleColumn } from './double';

export const PROJECT = 'bqx-ml';
export const RUNNER_DATASET = 'bqx_ml_v3_migration';
export const LOCATION = 'us-central1';

const MB = 1_000_000;

/** Bytes per table by family prefix (facts §2.3, v1 sizes, indicative). */
export function tableBytes(name: string): number {
  if (name.startsWith('cov_')) return 224 * MB;
  if (name.startsWith('lag_')) return 204 * MB;
  if (name.startsWith('regime_')) return Math.round(31_000 / 112) * MB;
  if (name.startsWith('reg_')) return 3_800 * MB;
  if (name.startsWith('corr_')) return Math.round(43_000 / 896) * MB;
  if (name.startsWith('csi_')) return Math.round(21_000 / 288) * MB;
  return 100 * MB;
}

const REST_TYPES: Record<ColumnType, string> = {
  TIMESTAMP: 'TIMESTAMP',
  DATE: 'DATE',
  STRING: 'STRING',
  FLOAT64: 'FLOAT',
  INT64: 'INTEGER',
  BOOL: 'BOOLEAN',
  NUMERIC: 'NUMERIC',
  BYTES: 'BYTES',
  JSON: 'JSON',
  OTHER: 'STRING',
};

export const restColumns = (t: Pick<CatalogueTable, 'columns'>): DoubleColumn[] => t.columns.map((c) => ({ name: c.name, type: REST_TYPES[c.type] }));

/**
 * The double holds one sample per table: the values of its first level column (the only column the
 * planner samples), as the local seed generates them; none for a table without one.
 */
function sampleFor(t: CatalogueTable): number[] {
  const level = t.columns.find((c) => c.type === 'FLOAT64' && columnKind(c) === 'level');
  if (t.content.rows === 0 || !level) return [];
  const gen = columnGenerator({ tableName: t.name, content: t.content }, level);
  return Array.from({ length: t.content.rows }, (_, i) => gen(i) as number);
}

export function seedDouble(double: BigQueryDouble, scale: Scale, opts: { withRunnerDataset?: boolean } = {}): CatalogueTable[] {
  const tables = buildCatalogue({ scale });
  double.addDataset(FEATURES_DATASET);
  if (opts.withRunnerDataset) double.addDataset(RUNNER_DATASET);
  for (const t of tables) {
    double.addTable({
      dataset: FEATURES_DATASET,
      name: t.name,
      columns: restColumns(t),
      numRows: t.content.rows,
      numBytes: tableBytes(t.name),
      partitionField: t.partitionBy,
      clusterFields: [...t.clusterBy],
      contentKey: `${t.content.key}${t.content.perturbed ? '#perturbed' : ''}`,
      creationTime: 1_700_000_000_000,
      sample: sampleFor(t),
    });
  }
  return tables;
}
