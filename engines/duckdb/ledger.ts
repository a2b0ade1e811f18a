/**
 * The ledger, run records and lock events as append-only tables in the runner's schema. Rows are
 * only ever inserted; reads return them in insertion order (DuckDB's rowid grows with appends).
 */
import type { LedgerRecord, LedgerStore, LockEvent, RecordFilter, RunRecord } from '../../core/ledger/types';
import type { EngineLocation } from '../../core/ports/engine';
import { bindsOrMissing, Db, DuckDbQueryError, num, str, type Queries, type Row } from './db';
import { ensureRunnerDataset } from './render';
import { CATALOG_DDL, ident, table } from './sql';
import { failpoint } from '../../core/failpoints';

const LEDGER = '_bqx_ledger';
const RUNS = '_bqx_runs';
const LOCKS = '_bqx_lock_events';

/** The ledger table's column types in its column order (run_id … at, as init creates it): the appender writes by position. */
const LEDGER_TYPES = ['VARCHAR', 'VARCHAR', 'VARCHAR', 'BIGINT', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'BIGINT', 'BIGINT', 'BIGINT', 'VARCHAR', 'VARCHAR'] as const;
const RUN_COLUMNS = ['run_id', 'plan_hash', 'mode', 'event', 'status', 'summary', 'at'] as const;
const LOCK_COLUMNS = ['lock_name', 'seq', 'event', 'run_id', 'holder', 'expires_at', 'detail', 'at'] as const;

