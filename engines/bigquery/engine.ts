/**
 * The BigQuery engine: the Engine interface on @google-cloud/bigquery (REST v2).
 *
 * Package choice: @google-cloud/bigquery ^8.3.1, because 9.x declares Node >= 22 and this project
 * runs on Node 20.20 (8.x declares Node >= 18). Authentication is Application Default Credentials,
 * or an impersonated service account (`impersonateServiceAccount`); `--api-endpoint` (or env
 * BQX_BIGQUERY_API_ENDPOINT) points the client at an emulator or the test double and only then
 * replaces ADC with a fixed test token (`accessToken`, env BQX_BIGQUERY_ACCESS_TOKEN; see
 * credentials.ts `resolveIdentity`). Every job carries the options' `jobLabels` (labels.ts).
 */
import { assertDistinctDatasets, assertNotReserved, BqxError, valueOrError } from '../../core/errors';
import { failpoint } from '../../core/failpoints';
import { assertDatasetName, assertProjectId } from '../../core/identifiers';
import type { BigQueryEngineOptions } from '../../core/ports/engine';
import type { Column, TableInfo } from '../../core/catalogue';
import type { ContentFingerprint, CoverageResult, Engine, KeyStats, ReadResults, RunOptions, Step, StepResult } from '../../core/ports/engine';
import { CatalogReader, columnType, kindOf, tableInfoFromRest, type RestTable } from './catalog';
import { checkCredentials, resolveIdentity, type Identity } from './credentials';
import { DEFAULT_JOB_RUNNER_OPTIONS, JobRunner, JobRunnerOptions } from './jobs';
import { assertLabels, mergeLabels } from './labels';
import { BigQueryLedgerStore } from './ledger';
import { jobHistorySource, jobReads, jobsParams, jobsSql } from './job-history';
import { Clock, realClock } from './limits';
import { ReadFuser } from './fuse';
import { fingerprintSignature, plainTable, TableMetadata } from './metadata';
import { RESOURCE_MANAGER, testPermissions } from './permissions';
import { clientTransport, makeClient, RestTransport, toApiError } from './rest';
import { QueryParameter, type Row } from './rows';
import * as sql from './sql';

export interface BigQueryEngineDeps {
  /** Time source for backoff, pacing and polling (tests and the bench inject a scaled clock). */
  readonly clock?: Clock;
  readonly jobs?: Partial<Omit<JobRunnerOptions, 'location' | 'clock'>>;
  /** tables.list page size. */
  readonly pageSize?: number;
  /** Largest number of bytes one validation/sampling read may scan (dry run first, then a hard cap). */
  readonly readByteCap?: number;
  /** How long backups (snapshots) are kept before BigQuery expires them. */
  readonly backupDays?: number;
  readonly now?: () => Date;
  /** Most one-row reads issued together that share one query job (default 16; 1: each its own job). */
  readonly fusedReads?: number;
  /** How long a one-row read waits for others to share its job (clock ms, default FUSE_GATHER_MS; 0: the same event-loop turn only). */
  readonly fuseGatherMs?: number;
  /** Operations the executor may keep in flight (default twice the job concurrency maximum). */
  readonly maxParallelOperations?: number;
  /** Where retry loops say what they wait for once they have waited long (default: stderr). */
  readonly notice?: (line: string) => void;
}

export const DEFAULT_READ_BYTE_CAP = 50 * 2 ** 30;
/** How long a content fingerprint may answer again while its table is unchanged (BigQuery's own result cache lifetime). */
export const FINGERPRINT_REUSE_MS = 24 * 3_600_000;
export const DEFAULT_BACKUP_DAYS = 45;
/** A fraction of a read job's own latency (~0.5 s or more): long enough for the gates running beside one another to share jobs. */
export const FUSE_GATHER_MS = 200;

