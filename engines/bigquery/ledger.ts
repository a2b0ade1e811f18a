/**
 * Ledger, run records and lock events in the runner's own dataset, append-only.
 *
 * Writes are DML `INSERT … SELECT … FROM UNNEST(@rows)` jobs, not streaming inserts: a DML insert
 * is durable and visible to the next query when its job is DONE (the streaming buffer is not, and
 * its insertId de-duplication is best effort), and the job id makes a retried write exactly-once.
 * To stay far below BigQuery's DML queueing limits per table, concurrent appends are coalesced:
 * at most MAX_INSERTS_IN_FLIGHT INSERTs per table are in flight, and every append waiting behind
 * them goes into the next one. An append resolves only when its rows are committed.
 *
 * The lock is a compare-and-append. BigQuery accepts one job per job id and project, so the
 * INSERT claiming lock seq N runs under the job id `bqx_lock_{dataset}_{lock}_{epoch}_{N}`: of two
 * runners racing for N exactly one jobs.insert is accepted, the other gets `duplicate` and finds a
 * job carrying someone else's claim label. The statement's own guard (newest seq = N − 1) turns a
 * stale expectation into an insert of zero rows. `epoch` is the lock table's creation time, so a
 * re-created runner dataset does not collide with job ids of its previous life.
 */
import { BqxError } from '../../core/errors';
import { failpoint } from '../../core/failpoints';
import { assertDatasetName, assertProjectId } from '../../core/identifiers';
import { sha256 } from '../../core/plan/hash';
import type { LedgerRecord, LedgerStore, LockEvent, RunRecord } from '../../core/ledger/types';
import type { CatalogReader } from './catalog';
import type { JobRunner } from './jobs';
import { fingerprintSignature } from './metadata';
import { Row, rowsParam, scalarParam, ScalarType } from './rows';

export const LEDGER_TABLES = { ledger: 'ledger', runs: 'runs', lock: 'lock_events' } as const;

type ColumnDef = { readonly name: string; readonly type: ScalarType; readonly required?: boolean };

export const LEDGER_COLUMNS: readonly ColumnDef[] = [
  { name: 'run_id', type: 'STRING', required: true },
  { name: 'plan_hash', type: 'STRING', required: true },
  { name: 'operation_id', type: 'STRING', required: true },
  { name: 'seq', type: 'INT64', required: true },
  { name: 'action', type: 'STRING', required: true },
  { name: 'state', type: 'STRING', required: true },
  { name: 'reason', type: 'STRING', required: true },
  { name: 'detail', type: 'STRING' },
  { name: 'attempt', type: 'INT64', required: true },
  { name: 'bytes', type: 'INT64', required: true },
  { name: 'rows', type: 'INT64' },
  { name: 'job_id', type: 'STRING' },
  { name: 'at', type: 'TIMESTAMP', required: true },
];

export const RUN_COLUMNS: readonly ColumnDef[] = [
  { name: 'run_id', type: 'STRING', required: true },
  { name: 'plan_hash', type: 'STRING', required: true },
  { name: 'mode', type: 'STRING', required: true },
  { name: 'event', type: 'STRING', required: true },
  { name: 'status', type: 'STRING' },
  { name: 'summary', type: 'STRING' },
  { name: 'at', type: 'TIMESTAMP', required: true },
];

export const LOCK_COLUMNS: readonly ColumnDef[] = [
  { name: 'lock_name', type: 'STRING', required: true },
  { name: 'seq', type: 'INT64', required: true },
  { name: 'event', type: 'STRING', required: true },
  { name: 'run_id', type: 'STRING', required: true },
  { name: 'holder', type: 'STRING', required: true },
  { name: 'expires_at', type: 'TIMESTAMP', required: true },
  { name: 'detail', type: 'STRING' },
  { name: 'at', type: 'TIMESTAMP', required: true },
];

export const MAX_ROWS_PER_INSERT = 500;

export interface LedgerLocation {
  readonly project: string;
  readonly runnerDataset: string;
  readonly location: string;
}

