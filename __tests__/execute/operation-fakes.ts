/**
 * Small in-memory stand-ins for the executor's ports (the Engine and the WarehouseState it reads),
 * so the executor's per-operation decisions (gates, step checks, validation verdicts, one
 * operation's steps and records) run in-process in milliseconds. The engines themselves are tested
 * for real elsewhere (DuckDB in the executor's suites, BigQuery against the REST double).
 */
import { catalogueFingerprint, tableStateHash, type Column, type DatasetInfo, type TableInfo } from '../../core/catalogue';
import type { LedgerRecord, LockEvent, RunRecord } from '../../core/ledger/types';
import { computePlanHash } from '../../core/plan/hash';
import { ACTIONS, PLAN_FORMAT } from '../../core/plan/types';
import type { CompatibilityView, ConsolidationSpec, PlanOperation } from '../../core/plan/types';
import type { ContentFingerprint, CoverageResult, Engine, RunOptions, Step, StepResult } from '../../core/ports/engine';
import { SimulatedState, TrackedState, type WarehouseState } from '../../core/execute/warehouse-state';
import { freshRunProgress, type ApplyOptions, type RunContext } from '../../core/execute/context';
import { emptyHistory, type OperationHistory, type PlanHistory } from '../../core/execute/history';
import type { Plan } from '../../core/plan/types';
import type { Policy } from '../../core/policy';

export const COLS: Column[] = [
  { name: 'interval_time', type: 'TIMESTAMP' },
  { name: 'val', type: 'FLOAT64' },
];

export function table(name: string, over: Partial<TableInfo> = {}): TableInfo {
  return { name, kind: 'TABLE', columns: COLS, rowCount: 10, bytes: 100, partitionBy: null, clusterBy: [], ...over };
}

export function view(name: string, over: Partial<TableInfo> = {}): TableInfo {
  return table(name, { kind: 'VIEW', rowCount: 0, ...over });
}

let nextId = 0;
/** A plan operation whose recorded source state is that of `sources` as given. */
export function operation(action: PlanOperation['action'], sources: readonly TableInfo[], over: Partial<PlanOperation> = {}): PlanOperation {
  nextId++;
  return {
    id: `op_${nextId.toString(16).padStart(16, '0')}`,
    seq: nextId,
    batch: 0,
    action,
    reason: 'CANONICAL_FREE',
    family: 'f',
    sources: sources.map((s) => s.name),
    target: `${sources[0].name}_new`,
    variant: null,
    destructive: action === 'DEDUPE' || action === 'CONSOLIDATE',
    sourceState: Object.fromEntries(sources.map((s) => [s.name, tableStateHash(s)])),
    estimatedBytes: 0,
    ...over,
  } as PlanOperation;
}

export function compatView(op: PlanOperation, name: string, over: Partial<CompatibilityView> = {}): CompatibilityView {
  return {
    name,
    target: op.target as string,
    operationId: op.id,
    columns: COLS.map((c) => ({ name: c.name, column: c.name })),
    filter: null,
    graceEnd: '2027-01-01',
    ...over,
  };
}

/** A two-window consolidation of `a` (with copy `aCopy`) and `b` into `target`. */
export function consolidation(a: TableInfo, b: TableInfo, target: string, copies: string[] = []): { op: PlanOperation; spec: ConsolidationSpec } {
  const spec: ConsolidationSpec = {
    key: 'interval_time',
    windows: [
      { window: 45, source: a.name, copies, presenceColumn: 'in_w45' },
      { window: 90, source: b.name, copies: [], presenceColumn: 'in_w90' },
    ],
    columns: [
      { name: 'interval_time', type: 'TIMESTAMP', from: [{ window: 45, column: 'interval_time' }, { window: 90, column: 'interval_time' }] },
      { name: 'val_45', type: 'FLOAT64', from: [{ window: 45, column: 'val' }] },
      { name: 'val_90', type: 'FLOAT64', from: [{ window: 90, column: 'val' }] },
    ],
    partitionBy: null,
    clusterBy: [],
  };
  return { op: operation('CONSOLIDATE', [a, b], { target, consolidation: spec }), spec };
}

/** What gates and step checks read: a map of names, and fingerprints by name. */
export class FakeState implements WarehouseState {
  readonly simulated = false;
  readonly tables = new Map<string, TableInfo>();
  readonly fingerprints = new Map<string, ContentFingerprint | Error>();
  readonly reads: string[] = [];
  failOn: string | null = null;

  constructor(tables: readonly TableInfo[] = []) {
    for (const t of tables) this.tables.set(t.name, t);
  }

  async get(name: string): Promise<TableInfo | null> {
    this.reads.push(name);
    if (name === this.failOn) throw new Error(`cannot read ${name}`);
    return this.tables.get(name) ?? null;
  }