function insertSql(target: string, columns: readonly string[], rows: number): string {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${target} (${columns.map(ident).join(', ')}) VALUES ${Array.from({ length: rows }, () => tuple).join(', ')}`;
}

export class DuckDbLedger implements LedgerStore {
  private readonly ledger: string;
  private readonly runsTable: string;
  private readonly locks: string;

  constructor(
    private readonly db: Db,
    private readonly where: EngineLocation,
  ) {
    this.ledger = table(where.runnerDataset, LEDGER, 'ledger table');
    this.runsTable = table(where.runnerDataset, RUNS, 'run records table');
    this.locks = table(where.runnerDataset, LOCKS, 'lock events table');
  }

  /** Whether the runner's tables exist (reads before `init` return nothing instead of failing). */
  private present = false;

  private async tablesPresent(): Promise<boolean> {
    if (this.present) return true;
    // Binding a statement on the three tables is a catalog lookup; duckdb_tables() would list every table.
    this.present = await bindsOrMissing(this.db, `SELECT 1 FROM ${this.ledger}, ${this.runsTable}, ${this.locks} LIMIT 0`);
    return this.present;
  }

  async init(): Promise<void> {
    this.db.catalog.invalidate(this.where.runnerDataset);
    const committedHere = !this.db.inTransaction;
    await this.db.transaction(async (q) => {
      for (const s of [...CATALOG_DDL, ...ensureRunnerDataset(this.where)]) await q.exec(s);
      await q.exec(
        `CREATE TABLE IF NOT EXISTS ${this.ledger} (run_id VARCHAR NOT NULL, plan_hash VARCHAR NOT NULL, operation_id VARCHAR NOT NULL, seq BIGINT NOT NULL, action VARCHAR NOT NULL, state VARCHAR NOT NULL, reason VARCHAR NOT NULL, detail VARCHAR, attempt BIGINT NOT NULL, bytes BIGINT NOT NULL, "rows" BIGINT, job_id VARCHAR, "at" VARCHAR NOT NULL)`,
      );
      await q.exec(
        `CREATE TABLE IF NOT EXISTS ${this.runsTable} (run_id VARCHAR NOT NULL, plan_hash VARCHAR NOT NULL, mode VARCHAR NOT NULL, event VARCHAR NOT NULL, status VARCHAR, summary VARCHAR, "at" VARCHAR NOT NULL)`,
      );
      await q.exec(
        `CREATE TABLE IF NOT EXISTS ${this.locks} (lock_name VARCHAR NOT NULL, seq BIGINT NOT NULL, event VARCHAR NOT NULL, run_id VARCHAR NOT NULL, holder VARCHAR NOT NULL, expires_at VARCHAR NOT NULL, detail VARCHAR, "at" VARCHAR NOT NULL, PRIMARY KEY (lock_name, seq))`,
      );
    });
    if (committedHere) this.db.versions.noteEnsured(this.where.runnerDataset);
    this.present = true;
  }

  /**
   * Appended records wait here and are written in the same transaction as the engine's next step
   * (or the next read, run record, lock event or close). A DuckDB commit is an fsync (~2 ms): one
   * per record made a 2,485-operation run spend most of its time committing. A record lost with
   * the process (at most those since the last step) is harmless: the executor finds an interrupted
   * operation by inspecting the warehouse, not by trusting the last record, and a record is never
   * lost once the step after it has committed.
   */
  private pending: LedgerRecord[] = [];
  private static readonly MAX_PENDING = 500;

  async append(records: readonly LedgerRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.pending.push(...records);
    // Inside an operation's transaction the records are written at its commit, never earlier.
    if (this.pending.length >= DuckDbLedger.MAX_PENDING && !this.db.inTransaction) await this.flush();
  }

  /** Takes the pending records to write inside the caller's transaction (`requeue` them if it rolls back). */
  takePending(): LedgerRecord[] {
    const batch = this.pending;
    this.pending = [];
    return batch;
  }

  /** Puts records back at the head of the queue: their transaction rolled back. */
  requeue(batch: readonly LedgerRecord[]): void {
    if (batch.length) this.pending = [...batch, ...this.pending];
  }

  /** Appends records inside the caller's transaction (DuckDB's appender: parsing or binding an INSERT cost more than the step). */
  async insertInto(q: Queries, batch: readonly LedgerRecord[]): Promise<void> {
    if (batch.length === 0) return;
    await q.append(
      this.where.runnerDataset,
      LEDGER,
      LEDGER_TYPES,
      batch.map((r) => [r.runId, r.planHash, r.operationId, r.seq, r.action, r.state, r.reason, r.detail, r.attempt, r.bytes, r.rows, r.jobId, r.at]),
    );
  }

  /** Writes the pending records inside the caller's transaction; a rollback puts them back. */
  async flushInto(q: Queries): Promise<void> {
    const batch = this.takePending();
    try {
      await this.insertInto(q, batch);
    } catch (e) {
      this.requeue(batch);
      throw e;
    }
  }

  async flush(): Promise<void> {
    // Inside an operation's transaction, pending records commit with it (DuckDbEngine.atomically).
    if (this.pending.length === 0 || this.db.inTransaction) return;
    await failpoint('ledger.flush');
    const batch = this.takePending();
    try {
      await this.db.transaction((q) => this.insertInto(q, batch));
    } catch (e) {
      this.requeue(batch);
      throw e;
    }
  }

  /** Pending records commit in the next step's own transaction (DuckDbEngine.run): nothing to wait for. */
  async settle(): Promise<void> {}

  /**
   * Rows read again only after this process wrote the table (the listing's rule, versions.ts: no
   * other process writes the file while this one holds it). A second `npm start` read the same
   * ~15,000 ledger rows seven times. Each caller gets its own copies.
   */
  private async readKept<T extends object>(tables: readonly string[], key: string, read: () => Promise<T[]>): Promise<T[]> {
    const stamp = this.db.readStamp(tables.map((table) => ({ schema: this.where.runnerDataset, table })));
    const cacheKey = `${tables.join('+')}:${key}`;
    const kept = stamp === null ? undefined : (this.db.catalog.read(cacheKey, stamp) as readonly T[] | undefined);
    if (kept) return kept.map((r) => ({ ...r }));
    const rows = await read();
    if (stamp !== null) this.db.catalog.setRead(cacheKey, stamp, rows.map((r) => ({ ...r })));
    return rows;
  }

  async records(planHash?: string, filter: RecordFilter = {}): Promise<LedgerRecord[]> {
    await this.flush();
    if (!(await this.tablesPresent())) return [];
    // A filter on run modes reads the run records too: a change to them is a change to this read.
    const tables = filter.runModes ? [LEDGER, RUNS] : [LEDGER];
    return this.readKept(tables, JSON.stringify([planHash ?? '*', filter.runModes ?? null, filter.exceptActions ?? null]), () => this.readRecords(planHash, filter));
  }

  private async readRecords(planHash: string | undefined, filter: RecordFilter): Promise<LedgerRecord[]> {
    const where: string[] = [];
    const params: string[] = [];
    const marks = (xs: readonly string[]) => xs.map(() => '?').join(', ');
    if (planHash !== undefined) {
      where.push('plan_hash = ?');
      params.push(planHash);
    }
    if (filter.exceptActions?.length) {
      where.push(`action NOT IN (${marks(filter.exceptActions)})`);
      params.push(...filter.exceptActions);
    }
    if (filter.runModes) {
      if (filter.runModes.length === 0) return [];
      where.push(`run_id IN (SELECT run_id FROM ${this.runsTable} WHERE event = 'START' AND mode IN (${marks(filter.runModes)}))`);
      params.push(...filter.runModes);
    }
    const rows = await this.db.all(`SELECT * FROM ${this.ledger}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid`, params.length ? params : undefined);
    return rows.map(
      (r): LedgerRecord => ({
        runId: String(r.run_id),
        planHash: String(r.plan_hash),
        operationId: String(r.operation_id),
        seq: num(r.seq),
        action: String(r.action),
        state: String(r.state) as LedgerRecord['state'],
        reason: String(r.reason),
        detail: str(r.detail),
        attempt: num(r.attempt),
        bytes: num(r.bytes),
        rows: r.rows === null ? null : num(r.rows),
        jobId: str(r.job_id),
        at: String(r.at),
      }),
    );
  }

  async appendRun(record: RunRecord): Promise<void> {
    const r = record;
    const batch = this.takePending();
    try {
      await this.db.transaction(async (q) => {
        await this.insertInto(q, batch);
        await q.exec(insertSql(this.runsTable, RUN_COLUMNS, 1), [r.runId, r.planHash, r.mode, r.event, r.status, r.summary, r.at]);
      });
    } catch (e) {
      this.requeue(batch);
      throw e;
    }
  }

  async runs(planHash?: string): Promise<RunRecord[]> {
    await this.flush();
    if (!(await this.tablesPresent())) return [];
    return this.readKept([RUNS], planHash ?? '*', () => this.readRuns(planHash));
  }

  private async readRuns(planHash?: string): Promise<RunRecord[]> {
    const rows = await this.db.all(
      `SELECT * FROM ${this.runsTable}${planHash === undefined ? '' : ' WHERE plan_hash = ?'} ORDER BY rowid`,
      planHash === undefined ? undefined : [planHash],
    );
    return rows.map(
      (r): RunRecord => ({
        runId: String(r.run_id),
        planHash: String(r.plan_hash),
        mode: String(r.mode) as RunRecord['mode'],
        event: String(r.event) as RunRecord['event'],
        status: str(r.status),
        summary: str(r.summary),
        at: String(r.at),
      }),
    );
  }

  async lockEvents(lockName: string): Promise<LockEvent[]> {
    await this.flush();
    if (!(await this.tablesPresent())) return [];
    const rows = await this.db.all(`SELECT * FROM ${this.locks} WHERE lock_name = ? ORDER BY seq`, [lockName]);
    return rows.map(lockEvent);
  }

  /**
   * Head check and insert in one transaction. Callers on this engine are serialized by its
   * connection; another engine of the same process (another connection) that wins the race makes
   * this commit fail on the (lock_name, seq) key or as a write conflict: that is a lost race too.
   */
  async appendLockIf(event: LockEvent): Promise<boolean> {
    try {
      await this.flush();
      return await this.db.transaction(async (q: Queries) => {
        const [head] = await q.all(`SELECT COALESCE(max(seq), 0) AS head FROM ${this.locks} WHERE lock_name = ?`, [event.lockName]);
        if (num(head.head) !== event.seq - 1) return false;
        const e = event;
        await q.exec(insertSql(this.locks, LOCK_COLUMNS, 1), [e.lockName, e.seq, e.event, e.runId, e.holder, e.expiresAt, e.detail, e.at]);
        return true;
      });
    } catch (e) {
      if (e instanceof DuckDbQueryError && /Constraint Error|duplicate key|Transaction conflict|write-write conflict/i.test(e.duckdbMessage)) return false;
      throw e;
    }
  }
}

function lockEvent(r: Row): LockEvent {
  return {
    lockName: String(r.lock_name),
    seq: num(r.seq),
    event: String(r.event) as LockEvent['event'],
    runId: String(r.run_id),
    holder: String(r.holder),
    expiresAt: String(r.expires_at),
    detail: str(r.detail),
    at: String(r.at),
  };
}
