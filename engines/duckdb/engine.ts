import { createHash } from 'crypto';
import type { Column, DatasetInfo, TableInfo } from '../../core/catalogue';
import { assertDistinctDatasets, assertNotReserved, BqxError, valueOrError } from '../../core/errors';
import { failpoint } from '../../core/failpoints';
import { assertDatasetName } from '../../core/identifiers';
import type { DuckDbEngineOptions } from '../../core/ports/engine';
import type { ContentFingerprint, CoverageResult, Engine, EngineLocation, JobHistory, KeyStats, Reader, ReadRequest, ReadResults, Rehearsal, RunOptions, Step, StepResult } from '../../core/ports/engine';
import { bindsOrMissing, Db, num, str, type Row } from './db';
import type { CatalogEntry } from './open';
import { DuckDbLedger } from './ledger';
import { jobHistory, readAs } from './query-log';
import { BEGIN, COMMIT, ensureRunnerDataset, renderStep } from './render';
import { CATALOG_DDL, CATALOG_SCHEMA, column, DATASET_OPTIONS, literal, table, TABLE_OPTIONS, TABLE_OPTIONS_TABLE } from './sql';
import { googleSqlType, structFields, valueBytes } from './types';
import { onScratchCopy } from './scratch';

const copyOf = (e: CatalogEntry | undefined): CatalogEntry =>
  e?.kind === 'TABLE' ? { kind: 'TABLE', columns: e.columns && [...e.columns], options: e.options && { ...e.options, clusterBy: [...e.options.clusterBy] } } : { kind: 'TABLE' };

/** The row alias of bulk view probes: a column of that name would shadow it (the reply is then not a STRUCT, and the view is probed alone). */
const PROBE_ROW = '"__bqx_probe_row"';

const TABLE_COLUMNS_SQL = `
  SELECT table_name, column_name, data_type
  FROM duckdb_columns()
  WHERE database_name = current_database() AND schema_name = ?
  ORDER BY table_name, column_index`;

/** Joins a table's column names (and types) in one string each: a value per table, not per column, crosses into JavaScript. */
const SEPARATOR = '\u001f';
const TABLE_COLUMNS_JOINED_SQL = `
  SELECT table_name, count(*) AS n,
         string_agg(column_name, chr(31) ORDER BY column_index) AS names,
         string_agg(data_type, chr(31) ORDER BY column_index) AS types
  FROM duckdb_columns()
  WHERE database_name = current_database() AND schema_name = ?
  GROUP BY table_name`;

const TABLES_SQL = `
  SELECT t.table_name AS name, 'TABLE' AS kind, t.estimated_size AS row_count, NULL AS view_sql,
         o.partition_by, o.cluster_by
  FROM duckdb_tables() t
  LEFT JOIN %OPTIONS% o ON o.dataset = t.schema_name AND o.table_name = t.table_name
  WHERE t.database_name = current_database() AND t.schema_name = ?
  UNION ALL
  SELECT v.view_name, 'VIEW', 0, v.sql, NULL, NULL
  FROM duckdb_views() v
  WHERE v.database_name = current_database() AND v.schema_name = ? AND NOT v.internal
  ORDER BY 1`;

function frozen(tables: TableInfo[]): readonly TableInfo[] {
  for (const t of tables) {
    for (const c of t.columns) Object.freeze(c);
    Object.freeze(t.columns);
    Object.freeze(t.clusterBy);
    Object.freeze(t);
  }
  return Object.freeze(tables);
}

/** `CREATE VIEW x AS SELECT …;` → `SELECT …`. */
function viewQuery(sql: string): string {
  return sql.replace(/^\s*CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+\S+\s+AS\s+/i, '').replace(/;\s*$/, '');
}

class DuckDbEngine implements Engine {
  readonly kind = 'duckdb' as const;
  /** One writer per file: the executor runs one operation at a time. */
  readonly maxParallelOperations = 1;
  /** DuckDB's file lock keeps other processes out, the runner's lock other runs of this process. */
  readonly soleWriter = true;
  readonly ledger: DuckDbLedger;
  private catalogPresent: boolean | null = null;

  constructor(
    private readonly db: Db,
    readonly where: EngineLocation,
  ) {
    this.ledger = new DuckDbLedger(db, where);
  }

  private t(name: string, where = 'table'): string {
    return table(this.where.dataset, name, where);
  }

  private async hasCatalog(): Promise<boolean> {
    if (this.catalogPresent === null) {
      this.catalogPresent = await bindsOrMissing(this.db, `SELECT 1 FROM ${TABLE_OPTIONS} LIMIT 0`);
    }
    return this.catalogPresent;
  }

