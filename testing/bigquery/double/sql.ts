/** Interpreter of the SQL the engine emits (DDL, ledger DML, labelled reads, dry runs); anything else fails with invalidQuery. */
import { createHash } from 'crypto';
import { DoubleError, datasetNotFound, key } from './types';
import type { DoubleColumn, DoubleDataset, DoubleOptions, DoubleTable, JobRecord, NewTable } from './types';

/** What the interpreter reads and changes: the model's catalogue. */
export interface Catalogue {
  readonly opts: DoubleOptions;
  readonly tables: Map<string, DoubleTable>;
  readonly datasets: ReadonlyMap<string, DoubleDataset>;
  /** Every job created, for the region's INFORMATION_SCHEMA.JOBS_BY_PROJECT. */
  readonly jobs: ReadonlyMap<string, JobRecord>;
  addDataset(name: string): void;
  addTable(t: NewTable): DoubleTable;
}

/** A change of the catalogue's tables, for the model to apply as one metadata update of each of `tables`. */
export interface CatalogueChange {
  readonly tables: string[];
  readonly statementType: string;
  readonly change: () => void;
}

/** Every `project.dataset.table` a statement names, in order. */
const tableRefs = (sql: string) => [...sql.matchAll(/`([^`.]+)\.([^`.]+)\.([^`.]+)`/g)].map((x) => ({ dataset: x[2], name: x[3] }));

const paramValue = (job: JobRecord, name: string) => job.params.find((x) => x.name === name)?.parameterValue.value ?? null;

/** Which read a part of a fused read is, by its shape (engines/bigquery/sql.ts renders each). */
function fusedKind(q: string): string {
  if (/FARM_FINGERPRINT\(TO_JSON_STRING/.test(q)) return 'fingerprint';
  if (/ AS target_keys, /.test(q)) return 'coverage';
  if (/^SELECT COUNT\(\*\) AS mismatched FROM /.test(q)) return 'mismatched_rows';
  if (/^SELECT COUNTIF\(/.test(q) && / AS n0\b/.test(q)) return 'null_counts';
  if (/^SELECT COUNT\(\*\) AS row_count, COUNT\(DISTINCT /.test(q)) return 'key_stats';
  if (/^SELECT COUNT\(\*\) AS row_count FROM `[^`]+`$/.test(q)) return 'row_count';
  if (/LOGICAL_AND\(/.test(q)) return 'columns_agree';
  throw new DoubleError(400, 'invalidQuery', `the double cannot tell which read this part is: ${q.slice(0, 120)}`);
}

export class Interpreter {
  constructor(private readonly cat: Catalogue) {}