  async contentFingerprint(name: string): Promise<ContentFingerprint | null> {
    const f = this.fingerprints.get(name);
    if (f instanceof Error) throw f;
    return f ?? null;
  }
}

/** The ledger as a list; `failAppend` makes the next append throw (a full disk). */
export class FakeLedger {
  /** Every record appended, in order. */
  readonly written: LedgerRecord[] = [];
  settles = 0;
  /** Index in `written` at each settle call. */
  readonly settledAt: number[] = [];
  failAppend: Error | null = null;
  async append(recs: readonly LedgerRecord[]): Promise<void> {
    if (this.failAppend) throw this.failAppend;
    this.written.push(...recs);
  }
  async settle(): Promise<void> {
    this.settles++;
    this.settledAt.push(this.written.length);
  }
  async flush(): Promise<void> {}
}

type Answer<T> = T | Error;

/**
 * An engine whose tables are a map (steps change it the way the real engines do), whose
 * validation reads answer from tables set by the test, and which records every call.
 */
export class FakeEngine {
  readonly kind = 'duckdb' as const;
  readonly where = { project: 'p', dataset: 'd', runnerDataset: 'r', location: 'US' };
  maxParallelOperations = 1;
  soleWriter = true;
  readonly ledger = new FakeLedger();
  readonly tables = new Map<string, TableInfo | Error>();
  readonly backups = new Map<string, TableInfo>();
  readonly ran: { step: Step; opts: RunOptions }[] = [];
  readonly calls: string[] = [];
  /** Step kinds that throw when run, with the message. */
  readonly failStep = new Map<Step['kind'], string>();
  bytesPerStep = 7;
  rowCounts = new Map<string, Answer<number>>();
  fingerprints = new Map<string, Answer<ContentFingerprint>>();
  probes = new Map<string, Answer<{ columns: Column[]; rows: number }>>();
  coverages = new Map<string, Answer<CoverageResult>>();
  mismatches = new Map<string, Answer<number>>();
  nulls = new Map<string, Answer<Record<string, number>>>();
  /** Called at the start of every step the engine runs (lets a test act mid-operation). */
  onRun: ((s: Step) => void) | null = null;
  /** Validation reads in flight now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;

  private async answer<T>(a: Answer<T> | undefined, what: string): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setImmediate(r));
    this.inFlight--;
    if (a === undefined) throw new Error(`fake engine: no answer for ${what}`);
    if (a instanceof Error) throw a;
    return a;
  }

  constructor(tables: readonly TableInfo[] = []) {
    for (const t of tables) this.tables.set(t.name, t);
  }

  asEngine(): Engine {
    return this as unknown as Engine;
  }

  async getTable(name: string): Promise<TableInfo | null> {
    this.calls.push(`getTable ${name}`);
    const t = this.tables.get(name);
    if (t instanceof Error) throw t;
    return t ?? null;
  }
  async getBackup(name: string): Promise<TableInfo | null> {
    this.calls.push(`getBackup ${name}`);
    return this.backups.get(name) ?? null;
  }
  rowCount(name: string): Promise<number> {
    this.calls.push(`rowCount ${name}`);
    return this.answer(this.rowCounts.get(name), `rowCount ${name}`);
  }
  contentFingerprint(name: string): Promise<ContentFingerprint> {
    this.calls.push(`fingerprint ${name}`);
    return this.answer(this.fingerprints.get(name), `fingerprint ${name}`);
  }
  probe(name: string): Promise<{ columns: Column[]; rows: number }> {
    this.calls.push(`probe ${name}`);
    return this.answer(this.probes.get(name), `probe ${name}`);
  }
  coverage(target: string, sources: readonly string[], key: string): Promise<CoverageResult> {
    this.calls.push(`coverage ${target} ${sources.join('+')} ${key}`);
    return this.answer(this.coverages.get(target), `coverage ${target}`);
  }
  mismatchedRows(target: string, source: string, key: string, mapping: readonly { targetColumn: string; sourceColumn: string }[], filter: string | null): Promise<number> {
    this.calls.push(`mismatch ${target} ${source} ${key} ${mapping.map((m) => `${m.sourceColumn}>${m.targetColumn}`).join(',')} ${filter}`);
    return this.answer(this.mismatches.get(source), `mismatch ${source}`);
  }
  nullCounts(name: string, columns: readonly string[], filter?: string | null): Promise<Record<string, number>> {
    this.calls.push(`nulls ${name} ${columns.join(',')} ${filter ?? ''}`.trim());
    return this.answer(this.nulls.get(filter ? `${name}|${filter}` : name), `nulls ${name}`);
  }

  async run(step: Step, opts: RunOptions): Promise<StepResult> {
    this.onRun?.(step);
    this.calls.push(`run ${step.kind}`);
    const failure = this.failStep.get(step.kind);
    if (failure) throw new Error(failure);
    this.ran.push({ step, opts });
    const get = (n: string) => {
      const t = this.tables.get(n);
      if (!t || t instanceof Error) throw new Error(`fake engine: ${n} does not exist`);
      return t;
    };
    switch (step.kind) {
      case 'RENAME_TABLE':
        this.tables.set(step.to, { ...get(step.from), name: step.to });
        this.tables.delete(step.from);
        break;
      case 'BACKUP_TABLE':
        this.backups.set(step.backupName, { ...get(step.name), name: step.backupName });
        break;
      case 'DROP_TABLE':
      case 'DROP_VIEW':
        this.tables.delete(step.name);
        break;
      case 'CREATE_VIEW':
        this.tables.set(step.name, view(step.name));
        break;
      case 'CONSOLIDATE':
        this.tables.set(step.target, table(step.target, { columns: [...step.spec.columns.map((c) => ({ name: c.name, type: c.type })), ...step.spec.windows.map((w) => ({ name: w.presenceColumn, type: 'BOOL' as const }))] }));
        break;
      case 'RESTORE_TABLE':
        break;
    }
    return { jobId: opts.jobId, bytesProcessed: this.bytesPerStep, rowsAffected: 3 };
  }
}

export const PLAN_HASH = '0123456789abcdef'.repeat(4);
export const AT = new Date('2026-12-01T10:00:00.000Z');

/** The run's lock as the executor sees it: lost or not, renewed when due (each ask counted, blocking or not). */
export class FakeLock {
  lost: string | null = null;
  renewals = 0;
  async renewIfDue(): Promise<void> {
    this.renewals++;
  }
  async keepAlive(): Promise<void> {
    this.renewals++;
  }
}

/** A history in which `applied` operations are applied and `open` ones have one open attempt with these steps done. */
export function historyWith(ops: Record<string, Partial<OperationHistory>> = {}): PlanHistory {
  const map = new Map<string, OperationHistory>();
  for (const [id, h] of Object.entries(ops)) map.set(id, { ...emptyHistory(), ...h });
  return { ops: map, runs: [], modeOf: new Map(), touched: map.size > 0 };
}

/** One apply run's context over a fake engine, as applyPlan builds it. */
export function runContext(engine: FakeEngine, ops: readonly PlanOperation[], over: Partial<Omit<RunContext, 'opts'>> & { opts?: Partial<ApplyOptions> } = {}): RunContext {
  const paper = over.paper ?? false;
  const tables = [...engine.tables.values()].filter((t): t is TableInfo => !(t instanceof Error));
  return {
    engine: engine.asEngine(),
    plan: { planHash: PLAN_HASH, operations: [...ops], views: [] } as unknown as Plan,
    policy: { doc: { execution: { pricePerTiBUsd: 6.25 } } } as unknown as Policy,
    paper,
    runId: 'run_test',
    clock: () => AT,
    history: historyWith(),
    state: paper ? new SimulatedState(engine.asEngine(), tables) : new TrackedState(engine.asEngine(), tables),
    lock: null,
    selected: new Set(ops.map((o) => o.id)),
    bytesOf: new Map(),
    viewsOf: new Map(),
    statementsOf: new Map(),
    budgetUsd: 100,
    datasetExpirationMs: null,
    ...freshRunProgress(),
    ...over,
    opts: { mode: paper ? 'paper' : 'real', approve: PLAN_HASH, ...over.opts },
  };
}

/** Answers a consolidation's validation reads as a faithful one: full coverage, equal rows, `nulls` nulls in `val` everywhere. */
export function validatesConsolidation(engine: FakeEngine, op: PlanOperation, nulls = 0): FakeEngine {
  const spec = op.consolidation!;
  const target = op.target as string;
  engine.coverages.set(target, { targetKeys: 5, unionKeys: 5, missing: 0, extra: 0 });
  for (const w of spec.windows) {
    for (const t of [w.source, ...w.copies]) {
      engine.mismatches.set(t, 0);
      engine.nulls.set(t, { val: nulls, interval_time: 0 });
    }
    engine.nulls.set(`${target}|${w.presenceColumn}`, { [`val_${w.window}`]: nulls, interval_time: 0 });
  }
  return engine;
}

/** A DEDUPE of `dup` onto `twin` whose content fingerprints match the plan's. */
export function dedupe(): { op: PlanOperation; engine: FakeEngine } {
  const s = table('dup');
  const op = operation('DEDUPE', [s], { target: 'twin', twin: { table: 'twin', rows: 10, hash: 'h' } });
  const engine = new FakeEngine([s, table('twin')]);
  engine.fingerprints.set('twin', { rows: 10, hash: 'h' });
  engine.fingerprints.set('dup', { rows: 10, hash: 'h' });
  return { op, engine };
}

/**
 * The ledger store a whole run writes (records, runs, lock events), in memory.
 */
export class FakeStore extends FakeLedger {
  readonly runRecords: RunRecord[] = [];
  readonly lock: LockEvent[] = [];
  inits = 0;
  async init(): Promise<void> {
    this.inits++;
  }
  async records(planHash?: string): Promise<LedgerRecord[]> {
    return this.written.filter((r) => !planHash || r.planHash === planHash);
  }
  async appendRun(r: RunRecord): Promise<void> {
    if (this.failAppend) throw this.failAppend;
    this.runRecords.push(r);
  }
  async runs(planHash?: string): Promise<RunRecord[]> {
    return this.runRecords.filter((r) => !planHash || r.planHash === planHash);
  }
  async lockEvents(lockName: string): Promise<LockEvent[]> {
    return this.lock.filter((e) => e.lockName === lockName);
  }
  async appendLockIf(e: LockEvent): Promise<boolean> {
    const head = this.lock.filter((x) => x.lockName === e.lockName).length;
    if (e.seq !== head + 1) return false;
    this.lock.push(e);
    return true;
  }
}

/** A fake engine a whole apply run can use: catalogue, dataset, dry runs, a full ledger store. */
export class RunEngine extends FakeEngine {
  override readonly ledger: FakeStore = new FakeStore();
  datasetExpirationMs: number | null = null;
  estimated = 0;
  async listTables(): Promise<TableInfo[]> {
    this.calls.push('listTables');
    return [...this.tables.values()].filter((t): t is TableInfo => !(t instanceof Error));
  }
  async datasetInfo(): Promise<DatasetInfo> {
    return { name: this.where.dataset, exists: true, location: 'US', defaultTableExpirationMs: this.datasetExpirationMs };
  }
  async estimateBytes(): Promise<number> {
    return this.estimated;
  }
  render(step: Step): string[] {
    return [`-- ${step.kind}`];
  }
  async close(): Promise<void> {}
  /** Row counts answer from the tables unless the test set one. */
  override rowCount(name: string): Promise<number> {
    const t = this.tables.get(name);
    if (!this.rowCounts.has(name) && t && !(t instanceof Error)) this.rowCounts.set(name, t.rowCount);
    return super.rowCount(name);
  }
  /** A view answers with the old table's columns and rows unless the test set an answer. */
  override probe(name: string): Promise<{ columns: Column[]; rows: number }> {
    if (!this.probes.has(name) && (this.tables.get(name) as TableInfo | undefined)?.kind === 'VIEW') this.probes.set(name, { columns: COLS, rows: 10 });
    return super.probe(name);
  }
}

/**
 * A valid plan (it passes the loader: schema, hash, identifiers, structure) over `tables`, with
 * these operations and views; each operation not listed keeps its table (KEEP).
 */
export function planOf(tables: readonly TableInfo[], ops: readonly PlanOperation[], views: readonly CompatibilityView[] = []): Plan {
  const covered = new Set(ops.flatMap((o) => o.sources));
  const keeps = tables
    .filter((t) => !covered.has(t.name))
    .map((t) => operation('KEEP', [t], { target: null, reason: 'COMPLIANT', destructive: false, batch: 0 }));
  const all = [...ops, ...keeps].map((o, i) => {
    const clean = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    return { ...clean, seq: i + 1 } as PlanOperation;
  });
  const zero = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<(typeof ACTIONS)[number], number>;
  const body = {
    format: PLAN_FORMAT,
    engine: 'duckdb',
    project: 'bqx-ml',
    dataset: 'd',
    catalogueFingerprint: catalogueFingerprint(tables),
    tableCount: new Set(all.flatMap((o) => o.sources)).size,
    policyHash: 'a'.repeat(64),
    graceStart: '2026-11-21',
    graceDays: 30,
    summary: { tables: tables.length, byAction: zero, byReason: {}, sourcesByAction: zero, views: views.length, estimatedBytes: 0, estimatedCostUsd: 0, planningBytes: 0 },
    operations: all,
    views: [...views],
  };
  return { ...body, planHash: computePlanHash(body) } as Plan;
}

/** Runs `fn` as one transaction of the fake engine: a throw puts its tables and ledger back. */
export async function inTransaction<T>(engine: FakeEngine, fn: () => Promise<T>): Promise<T> {
  const tables = new Map(engine.tables);
  const written = engine.ledger.written.length;
  try {
    return await fn();
  } catch (e) {
    engine.tables.clear();
    for (const [k, v] of tables) engine.tables.set(k, v);
    engine.ledger.written.splice(written);
    throw e;
  }
}