  /** Every table and view of a dataset in two catalog queries (not one per table). */
  private async readTables(dataset: string): Promise<TableInfo[]> {
    assertDatasetName(dataset, 'dataset');
    const schemas = await this.db.all(`SELECT 1 FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ?`, [dataset]);
    if (schemas.length === 0) {
      const known = await this.db.all(`SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database() AND NOT internal AND schema_name NOT IN ('main', '_bqx_catalog') ORDER BY 1`);
      throw new BqxError(
        'DATASET_NOT_FOUND',
        `dataset ${dataset} does not exist in ${this.db.database}`,
        `check --dataset; this warehouse holds ${known.map((r) => String(r.schema_name)).join(', ') || 'no dataset'}`,
        'BAD_INPUT',
      );
    }
    const options = (await this.hasCatalog()) ? TABLE_OPTIONS : '(SELECT NULL::VARCHAR AS dataset, NULL::VARCHAR AS table_name, NULL::VARCHAR AS partition_by, NULL::VARCHAR[] AS cluster_by WHERE false)';
    const [tables, byTable] = await Promise.all([this.db.all(TABLES_SQL.replace('%OPTIONS%', options), [dataset, dataset]), this.columnsByTable(dataset)]);
    return tables.map((r: Row): TableInfo => {
      const cols = byTable.get(String(r.name)) ?? [];
      const rowCount = num(r.row_count);
      const info: TableInfo = {
        name: String(r.name),
        kind: r.kind === 'VIEW' ? 'VIEW' : 'TABLE',
        columns: cols,
        rowCount,
        bytes: rowCount * cols.reduce((s, c) => s + valueBytes(c.type), 0),
        partitionBy: str(r.partition_by),
        clusterBy: Array.isArray(r.cluster_by) ? r.cluster_by.map(String) : [],
      };
      return r.kind === 'VIEW' ? { ...info, viewQuery: viewQuery(String(r.view_sql)) } : info;
    });
  }

  /**
   * Every table's columns in order, read joined per table (about 13 times fewer strings to convert
   * than a row per column). A name or type holding the separator would split wrongly: the counts
   * then disagree, and the columns are read a row each.
   */
  private async columnsByTable(dataset: string): Promise<Map<string, Column[]>> {
    const byTable = new Map<string, Column[]>();
    for (const r of await this.db.all(TABLE_COLUMNS_JOINED_SQL, [dataset])) {
      const names = String(r.names).split(SEPARATOR);
      const types = String(r.types).split(SEPARATOR);
      if (names.length !== num(r.n) || types.length !== names.length) return this.columnsByRow(dataset);
      byTable.set(
        String(r.table_name),
        names.map((name, i) => ({ name, type: googleSqlType(types[i]) })),
      );
    }
    return byTable;
  }

  private async columnsByRow(dataset: string): Promise<Map<string, Column[]>> {
    const byTable = new Map<string, Column[]>();
    for (const c of await this.db.all(TABLE_COLUMNS_SQL, [dataset])) {
      const list = byTable.get(String(c.table_name)) ?? [];
      list.push({ name: String(c.column_name), type: googleSqlType(String(c.data_type)) });
      byTable.set(String(c.table_name), list);
    }
    return byTable;
  }

  async listTables(): Promise<TableInfo[]> {
    return [...(await this.listing(this.where.dataset))];
  }

  /**
   * A dataset's listing, read once and served again until this process writes anything it depends
   * on (the dataset, the table options; see versions.ts: no other process can write the file while
   * this one holds it). What a listing returns is frozen: a caller cannot alter the next one's.
   */
  private async listing(dataset: string): Promise<readonly TableInfo[]> {
    const stamp = this.db.readStamp([{ schema: dataset }, { schema: CATALOG_SCHEMA, table: TABLE_OPTIONS_TABLE }]);
    const cached = stamp === null ? undefined : this.db.catalog.listing(dataset, stamp);
    if (cached) {
      if (!this.db.catalog.get(dataset)) this.remember(dataset, cached);
      return cached;
    }
    if (stamp === null) return this.readListing(dataset, null);
    // Callers running side by side (a run's preflight and its ledger read) share one read of the same state.
    const key = `${dataset}\u0000${stamp}`;
    const inFlight = this.listingsInFlight.get(key);
    if (inFlight) return inFlight;
    const read = this.readListing(dataset, stamp).finally(() => this.listingsInFlight.delete(key));
    this.listingsInFlight.set(key, read);
    return read;
  }