  private ref(text: string): { dataset: string; name: string } {
    const m = text.match(/^`([^`.]+)\.([^`.]+)\.([^`.]+)`$/);
    if (!m || m[1] !== this.cat.opts.project) throw new DoubleError(400, 'invalidQuery', `unexpected table reference ${text}`);
    return { dataset: m[2], name: m[3] };
  }

  private must(dataset: string, name: string, kinds?: DoubleTable['type'][]): DoubleTable {
    const t = this.cat.tables.get(key(dataset, name));
    if (!t) throw new DoubleError(404, 'notFound', `Not found: Table ${this.cat.opts.project}:${dataset}.${name} was not found in location ${this.cat.opts.location}`);
    if (kinds && !kinds.includes(t.type)) throw new DoubleError(400, 'invalidQuery', `${dataset}.${name} is a ${t.type}, expected ${kinds.join('/')}`);
    return t;
  }

  private free(dataset: string, name: string): void {
    if (!this.cat.datasets.has(dataset)) throw datasetNotFound(this.cat.opts.project, dataset);
    if (this.cat.tables.has(key(dataset, name))) throw new DoubleError(409, 'duplicate', `Already Exists: Table ${this.cat.opts.project}:${dataset}.${name}`);
  }

  /**
   * Runs a statement against the catalogue. DDL is returned as a change for the model to apply
   * (it is a metadata update); runner-table DML, CREATE ... IF NOT EXISTS and reads act at once.
   */
  interpret(job: JobRecord): CatalogueChange | undefined {
    const { tables, opts } = this.cat;
    const s = job.sql;
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^ALTER TABLE (`[^`]+`) RENAME TO `([A-Za-z0-9_]+)`$/))) {
      const from = this.ref(m[1]);
      const to = m[2];
      const t = this.must(from.dataset, from.name, ['TABLE']);
      this.free(from.dataset, to);
      return {
        tables: [key(from.dataset, from.name), key(from.dataset, to)],
        statementType: 'ALTER_TABLE',
        change: () => {
          tables.delete(key(from.dataset, from.name));
          tables.set(key(from.dataset, to), { ...t, name: to });
        },
      };
    }
    if ((m = s.match(/^DROP (TABLE|VIEW) (`[^`]+`)$/))) {
      const r = this.ref(m[2]);
      this.must(r.dataset, r.name, m[1] === 'VIEW' ? ['VIEW'] : ['TABLE', 'SNAPSHOT', 'EXTERNAL']);
      return { tables: [key(r.dataset, r.name)], statementType: `DROP_${m[1]}`, change: () => tables.delete(key(r.dataset, r.name)) };
    }
    if ((m = s.match(/^CREATE SNAPSHOT TABLE (`[^`]+`) CLONE (`[^`]+`) OPTIONS \(expiration_timestamp = TIMESTAMP '[^']+'\)$/))) {
      const to = this.ref(m[1]);
      const from = this.ref(m[2]);
      const src = this.must(from.dataset, from.name, ['TABLE']);
      this.free(to.dataset, to.name);
      return {
        tables: [key(to.dataset, to.name)],
        statementType: 'CREATE_SNAPSHOT_TABLE',
        change: () => {
          tables.set(key(to.dataset, to.name), { ...src, dataset: to.dataset, name: to.name, type: 'SNAPSHOT', creationTime: opts.clock.now() });
        },
      };
    }
    if ((m = s.match(/^CREATE TABLE (`[^`]+`) CLONE (`[^`]+`)$/))) {
      const to = this.ref(m[1]);
      const from = this.ref(m[2]);
      const src = this.must(from.dataset, from.name, ['TABLE', 'SNAPSHOT']);
      this.free(to.dataset, to.name);
      return {
        tables: [key(to.dataset, to.name)],
        statementType: 'CREATE_TABLE',
        change: () => {
          tables.set(key(to.dataset, to.name), { ...src, dataset: to.dataset, name: to.name, type: 'TABLE', creationTime: opts.clock.now() });
        },
      };
    }
    if ((m = s.match(/^CREATE OR REPLACE VIEW (`[^`]+`) AS SELECT (.+) FROM (`[^`]+`)(?: WHERE `([A-Za-z0-9_]+)`)?$/))) {
      const filter = m[4];
      const v = this.ref(m[1]);
      const target = this.ref(m[3]);
      const src = this.must(target.dataset, target.name, ['TABLE', 'VIEW']);
      const columns = m[2].split(', ').map((item) => {
        const p = item.match(/^`([A-Za-z0-9_]+)`(?: AS `([A-Za-z0-9_]+)`)?$/);
        if (!p) throw new DoubleError(400, 'invalidQuery', `cannot read select item ${item}`);
        const c = src.columns.find((x) => x.name === p[1]);
        if (!c) throw new DoubleError(400, 'invalidQuery', `Unrecognized name: ${p[1]}`);
        return { name: p[2] ?? p[1], type: c.type };
      });
      if (filter && !src.columns.some((x) => x.name === filter)) throw new DoubleError(400, 'invalidQuery', `Unrecognized name: ${filter}`);
      const existing = tables.get(key(v.dataset, v.name));
      if (existing && existing.type !== 'VIEW') throw new DoubleError(400, 'invalidQuery', `Cannot replace a TABLE with a VIEW: ${v.name}`);
      return {
        tables: [key(v.dataset, v.name)],
        statementType: 'CREATE_VIEW',
        change: () => {
          tables.set(key(v.dataset, v.name), {
            dataset: v.dataset, name: v.name, type: 'VIEW', columns, numRows: 0, numBytes: 0, partitionField: null, clusterFields: [],
            creationTime: opts.clock.now(), contentKey: `${src.contentKey}|view`, viewQuery: s.replace(/^CREATE OR REPLACE VIEW `[^`]+` AS /, ''), viewTarget: target,
          });
        },
      };
    }
    if ((m = s.match(/^CREATE TABLE (`[^`]+`)(?:\nPARTITION BY DATE\(`([A-Za-z0-9_]+)`\))?(?:\nCLUSTER BY (.+))?\nAS SELECT\n([\s\S]+)\nFROM ([\s\S]+)$/))) {
      const partition = m[2];
      const cluster = m[3];
      const target = this.ref(m[1]);
      const aliases = new Map<string, DoubleTable>();
      for (const j of m[5].matchAll(/(`[^`]+`) AS (w\d+)/g)) {
        const r = this.ref(j[1]);
        aliases.set(j[2], this.must(r.dataset, r.name, ['TABLE']));
      }
      const columns = m[4].split(',\n  ').map((line) => {
        const out = line.match(/ AS `([A-Za-z0-9_]+)`$/);
        if (!out) throw new DoubleError(400, 'invalidQuery', `cannot read select item ${line}`);
        if (/ IS NOT NULL AS /.test(line)) return { name: out[1], type: 'BOOLEAN' };
        let type = '';
        for (const ref of line.matchAll(/(w\d+)\.`([A-Za-z0-9_]+)`/g)) {
          const t = aliases.get(ref[1]);
          if (!t) throw new DoubleError(400, 'invalidQuery', `Unrecognized name: ${ref[1]}`);
          const c = t.columns.find((x) => x.name === ref[2]);
          if (!c) throw new DoubleError(400, 'invalidQuery', `Name ${ref[2]} not found inside ${ref[1]}`);
          type = c.type;
        }
        return { name: out[1], type };
      });
      this.free(target.dataset, target.name);
      const sources = [...aliases.values()];
      job.bytes = sources.reduce((n, t) => n + t.numBytes, 0);
      return {
        tables: [key(target.dataset, target.name)],
        statementType: 'CREATE_TABLE_AS_SELECT',
        change: () => {
          tables.set(key(target.dataset, target.name), {
            dataset: target.dataset, name: target.name, type: 'TABLE', columns,
            numRows: Math.max(...sources.map((t) => t.numRows)), numBytes: job.bytes,
            partitionField: partition ?? null, clusterFields: cluster ? [...cluster.matchAll(/`([A-Za-z0-9_]+)`/g)].map((x) => x[1]) : [],
            creationTime: opts.clock.now(), contentKey: `consolidated:${sources.map((t) => t.contentKey).join('+')}`,
          });
        },
      };
    }
    if ((m = s.match(/^CREATE SCHEMA IF NOT EXISTS `([^`.]+)\.([^`.]+)`/))) {
      const name = m[2];
      if (!this.cat.datasets.has(name)) this.cat.addDataset(name);
      job.statementType = 'CREATE_SCHEMA';
      return;
    }
    if ((m = s.match(/^CREATE TABLE IF NOT EXISTS (`[^`]+`) \((.+)\) CLUSTER BY/))) {
      const r = this.ref(m[1]);
      if (!this.cat.datasets.has(r.dataset)) throw datasetNotFound(opts.project, r.dataset);
      if (!tables.has(key(r.dataset, r.name))) {
        const cols = m[2].split(', ').map((c) => {
          const [quoted, type] = c.split(' ');
          const name = quoted.replace(/`/g, '');
          return { name, type: ({ INT64: 'INTEGER', BOOL: 'BOOLEAN' } as Record<string, string>)[type] ?? type };
        });
        this.cat.addTable({ dataset: r.dataset, name: r.name, columns: cols, rows: [] });
      }
      job.statementType = 'CREATE_TABLE';
      return;
    }
    if ((m = s.match(/^INSERT INTO (`[^`]+`) \(([^)]+)\) SELECT [^@]+ FROM UNNEST\(@rows\)$/))) {
      const r = this.ref(m[1]);
      const t = this.must(r.dataset, r.name, ['TABLE']);
      const p = job.params.find((x) => x.name === 'rows');
      if (!p) throw new DoubleError(400, 'invalidQuery', 'Query parameter rows not found');
      const rows = (p.parameterValue.arrayValues ?? []).map((v) => Object.fromEntries(Object.entries(v.structValues ?? {}).map(([k, x]) => [k, x.value ?? null])));
      t.rows = [...(t.rows ?? []), ...rows];
      t.numRows = t.rows.length;
      t.lastModifiedTime = Math.max((t.lastModifiedTime ?? t.creationTime) + 1, opts.clock.now());
      job.dmlRows = rows.length;
      job.statementType = 'INSERT';
      return;
    }
    if ((m = s.match(/^INSERT INTO (`[^`]+`) \(`lock_name`, `seq`, `event`, `run_id`, `holder`, `expires_at`, `detail`, `at`\) SELECT @lock_name, @seq, @event, @run_id, @holder, @expires_at, @detail, @at FROM \(SELECT 1\) WHERE \(SELECT IFNULL\(MAX\(`seq`\), 0\) FROM (`[^`]+`) WHERE `lock_name` = @lock_name\) = @seq - 1$/))) {
      const r = this.ref(m[1]);
      const t = this.must(r.dataset, r.name, ['TABLE']);
      const v = (n: string) => paramValue(job, n);
      const head = Math.max(0, ...(t.rows ?? []).filter((x) => x.lock_name === v('lock_name')).map((x) => Number(x.seq)));
      job.statementType = 'INSERT';
      if (head !== Number(v('seq')) - 1) {
        job.dmlRows = 0;
        return;
      }
      const row = Object.fromEntries(['lock_name', 'seq', 'event', 'run_id', 'holder', 'expires_at', 'detail', 'at'].map((n) => [n, v(n)]));
      t.rows = [...(t.rows ?? []), row];
      t.numRows = t.rows.length;
      t.lastModifiedTime = Math.max((t.lastModifiedTime ?? t.creationTime) + 1, opts.clock.now());
      job.dmlRows = 1;
      return;
    }
    if (/^(SELECT|WITH) /.test(s)) {
      this.read(job);
      return;
    }
    throw new DoubleError(400, 'invalidQuery', `the double does not interpret: ${s.slice(0, 120)}`);
  }

  /** Reads are answered by what they are labelled as (the engine labels every job it runs). */
  private read(job: JobRecord): void {
    const kind = job.labels.bqx_kind ?? '';
    const s = job.sql;
    const param = (n: string) => paramValue(job, n);
    const refs = tableRefs(s).map((r) => this.must(r.dataset, r.name));
    // Every table and view the query names, as the JOBS view's referenced_tables lists them.
    job.referencedTables = tableRefs(s);
    job.statementType = 'SELECT';
    job.bytes = refs.reduce((n, t) => n + t.numBytes, 0);
    const set = (schema: DoubleColumn[], rows: Record<string, unknown>[]) => {
      job.schema = schema;
      job.rows = rows;
    };
    const S = (name: string): DoubleColumn => ({ name, type: 'STRING' });
    const I = (name: string): DoubleColumn => ({ name, type: 'INTEGER' });
    switch (kind) {
      case 'catalog_columns': {
        const ds = s.match(/FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.COLUMNS/)![1];
        const tables = [...this.cat.tables.values()].filter((t) => t.dataset === ds).sort((a, b) => (a.name < b.name ? -1 : 1));
        const toSql: Record<string, string> = { FLOAT: 'FLOAT64', INTEGER: 'INT64', BOOLEAN: 'BOOL' };
        return set([S('table_name'), S('column_name'), S('data_type')], tables.flatMap((t) => t.columns.map((c) => ({ table_name: t.name, column_name: c.name, data_type: toSql[c.type] ?? c.type }))));
      }
      case 'catalog_storage': {
        const ds = param('dataset');
        const tables = [...this.cat.tables.values()].filter((t) => t.dataset === ds && t.type !== 'VIEW');
        return set([S('table_name'), I('total_rows'), I('total_logical_bytes')], tables.map((t) => ({ table_name: t.name, total_rows: t.numRows, total_logical_bytes: t.numBytes })));
      }
      case 'catalog_views': {
        const ds = s.match(/FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.VIEWS/)![1];
        const views = [...this.cat.tables.values()].filter((t) => t.dataset === ds && t.type === 'VIEW');
        return set([S('table_name'), S('view_definition')], views.map((t) => ({ table_name: t.name, view_definition: t.viewQuery ?? '' })));
      }
      case 'gate_search_indexes': {
        const ds = s.match(/FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.SEARCH_INDEXES/)![1];
        const tables = [...this.cat.tables.values()].filter((t) => t.dataset === ds && (t.searchIndexes ?? 0) > 0);
        return set([S('table_name'), I('indexes')], tables.map((t) => ({ table_name: t.name, indexes: t.searchIndexes })));
      }
      case 'ledger_read':
      case 'runs_read':
      case 'lock_events_read': {
        const t = refs[0];
        const list = s.match(/^SELECT (.+?) FROM `/)![1];
        const cols = list.split(/, (?![^(]*\))/).map((item) => item.split(' AS ').pop()!.trim().replace(/`/g, ''));
        let rows = [...(t.rows ?? [])];
        if (param('plan_hash') !== null) rows = rows.filter((r) => r.plan_hash === param('plan_hash'));
        if (param('lock_name') !== null) rows = rows.filter((r) => r.lock_name === param('lock_name'));
        if (kind === 'lock_events_read') rows.sort((a, b) => Number(a.seq) - Number(b.seq));
        else rows.sort((a, b) => (String(a.at) < String(b.at) ? -1 : String(a.at) > String(b.at) ? 1 : Number(a.seq) - Number(b.seq)));
        return set(cols.map((c) => ({ name: c, type: ['seq', 'attempt', 'bytes', 'rows'].includes(c) ? 'INTEGER' : 'STRING' })), rows);
      }
      case 'fingerprint': {
        const t = refs[0];
        const h = createHash('sha256').update(`${t.contentKey}|${t.columns.map((c) => c.name).join(',')}`).digest('hex').slice(0, 16);
        return set([I('row_count'), S('content_hash')], [{ row_count: t.numRows, content_hash: h }]);
      }
      case 'sample': {
        const limit = Number(s.match(/ LIMIT (\d+)$/)![1]);
        return set([{ name: 'v', type: 'FLOAT' }], (refs[0].sample ?? []).slice(0, limit).map((v) => ({ v })));
      }
      case 'key_stats':
        return set([I('row_count'), I('distinct_keys'), I('null_keys')], [{ row_count: refs[0].numRows, distinct_keys: refs[0].numRows, null_keys: 0 }]);
      // The double holds no row values: tables it was told hold the same series agree everywhere.
      case 'columns_agree': {
        const n = [...s.matchAll(/ AS c(\d+)/g)].length;
        const cols = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, type: 'BOOLEAN' }));
        return set(cols, [Object.fromEntries(cols.map((c) => [c.name, 'true']))]);
      }
      case 'null_counts': {
        const n = [...s.matchAll(/ AS n(\d+)/g)].length;
        const cols = Array.from({ length: n }, (_, i) => I(`n${i}`));
        return set(cols, [Object.fromEntries(cols.map((c) => [c.name, 0]))]);
      }
      case 'coverage': {
        const [target, ...sources] = refs;
        const union = Math.max(0, ...sources.map((t) => t.numRows));
        return set([I('target_keys'), I('union_keys'), I('missing'), I('extra')], [{ target_keys: target.numRows, union_keys: union, missing: Math.max(0, union - target.numRows), extra: 0 }]);
      }
      case 'mismatched_rows':
        return set([I('mismatched')], [{ mismatched: refs[0].contentKey.startsWith('consolidated:') || refs[1].contentKey.startsWith('consolidated:') ? 0 : refs[0].contentKey === refs[1].contentKey ? 0 : refs[1].numRows }]);
      case 'row_count':
      case 'probe': {
        job.bytes = 0;
        // A view has as many rows as its target (the double does not evaluate view filters).
        const t = refs[0].type === 'VIEW' && refs[0].viewTarget ? this.must(refs[0].viewTarget.dataset, refs[0].viewTarget.name) : refs[0];
        return set([I('row_count')], [{ row_count: t.numRows }]);
      }
      case 'fused_read': {
        // Each part is answered as the read it is (recognised by its shape), its one row as JSON.
        const parts = [...s.matchAll(/TO_JSON_STRING\(\(SELECT AS STRUCT \* FROM \(\n([^\n]+)\n\)\)\) AS r(\d+)/g)];
        if (parts.length < 2) throw new DoubleError(400, 'invalidQuery', 'a fused read without parts');
        const row: Record<string, unknown> = {};
        let bytes = 0;
        for (const [, q, i] of parts) {
          const part = { ...job, sql: q, labels: { bqx_kind: fusedKind(q) }, schema: [], rows: [], bytes: 0 } as JobRecord;
          this.read(part);
          bytes += part.bytes;
          const one = part.rows[0];
          row[`r${i}`] =
            one === undefined
              ? null
              : JSON.stringify(Object.fromEntries(part.schema.map((c) => [c.name, c.type === 'INTEGER' || c.type === 'FLOAT' ? Number(one[c.name]) : c.type === 'BOOLEAN' ? String(one[c.name]) === 'true' : one[c.name]])));
        }
        job.bytes = bytes;
        return set(parts.map(([, , i]) => S(`r${i}`)), [row]);
      }
      case 'usage_jobs':
        return set([S('job_id'), S('user_email'), S('created_at'), S('labels_json'), S('views_json')], this.jobsReading(job));
      // Someone else's read (a pipeline reading a view): it resolves against the catalogue and is
      // recorded with what it referenced; the double holds no row values, so it returns no rows.
      case '':
        return set([], []);
      default:
        throw new DoubleError(400, 'invalidQuery', `the double does not answer reads labelled "${kind}"`);
    }
  }

  /**
   * The region's JOBS_BY_PROJECT as the engine's usage query asks it (engines/bigquery/job-history.ts):
   * query jobs since @since, not labelled @runner_label, and the names of @names each referenced
   * in @project.@dataset or names in its SQL; newest first.
   */
  private jobsReading(self: JobRecord): Record<string, unknown>[] {
    const param = (n: string) => paramValue(self, n);
    const since = Date.parse(String(param('since')).replace(' ', 'T').replace(/\+00(:00)?$/, 'Z'));
    const names = (self.params.find((x) => x.name === 'names')?.parameterValue.arrayValues ?? []).map((v) => String(v.value));
    const dataset = String(param('dataset'));
    const mentions = (sql: string, name: string) => new RegExp(`(^|[^A-Za-z0-9_])${name}($|[^A-Za-z0-9_])`).test(sql);
    return [...this.cat.jobs.values()]
      .filter((j) => j !== self && j.createdWallMs >= since && !(String(param('runner_label')) in j.labels) && /^(SELECT|WITH) /.test(j.sql))
      .map((j) => {
        const referenced = new Set((j.referencedTables ?? []).filter((r) => r.dataset === dataset).map((r) => r.name));
        const views = names.filter((n) => referenced.has(n) || (j.sql.includes(dataset) && mentions(j.sql, n)));
        return { j, views };
      })
      .filter((x) => x.views.length > 0)
      .sort((a, b) => b.j.createdWallMs - a.j.createdWallMs)
      .map(({ j, views }) => ({
        job_id: j.id,
        user_email: (j.principal ?? '').replace(/^(user|serviceAccount):/, ''),
        created_at: new Date(j.createdWallMs).toISOString(),
        labels_json: JSON.stringify(Object.entries(j.labels).map(([key, value]) => ({ key, value }))),
        views_json: JSON.stringify(views),
      }));
  }

  /** The columns a view's query yields against the catalogue now (its target and columns must exist). */
  private viewColumns(query: string): DoubleColumn[] {
    const m = query.match(/^SELECT (.+) FROM (`[^`]+`)(?: WHERE `([A-Za-z0-9_]+)`)?$/);
    if (!m) return [];
    const target = this.ref(m[2]);
    const src = this.must(target.dataset, target.name, ['TABLE', 'VIEW']);
    if (m[3] && !src.columns.some((x) => x.name === m[3])) throw new DoubleError(400, 'invalidQuery', `Unrecognized name: ${m[3]}`);
    return m[1].split(', ').map((item) => {
      const p = item.match(/^`([A-Za-z0-9_]+)`(?: AS `([A-Za-z0-9_]+)`)?$/);
      const c = p ? src.columns.find((x) => x.name === p[1]) : undefined;
      if (!p || !c) throw new DoubleError(400, 'invalidQuery', `Unrecognized name: ${p?.[1] ?? item}`);
      return { name: p[2] ?? p[1], type: c.type };
    });
  }

  /** What a dry run of the statement reports: bytes it would read and, for `SELECT *`, the schema. */
  dryRun(sql: string): { bytes: number; schema: DoubleColumn[] } {
    if (sql === 'SELECT 1') return { bytes: 0, schema: [{ name: 'f0_', type: 'INTEGER' }] };
    const refs = tableRefs(sql);
    const m = sql.match(/^SELECT \* FROM (`[^`]+`)$/);
    if (m) {
      const r = this.ref(m[1]);
      const t = this.must(r.dataset, r.name);
      // A view is resolved against its tables as they are now, as BigQuery does: a target or a
      // column that is gone fails the dry run, and the columns are the target's current ones.
      return { bytes: t.type === 'VIEW' ? 0 : t.numBytes, schema: t.type === 'VIEW' && t.viewQuery ? this.viewColumns(t.viewQuery) : t.columns };
    }
    // DDL the runner issues (renames, drops, snapshots, clones, CTAS, views) is checked the way a
    // real dry run checks it: the statement is interpreted against the catalogue as it is now (what
    // it reads must exist, what it creates must be free) and its change is discarded, never applied.
    if (/^(ALTER TABLE|DROP (TABLE|VIEW)|CREATE (SNAPSHOT TABLE|OR REPLACE VIEW|TABLE `))/.test(sql)) {
      this.interpret({ sql, params: [] } as unknown as JobRecord);
      if (!/^CREATE TABLE `[^`]+`(\nPARTITION|\nCLUSTER|\nAS SELECT)/.test(sql)) return { bytes: 0, schema: [] };
    }
    // The statement's written table is not read; every other reference is (whole table: the double
    // does not model column pruning).
    const written = sql.match(/^CREATE TABLE (`[^`]+`)/)?.[1];
    let bytes = 0;
    for (const r of refs) {
      if (written && this.ref(written).name === r.name && this.ref(written).dataset === r.dataset) continue;
      const t = this.must(r.dataset, r.name);
      bytes += t.numBytes;
    }
    return { bytes, schema: [] };
  }
}
