/**
 * Query jobs run exactly once: client-chosen job ids, a lookup before any resubmit whose first
 * submit may have landed, backoff with jitter on rate limits and 5xx, a new id only where BigQuery
 * says the job was not created (`jobRateLimitExceeded`) or failed retryably, AIMD concurrency and
 * per-table metadata-update pacing.
 */
import { createHash } from 'crypto';
import { BqxError } from '../../core/errors';
import { assertLabels, mergeLabels } from './labels';
import { AdaptiveLimiter, backoffMs, Clock, KeyedRateLimiter } from './limits';
import { BigQueryApiError, RestTransport, toApiError } from './rest';
import { decodeRow, FieldSchema, QueryParameter, RestRow, Row } from './rows';

export const MAX_JOB_ID_LENGTH = 1024;

/**
 * Job ids may hold letters, digits, `_` and `-`, up to 1,024 characters. Anything else becomes `_`;
 * an id that had to be changed or cut keeps a hash of the original so two inputs never collide.
 */
export function sanitizeJobId(raw: string, reserve = 16): string {
  const cleaned = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  const limit = MAX_JOB_ID_LENGTH - reserve;
  if (cleaned === raw && cleaned.length <= limit && cleaned.length > 0) return cleaned;
  const digest = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return `${cleaned.slice(0, limit - 17)}_${digest}`;
}

export interface JobSpec {
  /** Base job id (sanitised here); retries that need a new id append `_r{n}`. */
  readonly jobId: string;
  readonly query: string;
  readonly params?: readonly QueryParameter[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly maximumBytesBilled?: number;
  /** Tables (`dataset.table`) whose metadata the statement updates: paced by the per-table limit. */
  readonly metadataKeys?: readonly string[];
  /** Read result rows after completion. */
  readonly readRows?: boolean;
  /**
   * Jobs that others wait on (ledger writes: every drop waits for its records) take the next free
   * concurrency slot before ordinary jobs queued earlier. Default 0.
   */
  readonly priority?: number;
  /**
   * Never switch to a new job id (lock claims: the id itself is the claim). A job-level retryable
   * failure then ends the call with an error instead of a resubmit.
   */
  readonly fixedId?: boolean;
}

export interface JobOutcome {
  readonly jobId: string;
  readonly bytesProcessed: number;
  readonly rowsAffected: number | null;
  readonly statementType: string | null;
  readonly rows: Row[];
  readonly schema: readonly FieldSchema[];
  /** Submissions that reached `jobs.insert`, including retries. */
  readonly submissions: number;
  /** Labels of the job that ran (a `duplicate` answer means someone's earlier job: whose?). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface DryRunOutcome {
  readonly bytes: number;
  readonly schema: readonly FieldSchema[];
}

export interface JobRunnerOptions {
  readonly location: string;
  readonly clock: Clock;
  readonly concurrency: { readonly initial: number; readonly min: number; readonly max: number };
  /** Per-table metadata updates allowed per window (BigQuery: 5 per 10 s). */
  readonly tableUpdatesPerWindow: number;
  readonly tableWindowMs: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  readonly maxAttempts: number;
  /** How long one jobs.getQueryResults call may wait server-side for completion. */
  readonly pollTimeoutMs: number;
  readonly pageSize: number;
  readonly random?: () => number;
  /** Labels every job carries, dry runs included (engine options `jobLabels`: the Phase 4C label). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Where a retry loop says what it waits for, once it has waited (or is about to have waited) more
   * than RETRY_NOTICE_AFTER_MS: one line per backoff step. Default: stderr, TTY or not.
   */
  readonly notice?: (line: string) => void;
}

/** A retry loop quiet longer than this looks hung: from here on each backoff step is announced. */
export const RETRY_NOTICE_AFTER_MS = 5_000;

const stderrNotice = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/**
 * p-queue priority of a job's second and later attempts: above every first attempt (spec
 * priorities are small), older arrivals first.
 */
const RETRY_PRIORITY = 2 ** 50;

/** Where one job's attempts stand, across the slots they run in. */
interface AttemptState {
  readonly base: string;
  /** Retries that needed a new job id so far (`_r{n}`). */
  suffix: number;
  submissions: number;
  attempt: number;
  readonly loop: RetryLoop;
}

/** One retry loop: what it retries, since when (clock ms), and how many waits so far. */
interface RetryLoop {
  readonly what: string;
  readonly since: number;
  waits: number;
}

export const DEFAULT_JOB_RUNNER_OPTIONS: Omit<JobRunnerOptions, 'location' | 'clock'> = {
  concurrency: { initial: 16, min: 1, max: 64 },
  tableUpdatesPerWindow: 5,
  tableWindowMs: 10_000,
  backoffBaseMs: 500,
  backoffCapMs: 32_000,
  maxAttempts: 10,
  pollTimeoutMs: 10_000,
  pageSize: 10_000,
};

interface RestJob {
  /** Not BigQuery's: the first page of rows, when the poll that saw the job complete carried it. */
  firstPage?: QueryResultsPage;
  jobReference?: { jobId?: string; projectId?: string; location?: string };
  configuration?: { query?: { query?: string }; labels?: Record<string, string> };
  status?: { state?: string; errorResult?: { reason?: string; message?: string }; errors?: { reason?: string; message?: string }[] };
  statistics?: {
    totalBytesProcessed?: string;
    query?: { totalBytesProcessed?: string; numDmlAffectedRows?: string; statementType?: string; schema?: { fields?: FieldSchema[] } };
  };
}

interface QueryResultsPage {
  jobComplete?: boolean;
  schema?: { fields?: FieldSchema[] };
  rows?: RestRow[];
  pageToken?: string;
  numDmlAffectedRows?: string;
  totalBytesProcessed?: string;
}

/** Reasons after which the same job id may be submitted again (the job was not created). */
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'quotaExceeded']);
/** Reasons a finished job can carry that say "try again", with a new id (the id is spent). */
const RETRYABLE_JOB_REASONS = new Set(['rateLimitExceeded', 'jobRateLimitExceeded', 'backendError', 'internalError', 'jobBackendError', 'jobInternalError']);