  private readonly listingsInFlight = new Map<string, Promise<readonly TableInfo[]>>();

  private async readListing(dataset: string, stamp: string | null): Promise<readonly TableInfo[]> {
    const tables = frozen(await this.readTables(dataset));
    this.remember(dataset, tables);
    if (stamp !== null) this.db.catalog.setListing(dataset, stamp, tables);
    return tables;
  }

  /** Everything a listing read is kept: later lookups of these names need no query. */
  private remember(dataset: string, tables: readonly TableInfo[]): readonly TableInfo[] {
    this.db.catalog.set(
      dataset,
      new Map(
        tables.map((t): [string, CatalogEntry] => [
          t.name,
          t.kind === 'VIEW'
            ? { kind: 'VIEW', viewSql: t.viewQuery ?? '', columns: [...t.columns] }
            : { kind: 'TABLE', columns: [...t.columns], options: { partitionBy: t.partitionBy, clusterBy: [...t.clusterBy] }, rowCount: t.rowCount },
        ]),
      ),
    );
    return tables;
  }

  getTable(name: string): Promise<TableInfo | null> {
    return this.describe(this.where.dataset, name);
  }

  /** A backup table of the runner dataset (the executor reuses one taken just before a crash). */
  getBackup(backupName: string): Promise<TableInfo | null> {
    return this.describe(this.where.runnerDataset, backupName);
  }

  /** The runner dataset's tables (ledger, lock, backups), read whole: rollback then needs no query per backup. */
  async listRunnerTables(): Promise<string[]> {
    const ds = this.where.runnerDataset;
    const exists = await this.db.all(`SELECT 1 FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ?`, [ds]);
    if (exists.length === 0) return [];
    return (await this.listing(ds))
      .filter((t) => t.kind === 'TABLE')
      .map((t) => t.name)
      .sort();
  }

  private async tableOptions(dataset: string, name: string): Promise<{ partitionBy: string | null; clusterBy: string[] }> {
    const rows = (await this.hasCatalog())
      ? await this.db.all(`SELECT partition_by, cluster_by FROM ${TABLE_OPTIONS} WHERE dataset = ? AND table_name = ?`, [dataset, name])
      : [];
    const r = rows[0];
    return r ? { partitionBy: str(r.partition_by), clusterBy: Array.isArray(r.cluster_by) ? r.cluster_by.map(String) : [] } : { partitionBy: null, clusterBy: [] };
  }

  /** Columns of one table or view, read from its catalog entry (no scan of the whole catalog); null when absent. */
  private async columnsIn(dataset: string, name: string): Promise<Column[] | null> {
    const ref = table(dataset, name);
    try {
      const rows = await this.db.all(`SELECT name, type FROM pragma_table_info(${literal(ref)})`);
      return rows.map((r) => ({ name: String(r.name), type: googleSqlType(String(r.type)) }));
    } catch (e) {
      if (/Catalog Error/i.test((e as { duckdbMessage?: string }).duckdbMessage ?? '')) return null;
      throw e;
    }
  }

  /**
   * The dataset's entries, from the process-wide cache. The first look at a dataset reads its whole
   * listing (names, kinds, columns, options, row counts: two catalog queries, as `listTables`), so a
   * later lookup of any of its tables needs no query of its own; a verb that looks up thousands of
   * names before it lists (verify, rollback in a fresh process) paid three queries per name.
   */
  private async kinds(dataset: string): Promise<Map<string, CatalogEntry>> {
    const cached = this.db.catalog.get(dataset);
    if (cached) return cached;
    try {
      await this.listing(dataset);
    } catch (e) {
      if (!(e instanceof BqxError && e.code === 'DATASET_NOT_FOUND')) throw e;
      this.db.catalog.set(dataset, new Map()); // created by a later step (the runner dataset), which adds its entries
    }
    return this.db.catalog.get(dataset)!;
  }

