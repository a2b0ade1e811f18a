import type { Column, DatasetInfo, TableInfo } from '../catalogue';
import type { ConsolidationSpec } from '../plan/types';
import type { LedgerStore } from '../ledger/types';

/**
 * Engine-neutral changes the executor asks for. Each engine renders them to its own SQL (paper
 * mode prints exactly that SQL) and runs them. Every step is safe to re-run after a crash only
 * together with the executor's state checks; engines do not decide anything.
 */
export type Step =
  | { readonly kind: 'RENAME_TABLE'; readonly from: string; readonly to: string }
  | { readonly kind: 'DROP_TABLE'; readonly name: string }
  /** Copy a table into the runner's dataset before it is dropped, so rollback can restore it. */
  | { readonly kind: 'BACKUP_TABLE'; readonly name: string; readonly backupName: string }
  /** Recreate a dropped table from its backup (rollback). */
  | { readonly kind: 'RESTORE_TABLE'; readonly backupName: string; readonly name: string }
  | { readonly kind: 'CONSOLIDATE'; readonly target: string; readonly spec: ConsolidationSpec }
  | {
      readonly kind: 'CREATE_VIEW';
      readonly name: string;
      readonly target: string;
      readonly columns: readonly { readonly name: string; readonly column: string }[];
      readonly filter: string | null;
    }
  | { readonly kind: 'DROP_VIEW'; readonly name: string };

export type StepKind = Step['kind'];

export interface StepResult {
  /** Engine job id (BigQuery) or a local statement id. */
  readonly jobId: string | null;
  readonly bytesProcessed: number;
  readonly rowsAffected: number | null;
}

export interface ContentFingerprint {
  readonly rows: number;
  /** Order-independent hash of every row (column names and values). Comparable within one engine. */
  readonly hash: string;
}

export interface KeyStats {
  readonly rows: number;
  readonly distinctKeys: number;
  readonly nullKeys: number;
}

export interface CoverageResult {
  /** Distinct keys in the target. */
  readonly targetKeys: number;
  /** Distinct keys in the union of the sources. */
  readonly unionKeys: number;
  /** Keys of the union missing from the target, and keys of the target in no source. */
  readonly missing: number;
  readonly extra: number;
}

/**
 * Which engine to open and where it works: plain data, filled from the CLI's options and the
 * environment config. Engines validate it (identifiers) before anything reaches SQL. One type per
 * engine: what only one engine reads (the DuckDB file, the BigQuery endpoints and identity) is in
 * that engine's options alone.
 */
export type EngineOptions = DuckDbEngineOptions | BigQueryEngineOptions;

/** What every engine is told: where the warehouse is, in BigQuery's terms. */
export interface EngineTargetOptions {
  readonly project: string;
  readonly location: string;
  readonly dataset: string;
  /** Dataset (schema) holding the ledger, lock and backups. */
  readonly runnerDataset: string;
  /** Only reads will be asked of it (audit, plan, fingerprint): DuckDB opens the file read-only. */
  readonly readOnly?: boolean;
}

export interface DuckDbEngineOptions extends EngineTargetOptions {
  readonly engine: 'duckdb';
  /** DuckDB file of the local warehouse. */
  readonly database: string;
}

export interface BigQueryEngineOptions extends EngineTargetOptions {
  readonly engine: 'bigquery';
  /** BigQuery API endpoint (an emulator or the test double); default Google's. */
  readonly apiEndpoint?: string;
  /**
   * Labels every BigQuery job the engine submits carries (steps, reads, dry runs, ledger, lock,
   * catalogue): the app fills them from config/job-labels.ts so budgets and cost reports see the
   * runner's spend. Keys and values follow BigQuery's label rules (the engine refuses others).
   */
  readonly jobLabels?: Readonly<Record<string, string>>;
  /**
   * Act as this service account (its e-mail): the engine's client obtains short-lived tokens for it
   * with the caller's credentials (IAM Credentials generateAccessToken). Readiness runs this way so
   * testIamPermissions answers for the runner, not for the person at the keyboard.
   */
  readonly impersonateServiceAccount?: string;
  /**
   * Test endpoints only (with `apiEndpoint`): the bearer token sent, so a test can act as a given
   * identity of the double (default `offline-endpoint`; env BQX_BIGQUERY_ACCESS_TOKEN). Refused
   * without `apiEndpoint`: a fixed token is never sent to Google.
   */
  readonly accessToken?: string;
  /**
   * One base URL for the Google APIs besides BigQuery the engine calls (Resource Manager
   * projects.testIamPermissions, IAM Credentials for impersonation): a test double. Default
   * Google's; env BQX_GOOGLE_API_ENDPOINT. With a test `apiEndpoint` and no such endpoint, the
   * project's permissions are reported as not asked rather than asked of Google with a test token.
   */
  readonly googleApiEndpoint?: string;
}

