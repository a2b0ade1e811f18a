/**
 * A fake of the Engine port for the executor's in-process unit tests: a catalogue in a Map, steps
 * applied to it, a ledger in arrays. It tests core's decisions (what rollback undoes, what verify
 * and reconcile name, how a run starts and ends), not an engine: DuckDB and the BigQuery double
 * are tested for real in the other suites.
 */
import { makeSnapshot, type Column, type TableInfo } from '../../core/catalogue';
import { emptyFacts, type PlanningFacts } from '../../core/plan/facts';
import { decidePlan } from '../../core/plan/planner';
import type { Plan, PlanOperation } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import { operationRecord } from '../../core/execute/run-common';
import { stepsFor, stepKey, viewsByOperation } from '../../core/execute/steps';
import type { LedgerRecord, LedgerStore, LockEvent, RunRecord } from '../../core/ledger/types';
import type { ContentFingerprint, Engine, Step, StepResult } from '../../core/ports/engine';

export const policy = loadPolicy();

export class MemoryLedger implements LedgerStore {
  readonly records_: LedgerRecord[] = [];
  readonly runs_: RunRecord[] = [];
  readonly locks: LockEvent[] = [];
  inits = 0;
  flushes = 0;
  settles = 0;
  /** Set: the next append/appendRun/flush throws it. */
  failWrites: Error | null = null;
  /** Called before every appendLockIf (a test can append a rival event there). */
  beforeLockAppend: ((e: LockEvent) => void) | null = null;

  private check(): void {
    if (this.failWrites) throw this.failWrites;
  }
  async init(): Promise<void> {
    this.inits += 1;
  }
  /** Absent unless a test sets it (a store that creates its tables in stages). */
  initStaged?: LedgerStore['initStaged'];
  async append(records: readonly LedgerRecord[]): Promise<void> {
    this.check();
    this.records_.push(...records);
  }
  async flush(): Promise<void> {
    this.check();
    this.flushes += 1;
  }
  async settle(): Promise<void> {
    this.settles += 1;
  }
  async records(planHash?: string): Promise<LedgerRecord[]> {
    return this.records_.filter((r) => planHash === undefined || r.planHash === planHash);
  }
  async appendRun(record: RunRecord): Promise<void> {
    this.check();
    this.runs_.push(record);
  }
  async runs(planHash?: string): Promise<RunRecord[]> {
    return this.runs_.filter((r) => planHash === undefined || r.planHash === planHash);
  }
  async lockEvents(lockName: string): Promise<LockEvent[]> {
    return this.locks.filter((e) => e.lockName === lockName);
  }
  async appendLockIf(event: LockEvent): Promise<boolean> {
    this.beforeLockAppend?.(event);
    const head = Math.max(0, ...this.locks.filter((e) => e.lockName === event.lockName).map((e) => e.seq));
    if (event.seq !== head + 1) return false;
    this.locks.push(event);
    return true;
  }
}

export interface FakeOptions {
  readonly dataset?: string;
  readonly soleWriter?: boolean;
  readonly atomic?: boolean;
}

/** The fake engine; `content` is what a table holds (moved by renames, copied by backups). */
export class FakeEngine implements Engine {
  readonly kind = 'duckdb' as const;
  readonly where: Engine['where'];
  readonly maxParallelOperations = 1;
  readonly soleWriter: boolean;
  readonly ledger = new MemoryLedger();
  readonly tables = new Map<string, TableInfo>();
  readonly backups = new Map<string, TableInfo>();
  readonly content = new Map<string, string>();
  /** Every step run, in order, with its job id and labels. */
  readonly ran: { step: Step; jobId: string; labels?: Readonly<Record<string, string>> }[] = [];
  /** Names whose getTable was asked. */
  readonly reads: string[] = [];
  /** A step this returns an Error for fails with it. */
  failStep: (s: Step) => Error | null = () => null;
  atomically?: <T>(fn: () => Promise<T>) => Promise<T>;

  constructor(tables: readonly TableInfo[], o: FakeOptions = {}) {
    this.where = { project: 'bqx-ml', dataset: o.dataset ?? 'ds', runnerDataset: 'bqx_runner', location: 'US' };
    this.soleWriter = o.soleWriter ?? false;
    for (const t of tables) this.tables.set(t.name, t);
    if (o.atomic) {
      this.atomically = async <T>(fn: () => Promise<T>): Promise<T> => {
        const saved = { tables: new Map(this.tables), backups: new Map(this.backups), content: new Map(this.content), records: this.ledger.records_.length };
        try {
          return await fn();
        } catch (e) {
          for (const [k, m] of [['tables', this.tables], ['backups', this.backups], ['content', this.content]] as const) {
            (m as Map<string, unknown>).clear();
            for (const [n, v] of saved[k] as Map<string, unknown>) (m as Map<string, unknown>).set(n, v);
          }
          this.ledger.records_.length = saved.records;
          throw e;
        }
      };
    }
  }