  /** Keeps the name cache true after a step this engine ran. */
  private noteStep(step: Step, stmts: readonly string[]): void {
    const c = this.db.catalog;
    const ds = this.where.dataset;
    switch (step.kind) {
      case 'RENAME_TABLE':
        c.move(ds, step.from, step.to);
        break;
      case 'DROP_TABLE':
      case 'DROP_VIEW':
        c.put(ds, step.name, null);
        break;
      // A backup and a restore are `CREATE TABLE … AS SELECT *` with the options copied: the copy has
      // the columns and options of its original (its rows are counted after the step).
      case 'BACKUP_TABLE':
        c.put(this.where.runnerDataset, step.backupName, copyOf(c.get(ds)?.get(step.name)));
        break;
      case 'RESTORE_TABLE':
        c.put(ds, step.name, copyOf(c.get(this.where.runnerDataset)?.get(step.backupName)));
        break;
      case 'CONSOLIDATE':
        // Its options are what the step wrote; its columns are read after the step (run).
        c.put(ds, step.target, { kind: 'TABLE', options: { partitionBy: step.spec.partitionBy, clusterBy: [...step.spec.clusterBy] } });
        break;
      case 'CREATE_VIEW': {
        // The view's columns are the step's, typed as the target's (known here): no catalogue read later.
        const types = new Map((c.get(ds)?.get(step.target)?.columns ?? []).map((x) => [x.name, x.type]));
        const columns = step.columns.every((x) => types.has(x.column)) ? step.columns.map((x) => ({ name: x.name, type: types.get(x.column)! })) : undefined;
        c.put(ds, step.name, { kind: 'VIEW', viewSql: viewQuery(stmts.find((s) => /CREATE\s+(OR\s+REPLACE\s+)?VIEW/i.test(s)) ?? ''), columns });
        break;
      }
    }
  }

  /** One table's TableInfo from the catalogue cache (metadata; a count only the first time), without listing the dataset. */
  private async describe(dataset: string, name: string): Promise<TableInfo | null> {
    const entry = (await this.kinds(dataset)).get(name);
    if (!entry) return null;
    const cols = entry.columns ?? (await this.columnsIn(dataset, name));
    if (cols === null) {
      this.db.catalog.invalidate(dataset);
      return null;
    }
    entry.columns = cols;
    if (entry.kind === 'VIEW') {
      return { name, kind: 'VIEW', columns: [...cols], rowCount: 0, bytes: 0, partitionBy: null, clusterBy: [], viewQuery: entry.viewSql ?? '' };
    }
    if (entry.rowCount === undefined) {
      const [r] = await this.db.all(`SELECT count(*) AS n FROM ${table(dataset, name)}`);
      entry.rowCount = num(r.n);
    }
    const rowCount = entry.rowCount;
    const o = entry.options ?? (await this.tableOptions(dataset, name));
    entry.options = o;
    return { name, kind: 'TABLE', columns: [...cols], rowCount, bytes: rowCount * cols.reduce((s, c) => s + valueBytes(c.type), 0), ...o };
  }

  async datasetInfo(dataset: string = this.where.dataset): Promise<DatasetInfo> {
    assertDatasetName(dataset, 'dataset');
    const schemas = await this.db.all(`SELECT 1 FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = ?`, [dataset]);
    if (schemas.length === 0) return { name: dataset, exists: false, location: null, defaultTableExpirationMs: null };
    const opts = (await this.hasCatalog()) ? await this.db.all(`SELECT location, default_table_expiration_ms FROM ${DATASET_OPTIONS} WHERE dataset = ?`, [dataset]) : [];
    const o = opts[0];
    return {
      name: dataset,
      exists: true,
      location: o ? String(o.location) : this.where.location,
      defaultTableExpirationMs: o && o.default_table_expiration_ms !== null ? num(o.default_table_expiration_ms) : null,
    };
  }

  /** Column names of a table or view, in order; a clear error when it does not exist. */
  private async columnsOf(name: string): Promise<Column[]> {
    const entry = (await this.kinds(this.where.dataset)).get(name);
    if (entry?.columns) return entry.columns;
    const cols = entry ? await this.columnsIn(this.where.dataset, name) : null;
    if (entry && cols) entry.columns = cols;
    if (!cols) {
      throw new BqxError('TABLE_NOT_FOUND', `${this.where.dataset}.${name} does not exist in ${this.db.database}`, 'check the name; `bqx audit` lists the tables', 'BAD_INPUT');
    }
    return cols;
  }

  async sampleNumeric(tableName: string, col: string, limit: number): Promise<number[]> {
    const c = column(col, 'sampled column');
    const cols = await this.columnsOf(tableName);
    if (!cols.some((x) => x.name === col)) throw new BqxError('COLUMN_NOT_FOUND', `${tableName} has no column ${col}`, 'sample a column the table has', 'BAD_INPUT');
    const order = cols.some((x) => x.name === 'interval_time') && col !== 'interval_time' ? `"interval_time", ${c}` : c;
    const n = Math.max(0, Math.floor(limit));
    const rows = await this.db.all(`SELECT CAST(${c} AS DOUBLE) AS v FROM ${this.t(tableName)} WHERE ${c} IS NOT NULL ORDER BY ${order} LIMIT ${n}`);
    return rows.map((r) => Number(r.v));
  }

