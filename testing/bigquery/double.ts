/**
 * A local stand-in for the BigQuery REST v2 API, for the official client pointed at it with
 * `apiEndpoint`. It keeps an in-memory catalogue, runs query jobs after a modelled latency,
 * interprets the DDL and ledger DML the engine emits (enough to keep its catalogue true), counts
 * how often each job id and each statement ran, enforces per-table metadata limits and a job
 * concurrency limit, and injects faults on request.
 *
 * It is not BigQuery: statements it does not recognise fail with `invalidQuery`, so an engine
 * change that emits something new is noticed rather than silently accepted.
 */
import { createHash } from 'crypto';
import * as http from 'http';
import { closeServer, listenOnLoopback } from '../loopback';
import type { Clock } from '../../engines/bigquery/limits';

export interface DoubleColumn {
  name: string;
  type: string; // REST schema type: STRING, FLOAT, INTEGER, BOOLEAN, TIMESTAMP, ...
  policyTags?: string[];
}

export interface DoubleTable {
  dataset: string;
  name: string;
  type: 'TABLE' | 'VIEW' | 'EXTERNAL' | 'SNAPSHOT';
  columns: DoubleColumn[];
  numRows: number;
  numBytes: number;
  partitionField: string | null;
  clusterFields: string[];
  creationTime: number;
  /** Equal keys mean equal content (fingerprints compare these). */
  contentKey: string;
  viewQuery?: string;
  streamingRows?: number;
  searchIndexes?: number;
  /** Rows of the runner's own tables (ledger, runs, lock events). */
  rows?: Record<string, unknown>[];
  /** Values a sampling read returns (the double models content, not every row). */
  sample?: number[];
  /** For views: the table they select from. */
  viewTarget?: { dataset: string; name: string };
}

export type FaultKind =
  | 'rateLimitExceeded' // 403 on jobs.insert, job not created
  | 'jobRateLimitExceeded' // 403 on jobs.insert, job not created
  | 'serverError' // 503 on jobs.insert, job NOT created
  | 'unknownOutcome' // job created and run, but the insert answers 503
  | 'droppedConnection' // job created and run, but the socket is closed without an answer
  | 'jobBackendError' // job created, fails when it runs with backendError
  | 'permanent'; // 400 invalidQuery on jobs.insert

export interface Fault {
  readonly kind: FaultKind;
  /** Applies to inserts whose statement matches; default: any non-dry-run insert. */
  readonly match?: (sql: string, jobId: string) => boolean;
  /** How many times (default 1). */
  times?: number;
}

export interface LatencyModel {
  /** Simulated milliseconds a job of this kind runs. */
  (kind: 'ddl' | 'dml' | 'query', sql: string): number;
}

export interface DoubleOptions {
  readonly project: string;
  readonly location: string;
  readonly clock: Clock;
  readonly latency?: LatencyModel;
  /** tables.list answers at most this many per page whatever maxResults asks. */
  readonly maxPageSize?: number;
  /** Per-table metadata updates per window (BigQuery: 5 per 10 s); exceeding fails the job. */
  readonly tableUpdateLimit?: { readonly limit: number; readonly windowMs: number } | null;
  /** Jobs running at once; more wait in the double's queue (BigQuery queues interactive queries). */
  readonly maxConcurrentJobs?: number;
  /** Jobs running at once above which jobs.insert answers rateLimitExceeded (a concurrency quota). */
  readonly rejectAboveConcurrent?: number;
  /** Share of jobs.insert calls answered with rateLimitExceeded at random. */
  readonly rateLimitShare?: number;
  readonly seed?: number;
}

interface JobRecord {
  id: string;
  sql: string;
  labels: Record<string, string>;
  params: RestParam[];
  state: 'PENDING' | 'RUNNING' | 'DONE';
  error?: { reason: string; message: string };
  bytes: number;
  dmlRows?: number;
  statementType?: string;
  schema: DoubleColumn[];
  rows: Record<string, unknown>[];
  done: Promise<void>;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
}

interface RestParam {
  name: string;
  parameterType: { type: string; arrayType?: { type: string; structTypes?: { name: string; type: { type: string } }[] } };
  parameterValue: { value?: string | null; arrayValues?: { structValues?: Record<string, { value?: string | null }> }[] };
}