/** Validation reads asked of `readMany`, by kind. */
export interface ReadRequest {
  readonly rowCounts: readonly string[];
  readonly fingerprints: readonly string[];
  readonly probes: readonly string[];
  /** Optional: tables whose `getTable` answer the validation needs (an engine may answer them with the same calls). */
  readonly tables?: readonly string[];
}

export interface ReadResults {
  readonly rowCounts: ReadonlyMap<string, number | Error>;
  readonly fingerprints: ReadonlyMap<string, ContentFingerprint | Error>;
  readonly probes: ReadonlyMap<string, { columns: Column[]; rows: number } | Error>;
  /** `getTable` answers (null: no such table), when the engine answered `tables`. */
  readonly tables?: ReadonlyMap<string, TableInfo | null | Error>;
}

/** Where engine work happens, for messages and for fully qualified names. */
export interface EngineLocation {
  readonly project: string;
  readonly dataset: string;
  /** Dataset (schema) holding the ledger, lock and backups. */
  readonly runnerDataset: string;
  readonly location: string;
}

export interface Rehearsal {
  /** Statements the engine accepted. */
  readonly statements: number;
  /** Statements that read what an earlier step creates (BigQuery cannot dry-run them ahead). */
  readonly deferred: number;
}

export interface RunOptions {
  /** Deterministic id for the job: a retried submit of the same id never runs twice. */
  readonly jobId: string;
  /**
   * Labels for the step's jobs, besides the engine's own and its static `jobLabels` (the executor
   * passes `stepJobLabels`: the plan and the run the step belongs to).
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The labels every step job of a run carries: `bqx-plan` (first 12 hex digits of the plan hash)
 * and `bqx-run` (the run id, lowercased: label values are lowercase). Job labels only; the run id
 * never becomes a metric label.
 */
export function stepJobLabels(run: { readonly planHash: string; readonly runId: string }): Record<string, string> {
  return { 'bqx-plan': run.planHash.slice(0, 12).toLowerCase(), 'bqx-run': run.runId.toLowerCase() };
}

/** Where the runner's permissions are asked: the project, the dataset it remediates, its own dataset. */
export const PERMISSION_SCOPES = ['project', 'featureDataset', 'runnerDataset'] as const;
export type PermissionScope = (typeof PERMISSION_SCOPES)[number];

/** What an engine found when asked, changing nothing, whether it holds some permissions. */
export interface PermissionTest {
  /** The resource asked about, for messages (`project p`, `dataset p:d`). */
  readonly resource: string;
  readonly granted: readonly string[];
  /** Permissions that could not be asked here (no API answers them, or nothing to ask on yet). */
  readonly untested: readonly string[];
  /** How each was asked, and why some could not be. */
  readonly how: string;
}

/** A permission a run needs, where, and which steps or actions need it (for messages). */
export interface RequiredPermission {
  readonly scope: PermissionScope;
  readonly permission: string;
  readonly neededBy: readonly string[];
}

/** One job of the engine's job history that referenced names of the dataset (`bqx usage`). */
export interface JobRead {
  readonly jobId: string;
  /** Who ran it (BigQuery: user_email, a person or a service account). */
  readonly principal: string;
  /** ISO instant the job was created. */
  readonly at: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Tables and views of the dataset the job referenced, as the engine's history records them. */
  readonly tables: readonly string[];
  /** The job's SQL, when the history keeps it (matched for view names too). */
  readonly query: string | null;
}

export interface JobHistory {
  readonly jobs: readonly JobRead[];
  /** Where the jobs were read, for the report (e.g. the region's JOBS_BY_PROJECT view). */
  readonly source: string;
}

/** Who reads through the rehearsal's query path (DuckDB): the principal and labels its log records. */
export interface Reader {
  readonly principal: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Engine {
  readonly kind: 'duckdb' | 'bigquery';
  readonly where: EngineLocation;
  /**
   * How many plan operations the executor may have in flight at once. DuckDB: 1 (one writer).
   * BigQuery: high; the engine's own adaptive limiter decides how many jobs really run.
   */
  readonly maxParallelOperations: number;
  /**
   * While a run holds the runner's lock, nothing but this engine changes the warehouse (DuckDB:
   * its file lock keeps every other process out). The executor then trusts the catalogue it read at
   * the start plus its own steps, instead of re-reading every name before each operation.
   */
  readonly soleWriter: boolean;

  /** Every table and view of the dataset, read to the last page. */
  listTables(): Promise<TableInfo[]>;
  getTable(name: string): Promise<TableInfo | null>;
  datasetInfo(dataset?: string): Promise<DatasetInfo>;

  /** Up to `limit` non-null values of a numeric column, in a stable order. */
  sampleNumeric(table: string, column: string, limit: number): Promise<number[]>;
  contentFingerprint(table: string): Promise<ContentFingerprint>;
  keyStats(table: string, key: string): Promise<KeyStats>;
  /**
   * For each column: true when the two tables agree (IS NOT DISTINCT FROM) on every key they share.
   */
  columnsAgreeOnKey(a: string, b: string, key: string, columns: readonly string[]): Promise<Record<string, boolean>>;

  /** The SQL (or API calls) a step is carried out with, exactly as `run` issues them. */
  render(step: Step): string[];
  /** Bytes a step would read (dry run); 0 for metadata-only steps. */
  estimateBytes(step: Step): Promise<number>;
  run(step: Step, opts: RunOptions): Promise<StepResult>;
  /**
   * Optional: runs `fn` (one operation: its steps, its reads, its ledger records) as a single
   * transaction, committed together or not at all; a throw rolls all of it back and leaves the
   * records appended before it pending. DuckDB has it; BigQuery (no transactional DDL) does not,
   * and the executor then recovers a half-done operation from the warehouse's state.
   */
  atomically?<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Optional, with `atomically`: runs `fn` (several operations in a row) as one transaction in
   * which each operation's `atomically` opens none of its own, so the whole of `fn` commits once
   * (one commit per batch instead of one per operation) or, on any throw, not at all: the records
   * appended before it stay pending. The engine has no savepoints: an operation that fails inside
   * rolls back every operation of `fn`, and the executor redoes them without it.
   */
  atomicBatch?<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Proves, changing nothing, that the warehouse as it is now accepts these steps in order
   * (readiness rehearses one operation of each class). DuckDB runs them in one transaction that it
   * rolls back; BigQuery dry-runs each statement whose inputs exist now (a statement that reads
   * what an earlier step creates cannot be dry-run ahead: it is counted as deferred). Throws with
   * the engine's message when a statement is refused.
   */
  rehearse(steps: readonly Step[]): Promise<Rehearsal>;

  /** Validation reads. */
  rowCount(table: string): Promise<number>;
  nullCounts(table: string, columns: readonly string[], filter?: string | null): Promise<Record<string, number>>;
  coverage(target: string, sources: readonly string[], key: string): Promise<CoverageResult>;
  /**
   * Rows of `source` whose mapped columns differ from the target's on the same key (restricted to
   * target rows where `filter` is true). 0 means equal.
   */
  mismatchedRows(
    target: string,
    source: string,
    key: string,
    mapping: readonly { readonly targetColumn: string; readonly sourceColumn: string }[],
    filter: string | null,
  ): Promise<number>;
  /** Reads the view (or table) and reports its columns; throws when it does not resolve. */
  probe(name: string): Promise<{ columns: Column[]; rows: number }>;
  /**
   * Optional: many validation reads in a few statements (DuckDB: one UNION ALL per kind and chunk),
   * each answer exactly what the single read would return, or the Error it would throw.
   */
  readMany?(req: ReadRequest): Promise<ReadResults>;

  /**
   * A backup table of the runner dataset, or null. The executor recognises a backup taken just
   * before a crash (whose ledger record was lost) by it instead of taking another, and rollback
   * restores from it when the ledger is short.
   */
  getBackup(backupName: string): Promise<TableInfo | null>;
  /**
   * Optional: asks, changing nothing, which of `permissions` the engine's identity holds on a
   * scope (BigQuery: testIamPermissions; the answer may fail open, so the paper run stays the
   * second line of defence). `table` names a table of the feature dataset to ask on. Engines
   * without permissions (DuckDB) do not implement it.
   */
  testPermissions?(scope: PermissionScope, permissions: readonly string[], opts?: { readonly table?: string }): Promise<PermissionTest>;
  /**
   * Names of the tables in the runner dataset (backups among them); empty when it does not exist.
   * Rollback finds backups by their deterministic names when the ledger is short.
   */
  listRunnerTables(): Promise<string[]>;

  /**
   * Optional: jobs created since `since` that referenced any of `names` of the dataset (or whose SQL
   * mentions the dataset), newest first. BigQuery: the region's INFORMATION_SCHEMA.JOBS_BY_PROJECT;
   * DuckDB: the query log of reads made through `readAs`. Changes nothing.
   */
  jobHistory?(since: Date, names: readonly string[]): Promise<JobHistory>;
  /**
   * Optional (DuckDB): runs a reader's SELECT and records it in the engine's query log (job id,
   * principal, labels, the dataset's tables and views it names): how the rehearsal's readers read,
   * so `jobHistory` can say who still reads a compatibility view. Returns the rows read.
   */
  readAs?(sql: string, reader: Reader): Promise<{ readonly jobId: string; readonly rows: number }>;

  /** The ledger, lock and paper-run records, kept in the warehouse itself. */
  readonly ledger: LedgerStore;

  close(): Promise<void>;
}