  /** `count(*)` and the order-independent row hash of a table, as a SELECT that names it in column `n`. */
  private async fingerprintSelect(tableName: string): Promise<{ sql: string; signature: string }> {
    const cols = await this.columnsOf(tableName);
    const values = cols.map((c) => column(c.name)).join(', ');
    // Sum of per-row hashes: a multiset hash, so physical order does not matter but every row does.
    return {
      sql: `SELECT ${literal(tableName)} AS n, count(*) AS c, COALESCE(sum(hash(${values})::HUGEINT), 0)::VARCHAR AS s FROM ${this.t(tableName)}`,
      signature: cols.map((c) => `${c.name}:${c.type}`).join(','),
    };
  }

  private fingerprintOf(signature: string, rows: unknown, sum: unknown): ContentFingerprint {
    const hash = createHash('sha256').update(`${signature}\n${num(rows)}\n${String(sum)}`).digest('hex').slice(0, 32);
    return { rows: num(rows), hash };
  }

  async contentFingerprint(tableName: string): Promise<ContentFingerprint> {
    const known = await this.knownFingerprint(tableName);
    if (known) return known;
    const { sql, signature } = await this.fingerprintSelect(tableName);
    const [r] = await this.db.all(sql);
    return this.rememberFingerprint(tableName, this.fingerprintOf(signature, r.c, r.s));
  }

  /** A table's fingerprint read since the last change to it (CatalogEntry.fingerprint). */
  private async knownFingerprint(tableName: string): Promise<ContentFingerprint | undefined> {
    const entry = (await this.kinds(this.where.dataset)).get(tableName);
    return entry?.kind === 'TABLE' ? entry.fingerprint : undefined;
  }

  private rememberFingerprint(tableName: string, fp: ContentFingerprint): ContentFingerprint {
    const entry = this.db.catalog.get(this.where.dataset)?.get(tableName);
    if (entry?.kind === 'TABLE') entry.fingerprint = fp;
    return fp;
  }