class DoubleError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const key = (dataset: string, name: string) => `${dataset}.${name}`;

/** A small seeded PRNG (deterministic latencies and fault injection). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class BigQueryDouble {
  readonly tables = new Map<string, DoubleTable>();
  readonly datasets = new Map<string, { location: string; defaultTableExpirationMs: number | null }>();
  readonly jobs = new Map<string, JobRecord>();
  /** Times each job id was executed (a job id runs at most once in BigQuery; here too). */
  readonly runsByJobId = new Map<string, number>();
  /** Every statement that changed the catalogue, in the order applied, with simulated time. */
  readonly applied: { sql: string; jobId: string; at: number; tables: string[] }[] = [];
  /** Simulated times of metadata updates per table. */
  readonly metadataUpdates = new Map<string, number[]>();
  readonly faults: Fault[] = [];
  /** Permissions granted per `dataset.table` (default: all asked for). */
  readonly permissions = new Map<string, string[]>();
  readonly counters = { inserts: 0, dryRuns: 0, rejectedRateLimit: 0, rejectedJobRate: 0, serverErrors: 0, metadataLimitHits: 0, listPages: 0, maxRunning: 0 };
  /** [simulated ms, jobs running] at every change. */
  readonly runningHistory: [number, number][] = [];
  private running = 0;
  private waiting: (() => void)[] = [];
  private server: http.Server | null = null;
  private readonly random: () => number;
  endpoint = '';

  constructor(readonly opts: DoubleOptions) {
    this.random = mulberry32(opts.seed ?? 1);
  }

  // ---- setup -------------------------------------------------------------------------------

  addDataset(name: string, settings: Partial<{ location: string; defaultTableExpirationMs: number | null }> = {}): void {
    this.datasets.set(name, { location: settings.location ?? this.opts.location, defaultTableExpirationMs: settings.defaultTableExpirationMs ?? null });
  }

  addTable(t: Partial<DoubleTable> & { dataset: string; name: string; columns: DoubleColumn[] }): DoubleTable {
    const table: DoubleTable = {
      type: 'TABLE',
      numRows: 0,
      numBytes: 0,
      partitionField: null,
      clusterFields: [],
      creationTime: this.opts.clock.now(),
      contentKey: `${t.dataset}.${t.name}`,
      ...t,
    };
    this.tables.set(key(t.dataset, t.name), table);
    return table;
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  table(dataset: string, name: string): DoubleTable | undefined {
    return this.tables.get(key(dataset, name));
  }

  /** Largest number of metadata updates any table saw inside one window. */
  maxUpdatesInWindow(windowMs: number): { table: string; count: number } {
    let best = { table: '', count: 0 };
    for (const [t, times] of this.metadataUpdates) {
      const sorted = [...times].sort((a, b) => a - b);
      let lo = 0;
      for (let hi = 0; hi < sorted.length; hi++) {
        while (sorted[hi] - sorted[lo] >= windowMs) lo++;
        if (hi - lo + 1 > best.count) best = { table: t, count: hi - lo + 1 };
      }
    }
    return best;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => this.send(res, 500, { error: { code: 500, message: String(e), errors: [{ reason: 'internalError', message: String(e) }] } }));
    });
    this.server.keepAliveTimeout = 1000;
    this.endpoint = await listenOnLoopback(this.server);
    return this.endpoint;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await closeServer(this.server);
    this.server = null;
  }

  // ---- HTTP --------------------------------------------------------------------------------

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private error(res: http.ServerResponse, e: DoubleError): void {
    this.send(res, e.status, { error: { code: e.status, message: e.message, errors: [{ reason: e.reason, message: e.message }], status: e.reason } });
  }

  private async body(req: http.IncomingMessage): Promise<any> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : {};
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const prefix = `/bigquery/v2/projects/${this.opts.project}`;
    if (!url.pathname.startsWith(prefix)) return this.error(res, new DoubleError(404, 'notFound', `unknown path ${url.pathname}`));
    if (!/^Bearer /.test(String(req.headers.authorization ?? ''))) return this.error(res, new DoubleError(401, 'unauthorized', 'no bearer token'));
    const path = decodeURIComponent(url.pathname.slice(prefix.length));
    const q = url.searchParams;
    try {
      let m: RegExpMatchArray | null;
      if (req.method === 'POST' && path === '/jobs') {
        const body = await this.body(req);
        return await this.jobsInsert(body, req, res);
      }
      if (req.method === 'GET' && (m = path.match(/^\/jobs\/([^/]+)$/))) return this.send(res, 200, this.jobResource(this.mustJob(m[1])));
      if (req.method === 'GET' && (m = path.match(/^\/queries\/([^/]+)$/))) return this.send(res, 200, await this.queryResults(m[1], q));
      if (req.method === 'GET' && (m = path.match(/^\/datasets\/([^/]+)$/))) return this.send(res, 200, this.datasetResource(m[1]));
      if (req.method === 'GET' && (m = path.match(/^\/datasets\/([^/]+)\/tables$/))) return this.send(res, 200, this.tablesList(m[1], q));
      if (req.method === 'GET' && (m = path.match(/^\/datasets\/([^/]+)\/tables\/([^/:]+)$/))) return this.send(res, 200, this.tableResource(m[1], m[2]));
      if (req.method === 'POST' && (m = path.match(/^\/datasets\/([^/]+)\/tables\/([^/:]+):testIamPermissions$/))) {
        const body = await this.body(req);
        const asked: string[] = body.permissions ?? [];
        const granted = this.permissions.get(key(m[1], m[2])) ?? asked;
        return this.send(res, 200, { permissions: asked.filter((p) => granted.includes(p)) });
      }
      throw new DoubleError(404, 'notFound', `the double does not serve ${req.method} ${path}`);
    } catch (e) {
      if (e instanceof DoubleError) return this.error(res, e);
      throw e;
    }
  }

  private datasetResource(name: string) {
    const d = this.datasets.get(name);
    if (!d) throw new DoubleError(404, 'notFound', `Not found: Dataset ${this.opts.project}:${name}`);
    return {
      kind: 'bigquery#dataset',
      datasetReference: { projectId: this.opts.project, datasetId: name },
      location: d.location,
      ...(d.defaultTableExpirationMs !== null ? { defaultTableExpirationMs: String(d.defaultTableExpirationMs) } : {}),
    };
  }

  private tablesList(dataset: string, q: URLSearchParams) {
    if (!this.datasets.has(dataset)) throw new DoubleError(404, 'notFound', `Not found: Dataset ${this.opts.project}:${dataset}`);
    this.counters.listPages++;
    const all = [...this.tables.values()].filter((t) => t.dataset === dataset).sort((a, b) => (a.name < b.name ? -1 : 1));
    const size = Math.min(Number(q.get('maxResults') ?? 50) || 50, this.opts.maxPageSize ?? 1000);
    const offset = q.get('pageToken') ? Number(Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8').replace('offset:', '')) : 0;
    const page = all.slice(offset, offset + size);
    const next = offset + size < all.length ? Buffer.from(`offset:${offset + size}`).toString('base64url') : undefined;
    return {
      kind: 'bigquery#tableList',
      totalItems: all.length,
      tables: page.map((t) => ({
        kind: 'bigquery#table',
        id: `${this.opts.project}:${dataset}.${t.name}`,
        tableReference: { projectId: this.opts.project, datasetId: dataset, tableId: t.name },
        type: t.type,
        creationTime: String(t.creationTime),
        ...(t.partitionField ? { timePartitioning: { type: 'DAY', field: t.partitionField } } : {}),
        ...(t.clusterFields.length ? { clustering: { fields: t.clusterFields } } : {}),
      })),
      ...(next ? { nextPageToken: next } : {}),
    };
  }

  private tableResource(dataset: string, name: string) {
    const t = this.tables.get(key(dataset, name));
    if (!t) throw new DoubleError(404, 'notFound', `Not found: Table ${this.opts.project}:${dataset}.${name}`);
    return {
      kind: 'bigquery#table',
      tableReference: { projectId: this.opts.project, datasetId: dataset, tableId: name },
      type: t.type,
      schema: { fields: t.columns.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE', ...(c.policyTags ? { policyTags: { names: c.policyTags } } : {}) })) },
      numRows: String(t.numRows),
      numBytes: String(t.numBytes),
      creationTime: String(t.creationTime),
      ...(t.partitionField ? { timePartitioning: { type: 'DAY', field: t.partitionField } } : {}),
      ...(t.clusterFields.length ? { clustering: { fields: t.clusterFields } } : {}),
      ...(t.viewQuery ? { view: { query: t.viewQuery, useLegacySql: false } } : {}),
      ...(t.streamingRows ? { streamingBuffer: { estimatedRows: String(t.streamingRows), estimatedBytes: '1024', oldestEntryTime: String(t.creationTime) } } : {}),
      ...(t.type === 'EXTERNAL' ? { externalDataConfiguration: { sourceFormat: 'PARQUET', sourceUris: ['gs://bucket/x/*'] } } : {}),
    };
  }

  // ---- jobs --------------------------------------------------------------------------------

  private takeFault(sql: string, jobId: string): FaultKind | null {
    for (const f of this.faults) {
      if ((f.times ?? 0) > 0 && (!f.match || f.match(sql, jobId))) {
        f.times = (f.times ?? 1) - 1;
        return f.kind;
      }
    }
    return null;
  }

  private async jobsInsert(body: any, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sql: string = body.configuration?.query?.query ?? '';
    const params: RestParam[] = body.configuration?.query?.queryParameters ?? [];
    if (body.configuration?.dryRun) {
      this.counters.dryRuns++;
      const { bytes, schema } = this.dryRun(sql);
      return this.send(res, 200, {
        kind: 'bigquery#job',
        status: { state: 'DONE' },
        configuration: { dryRun: true, query: { query: sql } },
        statistics: { totalBytesProcessed: String(bytes), query: { totalBytesProcessed: String(bytes), schema: { fields: schema.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE' })) } } },
      });
    }
    this.counters.inserts++;
    const id: string = body.jobReference?.jobId;
    if (!id || !/^[A-Za-z0-9_-]{1,1024}$/.test(id)) throw new DoubleError(400, 'invalid', `Invalid job ID "${id}"`);
    if (this.jobs.has(id)) throw new DoubleError(409, 'duplicate', `Already Exists: Job ${this.opts.project}:${this.opts.location}.${id}`);
    const fault = this.takeFault(sql, id);
    if (fault === 'rateLimitExceeded' || (this.opts.rateLimitShare && this.random() < this.opts.rateLimitShare)) {
      this.counters.rejectedRateLimit++;
      throw new DoubleError(403, 'rateLimitExceeded', 'Exceeded rate limits: too many api requests per user per method for this user_method');
    }
    if (this.opts.rejectAboveConcurrent !== undefined && this.running >= this.opts.rejectAboveConcurrent) {
      this.counters.rejectedRateLimit++;
      throw new DoubleError(403, 'rateLimitExceeded', 'Exceeded rate limits: too many concurrent queries for this project_and_region');
    }
    if (fault === 'jobRateLimitExceeded') {
      this.counters.rejectedJobRate++;
      throw new DoubleError(403, 'jobRateLimitExceeded', 'Exceeded rate limits: too many concurrent jobs for this table');
    }
    if (fault === 'serverError') {
      this.counters.serverErrors++;
      throw new DoubleError(503, 'backendError', 'The service is currently unavailable.');
    }
    if (fault === 'permanent') throw new DoubleError(400, 'invalidQuery', 'Syntax error: injected permanent failure');
    const job = this.createJob(id, sql, params, body.configuration?.labels ?? {}, fault === 'jobBackendError');
    if (fault === 'unknownOutcome') {
      this.counters.serverErrors++;
      throw new DoubleError(503, 'backendError', 'The service is currently unavailable.');
    }
    if (fault === 'droppedConnection') {
      req.socket.destroy();
      return;
    }
    this.send(res, 200, this.jobResource(job));
  }

  private createJob(id: string, sql: string, params: RestParam[], labels: Record<string, string>, failBackend: boolean): JobRecord {
    const job = { id, sql, labels, params, state: 'PENDING', bytes: 0, schema: [], rows: [], createdAt: this.opts.clock.now() } as unknown as JobRecord;
    job.done = this.execute(job, failBackend);
    this.jobs.set(id, job);
    return job;
  }

  private async acquireSlot(): Promise<void> {
    const max = this.opts.maxConcurrentJobs ?? Infinity;
    while (this.running >= max) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    this.counters.maxRunning = Math.max(this.counters.maxRunning, this.running);
    this.runningHistory.push([this.opts.clock.now(), this.running]);
  }

  private releaseSlot(): void {
    this.running--;
    this.runningHistory.push([this.opts.clock.now(), this.running]);
    this.waiting.shift()?.();
  }

  private async execute(job: JobRecord, failBackend: boolean): Promise<void> {
    await Promise.resolve();
    await this.acquireSlot();
    job.state = 'RUNNING';
    job.startedAt = this.opts.clock.now();
    try {
      const kind = /^(ALTER|DROP|CREATE)/.test(job.sql) ? 'ddl' : /^INSERT/.test(job.sql) ? 'dml' : 'query';
      const ms = this.opts.latency ? this.opts.latency(kind, job.sql) : 0;
      if (ms > 0) await this.opts.clock.sleep(ms);
      this.runsByJobId.set(job.id, (this.runsByJobId.get(job.id) ?? 0) + 1);
      if (failBackend) throw new DoubleError(500, 'backendError', 'Backend error. Job aborted.');
      this.interpret(job);
    } catch (e) {
      if (!(e instanceof DoubleError)) throw e;
      job.error = { reason: e.reason, message: e.message };
    } finally {
      job.state = 'DONE';
      job.endedAt = this.opts.clock.now();
      this.releaseSlot();
    }
  }

  private mustJob(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw new DoubleError(404, 'notFound', `Not found: Job ${this.opts.project}:${this.opts.location}.${id}`);
    return job;
  }

  private jobResource(job: JobRecord) {
    return {
      kind: 'bigquery#job',
      id: `${this.opts.project}:${this.opts.location}.${job.id}`,
      jobReference: { projectId: this.opts.project, jobId: job.id, location: this.opts.location },
      configuration: { jobType: 'QUERY', labels: job.labels, query: { query: job.sql, useLegacySql: false } },
      status: { state: job.state, ...(job.error ? { errorResult: job.error, errors: [job.error] } : {}) },
      statistics: {
        creationTime: String(job.createdAt),
        ...(job.state === 'DONE'
          ? {
              totalBytesProcessed: String(job.bytes),
              query: {
                totalBytesProcessed: String(job.bytes),
                ...(job.statementType ? { statementType: job.statementType } : {}),
                ...(job.dmlRows !== undefined ? { numDmlAffectedRows: String(job.dmlRows) } : {}),
              },
            }
          : {}),
      },
    };
  }

  private async queryResults(id: string, q: URLSearchParams) {
    const job = this.mustJob(id);
    const timeoutMs = Number(q.get('timeoutMs') ?? 10_000);
    if (job.state !== 'DONE') {
      await Promise.race([job.done, this.opts.clock.sleep(timeoutMs)]);
    }
    if (job.state !== 'DONE') return { kind: 'bigquery#getQueryResultsResponse', jobReference: { jobId: id }, jobComplete: false };
    if (job.error) throw new DoubleError(job.error.reason === 'backendError' ? 500 : 400, job.error.reason, job.error.message);
    const max = q.get('maxResults') !== null ? Number(q.get('maxResults')) : 1000;
    const offset = q.get('pageToken') ? Number(q.get('pageToken')) : 0;
    const page = job.rows.slice(offset, offset + max);
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId: this.opts.project, jobId: id, location: this.opts.location },
      jobComplete: true,
      totalBytesProcessed: String(job.bytes),
      totalRows: String(job.rows.length),
      schema: { fields: job.schema.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE' })) },
      rows: page.map((r) => ({ f: job.schema.map((c) => ({ v: r[c.name] === null || r[c.name] === undefined ? null : String(r[c.name]) })) })),
      ...(offset + max < job.rows.length && max > 0 ? { pageToken: String(offset + max) } : {}),
      ...(job.dmlRows !== undefined ? { numDmlAffectedRows: String(job.dmlRows) } : {}),
    };
  }

  // ---- SQL interpretation ---------------------------------------------------------------------

  private ref(text: string): { dataset: string; name: string } {
    const m = text.match(/^`([^`.]+)\.([^`.]+)\.([^`.]+)`$/);
    if (!m || m[1] !== this.opts.project) throw new DoubleError(400, 'invalidQuery', `unexpected table reference ${text}`);
    return { dataset: m[2], name: m[3] };
  }

  private must(dataset: string, name: string, kinds?: DoubleTable['type'][]): DoubleTable {
    const t = this.tables.get(key(dataset, name));
    if (!t) throw new DoubleError(404, 'notFound', `Not found: Table ${this.opts.project}:${dataset}.${name} was not found in location ${this.opts.location}`);
    if (kinds && !kinds.includes(t.type)) throw new DoubleError(400, 'invalidQuery', `${dataset}.${name} is a ${t.type}, expected ${kinds.join('/')}`);
    return t;
  }

  private free(dataset: string, name: string): void {
    if (!this.datasets.has(dataset)) throw new DoubleError(404, 'notFound', `Not found: Dataset ${this.opts.project}:${dataset}`);
    if (this.tables.has(key(dataset, name))) throw new DoubleError(409, 'duplicate', `Already Exists: Table ${this.opts.project}:${dataset}.${name}`);
  }

  /** Records a metadata update; fails the job when the table is over its limit. */
  private touch(tables: string[]): void {
    const lim = this.opts.tableUpdateLimit;
    const now = this.opts.clock.now();
    if (lim) {
      for (const t of tables) {
        const recent = (this.metadataUpdates.get(t) ?? []).filter((x) => x > now - lim.windowMs);
        if (recent.length >= lim.limit) {
          this.counters.metadataLimitHits++;
          throw new DoubleError(403, 'rateLimitExceeded', `Exceeded rate limits: too many table update operations for this table (${t})`);
        }
      }
    }
    for (const t of tables) this.metadataUpdates.set(t, [...(this.metadataUpdates.get(t) ?? []), now]);
  }

  private apply(job: JobRecord, tables: string[], change: () => void, statementType: string): void {
    this.touch(tables);
    change();
    job.statementType = statementType;
    this.applied.push({ sql: job.sql, jobId: job.id, at: this.opts.clock.now(), tables });
  }

  private interpret(job: JobRecord): void {
    const s = job.sql;
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^ALTER TABLE (`[^`]+`) RENAME TO `([A-Za-z0-9_]+)`$/))) {
      const from = this.ref(m[1]);
      const to = m[2];
      const t = this.must(from.dataset, from.name, ['TABLE']);
      this.free(from.dataset, to);
      return this.apply(job, [key(from.dataset, from.name), key(from.dataset, to)], () => {
        this.tables.delete(key(from.dataset, from.name));
        this.tables.set(key(from.dataset, to), { ...t, name: to });
      }, 'ALTER_TABLE');
    }
    if ((m = s.match(/^DROP (TABLE|VIEW) (`[^`]+`)$/))) {
      const r = this.ref(m[2]);
      this.must(r.dataset, r.name, m[1] === 'VIEW' ? ['VIEW'] : ['TABLE', 'SNAPSHOT', 'EXTERNAL']);
      return this.apply(job, [key(r.dataset, r.name)], () => this.tables.delete(key(r.dataset, r.name)), `DROP_${m![1]}`);
    }
    if ((m = s.match(/^CREATE SNAPSHOT TABLE (`[^`]+`) CLONE (`[^`]+`) OPTIONS \(expiration_timestamp = TIMESTAMP '[^']+'\)$/))) {
      const to = this.ref(m[1]);
      const from = this.ref(m[2]);
      const src = this.must(from.dataset, from.name, ['TABLE']);
      this.free(to.dataset, to.name);
      return this.apply(job, [key(to.dataset, to.name)], () => {
        this.tables.set(key(to.dataset, to.name), { ...src, dataset: to.dataset, name: to.name, type: 'SNAPSHOT', creationTime: this.opts.clock.now() });
      }, 'CREATE_SNAPSHOT_TABLE');
    }
    if ((m = s.match(/^CREATE TABLE (`[^`]+`) CLONE (`[^`]+`)$/))) {
      const to = this.ref(m[1]);
      const from = this.ref(m[2]);
      const src = this.must(from.dataset, from.name, ['TABLE', 'SNAPSHOT']);
      this.free(to.dataset, to.name);
      return this.apply(job, [key(to.dataset, to.name)], () => {
        this.tables.set(key(to.dataset, to.name), { ...src, dataset: to.dataset, name: to.name, type: 'TABLE', creationTime: this.opts.clock.now() });
      }, 'CREATE_TABLE');
    }
    if ((m = s.match(/^CREATE OR REPLACE VIEW (`[^`]+`) AS SELECT (.+) FROM (`[^`]+`)(?: WHERE `([A-Za-z0-9_]+)`)?$/))) {
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
      if (m[4] && !src.columns.some((x) => x.name === m![4])) throw new DoubleError(400, 'invalidQuery', `Unrecognized name: ${m[4]}`);
      const existing = this.tables.get(key(v.dataset, v.name));
      if (existing && existing.type !== 'VIEW') throw new DoubleError(400, 'invalidQuery', `Cannot replace a TABLE with a VIEW: ${v.name}`);
      return this.apply(job, [key(v.dataset, v.name)], () => {
        this.tables.set(key(v.dataset, v.name), {
          dataset: v.dataset, name: v.name, type: 'VIEW', columns, numRows: 0, numBytes: 0, partitionField: null, clusterFields: [],
          creationTime: this.opts.clock.now(), contentKey: `${src.contentKey}|view`, viewQuery: s.replace(/^CREATE OR REPLACE VIEW `[^`]+` AS /, ''), viewTarget: target,
        });
      }, existing ? 'CREATE_VIEW' : 'CREATE_VIEW');
    }
    if ((m = s.match(/^CREATE TABLE (`[^`]+`)(?:\nPARTITION BY DATE\(`([A-Za-z0-9_]+)`\))?(?:\nCLUSTER BY (.+))?\nAS SELECT\n([\s\S]+)\nFROM ([\s\S]+)$/))) {
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
      return this.apply(job, [key(target.dataset, target.name)], () => {
        this.tables.set(key(target.dataset, target.name), {
          dataset: target.dataset, name: target.name, type: 'TABLE', columns,
          numRows: Math.max(...sources.map((t) => t.numRows)), numBytes: job.bytes,
          partitionField: m![2] ?? null, clusterFields: m![3] ? [...m![3].matchAll(/`([A-Za-z0-9_]+)`/g)].map((x) => x[1]) : [],
          creationTime: this.opts.clock.now(), contentKey: `consolidated:${sources.map((t) => t.contentKey).join('+')}`,
        });
      }, 'CREATE_TABLE_AS_SELECT');
    }
    if ((m = s.match(/^CREATE SCHEMA IF NOT EXISTS `([^`.]+)\.([^`.]+)`/))) {
      const name = m[2];
      if (!this.datasets.has(name)) this.addDataset(name);
      job.statementType = 'CREATE_SCHEMA';
      return;
    }
    if ((m = s.match(/^CREATE TABLE IF NOT EXISTS (`[^`]+`) \((.+)\) CLUSTER BY/))) {
      const r = this.ref(m[1]);
      if (!this.datasets.has(r.dataset)) throw new DoubleError(404, 'notFound', `Not found: Dataset ${this.opts.project}:${r.dataset}`);
      if (!this.tables.has(key(r.dataset, r.name))) {
        const cols = m[2].split(', ').map((c) => {
          const [quoted, type] = c.split(' ');
          const name = quoted.replace(/`/g, '');
          return { name, type: ({ INT64: 'INTEGER', BOOL: 'BOOLEAN' } as Record<string, string>)[type] ?? type };
        });
        this.addTable({ dataset: r.dataset, name: r.name, columns: cols, rows: [] });
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
      job.dmlRows = rows.length;
      job.statementType = 'INSERT';
      return;
    }
    if ((m = s.match(/^INSERT INTO (`[^`]+`) \(`lock_name`, `seq`, `event`, `run_id`, `holder`, `expires_at`, `detail`, `at`\) SELECT @lock_name, @seq, @event, @run_id, @holder, @expires_at, @detail, @at FROM \(SELECT 1\) WHERE \(SELECT IFNULL\(MAX\(`seq`\), 0\) FROM (`[^`]+`) WHERE `lock_name` = @lock_name\) = @seq - 1$/))) {
      const r = this.ref(m[1]);
      const t = this.must(r.dataset, r.name, ['TABLE']);
      const v = (n: string) => job.params.find((x) => x.name === n)?.parameterValue.value ?? null;
      const head = Math.max(0, ...(t.rows ?? []).filter((x) => x.lock_name === v('lock_name')).map((x) => Number(x.seq)));
      job.statementType = 'INSERT';
      if (head !== Number(v('seq')) - 1) {
        job.dmlRows = 0;
        return;
      }
      const row = Object.fromEntries(['lock_name', 'seq', 'event', 'run_id', 'holder', 'expires_at', 'detail', 'at'].map((n) => [n, v(n)]));
      t.rows = [...(t.rows ?? []), row];
      t.numRows = t.rows.length;
      job.dmlRows = 1;
      return;
    }
    if (/^(SELECT|WITH) /.test(s)) return this.read(job);
    throw new DoubleError(400, 'invalidQuery', `the double does not interpret: ${s.slice(0, 120)}`);
  }

  /** Reads are answered by what they are labelled as (the engine labels every job it runs). */
  private read(job: JobRecord): void {
    const kind = job.labels.bqx_kind ?? '';
    const s = job.sql;
    const param = (n: string) => job.params.find((x) => x.name === n)?.parameterValue.value ?? null;
    const refs = [...s.matchAll(/`([^`.]+)\.([^`.]+)\.([^`.]+)`/g)].map((x) => this.must(x[2], x[3]));
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
        const tables = [...this.tables.values()].filter((t) => t.dataset === ds).sort((a, b) => (a.name < b.name ? -1 : 1));
        const toSql: Record<string, string> = { FLOAT: 'FLOAT64', INTEGER: 'INT64', BOOLEAN: 'BOOL' };
        return set([S('table_name'), S('column_name'), S('data_type')], tables.flatMap((t) => t.columns.map((c) => ({ table_name: t.name, column_name: c.name, data_type: toSql[c.type] ?? c.type }))));
      }
      case 'catalog_storage': {
        const ds = param('dataset');
        const tables = [...this.tables.values()].filter((t) => t.dataset === ds && t.type !== 'VIEW');
        return set([S('table_name'), I('total_rows'), I('total_logical_bytes')], tables.map((t) => ({ table_name: t.name, total_rows: t.numRows, total_logical_bytes: t.numBytes })));
      }
      case 'catalog_views': {
        const ds = s.match(/FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.VIEWS/)![1];
        const views = [...this.tables.values()].filter((t) => t.dataset === ds && t.type === 'VIEW');
        return set([S('table_name'), S('view_definition')], views.map((t) => ({ table_name: t.name, view_definition: t.viewQuery ?? '' })));
      }
      case 'gate_search_indexes': {
        const ds = s.match(/FROM `[^`.]+\.([^`.]+)`\.INFORMATION_SCHEMA\.SEARCH_INDEXES/)![1];
        const tables = [...this.tables.values()].filter((t) => t.dataset === ds && (t.searchIndexes ?? 0) > 0);
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
      default:
        throw new DoubleError(400, 'invalidQuery', `the double does not answer reads labelled "${kind}"`);
    }
  }

  private dryRun(sql: string): { bytes: number; schema: DoubleColumn[] } {
    if (sql === 'SELECT 1') return { bytes: 0, schema: [{ name: 'f0_', type: 'INTEGER' }] };
    const refs = [...sql.matchAll(/`([^`.]+)\.([^`.]+)\.([^`.]+)`/g)].map((x) => ({ dataset: x[2], name: x[3] }));
    const m = sql.match(/^SELECT \* FROM (`[^`]+`)$/);
    if (m) {
      const r = this.ref(m[1]);
      const t = this.must(r.dataset, r.name);
      return { bytes: t.type === 'VIEW' ? 0 : t.numBytes, schema: t.columns };
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