function tableRef(loc: LedgerLocation, table: string): string {
  assertProjectId(loc.project, 'project');
  assertDatasetName(loc.runnerDataset, 'runner dataset');
  return `\`${loc.project}.${loc.runnerDataset}.${table}\``;
}

const sqlType = (t: ScalarType) => t;
/** Column names are quoted: `rows` and `at` are reserved words in GoogleSQL. */
const q = (c: string) => `\`${c}\``;

export function createTableSql(loc: LedgerLocation, table: string, columns: readonly ColumnDef[], clusterBy: string): string {
  const cols = columns.map((c) => `${q(c.name)} ${sqlType(c.type)}${c.required ? ' NOT NULL' : ''}`).join(', ');
  return `CREATE TABLE IF NOT EXISTS ${tableRef(loc, table)} (${cols}) CLUSTER BY ${clusterBy.split(', ').map(q).join(', ')}`;
}

export function createSchemaSql(loc: LedgerLocation): string {
  if (!/^[A-Za-z0-9-]+$/.test(loc.location)) throw new BqxError('BAD_OPTION', `--location ${loc.location} is not a BigQuery location`, 'use e.g. us-central1');
  assertProjectId(loc.project, 'project');
  assertDatasetName(loc.runnerDataset, 'runner dataset');
  return `CREATE SCHEMA IF NOT EXISTS \`${loc.project}.${loc.runnerDataset}\` OPTIONS (location = '${loc.location}', description = 'bqx migration ledger, lock and backups')`;
}

export function insertSql(loc: LedgerLocation, table: string, columns: readonly ColumnDef[]): string {
  const names = columns.map((c) => q(c.name)).join(', ');
  return `INSERT INTO ${tableRef(loc, table)} (${names}) SELECT ${names} FROM UNNEST(@rows)`;
}

const ts = (c: string) => `FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', ${q(c)}) AS ${q(c)}`;

export function selectSql(loc: LedgerLocation, table: string, columns: readonly ColumnDef[], where: string, order: string): string {
  const list = columns.map((c) => (c.type === 'TIMESTAMP' ? ts(c.name) : q(c.name))).join(', ');
  return `SELECT ${list} FROM ${tableRef(loc, table)}${where ? ` WHERE ${where}` : ''} ORDER BY ${order}`;
}

export function lockInsertSql(loc: LedgerLocation): string {
  const t = tableRef(loc, LEDGER_TABLES.lock);
  return (
    `INSERT INTO ${t} (${LOCK_COLUMNS.map((c) => q(c.name)).join(', ')}) ` +
    `SELECT ${LOCK_COLUMNS.map((c) => `@${c.name}`).join(', ')} FROM (SELECT 1) ` +
    `WHERE (SELECT IFNULL(MAX(\`seq\`), 0) FROM ${t} WHERE \`lock_name\` = @lock_name) = @seq - 1`
  );
}


/**
 * How long a write-behind row may wait for company before the next append sends it (clock ms).
 * Rows written behind are sent when someone needs them durable (settle, flush: a drop, a batch's
 * end, a run record), when MAX_ROWS_PER_INSERT have gathered, or when the oldest has waited this
 * long: not one INSERT after another as long as rows keep coming (each takes a job slot for ~1 s).
 */
export const WRITE_BEHIND_MS = 5_000;

/**
 * INSERTs one table's writer may have in flight. A drop waits for the INSERT carrying its backup's
 * record: with one in flight it waited for the one running to end, then for its own (~1.6 s on the
 * latency model); with a second it waits ~1.1 s. BigQuery runs the first 1,500 INSERTs a day into a
 * table at once and queues later ones 10 at a time (DML quotas), so two stay far inside both.
 */
export const MAX_INSERTS_IN_FLIGHT = 2;

/**
 * One table's append queue: at most MAX_INSERTS_IN_FLIGHT INSERTs at once, later appends ride in
 * the next one; rows appended write-behind wait for a reason to be sent (WRITE_BEHIND_MS).
 */