  /**
   * Validation reads in bulk: one UNION ALL per kind and chunk instead of a statement per table.
   * A chunk that fails (a table or view that does not resolve) is read again item by item, so
   * every answer, or error, is exactly the single read's.
   */
  async readMany(req: ReadRequest): Promise<ReadResults> {
    const CHUNK = 200;
    const chunks = <T>(xs: readonly T[]) => Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK));
    const rowCounts = new Map<string, number | Error>();
    for (const names of chunks(req.rowCounts)) {
      const rows = await valueOrError(() => this.db.all(names.map((n) => `SELECT ${literal(n)} AS n, count(*) AS c FROM ${this.t(n)}`).join(' UNION ALL ')));
      if (rows instanceof Error) for (const n of names) rowCounts.set(n, await valueOrError(() => this.rowCount(n)));
      else for (const r of rows) rowCounts.set(String(r.n), num(r.c));
    }
    const fingerprints = new Map<string, ContentFingerprint | Error>();
    const unread: string[] = [];
    for (const n of req.fingerprints) {
      const known = await this.knownFingerprint(n).catch(() => undefined);
      if (known) fingerprints.set(n, known);
      else unread.push(n);
    }
    for (const names of chunks(unread)) {
      const selects = await valueOrError(() => Promise.all(names.map((n) => this.fingerprintSelect(n))));
      const rows = selects instanceof Error ? selects : await valueOrError(() => this.db.all(selects.map((x) => x.sql).join(' UNION ALL ')));
      if (selects instanceof Error || rows instanceof Error) {
        for (const n of names) fingerprints.set(n, await valueOrError(() => this.contentFingerprint(n)));
      } else {
        const signature = new Map(names.map((n, i) => [n, selects[i].signature]));
        for (const r of rows) fingerprints.set(String(r.n), this.rememberFingerprint(String(r.n), this.fingerprintOf(signature.get(String(r.n)) ?? '', r.c, r.s)));
      }
    }
    // A view probe is its row count (which proves it resolves) and its columns as DuckDB binds them:
    // the type of its row (`typeof(any_value(row))`, typed even when the view is empty) carries every
    // column's name and type, so one query answers a whole chunk.
    const probes = new Map<string, { columns: Column[]; rows: number } | Error>();
    for (const names of chunks(req.probes)) {
      const counts = await valueOrError(() =>
        this.db.all(names.map((n) => `SELECT ${literal(n)} AS n, count(*) AS c, typeof(any_value(${PROBE_ROW})) AS t FROM ${this.t(n, 'probed table or view')} AS ${PROBE_ROW}`).join(' UNION ALL ')),
      );
      if (counts instanceof Error) {
        for (const n of names) probes.set(n, await valueOrError(() => this.probe(n)));
        continue;
      }
      const answers = new Map(counts.map((r) => [String(r.n), { rows: num(r.c), fields: structFields(String(r.t)) }]));
      for (const n of names) {
        const a = answers.get(n);
        probes.set(n, a?.fields ? { columns: a.fields.map((f) => ({ name: f.name, type: googleSqlType(f.type) })), rows: a.rows } : await valueOrError(() => this.probe(n)));
      }
    }
    return { rowCounts, fingerprints, probes };
  }

  async keyStats(tableName: string, key: string): Promise<KeyStats> {
    const k = column(key, 'key column');
    const [r] = await this.db.all(`SELECT count(*) AS n, count(DISTINCT ${k}) AS d, count(*) FILTER (WHERE ${k} IS NULL) AS z FROM ${this.t(tableName)}`);
    return { rows: num(r.n), distinctKeys: num(r.d), nullKeys: num(r.z) };
  }

  async columnsAgreeOnKey(a: string, b: string, key: string, columns: readonly string[]): Promise<Record<string, boolean>> {
    if (columns.length === 0) return {};
    const k = column(key, 'key column');
    const agg = columns.map((c, i) => `COALESCE(bool_and(a.${column(c)} IS NOT DISTINCT FROM b.${column(c)}), true) AS c${i}`);
    const [r] = await this.db.all(`SELECT ${agg.join(', ')} FROM ${this.t(a)} a JOIN ${this.t(b)} b ON a.${k} = b.${k}`);
    return Object.fromEntries(columns.map((c, i) => [c, Boolean(r[`c${i}`])]));
  }

  render(step: Step): string[] {
    return renderStep(this.where, step);
  }

  private async tableBytes(dataset: string, name: string): Promise<number> {
    const info = await this.describe(dataset, name);
    if (!info) throw new BqxError('TABLE_NOT_FOUND', `${dataset}.${name} does not exist in ${this.db.database}`, 'check the plan against `bqx audit`', 'BAD_INPUT');
    return info.bytes;
  }

  async estimateBytes(step: Step): Promise<number> {
    switch (step.kind) {
      case 'BACKUP_TABLE':
        return this.tableBytes(this.where.dataset, step.name);
      case 'RESTORE_TABLE':
        return this.tableBytes(this.where.runnerDataset, step.backupName);
      case 'CONSOLIDATE': {
        let total = 0;
        for (const w of step.spec.windows) total += await this.tableBytes(this.where.dataset, w.source);
        return total;
      }
      default:
        return 0;
    }
  }

  async run(step: Step, opts: RunOptions): Promise<StepResult> {
    const stmts = this.render(step);
    const bytes = await this.estimateBytes(step).catch(() => 0);
    // A file built without the seed gets its metadata schema once, before its first step.
    if (!(await this.hasCatalog())) {
      await this.db.transaction(async (q) => {
        for (const s of CATALOG_DDL) await q.exec(s);
      });
      this.catalogPresent = true;
    }
    // One transaction: the ledger records appended since the last step, then the step itself. If
    // the step fails, its transaction takes the records down with it: they are queued again and
    // written on their own, so a failing step never loses the records of the steps before it.
    // Inside an operation's transaction (`atomically`) the records wait for its commit.
    const inOperation = this.db.inTransaction;
    const records = inOperation ? [] : this.ledger.takePending();
    // A backup's statements ensuring the runner dataset change nothing once the ledger's init has
    // committed them in this process: skipped (the paper run still shows them, a replay needs them).
    const known = new Set(step.kind === 'BACKUP_TABLE' && this.db.versions.ensured(this.where.runnerDataset) ? ensureRunnerDataset(this.where) : []);
    // The rows a CREATE TABLE … AS wrote: DuckDB answers it with their count (no second read).
    let createdRows: number | null = null;
    try {
      await this.db.transaction(async (q) => {
        await this.ledger.insertInto(q, records);
        await failpoint('engine.step');
        for (const script of scripts(stmts.filter((s) => s !== BEGIN && s !== COMMIT && !known.has(s)))) {
          const creates = script[script.length - 1].startsWith('CREATE TABLE ');
          const rows = await q.script(script, creates);
          if (creates) createdRows = num(rows[0]?.Count);
        }
      });
    } catch (e) {
      this.ledger.requeue(records);
      this.db.catalog.invalidate();
      // Best effort here; if the ledger cannot be written either, the next append or flush says so.
      if (!inOperation) await this.ledger.flush().catch(() => undefined);
      throw e;
    }
    this.noteStep(step, stmts);
    const created = step.kind === 'CONSOLIDATE' ? [this.where.dataset, step.target] : step.kind === 'RESTORE_TABLE' ? [this.where.dataset, step.name] : step.kind === 'BACKUP_TABLE' ? [this.where.runnerDataset, step.backupName] : null;
    const rowsAffected = created ? createdRows : null;
    const entry = created && this.db.catalog.get(created[0])?.get(created[1]);
    if (entry && rowsAffected !== null) entry.rowCount = rowsAffected;
    // A consolidated table's columns as DuckDB made them, read once now: its compatibility views,
    // created next, are then typed from the cache.
    if (entry && step.kind === 'CONSOLIDATE') entry.columns = (await this.columnsIn(this.where.dataset, step.target)) ?? undefined;
    await failpoint('engine.after-step');
    await failpoint(`engine.after.${step.kind.toLowerCase().replace(/_/g, '-')}`);
    return { jobId: opts.jobId, bytesProcessed: bytes, rowsAffected };
  }

  /**
   * One operation as one transaction: its steps, its reads and its ledger records commit together
   * (the records just before COMMIT), or, on any throw, none of it does: the warehouse and the
   * ledger are as before the operation, and the records appended before it are kept.
   */
  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    // Inside a batch's transaction (atomicBatch): part of it, committed or rolled back with it.
    if (this.db.inTransaction) return fn();
    return this.oneTransaction(fn);
  }

  /** Several operations as one transaction, their records committed with them (one commit, one append). */
  atomicBatch<T>(fn: () => Promise<T>): Promise<T> {
    return this.oneTransaction(fn);
  }

  private async oneTransaction<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.ledger.takePending();
    try {
      return await this.db.atomically(fn, async (q) => {
        await this.ledger.insertInto(q, [...before, ...this.ledger.takePending()]);
        await failpoint('ledger.commit');
      });
    } catch (e) {
      this.ledger.takePending(); // the operation's own records: void with it
      this.ledger.requeue(before);
      this.db.catalog.invalidate();
      throw e;
    }
  }

  async rehearse(steps: readonly Step[]): Promise<Rehearsal> {
    const stmts = steps.flatMap((s) => this.render(s)).filter((s) => s !== BEGIN && s !== COMMIT);
    const setup = [...CATALOG_DDL, ...ensureRunnerDataset(this.where)];
    if (this.db.readOnly) {
      // Opened read-only (a read verb): rehearsed on a copy, so the warehouse is never opened for writing.
      await onScratchCopy(this.db.database, async (conn) => {
        await conn.run('BEGIN TRANSACTION');
        for (const s of [...setup, ...stmts]) await conn.run(s);
        await conn.run('ROLLBACK');
      });
      return { statements: stmts.length, deferred: 0 };
    }
    await this.db.exclusive(async (q) => {
      await q.exec('BEGIN TRANSACTION');
      try {
        // What a first run would create first (the runner schema, the metadata schema), then the steps.
        for (const s of [...setup, ...stmts]) await q.exec(s);
      } finally {
        await q.exec('ROLLBACK');
      }
    });
    return { statements: stmts.length, deferred: 0 };
  }

  async rowCount(tableName: string): Promise<number> {
    const [r] = await this.db.all(`SELECT count(*) AS n FROM ${this.t(tableName)}`);
    return num(r.n);
  }

  async nullCounts(tableName: string, columns: readonly string[], filter?: string | null): Promise<Record<string, number>> {
    if (columns.length === 0) return {};
    const where = filter ? ` WHERE ${column(filter, 'filter column')}` : '';
    const agg = columns.map((c, i) => `count(*) FILTER (WHERE ${column(c)} IS NULL) AS c${i}`);
    const [r] = await this.db.all(`SELECT ${agg.join(', ')} FROM ${this.t(tableName)}${where}`);
    return Object.fromEntries(columns.map((c, i) => [c, num(r[`c${i}`])]));
  }

  async coverage(target: string, sources: readonly string[], key: string): Promise<CoverageResult> {
    const k = column(key, 'key column');
    const union = sources.length === 0 ? `SELECT NULL AS k WHERE false` : sources.map((s) => `SELECT ${k} AS k FROM ${this.t(s, 'coverage source')}`).join(' UNION ');
    const [r] = await this.db.all(`
      WITH t AS (SELECT DISTINCT ${k} AS k FROM ${this.t(target, 'coverage target')} WHERE ${k} IS NOT NULL),
           u AS (SELECT DISTINCT k FROM (${union}) WHERE k IS NOT NULL)
      SELECT (SELECT count(*) FROM t) AS target_keys, (SELECT count(*) FROM u) AS union_keys,
             (SELECT count(*) FROM u WHERE k NOT IN (SELECT k FROM t)) AS missing,
             (SELECT count(*) FROM t WHERE k NOT IN (SELECT k FROM u)) AS extra`);
    return { targetKeys: num(r.target_keys), unionKeys: num(r.union_keys), missing: num(r.missing), extra: num(r.extra) };
  }

  async mismatchedRows(
    target: string,
    source: string,
    key: string,
    mapping: readonly { readonly targetColumn: string; readonly sourceColumn: string }[],
    filter: string | null,
  ): Promise<number> {
    const k = column(key, 'key column');
    const on = filter ? ` AND t.${column(filter, 'filter column')}` : '';
    // A source row with no target row (on the key, within the filter) counts as mismatched too.
    const differs = [`t.${k} IS NULL`, ...mapping.map((m) => `NOT (t.${column(m.targetColumn)} IS NOT DISTINCT FROM s.${column(m.sourceColumn)})`)];
    const [r] = await this.db.all(
      `SELECT count(*) AS n FROM ${this.t(source, 'source')} s LEFT JOIN ${this.t(target, 'target')} t ON t.${k} = s.${k}${on} WHERE ${differs.join(' OR ')}`,
    );
    return num(r.n);
  }

  async probe(name: string): Promise<{ columns: Column[]; rows: number }> {
    const ref = this.t(name, 'probed table or view');
    try {
      return await this.db.exclusive(async (q) => {
        const [r] = await q.all(`SELECT count(*) AS n FROM ${ref}`);
        const cols = await q.all(`DESCRIBE SELECT * FROM ${ref}`);
        return { columns: cols.map((c) => ({ name: String(c.column_name), type: googleSqlType(String(c.column_type)) })), rows: num(r.n) };
      });
    } catch (e) {
      const detail = (e as { duckdbMessage?: string }).duckdbMessage ?? (e as Error).message;
      throw new BqxError('PROBE_FAILED', `${this.where.dataset}.${name} does not resolve: ${detail.split('\n')[0]}`, 'the view or table is missing, or a view refers to a table or column that no longer exists', 'FAILURE');
    }
  }

  jobHistory(since: Date, names: readonly string[]): Promise<JobHistory> {
    return jobHistory(this.db, this.where, since, names);
  }

  readAs(sql: string, reader: Reader): Promise<{ jobId: string; rows: number }> {
    return readAs(this.db, this.where, sql, reader);
  }

  async close(): Promise<void> {
    try {
      await this.ledger.flush();
    } finally {
      await this.db.close();
    }
  }
}

