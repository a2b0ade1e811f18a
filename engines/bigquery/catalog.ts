/**
 * What the warehouse holds, from metadata only: tables.list (every page, to the end), then
 * INFORMATION_SCHEMA for columns, row counts, sizes and view text (no table is scanned), and
 * tables.get for the per-table facts only it carries (streaming buffer, policy tags).
 */
import type { Column, ColumnType, DatasetInfo, TableInfo, TableKind } from '../../core/catalogue';
import { BqxError } from '../../core/errors';
import { assertDatasetName, assertProjectId, assertTableName } from '../../core/identifiers';
import type { JobRunner } from './jobs';
import { BigQueryApiError, RestTransport, toApiError } from './rest';
import type { FieldSchema } from './rows';
import { stringArrayParam } from './rows';

interface TableListItem {
  tableReference?: { tableId?: string };
  type?: string;
  timePartitioning?: { type?: string; field?: string };
  clustering?: { fields?: string[] };
}

interface TableListPage {
  tables?: TableListItem[];
  nextPageToken?: string;
  totalItems?: number;
}

export interface RestTable extends TableListItem {
  schema?: { fields?: FieldSchema[] };
  numRows?: string;
  numBytes?: string;
  creationTime?: string;
  /** Milliseconds since the epoch of the table's last change (data or metadata). */
  lastModifiedTime?: string;
  streamingBuffer?: { estimatedRows?: string; estimatedBytes?: string; oldestEntryTime?: string };
  view?: { query?: string };
  externalDataConfiguration?: unknown;
}

const KINDS: Record<string, TableKind> = {
  TABLE: 'TABLE',
  VIEW: 'VIEW',
  EXTERNAL: 'EXTERNAL',
  SNAPSHOT: 'SNAPSHOT',
  MATERIALIZED_VIEW: 'MATERIALIZED_VIEW',
};

export function kindOf(type: string | undefined): TableKind {
  return KINDS[type ?? 'TABLE'] ?? 'TABLE';
}

/** REST schema types and INFORMATION_SCHEMA data types, both to the catalogue's GoogleSQL names. */
export function columnType(t: string): ColumnType {
  switch (t.toUpperCase()) {
    case 'TIMESTAMP':
      return 'TIMESTAMP';
    case 'DATE':
      return 'DATE';
    case 'STRING':
      return 'STRING';
    case 'FLOAT':
    case 'FLOAT64':
      return 'FLOAT64';
    case 'INTEGER':
    case 'INT64':
      return 'INT64';
    case 'BOOLEAN':
    case 'BOOL':
      return 'BOOL';
    case 'NUMERIC':
      return 'NUMERIC';
    case 'BYTES':
      return 'BYTES';
    case 'JSON':
      return 'JSON';
    default:
      return 'OTHER';
  }
}

/** Partition column when the table is partitioned by DATE(column) (day partitioning on a field). */
function partitionColumn(t: TableListItem): string | null {
  const p = t.timePartitioning;
  return p && p.field && (p.type ?? 'DAY') === 'DAY' ? p.field : null;
}

function datasetRef(project: string, dataset: string): string {
  assertProjectId(project, 'project');
  assertDatasetName(dataset, 'dataset');
  return `\`${project}.${dataset}\``;
}

export function columnsSql(project: string, dataset: string): string {
  return `SELECT table_name, column_name, data_type FROM ${datasetRef(project, dataset)}.INFORMATION_SCHEMA.COLUMNS ORDER BY table_name, ordinal_position`;
}

/** `region-<location>`, the qualifier of region-scoped INFORMATION_SCHEMA views (validated). */
export function regionQualifier(location: string): string {
  const region = `region-${location.toLowerCase()}`;
  if (!/^region-[a-z0-9-]+$/.test(region)) throw new BqxError('BAD_OPTION', `--location ${location} is not a BigQuery location`, 'use e.g. us-central1 or US');
  return region;
}

/**
 * Row counts and logical bytes per table from the dataset-qualified PARTITIONS view: it needs
 * bigquery.tables.get/list on the dataset only (a region-qualified view such as TABLE_STORAGE is
 * authorized on the project, which would reach every dataset's metadata). One query reads at most
 * PARTITIONS_MAX_TABLES tables (https://cloud.google.com/bigquery/docs/information-schema-partitions):
 * `@tables` names them.
 */