class CoalescingWriter {
  private pending: { rows: Row[]; behind: boolean; seq: number; at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private failure: unknown = null;
  /** Settles when the rows of every append so far are committed (or failed). */
  private tail: Promise<void> = Promise.resolve();
  private seq = 0;
  /** Every pending entry up to this seq is to be sent now (someone waits for it). */
  private wanted = 0;

  constructor(
    private readonly write: (rows: Row[]) => Promise<void>,
    private readonly now: () => number,
  ) {}

  /** Write-behind: queues the rows and returns; a failed write is thrown by the next call. */
  enqueue(rows: Row[]): void {
    if (this.failure) throw this.failure;
    this.add(rows, true).catch(() => undefined);
  }

  /**
   * Waits until every row queued before this call is committed; throws the first failure of a
   * write-behind append. A barrier, not "until the queue is empty": rows other operations append
   * meanwhile ride in later INSERTs and do not hold the caller (with dozens of operations appending
   * all the time, waiting for an empty queue made every drop wait for a lull).
   */
  async settle(): Promise<void> {
    this.send();
    await this.tail;
    if (this.failure) throw this.failure;
  }

  append(rows: Row[]): Promise<void> {
    const done = this.add(rows, false);
    this.send();
    return done;
  }

  private add(rows: Row[], behind: boolean): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.pending.push({ rows, behind, seq: ++this.seq, at: this.now(), resolve, reject }));
    const before = this.tail;
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.tail = before.then(() => settled);
    if (this.pendingRows() >= MAX_ROWS_PER_INSERT || this.now() - this.pending[0].at >= WRITE_BEHIND_MS) this.send();
    return done;
  }

  private pendingRows(): number {
    return this.pending.reduce((n, p) => n + p.rows.length, 0);
  }

  /** Everything pending now is to be sent (as soon as an INSERT may start). */
  private send(): void {
    if (this.pending.length === 0) return;
    this.wanted = this.seq;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < MAX_INSERTS_IN_FLIGHT && this.pending.length > 0 && (this.pending[0].seq <= this.wanted || this.pendingRows() >= MAX_ROWS_PER_INSERT)) {
      const batch: typeof this.pending = [];
      let n = 0;
      while (this.pending.length > 0 && (batch.length === 0 || n + this.pending[0].rows.length <= MAX_ROWS_PER_INSERT)) {
        const next = this.pending.shift()!;
        n += next.rows.length;
        batch.push(next);
      }
      this.inFlight++;
      void this.write(batch.flatMap((b) => b.rows))
        .then(
          () => batch.forEach((b) => b.resolve()),
          (e: unknown) => {
            // Recorded before anyone waiting on these rows resumes, so their settle() sees it.
            if (batch.some((b) => b.behind)) this.failure ??= e;
            batch.forEach((b) => b.reject(e));
          },
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}

export class BigQueryLedgerStore implements LedgerStore {
  private readonly writers: Record<'ledger' | 'runs', CoalescingWriter>;
  private lockEpoch: string | null = null;
  /** Rows written per INSERT job, for tests and the bench. */
  readonly insertSizes: number[] = [];

  constructor(
    private readonly loc: LedgerLocation,
    private readonly jobs: JobRunner,
    private readonly catalog: CatalogReader,
    /** Clock ms (the engine's clock): how long write-behind rows have waited. */
    now: () => number = Date.now,
  ) {
    this.writers = {
      ledger: new CoalescingWriter((rows) => this.insert(LEDGER_TABLES.ledger, LEDGER_COLUMNS, rows), now),
      runs: new CoalescingWriter((rows) => this.insert(LEDGER_TABLES.runs, RUN_COLUMNS, rows), now),
    };
  }

  /** The statements `init` runs, in order (paper mode shows them). */
  initStatements(): string[] {
    return [
      createSchemaSql(this.loc),
      createTableSql(this.loc, LEDGER_TABLES.ledger, LEDGER_COLUMNS, 'plan_hash, operation_id'),
      createTableSql(this.loc, LEDGER_TABLES.runs, RUN_COLUMNS, 'plan_hash'),
      createTableSql(this.loc, LEDGER_TABLES.lock, LOCK_COLUMNS, 'lock_name'),
    ];
  }

  /** Whether the runner's tables exist (once seen, `init` has nothing to create). */
  private present = false;

  private async tablesPresent(): Promise<boolean> {
    if (this.present) return true;
    // A missing table is null (404); anything else, a refused tables.get above all, is thrown.
    const tables = await Promise.all(Object.values(LEDGER_TABLES).map((t) => this.catalog.getRestTable(t, this.loc.runnerDataset)));
    this.present = tables.every((t) => t !== null);
    return this.present;
  }

  async init(): Promise<void> {
    await this.initStaged().done;
  }

  /**
   * The dataset if absent, then the three tables at once (independent of each other); `lockReady`
   * as soon as the lock's table exists, so the lock may be claimed while the others are created.
   */
  initStaged(): { lockReady: Promise<void>; done: Promise<void> } {
    const tables = this.initTables();
    const lockReady = tables.then((created) => created[LEDGER_TABLES.lock]);
    const done = tables.then((created) => Promise.all(Object.values(created))).then(() => {
      this.present = true;
    });
    lockReady.catch(() => undefined);
    return { lockReady, done };
  }

  /** Starts creating what is absent; one promise per table, settled when it exists. */
  private async initTables(): Promise<Record<string, Promise<void>>> {
    const all = (p: Promise<void>) => Object.fromEntries(Object.values(LEDGER_TABLES).map((t) => [t, p]));
    // CREATE SCHEMA needs bigquery.datasets.create on the project even when the dataset exists:
    // a dataset the stacks already declare is only looked up (datasets.get), alongside the tables.
    const [present, dataset] = await Promise.all([this.tablesPresent(), this.present ? null : this.catalog.datasetInfo(this.loc.runnerDataset)]);
    if (present || !dataset) return all(Promise.resolve());
    const stamp = `${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
    const [schema, ...creates] = this.initStatements();
    // IF NOT EXISTS makes these safe to run again, so a fresh id per call is fine.
    const create = (query: string, i: number, metadataKeys: string[] = []) =>
      this.jobs.run({ jobId: `bqx_init_${this.loc.runnerDataset}_${i}_${stamp}`, query, labels: { bqx_kind: 'ledger_init' }, metadataKeys }).then(() => undefined);
    if (!dataset.exists) await create(schema, 0, [`dataset:${this.loc.runnerDataset}`]);
    const names = [LEDGER_TABLES.ledger, LEDGER_TABLES.runs, LEDGER_TABLES.lock];
    const out = Object.fromEntries(creates.map((q, i) => [names[i], create(q, i + 1)]));
    for (const p of Object.values(out)) p.catch(() => undefined); // awaited by `done`
    return out;
  }

  private async insert(table: string, columns: readonly ColumnDef[], rows: Row[]): Promise<void> {
    const param = rowsParam('rows', columns, rows);
    // Same rows, same job id: a write retried after a lost answer finds its own job instead of
    // inserting twice.
    const id = `bqx_${table}_${sha256(`${this.loc.project}.${this.loc.runnerDataset}.${table}\n${JSON.stringify(param)}`).slice(0, 40)}`;
    this.insertSizes.push(rows.length);
    await failpoint('ledger.flush');
    // Drops wait for these rows (settle): the INSERT goes before queued ordinary jobs.
    const out = await this.jobs.run({ jobId: id, query: insertSql(this.loc, table, columns), params: [param], labels: { bqx_kind: `${table}_append` }, priority: 1 });
    if (out.rowsAffected !== null && out.rowsAffected !== rows.length) {
      throw new BqxError('LEDGER_WRITE_FAILED', `ledger table ${table}: inserted ${out.rowsAffected} of ${rows.length} rows (job ${out.jobId})`, 'the run stops when the ledger cannot be written; check the runner dataset');
    }
  }

  /**
   * Write-behind: an operation's records ride in a later coalesced INSERT while its steps run
   * (awaiting each INSERT job, ~1 s, per record tripled an operation's latency), sent when a drop or
   * a batch's end needs them durable, or after WRITE_BEHIND_MS. A record lost with the process is
   * harmless: the executor finds an interrupted operation by inspecting the warehouse. A failed
   * write is thrown by the next append or flush, and the run stops.
   */
  async append(records: readonly LedgerRecord[]): Promise<void> {
    this.writers.ledger.enqueue(
      records.map((r) => ({
        run_id: r.runId,
        plan_hash: r.planHash,
        operation_id: r.operationId,
        seq: r.seq,
        action: r.action,
        state: r.state,
        reason: r.reason,
        detail: r.detail,
        attempt: r.attempt,
        bytes: r.bytes,
        rows: r.rows,
        job_id: r.jobId,
        at: r.at,
      })),
    );
  }

  async flush(): Promise<void> {
    await this.writers.ledger.settle();
    await this.writers.runs.settle();
  }

  /** A drop waits for every record before it (the backup's above all): write-behind ends here. */
  async settle(): Promise<void> {
    await this.flush();
  }

  async records(planHash?: string): Promise<LedgerRecord[]> {
    // Our own ledger rows first; a run record being written (START) does not hold this read up.
    await this.writers.ledger.settle();
    const rows = await this.read(LEDGER_TABLES.ledger, LEDGER_COLUMNS, planHash ? '`plan_hash` = @plan_hash' : '', '`at`, `run_id`, `seq`, `attempt`', planHash ? [scalarParam('plan_hash', 'STRING', planHash)] : []);
    return rows.map((r) => ({
      runId: String(r.run_id),
      planHash: String(r.plan_hash),
      operationId: String(r.operation_id),
      seq: Number(r.seq),
      action: String(r.action),
      state: r.state as LedgerRecord['state'],
      reason: String(r.reason),
      detail: r.detail === null ? null : String(r.detail),
      attempt: Number(r.attempt),
      bytes: Number(r.bytes),
      rows: r.rows === null ? null : Number(r.rows),
      jobId: r.job_id === null ? null : String(r.job_id),
      at: String(r.at),
    }));
  }

  async appendRun(record: RunRecord): Promise<void> {
    await this.writers.ledger.settle();
    return this.writers.runs.append([
      { run_id: record.runId, plan_hash: record.planHash, mode: record.mode, event: record.event, status: record.status, summary: record.summary, at: record.at },
    ]);
  }

  async runs(planHash?: string): Promise<RunRecord[]> {
    const rows = await this.read(LEDGER_TABLES.runs, RUN_COLUMNS, planHash ? '`plan_hash` = @plan_hash' : '', '`at`, `run_id`, `event` DESC', planHash ? [scalarParam('plan_hash', 'STRING', planHash)] : []);
    return rows.map((r) => ({
      runId: String(r.run_id),
      planHash: String(r.plan_hash),
      mode: r.mode as RunRecord['mode'],
      event: r.event as RunRecord['event'],
      status: r.status === null ? null : String(r.status),
      summary: r.summary === null ? null : String(r.summary),
      at: String(r.at),
    }));
  }

  async lockEvents(lockName: string): Promise<LockEvent[]> {
    const rows = await this.read(LEDGER_TABLES.lock, LOCK_COLUMNS, '`lock_name` = @lock_name', '`seq`', [scalarParam('lock_name', 'STRING', lockName)]);
    return rows.map(toLockEvent);
  }

  async appendLockIf(event: LockEvent): Promise<boolean> {
    if (!Number.isInteger(event.seq) || event.seq < 1) throw new BqxError('BAD_INPUT', `lock event seq ${event.seq} is not a positive integer`, 'seq is the newest seq + 1');
    const epoch = await this.epoch();
    const claim = sha256(`${event.runId}\n${event.holder}\n${event.event}\n${event.at}`).slice(0, 40);
    const jobId = `bqx_lock_${this.loc.runnerDataset}_${sha256(event.lockName).slice(0, 16)}_${epoch}_${event.seq}`;
    const out = await this.jobs.run({
      jobId,
      fixedId: true,
      query: lockInsertSql(this.loc),
      params: [
        scalarParam('lock_name', 'STRING', event.lockName),
        scalarParam('seq', 'INT64', event.seq),
        scalarParam('event', 'STRING', event.event),
        scalarParam('run_id', 'STRING', event.runId),
        scalarParam('holder', 'STRING', event.holder),
        scalarParam('expires_at', 'TIMESTAMP', event.expiresAt),
        scalarParam('detail', 'STRING', event.detail),
        scalarParam('at', 'TIMESTAMP', event.at),
      ],
      labels: { bqx_kind: 'lock_append', bqx_claim: claim },
      metadataKeys: [`${this.loc.runnerDataset}.${LEDGER_TABLES.lock}`],
    });
    if (out.labels.bqx_claim !== claim) return false; // another runner's job holds this seq
    return out.rowsAffected === 1;
  }

  private async epoch(): Promise<string> {
    if (this.lockEpoch) return this.lockEpoch;
    const t = await this.catalog.getRestTable(LEDGER_TABLES.lock, this.loc.runnerDataset);
    if (!t) throw new BqxError('LEDGER_MISSING', `the lock table ${this.loc.runnerDataset}.${LEDGER_TABLES.lock} does not exist`, 'run the ledger init (bqx apply creates it) first');
    this.lockEpoch = String(t.creationTime ?? '0');
    return this.lockEpoch;
  }

  /**
   * Reads answered again without a job while their table is unchanged: the table's metadata
   * signature (metadata.ts `fingerprintSignature`: creation, last modification, rows, bytes,
   * schema; none with a streaming buffer) taken before the read, compared with a tables.get now.
   * Any write since (ours or another runner's) moves lastModifiedTime, and the table is read again:
   * BigQuery's own result-cache condition, at the price of a metadata call instead of a job slot
   * (a run reads the ledger and the lock twice before its first change).
   */
  private readonly answered = new Map<string, { signature: string; rows: Row[] }>();

  private async read(table: string, columns: readonly ColumnDef[], where: string, order: string, params: ReturnType<typeof scalarParam>[]): Promise<Row[]> {
    const key = JSON.stringify([table, where, order, params]);
    const meta = await this.catalog.getRestTable(table, this.loc.runnerDataset);
    // Reads before `init` return nothing: a table that does not exist yet holds no rows (only a
    // 404 says so; a refused tables.get is thrown by getRestTable).
    if (!meta) return [];
    // The lock's epoch is this table's creation time: a claim after this read needs no tables.get of its own.
    if (table === LEDGER_TABLES.lock) this.lockEpoch ??= String(meta.creationTime ?? '0');
    const signature = fingerprintSignature(meta);
    // No rows by its metadata (and no streaming buffer: a signature) is an empty table: rows enter
    // these tables only by DML INSERTs, counted in numRows once their job is DONE. The lock table
    // read right after `init` created it, and a first run's ledger, take no job.
    if (signature !== null && meta?.numRows !== undefined && Number(meta.numRows) === 0) return [];
    const known = this.answered.get(key);
    if (signature !== null && known?.signature === signature) return known.rows;
    const rows = await this.readJob(table, columns, where, order, params);
    if (signature !== null) this.answered.set(key, { signature, rows });
    else this.answered.delete(key);
    return rows;
  }

  private async readJob(table: string, columns: readonly ColumnDef[], where: string, order: string, params: ReturnType<typeof scalarParam>[]): Promise<Row[]> {
    const out = await this.jobs.run({
      jobId: `bqx_read_${table}_${Date.now()}_${Math.random().toString(36).slice(2, 10)}`,
      query: selectSql(this.loc, table, columns, where, order),
      params,
      labels: { bqx_kind: `${table}_read` },
      readRows: true,
    });
    return out.rows;
  }
}

function toLockEvent(r: Row): LockEvent {
  return {
    lockName: String(r.lock_name),
    seq: Number(r.seq),
    event: r.event as LockEvent['event'],
    runId: String(r.run_id),
    holder: String(r.holder),
    expiresAt: String(r.expires_at),
    detail: r.detail === null ? null : String(r.detail),
    at: String(r.at),
  };
}