export class JobFailedError extends BqxError {
  constructor(
    readonly jobId: string,
    readonly reason: string,
    detail: string,
  ) {
    super(
      'BIGQUERY_JOB_FAILED',
      `BigQuery job ${jobId} failed: ${reason}: ${detail}`,
      reason === 'accessDenied'
        ? 'grant the runner identity the permission the message names (see the readiness check)'
        : reason === 'notFound'
          ? 'the table or dataset named in the message does not exist: re-plan against the current catalogue'
          : 'this error is permanent: fix the cause the message names and run again',
      reason === 'accessDenied' || reason === 'authError' || reason === 'quotaExceeded' ? 'UNAVAILABLE' : 'FAILURE',
    );
  }
}

export interface JobRunnerStats {
  submissions: number;
  rateLimited: number;
  jobRateLimited: number;
  unknownOutcomes: number;
  duplicates: number;
  serverErrors: number;
}

export class JobRunner {
  readonly limiter: AdaptiveLimiter;
  readonly tablePacer: KeyedRateLimiter;
  readonly stats: JobRunnerStats = { submissions: 0, rateLimited: 0, jobRateLimited: 0, unknownOutcomes: 0, duplicates: 0, serverErrors: 0 };
  private readonly random: () => number;
  /** Jobs handed to `run` so far: a job's arrival order, which its retries queue by. */
  private arrivals = 0;

  constructor(
    private readonly rest: RestTransport,
    private readonly opts: JobRunnerOptions,
  ) {
    this.limiter = new AdaptiveLimiter(opts.concurrency, opts.clock);
    this.tablePacer = new KeyedRateLimiter(opts.tableUpdatesPerWindow, opts.tableWindowMs, opts.clock, opts.notice ?? stderrNotice, RETRY_NOTICE_AFTER_MS);
    this.random = opts.random ?? Math.random;
  }

  /** Runs one statement as a job, exactly once, and returns its outcome (and rows if asked). */
  async run(spec: JobSpec): Promise<JobOutcome> {
    this.labelsOf(spec); // refused here, before any submit, when BigQuery would refuse them
    // Pacing happens before a concurrency slot is taken, so a table waiting on its metadata quota
    // never holds a slot other tables could use.
    const releases: (() => void)[] = [];
    for (const key of [...new Set(spec.metadataKeys ?? [])].sort()) releases.push(await this.tablePacer.acquire(key));
    let done: { jobId: string; job: RestJob; submissions: number };
    try {
      done = await this.runFairly(spec);
    } finally {
      releases.forEach((r) => r());
    }
    // The job is finished: reading its result takes no concurrency slot.
    return { ...(await this.outcome(done.jobId, done.job, spec.readRows === true)), submissions: done.submissions };
  }

