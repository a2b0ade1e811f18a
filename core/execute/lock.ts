import { hostname } from 'os';
import { BqxError } from '../errors';
import type { LedgerStore, LockEvent, LockEventKind, RunRecord } from '../ledger/types';
import { holderId } from './ids';

/** Halts (validation failures) since the last CLEAR after which the runner freezes. */
export const HALTS_BEFORE_FREEZE = 2;

export interface LockHolder {
  readonly runId: string;
  readonly holder: string;
  readonly expiresAt: string;
  readonly since: string;
}

export interface LockState {
  /** Newest seq (0 when the lock has no events). */
  readonly head: number;
  /** Current holder, whether or not its lease has expired. */
  readonly holder: LockHolder | null;
  readonly frozen: { readonly at: string; readonly detail: string | null } | null;
  /** When the last freeze was cleared (halts before this do not count). */
  readonly clearedAt: string | null;
}

export function lockNameFor(dataset: string): string {
  return `runner:${dataset}`;
}

export function foldLock(events: readonly LockEvent[]): LockState {
  let head = 0;
  let holder: LockHolder | null = null;
  let frozen: LockState['frozen'] = null;
  let clearedAt: string | null = null;
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    head = e.seq;
    switch (e.event) {
      case 'ACQUIRE':
      case 'TAKEOVER':
        holder = { runId: e.runId, holder: e.holder, expiresAt: e.expiresAt, since: e.at };
        break;
      case 'RENEW': {
        const cur = holder as LockHolder | null;
        if (cur && cur.runId === e.runId) holder = { runId: cur.runId, holder: cur.holder, since: cur.since, expiresAt: e.expiresAt };
        break;
      }
      case 'RELEASE':
        holder = null;
        break;
      case 'FREEZE':
        frozen = { at: e.at, detail: e.detail };
        break;
      case 'CLEAR':
        frozen = null;
        clearedAt = e.at;
        break;
    }
  }
  return { head, holder, frozen, clearedAt };
}

