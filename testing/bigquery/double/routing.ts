/** The double's REST v2 surface: HTTP server on 127.0.0.1, URL/method routing, resource shapes and error answers. */
import * as http from 'http';
import { closeServer, listenOnLoopback } from '../../loopback';
import { LABEL_KEY_RE, LABEL_VALUE_RE, MAX_LABELS } from '../../../engines/bigquery/labels';
import { accessDenied, classifyStatement, projectNeed, restNeed, statementNeeds, type Need } from './authorize';
import { DoubleError, datasetNotFound, key } from './types';
import type { DoubleColumn, DoubleOptions, DoubleTable, InsertRecord, JobRecord, RestParam } from './types';
import type { DoubleModel } from './model';

/** The members of the caller: null when the double enforces no IAM. */
type Caller = readonly string[] | null;

/** BigQuery refuses a job whose labels break its rules (400 invalid). */
function checkLabels(labels: Record<string, string>): void {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new DoubleError(400, 'invalid', `Too many labels: ${entries.length}`);
  for (const [k, v] of entries) {
    if (!LABEL_KEY_RE.test(k)) throw new DoubleError(400, 'invalid', `Invalid label key: ${k}`);
    if (typeof v !== 'string' || !LABEL_VALUE_RE.test(v)) throw new DoubleError(400, 'invalid', `Invalid label value: ${k}=${String(v)}`);
  }
}

/** The parts of a jobs.insert body the double reads. */
interface JobsInsertBody {
  jobReference?: { jobId?: string };
  configuration?: { dryRun?: boolean; labels?: Record<string, string>; query?: { query?: string; queryParameters?: RestParam[]; maximumBytesBilled?: string } };
}

/** Schema fields as dry runs and query results carry them. */
const restFields = (columns: DoubleColumn[]) => columns.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE' }));

/** Partitioning and clustering as table resources (listed or fetched) carry them. */
const layout = (t: DoubleTable) => ({
  ...(t.partitionField ? { timePartitioning: { type: 'DAY', field: t.partitionField } } : {}),
  ...(t.clusterFields.length ? { clustering: { fields: t.clusterFields } } : {}),
});

export class RestServer {
  private server: http.Server | null = null;

  constructor(private readonly model: DoubleModel) {}

  private get opts(): DoubleOptions {
    return this.model.opts;
  }

  /** Listens on a free port of 127.0.0.1; returns the endpoint. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => this.send(res, 500, { error: { code: 500, message: String(e), errors: [{ reason: 'internalError', message: String(e) }] } }));
    });
    this.server.keepAliveTimeout = 1000;
    return listenOnLoopback(this.server);
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

  private async body(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? JSON.parse(text) : {};
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const prefix = `/bigquery/v2/projects/${this.opts.project}`;
    if (!url.pathname.startsWith(prefix)) return this.error(res, new DoubleError(404, 'notFound', `unknown path ${url.pathname}`));
    const bearer = String(req.headers.authorization ?? '').match(/^Bearer (\S+)$/);
    if (!bearer) return this.error(res, new DoubleError(401, 'unauthorized', 'no bearer token'));
    const iam = this.model.iam;
    const caller: Caller = iam ? iam.membersOf(bearer[1]) : null;
    if (iam && !caller) return this.error(res, new DoubleError(401, 'unauthorized', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.'));
    const path = decodeURIComponent(url.pathname.slice(prefix.length));
    const q = url.searchParams;
    this.model.counters.requests++;
    const project = this.opts.project;
    try {
      let m: RegExpMatchArray | null;
      if (req.method === 'POST' && path === '/jobs') {
        const body = (await this.body(req)) as JobsInsertBody;
        return await this.jobsInsert(body, caller, req, res);
      }
      if (req.method === 'GET' && (m = path.match(/^\/jobs\/([^/]+)$/))) {
        await this.apiDelay('jobs.get');
        const job = this.model.mustJob(m[1]);
        this.authorize(caller, [this.jobNeed(caller, job)]);
        return this.send(res, 200, this.jobResource(job));
      }
      if (req.method === 'GET' && (m = path.match(/^\/queries\/([^/]+)$/))) {
        await this.apiDelay('jobs.getQueryResults');
        this.authorize(caller, [this.jobNeed(caller, this.model.mustJob(m[1]))]);
        return this.send(res, 200, await this.queryResults(m[1], q));
      }
      if (req.method === 'GET' && (m = path.match(/^\/datasets\/([^/]+)$/))) {
        await this.apiDelay('datasets.get');
        this.authorize(caller, [restNeed('datasets.get', project, m[1])]);
        return this.send(res, 200, this.datasetResource(m[1]));
      }
      if (req.method === 'GET' && (m = path.match(/^\/datasets\/([^/]+)\/tables$/))) {
        await this.apiDelay('tables.list');
        this.authorize(caller, [restNeed('tables.list', project, m[1])]);
        return this.send(res, 200, this.tablesList(m[1], q));
      }
      if (req.method === 'GET' && (m = path.match(/^\/datasets\/([^/]+)\/tables\/([^/:]+)$/))) {
        await this.apiDelay('tables.get');
        this.authorize(caller, [restNeed('tables.get', project, m[1], m[2])]);
        this.model.counters.tablesGet++;
        return this.send(res, 200, this.tableResource(m[1], m[2]));
      }
      if (req.method === 'POST' && (m = path.match(/^\/datasets\/([^/]+)\/tables\/([^/:]+):testIamPermissions$/))) {
        // Needs no permission: it answers which of the asked ones the caller holds on the table
        // (its dataset's grants and the project's reach it), nothing for a table that does not exist.
        const body = (await this.body(req)) as { permissions?: string[] };
        const asked: string[] = body.permissions ?? [];
        if (!this.model.tables.has(key(m[1], m[2]))) return this.send(res, 200, {});
        const held = iam && caller ? iam.test(caller, { kind: 'dataset', project, dataset: m[1] }, asked) : asked;
        const override = this.model.permissions.get(key(m[1], m[2])) ?? asked;
        const granted = held.filter((p) => override.includes(p));
        return this.send(res, 200, granted.length ? { permissions: granted } : {});
      }
      throw new DoubleError(404, 'notFound', `the double does not serve ${req.method} ${path}`);
    } catch (e) {
      if (e instanceof DoubleError) return this.error(res, e);
      throw e;
    }
  }

  /** A wait of this request on simulated time, marked as such for a discrete-event clock. */
  private wait<T>(p: Promise<T>): Promise<T> {
    return this.opts.park ? this.opts.park(p) : p;
  }

