/** Vocabulary shared by the double's modules: catalogue, job and fault shapes, options, table keys and the REST error. */
import type { Clock } from '../../../engines/bigquery/limits';

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
  /**
   * When the table's data or metadata last changed (tables.get `lastModifiedTime`): set at creation
   * and moved forward by every change the double applies (DDL, DML) and by `DoubleModel.write`.
   */
  lastModifiedTime?: number;
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

/** What `addTable` needs; everything else has a default. */
export type NewTable = Partial<DoubleTable> & { dataset: string; name: string; columns: DoubleColumn[] };

export interface DoubleDataset {
  location: string;
  defaultTableExpirationMs: number | null;
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
  /**
   * Simulated milliseconds each REST call takes before the double acts on it (its round trip);
   * default none. `call` names the API method (`jobs.insert`, `jobs.insert:dryRun`,
   * `jobs.getQueryResults`, `jobs.get`, `tables.get`, `tables.list`, `datasets.get`, …).
   */
  readonly apiLatency?: (call: string) => number;
  /**
   * Wraps every wait of a request handler on simulated time (a long poll, an API latency), so a
   * discrete-event clock (testing/bigquery/virtual-clock.ts) knows the request is parked on time.
   */
  readonly park?: <T>(wait: Promise<T>) => Promise<T>;
  /** Share of jobs.insert calls answered with rateLimitExceeded at random. */
  readonly rateLimitShare?: number;
  readonly seed?: number;
}

/** A query parameter as jobs.insert carries it. */
export interface RestParam {
  name: string;
  parameterType: { type: string; arrayType?: { type: string; structTypes?: { name: string; type: { type: string } }[] } };
  parameterValue: { value?: string | null; arrayValues?: { value?: string | null; structValues?: Record<string, { value?: string | null }> }[] };
}

export interface JobRecord {
  id: string;
  sql: string;
  labels: Record<string, string>;
  /** The members of the identity that created it (null: the double enforces no IAM). */
  caller: readonly string[] | null;
  /** Who ran it as INFORMATION_SCHEMA.JOBS names it (user_email): the caller, or without IAM the bearer token. */
  principal: string | null;
  /** Wall-clock ms of its creation (the JOBS view's creation_time). */
  createdWallMs: number;
  /** Tables and views the query named, once it ran (the JOBS view's referenced_tables). */
  referencedTables?: { dataset: string; name: string }[];
  params: RestParam[];
  state: 'PENDING' | 'RUNNING' | 'DONE';
  error?: { reason: string; message: string };
  bytes: number;
  /** The job's maximumBytesBilled, when it set one. */
  maximumBytesBilled?: number;
  dmlRows?: number;
  statementType?: string;
  schema: DoubleColumn[];
  rows: Record<string, unknown>[];
  done: Promise<void>;
  createdAt: number;
  startedAt?: number;
  endedAt?: number;
}

/** An error answered the way BigQuery answers it: HTTP status and reason. */
export class DoubleError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const datasetNotFound = (project: string, dataset: string): DoubleError => new DoubleError(404, 'notFound', `Not found: Dataset ${project}:${dataset}`);

/** The catalogue's key of a table. */
export const key = (dataset: string, name: string) => `${dataset}.${name}`;

/** One jobs.insert the double received (dry runs and refused ones included), for tests. */
export interface InsertRecord {
  readonly jobId: string | null;
  readonly sql: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly dryRun: boolean;
  /** The caller's first member (its principal); null without IAM. */
  readonly principal: string | null;
  /** `accepted` (dry run answered, or job created), else the error reason answered or the job failed with. */
  outcome: string;
}
