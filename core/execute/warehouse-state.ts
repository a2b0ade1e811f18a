import type { TableInfo } from '../catalogue';
import type { ConsolidationSpec } from '../plan/types';
import type { ContentFingerprint, Engine, Step } from '../ports/engine';

/**
 * What gates and step checks read: the warehouse itself (real runs) or a simulated copy of it
 * (paper runs), so that rename sequences and views evaluate against the state earlier operations
 * of the same run would have produced.
 */
export interface WarehouseState {
  readonly simulated: boolean;
  get(name: string): Promise<TableInfo | null>;
  /** null when the content cannot be read (a table that exists only in the simulation). */
  contentFingerprint(name: string): Promise<ContentFingerprint | null>;
}

interface SimEntry {
  readonly info: TableInfo;
  /** Where this content lives in the real warehouse now; null for tables only the simulation has. */
  readonly realName: string | null;
}

function consolidatedColumns(spec: ConsolidationSpec): TableInfo['columns'] {
  const cols = spec.columns.map((c) => ({ name: c.name, type: c.type }));
  for (const w of spec.windows) if (!cols.some((c) => c.name === w.presenceColumn)) cols.push({ name: w.presenceColumn, type: 'BOOL' });
  return cols;
}

/** Names a step reads or writes in the dataset. */
export function namesOf(step: Step): string[] {
  switch (step.kind) {
    case 'RENAME_TABLE':
      return [step.from, step.to];
    case 'CONSOLIDATE':
      return [step.target, ...step.spec.windows.map((w) => w.source)];
    case 'BACKUP_TABLE':
      return [step.name];
    case 'RESTORE_TABLE':
    case 'DROP_TABLE':
    case 'CREATE_VIEW':
    case 'DROP_VIEW':
      return [step.name];
  }
}

/** A catalogue that steps change virtually: nothing reaches the warehouse. */
export class SimulatedState implements WarehouseState {
  readonly simulated = true;
  private readonly tables = new Map<string, SimEntry>();
  private readonly backups = new Map<string, SimEntry>();

  constructor(
    private readonly engine: Engine,
    tables: readonly TableInfo[],
  ) {
    for (const t of tables) this.tables.set(t.name, { info: t, realName: t.name });
  }

  async get(name: string): Promise<TableInfo | null> {
    return this.tables.get(name)?.info ?? null;
  }

  /** A copy of what the simulation holds (entries are replaced, never changed in place); calling it puts the copy back. */
  snapshot(): () => void {
    const tables = new Map(this.tables);
    const backups = new Map(this.backups);
    return () => {
      this.tables.clear();
      this.backups.clear();
      for (const [n, e] of tables) this.tables.set(n, e);
      for (const [n, e] of backups) this.backups.set(n, e);
    };
  }

  /** Replaces what the simulation knows about `name` (null: absent). */
  put(name: string, info: TableInfo | null): void {
    if (info) this.tables.set(name, { info, realName: name });
    else this.tables.delete(name);
  }

  async contentFingerprint(name: string): Promise<ContentFingerprint | null> {
    const e = this.tables.get(name);
    return e?.realName ? this.engine.contentFingerprint(e.realName) : null;
  }