  async listTables(): Promise<TableInfo[]> {
    return [...this.tables.values()];
  }
  async getTable(name: string): Promise<TableInfo | null> {
    this.reads.push(name);
    return this.tables.get(name) ?? null;
  }
  async datasetInfo(): Promise<never> {
    throw new Error('not used');
  }
  async sampleNumeric(): Promise<number[]> {
    return [];
  }
  async contentFingerprint(table: string): Promise<ContentFingerprint> {
    const t = this.tables.get(table);
    if (!t) throw new Error(`no table ${table}`);
    return { rows: t.rowCount, hash: this.content.get(table) ?? `content-of-${table}` };
  }
  async keyStats(): Promise<never> {
    throw new Error('not used');
  }
  async columnsAgreeOnKey(): Promise<never> {
    throw new Error('not used');
  }
  render(): string[] {
    return [];
  }
  async estimateBytes(): Promise<number> {
    return 0;
  }
  async rehearse(): Promise<never> {
    throw new Error('not used');
  }
  async rowCount(table: string): Promise<number> {
    const t = this.tables.get(table);
    if (!t) throw new Error(`no table ${table}`);
    return t.rowCount;
  }
  async nullCounts(_t: string, columns: readonly string[]): Promise<Record<string, number>> {
    return Object.fromEntries(columns.map((c) => [c, 0]));
  }
  async coverage(): Promise<{ targetKeys: number; unionKeys: number; missing: number; extra: number }> {
    return { targetKeys: 10, unionKeys: 10, missing: 0, extra: 0 };
  }
  async mismatchedRows(): Promise<number> {
    return 0;
  }
  async probe(name: string): Promise<{ columns: Column[]; rows: number }> {
    const t = this.tables.get(name);
    if (!t) throw new Error(`no view ${name}`);
    return { columns: [...t.columns], rows: t.rowCount };
  }
  async getBackup(name: string): Promise<TableInfo | null> {
    return this.backups.get(name) ?? null;
  }
  async listRunnerTables(): Promise<string[]> {
    return [...this.backups.keys()];
  }
  async close(): Promise<void> {}

  async run(step: Step, opts: { jobId: string; labels?: Readonly<Record<string, string>> }): Promise<StepResult> {
    const err = this.failStep(step);
    if (err) throw err;
    this.ran.push({ step, jobId: opts.jobId, labels: opts.labels });
    const t = this.tables;
    const need = (n: string) => {
      const x = t.get(n);
      if (!x) throw new Error(`no ${n}`);
      return x;
    };
    switch (step.kind) {
      case 'RENAME_TABLE': {
        const x = need(step.from);
        t.delete(step.from);
        t.set(step.to, { ...x, name: step.to });
        this.content.set(step.to, this.content.get(step.from) ?? `content-of-${step.from}`);
        this.content.delete(step.from);
        break;
      }
      case 'DROP_TABLE':
      case 'DROP_VIEW':
        need(step.name);
        t.delete(step.name);
        break;
      case 'BACKUP_TABLE':
        this.backups.set(step.backupName, { ...need(step.name), name: step.backupName });
        this.content.set(step.backupName, this.content.get(step.name) ?? `content-of-${step.name}`);
        break;
      case 'RESTORE_TABLE': {
        const b = this.backups.get(step.backupName);
        if (!b) throw new Error(`no backup ${step.backupName}`);
        t.set(step.name, { ...b, name: step.name });
        this.content.set(step.name, this.content.get(step.backupName) ?? '');
        break;
      }
      case 'CONSOLIDATE':
        t.set(step.target, { name: step.target, kind: 'TABLE', columns: step.spec.columns.map((c) => ({ name: c.name, type: c.type })), rowCount: 10, bytes: 0, partitionBy: null, clusterBy: [] });
        break;
      case 'CREATE_VIEW': {
        const target = need(step.target);
        const types = new Map(target.columns.map((c) => [c.name, c.type]));
        t.set(step.name, { name: step.name, kind: 'VIEW', columns: step.columns.map((c) => ({ name: c.name, type: types.get(c.column) ?? 'OTHER' })), rowCount: target.rowCount, bytes: 0, partitionBy: null, clusterBy: [] });
        break;
      }
    }
    return { jobId: opts.jobId, bytesProcessed: 0, rowsAffected: null };
  }
}

// A small catalogue whose plan has one operation of each kind: RENAME (with a view), DEDUPE
// (with a view), CONSOLIDATE (two windows, a view each), and a KEEP.
const ts: Column = { name: 'interval_time', type: 'TIMESTAMP' };
const f = (name: string): Column => ({ name, type: 'FLOAT64' });
const covCols: Column[] = [ts, { name: 'pair1', type: 'STRING' }, { name: 'pair2', type: 'STRING' }, f('val1'), f('val2')];
const regimeCols = (w: number): Column[] => [ts, { name: 'pair', type: 'STRING' }, f(`regime_${w}`), f(`bqx_${w}`)];