  /** The modelled round trip of one API call (none unless `apiLatency` says so). */
  private async apiDelay(call: string): Promise<void> {
    const ms = this.opts.apiLatency?.(call) ?? 0;
    if (ms > 0) await this.wait(this.opts.clock.sleep(ms));
  }

  /** Throws BigQuery's accessDenied for the first need the caller does not hold (no IAM: allows all). */
  private authorize(caller: Caller, needs: readonly Need[]): void {
    const iam = this.model.iam;
    if (!iam || !caller) return;
    const missing = needs.find((n) => !iam.has(caller, n.permission, n.resource));
    if (missing) throw accessDenied(missing);
  }

  /** A job is read by its creator with bigquery.jobs.create, by anyone else with bigquery.jobs.get. */
  private jobNeed(caller: Caller, job: JobRecord): Need {
    const own = caller === null || job.caller === null || job.caller[0] === caller[0];
    return projectNeed(own ? 'bigquery.jobs.create' : 'bigquery.jobs.get', this.opts.project);
  }

  // ---- datasets and tables -----------------------------------------------------------------

  private datasetResource(name: string) {
    const d = this.model.datasets.get(name);
    if (!d) throw datasetNotFound(this.opts.project, name);
    return {
      kind: 'bigquery#dataset',
      datasetReference: { projectId: this.opts.project, datasetId: name },
      location: d.location,
      ...(d.defaultTableExpirationMs !== null ? { defaultTableExpirationMs: String(d.defaultTableExpirationMs) } : {}),
    };
  }

