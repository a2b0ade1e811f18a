/**
 * The production feature store's size, kept beside the synthetic copy as metadata: each table's
 * real bytes and row count, from shared/spec/reference/bqx-v3-facts.md (§0, §2.2, §2.3):
 * `bqx_ml_v3_features_v2` holds 5,817 tables and 1,479.13 GB; v1 per-family sizes (cov 515 GB at
 * 224 MB/table, reg 3.8 GB/table, tri 97 GB, var 93 GB, agg 59 GB, corr 43 GB, lag 204 MB/table,
 * regime 31 GB, csi 21 GB) give each family's size per table, scaled so the 5,817 tables add up to
 * 1,479.13 GB; regenerated tables hold ~2.09–2.20 M rows (2.15 M taken). A projection, labelled as
 * such wherever it is shown: the real per-table sizes are not in the facts.
 */
import { buildCatalogue, FEATURES_DATASET } from './catalogue';

export const REAL_TABLES = 5_817;
/** 1,479.13 GB as the BigQuery console reports it (GB = 10^9 bytes). */
export const REAL_BYTES = 1_479.13e9;
export const REAL_ROWS_PER_TABLE = 2_150_000;
export const REAL_SIZE_BASIS =
  'reference facts: 5,817 tables, 1,479.13 GB; v1 per-family sizes per table scaled to that total; ~2.15 M rows per table';

/** GB per table of each family in v1 (facts §2.3); families not listed take agg's. */
const V1_GB_PER_TABLE: Readonly<Record<string, number>> = {
  cov: 0.224,
  lag: 0.204,
  reg: 3.8,
  tri: 97 / 194,
  var: 93 / 63,
  agg: 59 / 56,
  corr: 43 / 896,
  regime: 31 / 112,
  csi: 21 / 144,
};

/** A table's family as its first name token says it (`lag_idx_eurusd_w45` → lag). */
export function familyOfName(name: string): string {
  return name.split('_')[0] ?? name;
}

const weight = (name: string) => V1_GB_PER_TABLE[familyOfName(name)] ?? V1_GB_PER_TABLE.agg;

let scale: number | null = null;
/** Bytes per v1 GB, so the full catalogue's 5,817 tables add up to REAL_BYTES. */
function bytesPerWeight(): number {
  if (scale === null) {
    const names = buildCatalogue({ scale: 'full' }).map((t) => t.name);
    scale = REAL_BYTES / names.reduce((a, n) => a + weight(n), 0);
  }
  return scale;
}

export interface RealSize {
  readonly bytes: number;
  readonly rows: number;
}

/** The real feature store's size of a table of this name (a projection: see the module comment). */
export function realSizeOf(name: string): RealSize {
  return { bytes: Math.round(weight(name) * bytesPerWeight()), rows: REAL_ROWS_PER_TABLE };
}

/** The seed's hook: `_bqx_catalog.real_sizes`, one row per feature table of the synthetic copy. */
export function realSizesSql(catalogSchema: string, names: readonly string[], quote: (s: string) => string): string[] {
  const rows = names.map((n) => {
    const s = realSizeOf(n);
    return `(${quote(FEATURES_DATASET)}, ${quote(n)}, ${s.bytes}, ${s.rows})`;
  });
  return [
    `CREATE TABLE IF NOT EXISTS "${catalogSchema}"."real_sizes" (dataset VARCHAR, table_name VARCHAR, real_bytes BIGINT, real_rows BIGINT);`,
    ...(rows.length ? [`INSERT INTO "${catalogSchema}"."real_sizes" VALUES ${rows.join(', ')};`] : []),
  ];
}