export function table(name: string, columns: Column[], rowCount = 10): TableInfo {
  return { name, kind: 'TABLE', columns, rowCount, bytes: rowCount * columns.length * 8, partitionBy: 'interval_time', clusterBy: ['pair'] };
}

export const RENAMED = 'cov_mom_audcad_audchf';
export const DUPLICATE = 'cov_agg_audcad_audchf';
export const TWIN = 'cov_agg_bqx_audcad_audchf';

export function sampleCatalogue(): { tables: TableInfo[]; facts: PlanningFacts } {
  const facts = emptyFacts();
  facts.samples.set(RENAMED, { column: 'val1', values: [101, 99, 100] });
  facts.samples.set(DUPLICATE, { column: 'val1', values: [1, -2, 0.5] });
  facts.fingerprints.set(DUPLICATE, { rows: 10, hash: 'A' });
  facts.fingerprints.set(TWIN, { rows: 10, hash: 'A' });
  for (const w of [45, 90]) {
    facts.fingerprints.set(`regime_eurusd_${w}`, { rows: 10, hash: `I${w}` });
    facts.fingerprints.set(`regime_bqx_eurusd_${w}`, { rows: 10, hash: `B${w}` });
    for (const v of ['', 'bqx_']) facts.keyStats.set(`regime_${v}eurusd_${w}`, { rows: 10, distinctKeys: 10, nullKeys: 0 });
  }
  const tables = [
    table(RENAMED, covCols),
    table(DUPLICATE, covCols),
    table(TWIN, covCols),
    ...[45, 90].flatMap((w) => [table(`regime_eurusd_${w}`, regimeCols(w)), table(`regime_bqx_eurusd_${w}`, regimeCols(w))]),
  ];
  return { tables, facts };
}

let planned: { plan: Plan; tables: TableInfo[] } | null = null;

/** The sample catalogue's plan, decided once per test file (the planner is not what these tests test). */
export function samplePlan(): { plan: Plan; tables: TableInfo[] } {
  if (!planned) {
    const { tables, facts } = sampleCatalogue();
    planned = { plan: decidePlan({ snapshot: makeSnapshot('test', 'bqx-ml', 'ds', tables), policy, graceStart: '2026-12-01' }, facts), tables };
  }
  return { plan: structuredClone(planned.plan), tables: structuredClone(planned.tables) };
}

export const opOf = (plan: Plan, action: PlanOperation['action'], source?: string): PlanOperation =>
  plan.operations.find((o) => o.action === action && (source === undefined || o.sources.includes(source)))!;

/** An engine holding the plan's catalogue, contents as the planning facts saw them. */
export function engineFor(plan: Plan, tables: readonly TableInfo[], o: FakeOptions = {}): FakeEngine {
  const e = new FakeEngine(tables, o);
  e.content.set(DUPLICATE, 'A');
  e.content.set(TWIN, 'A');
  void plan;
  return e;
}

const AT = '2026-12-02T00:00:00.000Z';

/**
 * Carries out operations as an apply run would leave them (steps run, ledger records written),
 * without the executor: what rollback, verify and reconcile then read.
 */
export async function applyByHand(e: FakeEngine, plan: Plan, ops: readonly PlanOperation[], o: { runId?: string; record?: boolean; end?: boolean } = {}): Promise<void> {
  const runId = o.runId ?? 'run_apply';
  const views = viewsByOperation(plan);
  const record = o.record ?? true;
  if (record) await e.ledger.appendRun({ runId, planHash: plan.planHash, mode: 'apply', event: 'START', status: null, summary: null, at: AT });
  for (const op of ops) {
    const rec = (state: LedgerRecord['state'], reason: string, detail: string | null = null): LedgerRecord => operationRecord({ runId, planHash: plan.planHash, at: AT }, op, 1, state, reason, { detail });
    if (record) await e.ledger.append([rec('STARTED', 'STARTED')]);
    for (const s of stepsFor(op, views.get(op.id) ?? [], 1)) {
      if (s.kind === 'VALIDATE_CONSOLIDATION') continue;
      await e.run(s, { jobId: 'apply' });
      const k = stepKey(s);
      if (record) await e.ledger.append([rec('STEP_DONE', k.reason, k.detail)]);
    }
    if (record) await e.ledger.append([rec('APPLIED', 'OK')]);
  }
  if (record && o.end !== false) await e.ledger.appendRun({ runId, planHash: plan.planHash, mode: 'apply', event: 'END', status: 'OK', summary: null, at: AT });
  e.ran.length = 0;
}