  /**
   * The job's attempts, each in a concurrency slot. A submit refused for a rate limit (and a job that
   * failed retryably) is not on the server, so its backoff waits outside any slot, and its next
   * attempt queues ahead of every job that arrived after it (oldest first): otherwise the jobs
   * started in the slots it frees would take the quota each time it is freed, and under a
   * sustained quota a job refused early could lose every later race until its attempts ran out.
   */
  private async runFairly(spec: JobSpec): Promise<{ jobId: string; job: RestJob; submissions: number }> {
    const arrival = this.arrivals++;
    const base = sanitizeJobId(spec.jobId);
    const state: AttemptState = { base, suffix: 0, submissions: 0, attempt: 0, loop: this.loop(`BigQuery job ${base}`) };
    let priority = spec.priority ?? 0;
    for (;;) {
      const step = await this.limiter.run(() => this.attemptInSlot(spec, state), priority);
      if ('done' in step) return step.done;
      if (++state.attempt >= this.opts.maxAttempts) throw this.exhausted(state.base);
      await this.backoff(state.attempt - 1, state.loop, step.retry);
      priority = RETRY_PRIORITY - arrival;
    }
  }

  private exhausted(base: string): BqxError {
    return new BqxError(
      'BIGQUERY_RETRIES_EXHAUSTED',
      `BigQuery job ${base} did not succeed after ${this.opts.maxAttempts} attempts (rate limits or server errors)`,
      'BigQuery is overloaded or the quota is exhausted; wait and resume the run (applied work is skipped)',
    );
  }

  /**
   * Submits (again) and waits for the job, inside one slot. Returns `retry` when the job is not on
   * the server and should be submitted again after a backoff outside the slot; an answer lost on
   * the way (the job may exist) is looked up after a backoff inside the slot, since the job may be
   * running.
   */
  private async attemptInSlot(spec: JobSpec, st: AttemptState): Promise<{ done: { jobId: string; job: RestJob; submissions: number } } | { retry: string }> {
    for (; st.attempt < this.opts.maxAttempts; st.attempt++) {
      const jobId = st.suffix === 0 ? st.base : `${st.base}_r${st.suffix}`;
      const epoch = this.limiter.epoch;
      let job: RestJob;
      try {
        st.submissions++;
        this.stats.submissions++;
        job = await this.rest.call<RestJob>({ method: 'POST', path: '/jobs', body: this.jobBody(jobId, spec, false) });
      } catch (e) {
        const err = toApiError(e);
        if (err.status === 409 || err.reason === 'duplicate') {
          // Ours from an earlier submit whose answer we lost (or a resumed run): wait for it.
          this.stats.duplicates++;
          job = await this.getJob(jobId);
        } else if (err.reason === 'jobRateLimitExceeded') {
          this.stats.jobRateLimited++;
          this.limiter.onRateLimited(epoch);
          // The job was not created, so the same id stays free; a fixed id simply waits.
          if (!spec.fixedId) st.suffix++;
          return { retry: err.reason };
        } else if (RATE_LIMIT_REASONS.has(err.reason) || err.status === 429) {
          this.stats.rateLimited++;
          this.limiter.onRateLimited(epoch);
          return { retry: err.reason };
        } else if (err.outcomeUnknown) {
          // The job may exist. Never resubmit before looking: a second submit of a landed DDL
          // would fail (or, for a non-idempotent statement, apply twice).
          this.stats.unknownOutcomes++;
          if (err.status >= 500) this.stats.serverErrors++;
          await this.backoff(st.attempt, st.loop, err.reason);
          const found = await this.findJob(jobId);
          if (!found) continue;
          job = found;
        } else if (err.status === 0) {
          throw err; // never sent (a named endpoint refused it): not a failure of this job
        } else {
          throw new JobFailedError(jobId, err.reason, err.message);
        }
      }
      const done = await this.waitDone(jobId, job, spec.readRows === true);
      const failure = done.status?.errorResult;
      if (failure) {
        const reason = failure.reason ?? 'unknown';
        if (RETRYABLE_JOB_REASONS.has(reason) && !spec.fixedId) {
          if (reason === 'rateLimitExceeded' || reason === 'jobRateLimitExceeded') {
            this.stats.rateLimited++;
            this.limiter.onRateLimited(epoch);
          }
          st.suffix++;
          return { retry: reason };
        }
        throw new JobFailedError(jobId, reason, failure.message ?? '');
      }
      this.limiter.onSuccess();
      return { done: { jobId, job: done, submissions: st.submissions } };
    }
    throw this.exhausted(st.base);
  }