  /** Applies a step's effect to the simulated catalogue. */
  apply(step: Step): void {
    switch (step.kind) {
      case 'RENAME_TABLE': {
        const e = this.tables.get(step.from);
        if (!e) throw new Error(`simulation: ${step.from} does not exist`);
        if (this.tables.has(step.to)) throw new Error(`simulation: ${step.to} already exists`);
        this.tables.delete(step.from);
        this.tables.set(step.to, { info: { ...e.info, name: step.to }, realName: e.realName });
        return;
      }
      case 'DROP_TABLE':
        if (this.tables.get(step.name)?.info.kind !== 'TABLE') throw new Error(`simulation: table ${step.name} does not exist`);
        this.tables.delete(step.name);
        return;
      case 'DROP_VIEW':
        if (this.tables.get(step.name)?.info.kind !== 'VIEW') throw new Error(`simulation: view ${step.name} does not exist`);
        this.tables.delete(step.name);
        return;
      case 'BACKUP_TABLE': {
        const e = this.tables.get(step.name);
        if (!e) throw new Error(`simulation: ${step.name} does not exist`);
        this.backups.set(step.backupName, e);
        return;
      }
      case 'RESTORE_TABLE': {
        const b = this.backups.get(step.backupName);
        if (!b) throw new Error(`simulation: backup ${step.backupName} does not exist`);
        this.tables.set(step.name, { info: { ...b.info, name: step.name }, realName: b.realName });
        return;
      }
      case 'CONSOLIDATE': {
        if (this.tables.has(step.target)) throw new Error(`simulation: ${step.target} already exists`);
        const sources = step.spec.windows.map((w) => this.tables.get(w.source)?.info);
        const rows = Math.max(0, ...sources.map((s) => s?.rowCount ?? 0));
        this.tables.set(step.target, {
          info: {
            name: step.target,
            kind: 'TABLE',
            columns: consolidatedColumns(step.spec),
            rowCount: rows,
            bytes: 0,
            partitionBy: step.spec.partitionBy,
            clusterBy: step.spec.clusterBy,
          },
          realName: null,
        });
        return;
      }
      case 'CREATE_VIEW': {
        if (this.tables.has(step.name)) throw new Error(`simulation: ${step.name} already exists`);
        const target = this.tables.get(step.target)?.info;
        if (!target) throw new Error(`simulation: view target ${step.target} does not exist`);
        const types = new Map(target.columns.map((c) => [c.name, c.type]));
        this.tables.set(step.name, {
          info: {
            name: step.name,
            kind: 'VIEW',
            columns: step.columns.map((c) => ({ name: c.name, type: types.get(c.column) ?? 'OTHER' })),
            rowCount: 0,
            bytes: 0,
            partitionBy: null,
            clusterBy: [],
          },
          realName: null,
        });
        return;
      }
    }
  }
}

/**
 * Real runs: the catalogue read once at the start (after any crash, so it shows every change an
 * earlier attempt made), refreshed from the warehouse for the names an operation's gates read, and
 * kept current by applying each step this process carried out. The run holds the lock, so only it
 * changes these names; validation always reads the warehouse itself.
 */
export class TrackedState implements WarehouseState {
  readonly simulated = false;
  private readonly sim: SimulatedState;

  constructor(
    private readonly engine: Engine,
    tables: readonly TableInfo[],
  ) {
    this.sim = new SimulatedState(engine, tables);
  }

  get(name: string): Promise<TableInfo | null> {
    return this.sim.get(name);
  }

  private readonly primed = new Map<string, ContentFingerprint | Error>();

  /**
   * Fingerprints read in bulk just before a batch runs (the sole writer's warehouse cannot change
   * in between); each answers one gate, then the next read goes to the warehouse again.
   */
  prime(fingerprints: ReadonlyMap<string, ContentFingerprint | Error>): void {
    for (const [n, f] of fingerprints) this.primed.set(n, f);
  }

  contentFingerprint(name: string): Promise<ContentFingerprint> {
    const p = this.primed.get(name);
    if (p === undefined) return this.engine.contentFingerprint(name);
    this.primed.delete(name);
    return p instanceof Error ? Promise.reject(p) : Promise.resolve(p);
  }

  async refresh(names: readonly string[]): Promise<void> {
    for (const n of new Set(names)) this.sim.put(n, await this.engine.getTable(n));
  }

  /** What this state holds now, to put back with `restore` when a transaction rolls back what followed. */
  snapshot(): () => void {
    const sim = this.sim.snapshot();
    const primed = new Map(this.primed);
    return () => {
      sim();
      this.primed.clear();
      for (const [n, f] of primed) this.primed.set(n, f);
    };
  }

  /** After a step ran: apply its effect, or re-read its names if the tracked state disagrees. */
  async afterStep(step: Step): Promise<void> {
    try {
      this.sim.apply(step);
    } catch {
      await this.refresh(namesOf(step));
    }
  }
}