/** True when `holder` (host:pid) is a process on this host that no longer runs. */
export function holderIsDeadHere(holder: string): boolean {
  const i = holder.lastIndexOf(':');
  const host = holder.slice(0, i);
  const pid = Number(holder.slice(i + 1));
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export function isExpired(h: LockHolder, now: Date): boolean {
  return Date.parse(h.expiresAt) <= now.getTime();
}

export function describeHolder(h: LockHolder): string {
  return `${h.holder} (run ${h.runId}) until ${h.expiresAt}`;
}

function refused(code: string, message: string, hint: string): BqxError {
  return new BqxError(code, message, hint, 'REFUSED');
}

export interface LockOptions {
  readonly store: LedgerStore;
  readonly lockName: string;
  readonly runId: string;
  readonly ttlSeconds: number;
  readonly now?: () => Date;
}

/**
 * The runner's lease: append-only events, each appended only on head + 1, so two runners can never
 * both believe they hold it.
 */
export class RunLock {
  private head: number;
  private lastRenewal: number;
  /** When the lease of the last event this run appended expires (clock ms); 0 before the first. */
  private leaseUntil = 0;
  lost: string | null = null;
  private renewing: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(
    private readonly o: LockOptions,
    head: number,
    private readonly clock: () => Date,
  ) {
    this.head = head;
    this.lastRenewal = clock().getTime();
  }

  /**
   * Refuses (LOCK_HELD, RUNNER_FROZEN) without writing anything when the lock cannot be taken now;
   * otherwise returns what acquiring it would take over. Runs before a run's first write.
   */
  static async probe(store: LedgerStore, lockName: string, now: Date): Promise<{ state: LockState; takenOver: LockHolder | null }> {
    const state = foldLock(await store.lockEvents(lockName));
    if (state.frozen) {
      throw refused(
        'RUNNER_FROZEN',
        `the runner for ${lockName} is frozen since ${state.frozen.at}: ${state.frozen.detail ?? 'repeated validation halts'}`,
        'read the run reports and the ledger, fix the cause, then a person runs `bqx unlock --clear-freeze`',
      );
    }
    const h = state.holder;
    if (h && !isExpired(h, now) && !holderIsDeadHere(h.holder)) {
      throw refused(
        'LOCK_HELD',
        `another runner holds the lock ${lockName}: ${describeHolder(h)}`,
        `wait until ${h.expiresAt} (the lease is renewed while that run is alive); if its process is gone on another host, a person may run \`bqx unlock --force\``,
      );
    }
    return { state, takenOver: h };
  }

  static async acquire(o: LockOptions): Promise<{ lock: RunLock; takenOver: LockHolder | null }> {
    const clock = o.now ?? (() => new Date());
    for (let tries = 0; tries < 3; tries++) {
      const { state, takenOver } = await RunLock.probe(o.store, o.lockName, clock());
      const kind: LockEventKind = takenOver ? 'TAKEOVER' : 'ACQUIRE';
      const lock = new RunLock(o, state.head, clock);
      const detail = takenOver ? `from ${describeHolder(takenOver)}${holderIsDeadHere(takenOver.holder) ? ' (process gone)' : ' (lease expired)'}` : null;
      if (await lock.append(kind, detail)) return { lock, takenOver };
    }
    throw refused('LOCK_CONTENDED', `could not acquire ${o.lockName}: other runners keep appending lock events`, 'retry in a minute');
  }

  private expiry(): string {
    return new Date(this.clock().getTime() + this.o.ttlSeconds * 1000).toISOString();
  }

  private async append(event: LockEventKind, detail: string | null): Promise<boolean> {
    const e: LockEvent = {
      lockName: this.o.lockName,
      seq: this.head + 1,
      event,
      runId: this.o.runId,
      holder: holderId(),
      expiresAt: event === 'RELEASE' || event === 'FREEZE' ? this.clock().toISOString() : this.expiry(),
      detail,
      at: this.clock().toISOString(),
    };
    const ok = await this.o.store.appendLockIf(e);
    if (ok) {
      this.head = e.seq;
      this.lastRenewal = this.clock().getTime();
      this.leaseUntil = Date.parse(e.expiresAt);
    }
    return ok;
  }

  /** Renews the lease when a third of it has passed; marks the lock lost if someone else appended. */
  async renewIfDue(): Promise<void> {
    // Operations run in parallel call this concurrently; one renewal at a time keeps seq in order.
    if (this.renewing) return this.renewing;
    if (this.lost) return;
    if (this.clock().getTime() - this.lastRenewal < (this.o.ttlSeconds * 1000) / 3) return;
    this.renewing = this.append('RENEW', null)
      .then((ok) => {
        if (!ok) this.lost = 'another lock event was appended while this run held the lock (forced unlock?)';
      })
      .finally(() => {
        this.renewing = null;
      });
    return this.renewing;
  }

  /**
   * Before a step of a parallel run: a due renewal is started and the step goes on while it is in
   * flight, as long as more than a third of the lease is left (a renewal's INSERT takes about a
   * second; waiting for it stalled every operation of the run at once, every third of the lease).
   * With less left, the step waits for the renewal. A renewal that finds the lock lost, or fails,
   * marks it lost: the next step of every operation stops (checked before each step).
   */
  async keepAlive(): Promise<void> {
    if (this.lost) return;
    const renewal = this.renewIfDue().catch(() => {
      this.lost ??= 'lease renewal failed';
    });
    if (this.leaseUntil - this.clock().getTime() < (this.o.ttlSeconds * 1000) / 3) await renewal;
  }

  /**
   * Renews in the background too, for engines whose single steps can outlast the lease (a
   * BigQuery CTAS). Only where the engine takes concurrent calls (maxParallelOperations > 1).
   */
  startHeartbeat(): void {
    if (this.heartbeat) return;
    this.heartbeat = setInterval(() => void this.renewIfDue().catch(() => (this.lost ??= 'lease renewal failed')), (this.o.ttlSeconds * 1000) / 6);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  async freeze(detail: string): Promise<void> {
    if (this.renewing) await this.renewing;
    if (!this.lost) await this.append('FREEZE', detail);
  }

  private released = false;

  /** Appends RELEASE once: a call after one that appended it (the run shell's cleanup) does nothing; one after a failed append tries again. */
  async release(): Promise<void> {
    this.stopHeartbeat();
    if (this.renewing) await this.renewing;
    if (this.released || this.lost) return;
    await this.append('RELEASE', null);
    this.released = true;
  }
}

/** Halted apply runs since the last CLEAR: repeated halts freeze the runner. */
export function haltsSinceClear(runs: readonly RunRecord[], clearedAt: string | null): number {
  return runs.filter((r) => r.mode === 'apply' && r.event === 'END' && r.status === 'HALTED' && (!clearedAt || r.at > clearedAt)).length;
}

/** `bqx unlock`: releases a dead or expired holder's lock, or any with force; clears a freeze. */
export async function unlock(
  store: LedgerStore,
  lockName: string,
  opts: { clearFreeze: boolean; force: boolean; runId: string; now?: Date },
): Promise<{ before: LockState; actions: string[] }> {
  const now = opts.now ?? new Date();
  const before = foldLock(await store.lockEvents(lockName));
  const actions: string[] = [];
  let head = before.head;
  const append = async (event: LockEventKind, detail: string) => {
    const ok = await store.appendLockIf({ lockName, seq: head + 1, event, runId: opts.runId, holder: holderId(), expiresAt: now.toISOString(), detail, at: now.toISOString() });
    if (!ok) throw new BqxError('LOCK_CONTENDED', `${lockName} changed while unlocking`, 'run `bqx unlock` again', 'FAILURE');
    head += 1;
  };
  const h = before.holder;
  if (h) {
    const dead = holderIsDeadHere(h.holder);
    if (isExpired(h, now) || dead || opts.force) {
      await append('RELEASE', `released by ${holderId()}: ${opts.force && !dead && !isExpired(h, now) ? 'forced' : dead ? 'holder process gone' : 'lease expired'}`);
      actions.push(`released the lock held by ${describeHolder(h)}`);
    } else if (!opts.clearFreeze) {
      throw refused('LOCK_HELD', `the lock ${lockName} is held by a live runner: ${describeHolder(h)}`, 'wait for it to finish, or pass --force if you know that process is gone');
    }
  }
  if (opts.clearFreeze) {
    if (before.frozen) {
      await append('CLEAR', `freeze cleared by ${holderId()}`);
      actions.push(`cleared the freeze set at ${before.frozen.at}`);
    } else {
      actions.push('the runner was not frozen');
    }
  }
  return { before, actions };
}