export type BigQueryEngine = Engine & {
  readonly kind: 'bigquery';
  readonly rest: RestTransport;
  readonly jobs: JobRunner;
  readonly catalog: CatalogReader;
  readonly ledger: BigQueryLedgerStore;
  /** Who the engine acts as (ADC, an impersonated service account, or a test endpoint's token). */
  readonly identity: Identity;
  testPermissions: NonNullable<Engine['testPermissions']>;
};

const httpUrl = (flag: string, url: string | undefined): string | undefined => {
  if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url)) throw new BqxError('BAD_OPTION', `${flag} ${url} is not an http(s) URL`, `e.g. ${flag} http://127.0.0.1:9050`);
  return url;
};

export async function openBigQueryEngine(opts: BigQueryEngineOptions, deps: BigQueryEngineDeps = {}): Promise<BigQueryEngine> {
  const project = assertProjectId(opts.project, '--project');
  // BigQuery's dataset names are case-sensitive; INFORMATION_SCHEMA is its own (any case).
  const dataset = assertNotReserved(assertDatasetName(opts.dataset, '--dataset'), '--dataset', ['INFORMATION_SCHEMA']);
  const runnerDataset = assertNotReserved(assertDatasetName(opts.runnerDataset, '--runner-dataset'), '--runner-dataset', ['INFORMATION_SCHEMA']);
  assertDistinctDatasets({ dataset, runnerDataset }, 'sensitive');
  const apiEndpoint = httpUrl('--api-endpoint', opts.apiEndpoint ?? process.env.BQX_BIGQUERY_API_ENDPOINT ?? undefined);
  // The other Google APIs (Resource Manager, IAM Credentials) go to a test endpoint only together
  // with a test BigQuery endpoint: real credentials never go to a test URL, nor test tokens to Google.
  const googleApiEndpoint = apiEndpoint === undefined ? undefined : httpUrl('--google-api-endpoint', opts.googleApiEndpoint ?? process.env.BQX_GOOGLE_API_ENDPOINT ?? undefined);
  const jobLabels = assertLabels(opts.jobLabels ?? {}, 'engine job labels', 'BAD_OPTION');
  if (apiEndpoint === undefined && opts.accessToken !== undefined) {
    throw new BqxError('BAD_OPTION', 'a fixed access token is only for a test endpoint', 'pass --api-endpoint for a test double, or drop the token to use Application Default Credentials');
  }
  if (apiEndpoint === undefined) await checkCredentials();
  const identity = await resolveIdentity({ testEndpoint: apiEndpoint !== undefined, accessToken: opts.accessToken, impersonate: opts.impersonateServiceAccount, iamEndpoint: googleApiEndpoint });
  const location = opts.location;
  const clock = deps.clock ?? realClock;
  const now = deps.now ?? (() => new Date());
  const client = makeClient({ project, location, apiEndpoint, authClient: identity.authClient });
  const rest = clientTransport(client, project, apiEndpoint);
  const jobOptions = { ...DEFAULT_JOB_RUNNER_OPTIONS, ...deps.jobs, location, clock, labels: jobLabels, notice: deps.notice };
  const jobs = new JobRunner(rest, jobOptions);
  const catalog = new CatalogReader(rest, jobs, { project, dataset, location, pageSize: deps.pageSize ?? 1000 });
  const ledger = new BigQueryLedgerStore({ project, runnerDataset, location }, jobs, catalog, () => clock.now());
  const loc: sql.SqlLocation = { project, dataset, runnerDataset };
  const byteCap = deps.readByteCap ?? DEFAULT_READ_BYTE_CAP;
  const backupDays = deps.backupDays ?? DEFAULT_BACKUP_DAYS;
  const renderOpts: sql.RenderOptions = { now, backupExpiresAt: (d) => new Date(d.getTime() + backupDays * 86_400_000) };
  let readSeq = 0;

  const dryRun = async (query: string, params: readonly QueryParameter[] = []) => {
    try {
      return await jobs.dryRun(query, params);
    } catch (e) {
      if (e instanceof BqxError) throw e;
      const err = toApiError(e);
      throw new BqxError('BIGQUERY_DRY_RUN_FAILED', `dry run failed: ${err.reason}: ${err.message}`, 'the statement does not resolve against the warehouse as it is now');
    }
  };

  const meta = new TableMetadata(catalog, clock, dataset);
  const maximumBytesBilled = Math.max(byteCap, 10 * 2 ** 20);

  const runRead = async (kind: string, query: string, params: readonly QueryParameter[]) =>
    (
      await jobs.run({
        jobId: `bqx_${kind}_${Date.now()}_${++readSeq}_${Math.random().toString(36).slice(2, 8)}`,
        query,
        params,
        labels: { bqx_kind: kind },
        maximumBytesBilled,
        readRows: true,
      })
    ).rows;

  const fuser = new ReadFuser({
    byteCap,
    maxParts: Math.max(1, deps.fusedReads ?? 16),
    gatherMs: deps.fuseGatherMs ?? FUSE_GATHER_MS,
    sleep: (ms) => clock.sleep(ms),
    alone: (r) => runRead(r.kind, r.query, []),
    async together(reads) {
      const [row] = await runRead('fused_read', sql.fusedReadSql(reads.map((r) => r.query)), []);
      return reads.map((_, i) => {
        const v = row?.[`r${i}`];
        const one = v === null || v === undefined ? null : (JSON.parse(String(v)) as Row | null);
        return one === null ? [] : [one];
      });
    },
  });

  /**
   * A read that scans data, refused above the byte cap before it runs: from metadata when its size
   * is known there (`exact`: it reads these bytes; `within`: it reads only these tables of the
   * dataset, so at most their bytes), else from a dry run. The job carries maximumBytesBilled too,
   * so BigQuery refuses it before it runs should the metadata be outdated.
   */
  const boundedRead = async (kind: string, query: string, params: readonly QueryParameter[] = [], size: { exact?: number; within?: readonly string[] } = {}, oneRow = false) => {
    const bound = size.exact ?? (size.within ? await meta.bytesBound(size.within) : null);
    if (size.exact !== undefined && size.exact > byteCap) {
      throw new BqxError('READ_BYTE_CAP_EXCEEDED', `${kind} would read ${size.exact} bytes, above the cap of ${byteCap}`, 'raise the read byte cap or read fewer columns');
    }
    if (bound === null || bound > byteCap) {
      // Unknown, or the tables are bigger than the cap: the dry run says what the read really scans.
      const est = await dryRun(query, params);
      if (est.bytes > byteCap) {
        throw new BqxError('READ_BYTE_CAP_EXCEEDED', `${kind} would read ${est.bytes} bytes, above the cap of ${byteCap}`, 'raise the read byte cap or read fewer columns');
      }
    }
    // A one-row read whose size metadata bounds may share a job with reads issued together.
    if (oneRow && params.length === 0 && bound !== null && bound <= byteCap) return fuser.read({ kind, query, bound });
    return runRead(kind, query, params);
  };

  /**
   * Content fingerprints this engine read, with the table's metadata signature taken before the
   * read. While tables.get shows the same signature (no write since: the condition under which
   * BigQuery serves a cached result) the fingerprint answers a validation read of the same table
   * again; any change, or a streaming buffer, and the table is read again.
   */
  const fingerprints = new Map<string, { signature: string; at: number; fp: ContentFingerprint }>();

  const readFingerprint = async (table: string, before?: RestTable | null): Promise<ContentFingerprint> => {
    const t = before === undefined ? await meta.recent(table) : before;
    const signature = fingerprintSignature(t);
    // A fingerprint reads every column of every row: exactly the table's logical bytes.
    const [r] = await boundedRead('fingerprint', sql.fingerprintSql(loc, table), [], plainTable(t) ? { exact: Number(t.numBytes ?? 0) } : {}, true);
    const fp = { rows: Number(r?.row_count ?? 0), hash: String(r?.content_hash ?? '') };
    if (signature) fingerprints.set(table, { signature, at: clock.now(), fp });
    else fingerprints.delete(table);
    return fp;
  };

  /** A fingerprint this engine read while the table is unchanged since, else a read. */
  const fingerprintNow = async (table: string, now: RestTable | null): Promise<ContentFingerprint> => {
    const known = fingerprints.get(table);
    const signature = fingerprintSignature(now);
    if (known && signature === known.signature && clock.now() - known.at < FINGERPRINT_REUSE_MS) return known.fp;
    return readFingerprint(table, now);
  };

  /** COUNT(*): a plain table's numRows; otherwise (a view, a streaming buffer) the read itself. */
  const rowCountOf = async (table: string, t: RestTable | null): Promise<number> => {
    if (plainTable(t)) return Number(t.numRows ?? 0);
    const [r] = await boundedRead('row_count', sql.rowCountSql(loc, table), [], {}, true);
    return Number(r.row_count);
  };

  type Get = (name: string, dataset?: string) => Promise<RestTable | null>;

  /**
   * A view resolves (dry run of SELECT *: free, no job slot; it fails when the target or a column is
   * gone) with these columns, and has these rows: for a compatibility view without a filter, read
   * back from its stored query, its target's numRows; otherwise COUNT(*) through the view.
   */
  const probeOf = async (name: string, get: Get): Promise<{ columns: Column[]; rows: number }> => {
    let schema;
    try {
      schema = (await jobs.dryRun(sql.probeSql(loc, name))).schema;
    } catch (e) {
      const err = toApiError(e);
      throw new BqxError('PROBE_FAILED', `${dataset}.${name} does not resolve: ${err.reason}: ${err.message}`, 'the view or its target is missing or a column it names is gone');
    }
    const columns = schema.map((f) => ({ name: f.name, type: columnType(f.type) }));
    const v = await get(name);
    const shape = v && kindOf(v.type) === 'VIEW' ? sql.viewShape(v.view?.query) : null;
    const local = shape !== null && shape.project === project && shape.dataset === dataset;
    if (local && shape.filter === null) {
      const target = await get(shape.table);
      if (plainTable(target)) return { columns, rows: Number(target.numRows ?? 0) };
    }
    const within = local ? [shape.table] : plainTable(v) ? [name] : undefined;
    const [r] = await boundedRead('probe', sql.rowCountSql(loc, name), [], { within }, true);
    return { columns, rows: Number(r.row_count) };
  };


  const engine: BigQueryEngine = {
    kind: 'bigquery',
    where: { project, dataset, runnerDataset, location },
    // Twice the jobs the limiter may run at once: an operation spends about half its time outside
    // jobs (metadata calls, waiting for its ledger records before a drop), so this many keep the
    // limiter's slots busy. How many jobs really run is still the limiter's decision, and the
    // executor's batch window (apply.ts), not this number, bounds what a halt lets finish.
    maxParallelOperations: deps.maxParallelOperations ?? 2 * jobOptions.concurrency.max,
    // Anyone with access can change the dataset while a run holds the runner's lock.
    soleWriter: false,
    rest,
    jobs,
    catalog,
    ledger,
    identity,

    listTables: () => catalog.listTables(),
    testPermissions: (scope, permissions, o) =>
      testPermissions(
        { project, dataset, runnerDataset, rest, jobs, identity, resourceManager: apiEndpoint === undefined ? RESOURCE_MANAGER : (googleApiEndpoint ?? null) },
        scope,
        permissions,
        o,
      ),
    async getBackup(backupName) {
      const t = await catalog.getRestTable(backupName, runnerDataset);
      return t ? tableInfoFromRest(backupName, t) : null;
    },
    async listRunnerTables() {
      if (!(await catalog.datasetInfo(runnerDataset)).exists) return [];
      return (await catalog.listTableItems(runnerDataset)).map((t) => t.tableReference?.tableId ?? '').filter(Boolean).sort();
    },
    async getTable(name) {
      const t = await meta.fresh(name);
      return t ? tableInfoFromRest(name, t) : null;
    },
    datasetInfo: (d) => catalog.datasetInfo(d ?? dataset),

    async sampleNumeric(table, column, limit) {
      const info = await engine.getTable(table);
      if (!info) throw new BqxError('TABLE_NOT_FOUND', `table ${dataset}.${table} does not exist`, 'list the dataset again');
      // Order by time where the table has it, so the sample is "the first values", not the smallest.
      const orderBy = info.columns.some((c) => c.name === 'interval_time') ? 'interval_time' : null;
      const rows = await boundedRead('sample', sql.sampleSql(loc, table, column, limit, orderBy), [], { within: [table] });
      return rows.map((r) => Number(r.v));
    },

    // Always a read (a gate's fingerprint is one); validation reads go through readMany.
    contentFingerprint: (table) => readFingerprint(table),

    async keyStats(table, key): Promise<KeyStats> {
      const [r] = await boundedRead('key_stats', sql.keyStatsSql(loc, table, key), [], { within: [table] }, true);
      return { rows: Number(r.row_count), distinctKeys: Number(r.distinct_keys), nullKeys: Number(r.null_keys) };
    },

    async columnsAgreeOnKey(a, b, key, columns) {
      const [r] = await boundedRead('columns_agree', sql.columnsAgreeSql(loc, a, b, key, columns), [], { within: [a, b] }, true);
      return Object.fromEntries(columns.map((c, i) => [c, r[`c${i}`] === true]));
    },

    render: (step: Step) => sql.renderStep(loc, step, renderOpts),

    async estimateBytes(step: Step): Promise<number> {
      if (!sql.readsData(step)) return 0;
      let total = 0;
      for (const statement of sql.renderStep(loc, step, renderOpts)) total += (await dryRun(statement)).bytes;
      return total;
    },

    async run(step: Step, runOpts: RunOptions): Promise<StepResult> {
      if (!runOpts.jobId) throw new BqxError('BAD_INPUT', `run ${step.kind}: no job id`, 'the executor derives job ids from operation ids');
      const stepLabels = assertLabels(runOpts.labels ?? {}, `run ${step.kind}: step labels`);
      const statements = sql.renderStep(loc, step, renderOpts);
      let bytes = 0;
      let rows: number | null = null;
      let jobId: string | null = null;
      // What this step changes is read afresh next time (byte bounds, fingerprints).
      const names = sql.stepNames(loc, step);
      const touched = [...names.creates, ...names.removes];
      for (let i = 0; i < statements.length; i++) {
        meta.forget(touched);
        for (const k of touched) if (k.startsWith(`${dataset}.`)) fingerprints.delete(k.slice(dataset.length + 1));
        const out = await jobs.run({
          jobId: statements.length === 1 ? runOpts.jobId : `${runOpts.jobId}_s${i}`,
          query: statements[i],
          labels: mergeLabels({ bqx_kind: 'step', bqx_step: step.kind.toLowerCase() }, stepLabels),
          metadataKeys: sql.metadataKeys(loc, step),
        });
        bytes += out.bytesProcessed;
        rows = out.rowsAffected ?? rows;
        jobId = out.jobId;
      }
      meta.forget(touched);
      await failpoint('engine.after-step');
      await failpoint(`engine.after.${step.kind.toLowerCase().replace(/_/g, '-')}`);
      return { jobId, bytesProcessed: bytes, rowsAffected: rows };
    },

    async rehearse(steps) {
      const created = new Set<string>();
      const removed = new Set<string>();
      let statements = 0;
      let deferred = 0;
      for (const step of steps) {
        const io = sql.stepNames(loc, step);
        const rendered = sql.renderStep(loc, step, renderOpts);
        if (io.reads.some((n) => created.has(n) || removed.has(n)) || io.creates.some((n) => removed.has(n))) deferred += rendered.length;
        else {
          for (const statement of rendered) await dryRun(statement);
          statements += rendered.length;
        }
        io.creates.forEach((n) => (created.add(n), removed.delete(n)));
        io.removes.forEach((n) => (removed.add(n), created.delete(n)));
      }
      return { statements, deferred };
    },

    rowCount: async (table) => rowCountOf(table, await meta.fresh(table)),

    async nullCounts(table, columns, filter) {
      const [r] = await boundedRead('null_counts', sql.nullCountsSql(loc, table, columns, filter ?? null), [], { within: [table] }, true);
      return Object.fromEntries(columns.map((c, i) => [c, Number(r[`n${i}`])]));
    },

    async coverage(target, sources, key): Promise<CoverageResult> {
      const [r] = await boundedRead('coverage', sql.coverageSql(loc, target, sources, key), [], { within: [target, ...sources] }, true);
      return { targetKeys: Number(r.target_keys), unionKeys: Number(r.union_keys), missing: Number(r.missing), extra: Number(r.extra) };
    },

    async mismatchedRows(target, source, key, mapping, filter) {
      const [r] = await boundedRead('mismatched_rows', sql.mismatchedRowsSql(loc, target, source, key, mapping, filter), [], { within: [target, source] }, true);
      return Number(r.mismatched);
    },

    probe: (name) => probeOf(name, (n, d) => meta.fresh(n, d)),

    /**
     * Validation reads of a batch at once, each from metadata where metadata proves the same thing
     * (one tables.get per name for the whole call): tables, row counts of plain tables, view
     * probes (a dry run for resolution and columns, rows from the target's metadata), and
     * fingerprints this engine read while the table has not changed since; everything else is
     * the single read, so each answer is what that read returns, or the error it throws.
     */
    async readMany(req): Promise<ReadResults> {
      const calls = new Map<string, Promise<RestTable | null>>();
      const get: Get = (n, d = dataset) => {
        const k = `${d}.${n}`;
        let p = calls.get(k);
        if (!p) {
          p = meta.fresh(n, d);
          calls.set(k, p);
        }
        return p;
      };
      const tables = new Map<string, TableInfo | null | Error>();
      const rowCounts = new Map<string, number | Error>();
      const fps = new Map<string, ContentFingerprint | Error>();
      const probes = new Map<string, { columns: Column[]; rows: number } | Error>();
      // Every table's metadata first: the reads that follow are then issued in one turn of the event
      // loop, so the one-row ones share jobs (ReadFuser) instead of each waiting for its own tables.get.
      await Promise.all([...req.tables ?? [], ...req.rowCounts, ...req.fingerprints].map((n) => get(n).catch(() => undefined)));
      await Promise.all([
        ...(req.tables ?? []).map(async (n) => tables.set(n, await valueOrError(async () => {
          const t = await get(n);
          return t ? tableInfoFromRest(n, t) : null;
        }))),
        ...req.rowCounts.map(async (n) => rowCounts.set(n, await valueOrError(async () => rowCountOf(n, await get(n))))),
        ...req.fingerprints.map(async (n) => fps.set(n, await valueOrError(async () => fingerprintNow(n, await get(n))))),
        ...req.probes.map(async (n) => probes.set(n, await valueOrError(() => probeOf(n, get)))),
      ]);
      return { rowCounts, fingerprints: fps, probes, tables };
    },

    async jobHistory(since, names) {
      const rows = await runRead('usage_jobs', jobsSql(project, location), jobsParams(project, dataset, since, names));
      return { jobs: jobReads(rows), ...jobHistorySource(project, location) };
    },
    async close() {
      try {
        await engine.ledger.flush();
      } finally {
        await jobs.limiter.onIdle();
      }
    },
  };
  return engine;
}
