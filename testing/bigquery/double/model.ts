/** The simulated BigQuery behind the REST surface: catalogue state, jobs and their latency, limits, injected faults and counters. */
import { DoubleError, key } from './types';
import type { DoubleColumn, DoubleDataset, DoubleOptions, DoubleTable, Fault, FaultKind, InsertRecord, JobRecord, NewTable, RestParam } from './types';
import type { IamModel } from './iam';
import { Interpreter } from './sql';
import type { Catalogue, CatalogueChange } from './sql';

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

export class DoubleModel implements Catalogue {
  readonly tables = new Map<string, DoubleTable>();
  readonly datasets = new Map<string, DoubleDataset>();
  readonly jobs = new Map<string, JobRecord>();
  /** Times each job id was executed (a job id runs at most once in BigQuery; here too). */
  readonly runsByJobId = new Map<string, number>();
  /** Every statement that changed the catalogue, in the order applied, with simulated time. */
  readonly applied: { sql: string; jobId: string; at: number; tables: string[] }[] = [];
  /** Simulated times of metadata updates per table. */
  readonly metadataUpdates = new Map<string, number[]>();
  readonly faults: Fault[] = [];
  /**
   * Permissions tables.testIamPermissions grants per `dataset.table`, on top of IAM (default: all
   * asked for, or with `iam` what the caller holds).
   */
  readonly permissions = new Map<string, string[]>();
  /**
   * Per-caller IAM (iam.ts): each bearer token is an identity, every request is authorized against
   * the grants (loaded from the synthesized stacks). Null: permissive, any bearer token does anything.
   */
  iam: IamModel | null = null;
  /** Every jobs.insert received, dry runs and refused ones included, with its labels and caller. */
  readonly inserts: InsertRecord[] = [];
  readonly counters = { inserts: 0, dryRuns: 0, rejectedRateLimit: 0, rejectedJobRate: 0, serverErrors: 0, metadataLimitHits: 0, listPages: 0, maxRunning: 0, tablesGet: 0, requests: 0 };
  /** [simulated ms, jobs running] at every change. */
  readonly runningHistory: [number, number][] = [];
  private running = 0;
  private waiting: (() => void)[] = [];
  private readonly random: () => number;
  private readonly sql = new Interpreter(this);

  constructor(readonly opts: DoubleOptions) {
    this.random = mulberry32(opts.seed ?? 1);
  }

  // ---- setup -------------------------------------------------------------------------------

  addDataset(name: string, settings: Partial<DoubleDataset> = {}): void {
    this.datasets.set(name, { location: settings.location ?? this.opts.location, defaultTableExpirationMs: settings.defaultTableExpirationMs ?? null });
  }

  addTable(t: NewTable): DoubleTable {
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

  /**
   * Someone else writes to a table (a load, DML, a schema change): its fields change and its
   * lastModifiedTime moves forward, as BigQuery's does on every change.
   */
  write(dataset: string, name: string, change: Partial<DoubleTable>): DoubleTable {
    const t = this.tables.get(key(dataset, name));
    if (!t) throw new Error(`double.write: no table ${dataset}.${name}`);
    Object.assign(t, change);
    this.modified(t);
    return t;
  }

  /** Moves a table's lastModifiedTime forward (strictly, whatever the clock says). */
  modified(t: DoubleTable): void {
    t.lastModifiedTime = Math.max((t.lastModifiedTime ?? t.creationTime) + 1, this.opts.clock.now());
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

  // ---- jobs --------------------------------------------------------------------------------

  /** A dry-run jobs.insert: what the statement would read, without running it. */
  dryRun(sql: string): { bytes: number; schema: DoubleColumn[] } {
    this.counters.dryRuns++;
    return this.sql.dryRun(sql);
  }

  /**
   * jobs.insert: creates the job and starts it, or throws what BigQuery would answer instead
   * (invalid or duplicate id, rate limits, injected faults). `dropConnection`: the job was created
   * but the answer is to be lost.
   */
  insertJob(
    id: string | undefined,
    sql: string,
    params: RestParam[],
    labels: Record<string, string>,
    auth: { readonly caller?: readonly string[] | null; readonly denied?: DoubleError | null; readonly principal?: string | null } = {},
    maximumBytesBilled?: number,
  ): { job: JobRecord; dropConnection: boolean } {
    this.counters.inserts++;
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
    const job = this.createJob(id, sql, params, labels, fault === 'jobBackendError', auth.caller ?? null, auth.denied ?? null);
    job.principal = auth.principal ?? auth.caller?.[0] ?? null;
    if (maximumBytesBilled !== undefined) job.maximumBytesBilled = maximumBytesBilled;
    if (fault === 'unknownOutcome') {
      this.counters.serverErrors++;
      throw new DoubleError(503, 'backendError', 'The service is currently unavailable.');
    }
    return { job, dropConnection: fault === 'droppedConnection' };
  }

  mustJob(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw new DoubleError(404, 'notFound', `Not found: Job ${this.opts.project}:${this.opts.location}.${id}`);
    return job;
  }

  private takeFault(sql: string, jobId: string): FaultKind | null {
    for (const f of this.faults) {
      if ((f.times ?? 0) > 0 && (!f.match || f.match(sql, jobId))) {
        f.times = (f.times ?? 1) - 1;
        return f.kind;
      }
    }
    return null;
  }

  private createJob(id: string, sql: string, params: RestParam[], labels: Record<string, string>, failBackend: boolean, caller: readonly string[] | null, denied: DoubleError | null): JobRecord {
    const job = { id, sql, labels, params, caller, principal: null, createdWallMs: Date.now(), state: 'PENDING', bytes: 0, schema: [], rows: [], createdAt: this.opts.clock.now() } as unknown as JobRecord;
    job.done = this.execute(job, failBackend, denied);
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

  private async execute(job: JobRecord, failBackend: boolean, denied: DoubleError | null): Promise<void> {
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
      // A query job the caller may not run is created and fails with accessDenied; nothing is applied.
      if (denied) throw denied;
      const change = this.sql.interpret(job);
      // maximumBytesBilled: a query that would bill more fails without running or billing anything.
      if (job.maximumBytesBilled !== undefined && job.bytes > job.maximumBytesBilled) {
        const required = job.bytes;
        job.bytes = 0;
        job.rows = [];
        throw new DoubleError(400, 'bytesBilledLimitExceeded', `Query exceeded limit for bytes billed: ${job.maximumBytesBilled}. ${required} or higher required.`);
      }
      if (change) this.apply(job, change);
    } catch (e) {
      if (!(e instanceof DoubleError)) throw e;
      job.error = { reason: e.reason, message: e.message };
    } finally {
      job.state = 'DONE';
      job.endedAt = this.opts.clock.now();
      this.releaseSlot();
    }
  }

  // ---- catalogue changes -------------------------------------------------------------------

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

  private apply(job: JobRecord, { tables, change, statementType }: CatalogueChange): void {
    this.touch(tables);
    change();
    for (const k of tables) {
      const t = this.tables.get(k);
      if (t) this.modified(t);
    }
    job.statementType = statementType;
    this.applied.push({ sql: job.sql, jobId: job.id, at: this.opts.clock.now(), tables });
  }
}