/** Schemas DuckDB and this engine keep for themselves. */
export const DUCKDB_RESERVED_SCHEMAS = ['information_schema', 'pg_catalog', 'main', 'temp', CATALOG_SCHEMA] as const;

/**
 * A step's statements as few calls as can still read a CREATE TABLE … AS's answer (the rows it
 * wrote): each such statement ends a script, the rest go together.
 */
function scripts(stmts: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const s of stmts) {
    out[out.length - 1].push(s);
    if (s.startsWith('CREATE TABLE ')) out.push([]);
  }
  return out.filter((x) => x.length > 0);
}

export async function openDuckDbEngine(opts: DuckDbEngineOptions): Promise<Engine> {
  const named = {
    dataset: assertNotReserved(assertDatasetName(opts.dataset, '--dataset'), '--dataset', DUCKDB_RESERVED_SCHEMAS),
    runnerDataset: assertNotReserved(assertDatasetName(opts.runnerDataset, '--runner-dataset'), '--runner-dataset', DUCKDB_RESERVED_SCHEMAS),
  };
  assertDistinctDatasets(named, 'insensitive');
  const db = await Db.open(opts.database, opts.readOnly === true);
  // DuckDB's schema names ignore case, its catalogue's string columns do not: use the spelling the file has.
  const spelled = async (name: string) => String((await db.all('SELECT schema_name FROM duckdb_schemas() WHERE lower(schema_name) = lower(?) ORDER BY schema_name = ? DESC LIMIT 1', [name, name]))[0]?.schema_name ?? name);
  const where: EngineLocation = { project: opts.project, dataset: await spelled(named.dataset), runnerDataset: await spelled(named.runnerDataset), location: opts.location };
  return new DuckDbEngine(db, where);
}

