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
import { assertDistinctDatasets, BqxError } from '../../core/errors';
import { failpoint } from '../../core/failpoints';
import { assertDatasetName, assertProjectId } from '../../core/identifiers';
import type { EngineOptions } from '../../core/ports/engine';
import type { ContentFingerprint, CoverageResult, Engine, KeyStats, RunOptions, Step, StepResult } from '../../core/ports/engine';
import { CatalogReader, columnType, tableInfoFromRest } from './catalog';
import { checkCredentials, resolveIdentity, type Identity } from './credentials';
import { DEFAULT_JOB_RUNNER_OPTIONS, JobRunner, JobRunnerOptions } from './jobs';
import { assertLabels, mergeLabels } from './labels';
import { BigQueryLedgerStore } from './ledger';
import { Clock, realClock } from './limits';
import { RESOURCE_MANAGER, testPermissions } from './permissions';
import { clientTransport, makeClient, RestTransport, toApiError } from './rest';
import { QueryParameter } from './rows';
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
  /** Operations the executor may keep in flight. */
  readonly maxParallelOperations?: number;
}

export const DEFAULT_READ_BYTE_CAP = 50 * 2 ** 30;
export const DEFAULT_BACKUP_DAYS = 45;

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

export async function openBigQueryEngine(opts: EngineOptions, deps: BigQueryEngineDeps = {}): Promise<BigQueryEngine> {
  const project = assertProjectId(opts.project, '--project');
  const dataset = assertDatasetName(opts.dataset, '--dataset');
  const runnerDataset = assertDatasetName(opts.runnerDataset, '--runner-dataset');
  assertDistinctDatasets({ dataset, runnerDataset });
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
  const rest = clientTransport(client, project);
  const jobs = new JobRunner(rest, { ...DEFAULT_JOB_RUNNER_OPTIONS, ...deps.jobs, location, clock, labels: jobLabels });
  const catalog = new CatalogReader(rest, jobs, { project, dataset, location, pageSize: deps.pageSize ?? 1000 });
  const ledger = new BigQueryLedgerStore({ project, runnerDataset, location }, jobs, catalog);
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

  /** A read that scans data: dry run first, refused above the cap, and capped on the server too. */
  const boundedRead = async (kind: string, query: string, params: readonly QueryParameter[] = []) => {
    const est = await dryRun(query, params);
    if (est.bytes > byteCap) {
      throw new BqxError('READ_BYTE_CAP_EXCEEDED', `${kind} would read ${est.bytes} bytes, above the cap of ${byteCap}`, 'raise the read byte cap or read fewer columns');
    }
    const out = await jobs.run({
      jobId: `bqx_${kind}_${Date.now()}_${++readSeq}_${Math.random().toString(36).slice(2, 8)}`,
      query,
      params,
      labels: { bqx_kind: kind },
      maximumBytesBilled: Math.max(byteCap, 10 * 2 ** 20),
      readRows: true,
    });
    return out.rows;
  };

  const engine: BigQueryEngine = {
    kind: 'bigquery',
    where: { project, dataset, runnerDataset, location },
    maxParallelOperations: deps.maxParallelOperations ?? 64,
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
    getTable: (name) => catalog.getTable(name),
    datasetInfo: (d) => catalog.datasetInfo(d ?? dataset),

    async sampleNumeric(table, column, limit) {
      const info = await catalog.getTable(table);
      if (!info) throw new BqxError('TABLE_NOT_FOUND', `table ${dataset}.${table} does not exist`, 'list the dataset again');
      // Order by time where the table has it, so the sample is "the first values", not the smallest.
      const orderBy = info.columns.some((c) => c.name === 'interval_time') ? 'interval_time' : null;
      const rows = await boundedRead('sample', sql.sampleSql(loc, table, column, limit, orderBy));
      return rows.map((r) => Number(r.v));
    },

    async contentFingerprint(table): Promise<ContentFingerprint> {
      const [r] = await boundedRead('fingerprint', sql.fingerprintSql(loc, table));
      return { rows: Number(r?.row_count ?? 0), hash: String(r?.content_hash ?? '') };
    },

    async keyStats(table, key): Promise<KeyStats> {
      const [r] = await boundedRead('key_stats', sql.keyStatsSql(loc, table, key));
      return { rows: Number(r.row_count), distinctKeys: Number(r.distinct_keys), nullKeys: Number(r.null_keys) };
    },

    async columnsAgreeOnKey(a, b, key, columns) {
      const [r] = await boundedRead('columns_agree', sql.columnsAgreeSql(loc, a, b, key, columns));
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
      for (let i = 0; i < statements.length; i++) {
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

    async rowCount(table) {
      // COUNT(*) is answered from metadata (0 bytes billed) but goes through the same path.
      const [r] = await boundedRead('row_count', sql.rowCountSql(loc, table));
      return Number(r.row_count);
    },

    async nullCounts(table, columns, filter) {
      const [r] = await boundedRead('null_counts', sql.nullCountsSql(loc, table, columns, filter ?? null));
      return Object.fromEntries(columns.map((c, i) => [c, Number(r[`n${i}`])]));
    },

    async coverage(target, sources, key): Promise<CoverageResult> {
      const [r] = await boundedRead('coverage', sql.coverageSql(loc, target, sources, key));
      return { targetKeys: Number(r.target_keys), unionKeys: Number(r.union_keys), missing: Number(r.missing), extra: Number(r.extra) };
    },

    async mismatchedRows(target, source, key, mapping, filter) {
      const [r] = await boundedRead('mismatched_rows', sql.mismatchedRowsSql(loc, target, source, key, mapping, filter));
      return Number(r.mismatched);
    },

    async probe(name) {
      let schema;
      try {
        schema = (await jobs.dryRun(sql.probeSql(loc, name))).schema;
      } catch (e) {
        const err = toApiError(e);
        throw new BqxError('PROBE_FAILED', `${dataset}.${name} does not resolve: ${err.reason}: ${err.message}`, 'the view or its target is missing or a column it names is gone');
      }
      const [r] = await boundedRead('probe', sql.rowCountSql(loc, name));
      return { columns: schema.map((f) => ({ name: f.name, type: columnType(f.type) })), rows: Number(r.row_count) };
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