  /** Dry run: bytes the statement would read and its result schema. Side-effect free, so plain retries. */
  async dryRun(query: string, params: readonly QueryParameter[] = [], labels: Readonly<Record<string, string>> = { bqx_kind: 'dry_run' }): Promise<DryRunOutcome> {
    const body = this.jobBody(null, { jobId: '', query, params, labels }, true);
    const job = await this.retrying(() => this.rest.call<RestJob>({ method: 'POST', path: '/jobs', body }));
    const bytes = Number(job.statistics?.query?.totalBytesProcessed ?? job.statistics?.totalBytesProcessed ?? 0);
    return { bytes, schema: job.statistics?.query?.schema?.fields ?? [] };
  }

  /** A job's labels: the spec's, then the runner's static ones; refused before submit if BigQuery would refuse them. */
  labelsOf(spec: Pick<JobSpec, 'labels'>): Record<string, string> {
    const labels = mergeLabels(spec.labels, this.opts.labels);
    assertLabels(labels, 'job labels');
    return labels;
  }

  private jobBody(jobId: string | null, spec: Omit<JobSpec, 'jobId'> & { jobId: string }, dryRun: boolean): unknown {
    const labels = this.labelsOf(spec);
    return {
      ...(jobId ? { jobReference: { projectId: this.rest.project, jobId, location: this.opts.location } } : {}),
      configuration: {
        dryRun,
        ...(Object.keys(labels).length ? { labels } : {}),
        query: {
          query: spec.query,
          useLegacySql: false,
          ...(spec.params && spec.params.length > 0 ? { parameterMode: 'NAMED', queryParameters: spec.params } : {}),
          ...(spec.maximumBytesBilled !== undefined ? { maximumBytesBilled: String(spec.maximumBytesBilled) } : {}),
        },
      },
    };
  }

  /**
   * Polls until the job is DONE. A job whose rows are wanted is polled for its first page of them
   * (a complete job answers with it), so reading its result starts at the second page.
   */
  private async waitDone(jobId: string, job: RestJob, withRows = false): Promise<RestJob> {
    let current = job;
    let errors = 0;
    const loop = this.loop(`polling BigQuery job ${jobId}`);
    while (current.status?.state !== 'DONE') {
      try {
        const page = await this.rest.call<QueryResultsPage>({
          method: 'GET',
          path: `/queries/${encodeURIComponent(jobId)}`,
          query: { location: this.opts.location, maxResults: withRows ? this.opts.pageSize : 0, timeoutMs: this.opts.pollTimeoutMs },
        });
        errors = 0;
        if (page.jobComplete) {
          // A complete job answers getQueryResults only when it succeeded (a failed one answers
          // with its error), and the answer carries the statistics we use: no jobs.get needed.
          current = {
            ...current,
            ...(withRows ? { firstPage: page } : {}),
            status: { state: 'DONE' },
            statistics: {
              totalBytesProcessed: page.totalBytesProcessed,
              query: { ...current.statistics?.query, totalBytesProcessed: page.totalBytesProcessed, numDmlAffectedRows: page.numDmlAffectedRows },
            },
          };
        }
      } catch (e) {
        // A failed query job answers getQueryResults with its own error (any status, even 5xx),
        // so the job resource decides: finished (with or without error) or still running.
        const err = toApiError(e);
        current = await this.getJob(jobId);
        if (current.status?.state === 'DONE') break;
        if (!(err.outcomeUnknown || RATE_LIMIT_REASONS.has(err.reason))) throw new JobFailedError(jobId, err.reason, err.message);
        if (++errors >= this.opts.maxAttempts) {
          throw new BqxError('BIGQUERY_RETRIES_EXHAUSTED', `BigQuery job ${jobId}: polling failed ${errors} times (${err.reason})`, 'the job may still finish: resume the run later (applied work is skipped)');
        }
        await this.backoff(errors, loop, err.reason);
      }
    }
    return current;
  }