  private tablesList(dataset: string, q: URLSearchParams) {
    if (!this.model.datasets.has(dataset)) throw datasetNotFound(this.opts.project, dataset);
    this.model.counters.listPages++;
    const all = [...this.model.tables.values()].filter((t) => t.dataset === dataset).sort((a, b) => (a.name < b.name ? -1 : 1));
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
        ...layout(t),
      })),
      ...(next ? { nextPageToken: next } : {}),
    };
  }

  private tableResource(dataset: string, name: string) {
    const t = this.model.tables.get(key(dataset, name));
    if (!t) throw new DoubleError(404, 'notFound', `Not found: Table ${this.opts.project}:${dataset}.${name}`);
    return {
      kind: 'bigquery#table',
      tableReference: { projectId: this.opts.project, datasetId: dataset, tableId: name },
      type: t.type,
      schema: { fields: t.columns.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE', ...(c.policyTags ? { policyTags: { names: c.policyTags } } : {}) })) },
      numRows: String(t.numRows),
      numBytes: String(t.numBytes),
      creationTime: String(t.creationTime),
      lastModifiedTime: String(t.lastModifiedTime ?? t.creationTime),
      ...layout(t),
      ...(t.viewQuery ? { view: { query: t.viewQuery, useLegacySql: false } } : {}),
      ...(t.streamingRows ? { streamingBuffer: { estimatedRows: String(t.streamingRows), estimatedBytes: '1024', oldestEntryTime: String(t.creationTime) } } : {}),
      ...(t.type === 'EXTERNAL' ? { externalDataConfiguration: { sourceFormat: 'PARQUET', sourceUris: ['gs://bucket/x/*'] } } : {}),
    };
  }

  // ---- jobs --------------------------------------------------------------------------------

  private async jobsInsert(body: JobsInsertBody, caller: Caller, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const sql = body.configuration?.query?.query ?? '';
    const params = body.configuration?.query?.queryParameters ?? [];
    const labels = body.configuration?.labels ?? {};
    const dryRun = body.configuration?.dryRun === true;
    await this.apiDelay(dryRun ? 'jobs.insert:dryRun' : 'jobs.insert');
    const record: InsertRecord = { jobId: body.jobReference?.jobId ?? null, sql, labels, dryRun, principal: caller?.[0] ?? null, outcome: 'accepted' };
    this.model.inserts.push(record);
    try {
      checkLabels(labels);
      // jobs.create on the project first: without it no job is created at all.
      this.authorize(caller, [projectNeed('bigquery.jobs.create', this.opts.project)]);
      let denied: DoubleError | null = null;
      if (this.model.iam && caller) {
        const c = classifyStatement(sql, this.model.tables);
        if (!c) throw new DoubleError(400, 'invalidQuery', `the double cannot authorize (not a statement the runner emits): ${sql.slice(0, 120)}`);
        const missing = statementNeeds(c, this.opts.project, dryRun).find((n) => !this.model.iam!.has(caller, n.permission, n.resource));
        denied = missing ? accessDenied(missing) : null;
      }
      if (dryRun) {
        // A dry run is authorized like the statement itself and answers the denial at once.
        if (denied) throw denied;
        const { bytes, schema } = this.model.dryRun(sql);
        return this.send(res, 200, {
          kind: 'bigquery#job',
          status: { state: 'DONE' },
          configuration: { dryRun: true, labels, query: { query: sql } },
          statistics: { totalBytesProcessed: String(bytes), query: { totalBytesProcessed: String(bytes), schema: { fields: restFields(schema) } } },
        });
      }
      const { job, dropConnection } = this.model.insertJob(
        body.jobReference?.jobId,
        sql,
        params,
        labels,
        // user_email of the JOBS view: the caller's member, or (no IAM) the bearer token that names the identity.
        { caller, denied, principal: caller?.[0] ?? String(req.headers.authorization ?? '').replace(/^Bearer /, '') },
        body.configuration?.query?.maximumBytesBilled !== undefined ? Number(body.configuration.query.maximumBytesBilled) : undefined,
      );
      if (denied) record.outcome = denied.reason;
      if (dropConnection) {
        req.socket.destroy();
        return;
      }
      this.send(res, 200, this.jobResource(job));
    } catch (e) {
      if (e instanceof DoubleError) record.outcome = e.reason;
      throw e;
    }
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

  /** jobs.getQueryResults: waits up to timeoutMs (simulated) for the job, then answers a page of rows. */
  private async queryResults(id: string, q: URLSearchParams) {
    const job = this.model.mustJob(id);
    const timeoutMs = Number(q.get('timeoutMs') ?? 10_000);
    if (job.state !== 'DONE') {
      await this.wait(Promise.race([job.done, this.opts.clock.sleep(timeoutMs)]));
    }
    if (job.state !== 'DONE') return { kind: 'bigquery#getQueryResultsResponse', jobReference: { jobId: id }, jobComplete: false };
    if (job.error) throw new DoubleError(job.error.reason === 'backendError' ? 500 : job.error.reason === 'accessDenied' ? 403 : 400, job.error.reason, job.error.message);
    const max = q.get('maxResults') !== null ? Number(q.get('maxResults')) : 1000;
    const offset = q.get('pageToken') ? Number(q.get('pageToken')) : 0;
    const page = job.rows.slice(offset, offset + max);
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId: this.opts.project, jobId: id, location: this.opts.location },
      jobComplete: true,
      totalBytesProcessed: String(job.bytes),
      totalRows: String(job.rows.length),
      schema: { fields: restFields(job.schema) },
      rows: page.map((r) => ({ f: job.schema.map((c) => ({ v: r[c.name] === null || r[c.name] === undefined ? null : String(r[c.name]) })) })),
      ...(offset + max < job.rows.length && max > 0 ? { pageToken: String(offset + max) } : {}),
      ...(job.dmlRows !== undefined ? { numDmlAffectedRows: String(job.dmlRows) } : {}),
    };
  }
}