export function partitionsSql(project: string, dataset: string): string {
  return `SELECT table_name, SUM(total_rows) AS total_rows, SUM(total_logical_bytes) AS total_logical_bytes FROM ${datasetRef(project, dataset)}.INFORMATION_SCHEMA.PARTITIONS WHERE table_name IN UNNEST(@tables) GROUP BY table_name`;
}

/** Google's limit on the tables one INFORMATION_SCHEMA.PARTITIONS query may read. */
export const PARTITIONS_MAX_TABLES = 1000;

export function viewsSql(project: string, dataset: string): string {
  return `SELECT table_name, view_definition FROM ${datasetRef(project, dataset)}.INFORMATION_SCHEMA.VIEWS`;
}

export interface CatalogReaderOptions {
  readonly project: string;
  readonly dataset: string;
  readonly location: string;
  /** tables.list page size (BigQuery's own default is 50; the API allows up to 1,000). */
  readonly pageSize: number;
}

export class CatalogReader {
  constructor(
    private readonly rest: RestTransport,
    private readonly jobs: JobRunner,
    private readonly opts: CatalogReaderOptions,
  ) {}

  /** Every table of the dataset: follows nextPageToken until there is none. */
  async listTableItems(dataset: string = this.opts.dataset): Promise<TableListItem[]> {
    assertDatasetName(dataset, 'dataset');
    const items: TableListItem[] = [];
    const seenTokens = new Set<string>();
    let pageToken: string | undefined;
    do {
      const page = await this.jobs.retrying(() =>
        this.rest.call<TableListPage>({
          method: 'GET',
          path: `/datasets/${dataset}/tables`,
          query: { maxResults: this.opts.pageSize, pageToken },
        }),
        `tables.list of ${dataset} (page ${seenTokens.size + 1})`,
      );
      items.push(...(page.tables ?? []));
      pageToken = page.nextPageToken || undefined;
      if (pageToken && seenTokens.has(pageToken)) {
        throw new BqxError('LISTING_LOOP', `tables.list of ${dataset} returned page token ${pageToken} twice`, 'the listing is inconsistent; run again');
      }
      if (pageToken) seenTokens.add(pageToken);
    } while (pageToken);
    return items;
  }