  private async outcome(jobId: string, job: RestJob, readRows: boolean): Promise<Omit<JobOutcome, 'submissions'>> {
    const q = job.statistics?.query;
    const base = {
      jobId,
      bytesProcessed: Number(q?.totalBytesProcessed ?? job.statistics?.totalBytesProcessed ?? 0),
      rowsAffected: q?.numDmlAffectedRows !== undefined ? Number(q.numDmlAffectedRows) : null,
      statementType: q?.statementType ?? null,
      labels: job.configuration?.labels ?? {},
    };
    if (!readRows) return { ...base, rows: [], schema: q?.schema?.fields ?? [] };
    const rows: Row[] = [];
    let schema: readonly FieldSchema[] = [];
    let pageToken: string | undefined;
    let first = job.firstPage;
    do {
      const page =
        first ??
        (await this.retrying(() =>
          this.rest.call<QueryResultsPage>({
            method: 'GET',
            path: `/queries/${encodeURIComponent(jobId)}`,
            query: { location: this.opts.location, maxResults: this.opts.pageSize, pageToken },
          }),
        ));
      first = undefined;
      schema = page.schema?.fields ?? schema;
      for (const r of page.rows ?? []) rows.push(decodeRow(schema, r));
      pageToken = page.pageToken || undefined;
    } while (pageToken);
    return { ...base, rows, schema };
  }

  private async getJob(jobId: string): Promise<RestJob> {
    const job = await this.findJob(jobId);
    if (!job) throw new JobFailedError(jobId, 'notFound', 'jobs.get found no job with this id although jobs.insert said it exists');
    return job;
  }

  /** jobs.get; null on 404. Retries its own transient errors (it is a read). */
  private async findJob(jobId: string): Promise<RestJob | null> {
    try {
      return await this.retrying(() =>
        this.rest.call<RestJob>({ method: 'GET', path: `/jobs/${encodeURIComponent(jobId)}`, query: { location: this.opts.location } }),
      );
    } catch (e) {
      if (e instanceof BigQueryApiError && (e.status === 404 || e.reason === 'notFound')) return null;
      throw e;
    }
  }

  /** Retries an idempotent call on rate limits, 5xx and network errors; `what` names it in waiting notices. */
  async retrying<T>(fn: () => Promise<T>, what = 'a BigQuery API call'): Promise<T> {
    let last: BigQueryApiError | null = null;
    const loop = this.loop(what);
    for (let attempt = 0; attempt < this.opts.maxAttempts; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const err = toApiError(e);
        if (!(err.outcomeUnknown || RATE_LIMIT_REASONS.has(err.reason) || err.status === 429)) throw err;
        if (err.status >= 500) this.stats.serverErrors++;
        else if (err.status !== 0) this.stats.rateLimited++;
        last = err;
        await this.backoff(attempt, loop, err.reason);
      }
    }
    throw new BqxError('BIGQUERY_RETRIES_EXHAUSTED', `BigQuery kept failing: ${last?.reason}: ${last?.message}`, 'BigQuery (or the network to it) kept failing: wait and run the same command again; finished work is recognised', 'UNAVAILABLE');
  }

  private loop(what: string): RetryLoop {
    return { what, since: this.opts.clock.now(), waits: 0 };
  }

  /** Waits before retry `attempt + 1`; says so on stderr once the loop has waited more than a few seconds. */
  private backoff(attempt: number, loop: RetryLoop, reason: string): Promise<void> {
    const ms = backoffMs(attempt, this.opts.backoffBaseMs, this.opts.backoffCapMs, this.random);
    const waited = this.opts.clock.now() - loop.since;
    loop.waits++;
    if (waited + ms > RETRY_NOTICE_AFTER_MS) {
      const s = (n: number) => `${(n / 1000).toFixed(1)} s`;
      (this.opts.notice ?? stderrNotice)(`bqx: waiting for ${loop.what} (${reason}): ${s(waited)} so far, retry ${loop.waits} of at most ${this.opts.maxAttempts} in ${s(ms)}`);
    }
    return this.opts.clock.sleep(ms);
  }
}