  async listTables(): Promise<TableInfo[]> {
    // Columns and view texts are read for the whole dataset: their queries run while the listing
    // pages in; row counts are asked per stored table, so they wait for it.
    const columnsRead = this.columnsByTable();
    const viewsRead = this.viewQueries();
    // Awaited below, once the listing is in: a query failing before that is not unhandled.
    for (const read of [columnsRead, viewsRead]) read.catch(() => undefined);
    let items: TableListItem[];
    try {
      items = await this.listTableItems();
    } catch (e) {
      // The listing's error is the one to report (a missing dataset fails the queries too).
      await Promise.allSettled([columnsRead, viewsRead]);
      if (e instanceof BigQueryApiError && e.status === 404) {
        throw new BqxError('DATASET_NOT_FOUND', `dataset ${this.opts.project}.${this.opts.dataset} does not exist`, 'check --project and --dataset', 'BAD_INPUT');
      }
      throw e;
    }
    const stored = items.filter((it) => kindOf(it.type) !== 'VIEW').map((it) => it.tableReference?.tableId ?? '').filter(Boolean);
    const storageRead = this.storageByTable(stored);
    const [columns, storage, views] = await Promise.all([columnsRead, storageRead, viewsRead]);
    return items
      .map((it) => {
        const name = it.tableReference?.tableId ?? '';
        const kind = kindOf(it.type);
        const st = storage.get(name);
        const info: TableInfo = {
          name,
          kind,
          columns: columns.get(name) ?? [],
          rowCount: st?.rows ?? 0,
          bytes: st?.bytes ?? 0,
          partitionBy: partitionColumn(it),
          clusterBy: it.clustering?.fields ?? [],
          ...(views.has(name) ? { viewQuery: views.get(name) } : {}),
        };
        return info;
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private async columnsByTable(): Promise<Map<string, Column[]>> {
    const out = await this.jobs.run({
      jobId: `bqx_catalog_columns_${this.opts.dataset}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
      query: columnsSql(this.opts.project, this.opts.dataset),
      labels: { bqx_kind: 'catalog_columns' },
      readRows: true,
    });
    const byTable = new Map<string, Column[]>();
    for (const r of out.rows) {
      const t = String(r.table_name);
      const list = byTable.get(t) ?? [];
      list.push({ name: String(r.column_name), type: columnType(String(r.data_type)) });
      byTable.set(t, list);
    }
    return byTable;
  }

  /** Row counts and logical bytes of `tables` (metadata; may lag recent changes by minutes), PARTITIONS_MAX_TABLES per query. */
  private async storageByTable(tables: readonly string[]): Promise<Map<string, { rows: number; bytes: number }>> {
    const chunks: string[][] = [];
    for (let i = 0; i < tables.length; i += PARTITIONS_MAX_TABLES) chunks.push(tables.slice(i, i + PARTITIONS_MAX_TABLES));
    const outs = await Promise.all(
      chunks.map((names, i) =>
        this.jobs.run({
          jobId: `bqx_catalog_storage_${this.opts.dataset}_${i}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
          query: partitionsSql(this.opts.project, this.opts.dataset),
          params: [stringArrayParam('tables', names)],
          labels: { bqx_kind: 'catalog_storage' },
          readRows: true,
        }),
      ),
    );
    return new Map(outs.flatMap((out) => out.rows.map((r) => [String(r.table_name), { rows: Number(r.total_rows ?? 0), bytes: Number(r.total_logical_bytes ?? 0) }] as const)));
  }

  private async viewQueries(): Promise<Map<string, string>> {
    const out = await this.jobs.run({
      jobId: `bqx_catalog_views_${this.opts.dataset}_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`,
      query: viewsSql(this.opts.project, this.opts.dataset),
      labels: { bqx_kind: 'catalog_views' },
      readRows: true,
    });
    return new Map(out.rows.map((r) => [String(r.table_name), String(r.view_definition)]));
  }

  async getRestTable(name: string, dataset: string = this.opts.dataset): Promise<RestTable | null> {
    assertTableName(name, 'table');
    assertDatasetName(dataset, 'dataset');
    try {
      return await this.jobs.retrying(() => this.rest.call<RestTable>({ method: 'GET', path: `/datasets/${dataset}/tables/${name}` }), `tables.get of ${dataset}.${name}`);
    } catch (e) {
      const err = toApiError(e);
      if (err.status === 404) return null;
      throw err;
    }
  }

  async getTable(name: string): Promise<TableInfo | null> {
    const t = await this.getRestTable(name);
    return t ? tableInfoFromRest(name, t) : null;
  }

  async datasetInfo(dataset: string = this.opts.dataset): Promise<DatasetInfo> {
    assertDatasetName(dataset, 'dataset');
    try {
      const d = await this.jobs.retrying(() =>
        this.rest.call<{ location?: string; defaultTableExpirationMs?: string }>({ method: 'GET', path: `/datasets/${dataset}` }),
        `datasets.get of ${dataset}`,
      );
      return {
        name: dataset,
        exists: true,
        location: d.location ?? null,
        defaultTableExpirationMs: d.defaultTableExpirationMs ? Number(d.defaultTableExpirationMs) : null,
      };
    } catch (e) {
      if (e instanceof BigQueryApiError && e.status === 404) return { name: dataset, exists: false, location: null, defaultTableExpirationMs: null };
      throw e;
    }
  }
}

export function tableInfoFromRest(name: string, t: RestTable): TableInfo {
  const fields = t.schema?.fields ?? [];
  const policyTags = fields.reduce((n, f) => n + countPolicyTags(f), 0);
  return {
    name,
    kind: kindOf(t.type),
    columns: fields.map((f) => ({ name: f.name, type: f.mode === 'REPEATED' ? 'OTHER' : columnType(f.type) })),
    rowCount: Number(t.numRows ?? 0),
    bytes: Number(t.numBytes ?? 0),
    partitionBy: partitionColumn(t),
    clusterBy: t.clustering?.fields ?? [],
    streamingBuffer: t.streamingBuffer !== undefined && t.streamingBuffer !== null,
    policyTags,
    ...(t.view?.query ? { viewQuery: t.view.query } : {}),
  };
}

function countPolicyTags(f: FieldSchema): number {
  return (f.policyTags?.names?.length ? 1 : 0) + (f.fields ?? []).reduce((n, g) => n + countPolicyTags(g), 0);
}
