/**
 * The runner's lease (RunLock) and `bqx unlock` against an in-memory ledger store: who may take
 * the lock, when it is renewed, what a lost lock and a freeze do, and what each refusal says.
 * The conditional append itself is tested against DuckDB and the BigQuery double elsewhere.
 */
import { hostname } from 'os';
import { holderId } from '../../core/execute/ids';
import { RunLock, unlock } from '../../core/execute/lock';
import type { LockEvent } from '../../core/ledger/types';
import { MemoryLedger } from './fake-engine';

const NAME = 'runner:ds';
const T0 = Date.parse('2026-12-03T00:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const DEAD = `${hostname()}:2147483646`;

function controlledClock() {
  const c = { ms: 0, now: () => new Date(T0 + c.ms) };
  return c;
}
const held = (store: MemoryLedger, o: Partial<LockEvent> = {}) =>
  store.locks.push({ lockName: NAME, seq: store.locks.length + 1, event: 'ACQUIRE', runId: 'other', holder: 'elsewhere:1', expiresAt: iso(60_000), detail: null, at: iso(0), ...o });

describe('RunLock', () => {
  test('acquire on a free lock: ACQUIRE at head + 1 with the lease, nothing taken over', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock, takenOver } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    expect(takenOver).toBeNull();
    expect(store.locks).toEqual([{ lockName: NAME, seq: 1, event: 'ACQUIRE', runId: 'run_a', holder: holderId(), expiresAt: iso(120_000), detail: null, at: iso(0) }]);
    c.ms = 5000;
    await lock.release();
    expect(store.locks[1]).toEqual({ lockName: NAME, seq: 2, event: 'RELEASE', runId: 'run_a', holder: holderId(), expiresAt: iso(5000), detail: null, at: iso(5000) });
    expect(lock.lost).toBeNull();
  });

  test('a live holder refuses with LOCK_HELD; an expired one is taken over and named', async () => {
    const store = new MemoryLedger();
    held(store);
    const c = controlledClock();
    const err = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now }).catch((x) => x);
    expect(err).toMatchObject({
      code: 'LOCK_HELD',
      kind: 'REFUSED',
      message: `another runner holds the lock ${NAME}: elsewhere:1 (run other) until ${iso(60_000)}`,
      hint: `wait until ${iso(60_000)} (the lease is renewed while that run is alive); if its process is gone on another host, a person may run \`bqx unlock --force\``,
    });
    expect(store.locks).toHaveLength(1);
    c.ms = 60_000;
    const { takenOver } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    expect(takenOver).toMatchObject({ runId: 'other' });
    expect(store.locks[1]).toMatchObject({ seq: 2, event: 'TAKEOVER', runId: 'run_a', detail: `from elsewhere:1 (run other) until ${iso(60_000)} (lease expired)` });
  });

  test('a holder whose process is gone on this host is taken over at once', async () => {
    const store = new MemoryLedger();
    held(store, { holder: DEAD, expiresAt: iso(600_000) });
    const { takenOver } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: controlledClock().now });
    expect(takenOver?.holder).toBe(DEAD);
    expect(store.locks[1].detail).toBe(`from ${DEAD} (run other) until ${iso(600_000)} (process gone)`);
  });

  test('a frozen runner refuses with the freeze and what to do', async () => {
    const store = new MemoryLedger();
    held(store, { event: 'FREEZE', detail: 'two halts' });
    await expect(RunLock.probe(store, NAME, new Date(T0))).rejects.toMatchObject({
      code: 'RUNNER_FROZEN',
      kind: 'REFUSED',
      message: `the runner for ${NAME} is frozen since ${iso(0)}: two halts`,
      hint: 'read the run reports and the ledger, fix the cause, then a person runs `bqx unlock --clear-freeze`',
    });
    const noDetail = new MemoryLedger();
    held(noDetail, { event: 'FREEZE' });
    await expect(RunLock.probe(noDetail, NAME, new Date(T0))).rejects.toThrow(`frozen since ${iso(0)}: repeated validation halts`);
  });

  test('losing the race three times: LOCK_CONTENDED; losing once: retried', async () => {
    const store = new MemoryLedger();
    let rivals = 0;
    store.beforeLockAppend = (e) => {
      if (e.runId === 'run_a') {
        rivals += 1;
        store.locks.push({ ...e, runId: `rival${rivals}`, event: 'RELEASE' });
      }
    };
    const err = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120 }).catch((x) => x);
    expect(err).toMatchObject({ code: 'LOCK_CONTENDED', kind: 'REFUSED', message: `could not acquire ${NAME}: other runners keep appending lock events`, hint: 'retry in a minute' });
    expect(rivals).toBe(3);
    const once = new MemoryLedger();
    let first = true;
    once.beforeLockAppend = (e) => {
      if (first) {
        first = false;
        once.locks.push({ ...e, runId: 'rival', event: 'RELEASE' });
      }
    };
    const { lock } = await RunLock.acquire({ store: once, lockName: NAME, runId: 'run_a', ttlSeconds: 120 });
    expect(once.locks.map((e) => `${e.seq} ${e.event} ${e.runId}`)).toEqual(['1 RELEASE rival', '2 ACQUIRE run_a']);
    await lock.release();
    expect(once.locks[2]).toMatchObject({ seq: 3, event: 'RELEASE', runId: 'run_a' });
  });

  test('renews once a third of the lease has passed, from the last renewal', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    c.ms = 39_999;
    await lock.renewIfDue();
    expect(store.locks).toHaveLength(1);
    c.ms = 40_000;
    await lock.renewIfDue();
    expect(store.locks[1]).toEqual({ lockName: NAME, seq: 2, event: 'RENEW', runId: 'run_a', holder: holderId(), expiresAt: iso(160_000), detail: null, at: iso(40_000) });
    c.ms = 79_999;
    await lock.renewIfDue();
    expect(store.locks).toHaveLength(2);
    c.ms = 80_000;
    await lock.renewIfDue();
    expect(store.locks).toHaveLength(3);
  });

  test('keepAlive: a due renewal goes on in the background while more than a third of the lease is left; with less, the caller waits for it', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    // Every append is held until the test lets it land.
    const held: (() => void)[] = [];
    const appendOf = store.appendLockIf.bind(store);
    store.appendLockIf = async (e) => {
      await new Promise<void>((land) => held.push(land));
      return appendOf(e);
    };
    const settled = (p: Promise<void>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);
    c.ms = 30_000; // not due: nothing appended
    expect(await settled(lock.keepAlive())).toBe(true);
    expect(held).toHaveLength(0);
    c.ms = 50_000; // due, 70 s of the lease left: the caller goes on at once
    expect(await settled(lock.keepAlive())).toBe(true);
    expect(held).toHaveLength(1);
    c.ms = 79_000; // 41 s left, the renewal still in flight: still not waited for (and not started twice)
    expect(await settled(lock.keepAlive())).toBe(true);
    expect(held).toHaveLength(1);
    c.ms = 81_000; // 39 s left: the caller waits until the renewal has landed
    const waiting = lock.keepAlive();
    expect(await settled(waiting)).toBe(false);
    held[0]();
    expect(await settled(waiting)).toBe(true);
    expect(store.locks.map((e) => `${e.event} ${e.expiresAt}`)).toEqual([`ACQUIRE ${iso(120_000)}`, `RENEW ${iso(170_000)}`]);
    // The renewed lease counts from its own expiry: 89 s left at 81 s, nothing due or waited for.
    expect(await settled(lock.keepAlive())).toBe(true);
    expect(held).toHaveLength(1);
    expect(lock.lost).toBeNull();
  });

  test.each([
    ['finds another event', (store: MemoryLedger) => void held(store, { event: 'RELEASE', runId: 'unlocker' }), 'another lock event was appended while this run held the lock (forced unlock?)'],
    ['fails', (store: MemoryLedger) => void (store.appendLockIf = async () => Promise.reject(new Error('network'))), 'lease renewal failed'],
  ])('keepAlive: a background renewal that %s marks the lock lost', async (_what, meanwhile, why) => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    meanwhile(store);
    c.ms = 50_000;
    await lock.keepAlive();
    await new Promise((r) => setImmediate(r));
    expect(lock.lost).toBe(why);
  });

  test('concurrent callers share one renewal', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    c.ms = 50_000;
    await Promise.all([lock.renewIfDue(), lock.renewIfDue(), lock.renewIfDue()]);
    expect(store.locks.map((e) => e.event)).toEqual(['ACQUIRE', 'RENEW']);
  });

  test('someone else appended: the lock is lost, never renewed again, and neither frozen nor released', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    held(store, { event: 'RELEASE', runId: 'unlocker' });
    c.ms = 50_000;
    await lock.renewIfDue();
    expect(lock.lost).toBe('another lock event was appended while this run held the lock (forced unlock?)');
    c.ms = 100_000;
    await lock.renewIfDue();
    await lock.freeze('halted');
    await lock.release();
    expect(store.locks.map((e) => e.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });

  test('freeze appends FREEZE with why, after a renewal in flight', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    c.ms = 50_000;
    const renewal = lock.renewIfDue();
    await lock.freeze('two halts');
    await renewal;
    expect(store.locks.map((e) => `${e.seq} ${e.event}`)).toEqual(['1 ACQUIRE', '2 RENEW', '3 FREEZE']);
    expect(store.locks[2]).toMatchObject({ detail: 'two halts', expiresAt: iso(50_000) });
    c.ms = 60_000;
    const r2 = lock.renewIfDue();
    await lock.release();
    await r2;
  });

  test('release appends RELEASE once; a release whose append failed is tried again by the next call', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    let failNext = true;
    store.beforeLockAppend = () => {
      if (failNext) {
        failNext = false;
        throw new Error('ledger unreachable');
      }
    };
    await expect(lock.release()).rejects.toThrow('ledger unreachable');
    expect(store.locks.map((e) => e.event)).toEqual(['ACQUIRE']);
    await lock.release();
    await lock.release();
    expect(store.locks.map((e) => `${e.seq} ${e.event}`)).toEqual(['1 ACQUIRE', '2 RELEASE']);
  });

  test('release waits for a renewal in flight', async () => {
    const store = new MemoryLedger();
    const c = controlledClock();
    const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 120, now: c.now });
    c.ms = 50_000;
    void lock.renewIfDue();
    await lock.release();
    expect(store.locks.map((e) => `${e.seq} ${e.event}`)).toEqual(['1 ACQUIRE', '2 RENEW', '3 RELEASE']);
  });

  test('the heartbeat renews in the background every sixth of the lease, once; a failed renewal marks the lock lost', async () => {
    jest.useFakeTimers();
    try {
      const store = new MemoryLedger();
      const c = controlledClock();
      const { lock } = await RunLock.acquire({ store, lockName: NAME, runId: 'run_a', ttlSeconds: 60, now: c.now });
      lock.startHeartbeat();
      lock.startHeartbeat();
      c.ms = 20_000;
      await jest.advanceTimersByTimeAsync(9_999);
      expect(store.locks).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(store.locks.map((e) => e.event)).toEqual(['ACQUIRE', 'RENEW']);
      c.ms = 40_000;
      store.appendLockIf = async () => Promise.reject(new Error('network'));
      await jest.advanceTimersByTimeAsync(10_000);
      expect(lock.lost).toBe('lease renewal failed');
      lock.stopHeartbeat();
      lock.stopHeartbeat();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('unlock', () => {
  const opts = { clearFreeze: false, force: false, runId: 'run_u', now: new Date(T0) };

  test('nothing held, nothing frozen: nothing to do', async () => {
    const store = new MemoryLedger();
    expect(await unlock(store, NAME, opts)).toEqual({ before: { head: 0, holder: null, frozen: null, clearedAt: null }, actions: [] });
    expect(await unlock(store, NAME, { ...opts, clearFreeze: true })).toMatchObject({ actions: ['the runner was not frozen'] });
    expect(store.locks).toEqual([]);
  });

  test('an expired lease is released, saying why', async () => {
    const store = new MemoryLedger();
    held(store, { expiresAt: iso(0) });
    const r = await unlock(store, NAME, opts);
    expect(r.actions).toEqual([`released the lock held by elsewhere:1 (run other) until ${iso(0)}`]);
    expect(store.locks[1]).toEqual({ lockName: NAME, seq: 2, event: 'RELEASE', runId: 'run_u', holder: holderId(), expiresAt: iso(0), detail: `released by ${holderId()}: lease expired`, at: iso(0) });
  });

  test('a dead holder is released; a live one only with force', async () => {
    const dead = new MemoryLedger();
    held(dead, { holder: DEAD });
    await unlock(dead, NAME, opts);
    expect(dead.locks[1].detail).toBe(`released by ${holderId()}: holder process gone`);
    // Forced on a dead holder still says why it was free to go.
    const deadForced = new MemoryLedger();
    held(deadForced, { holder: DEAD });
    await unlock(deadForced, NAME, { ...opts, force: true });
    expect(deadForced.locks[1].detail).toBe(`released by ${holderId()}: holder process gone`);
    const expiredForced = new MemoryLedger();
    held(expiredForced, { expiresAt: iso(0) });
    await unlock(expiredForced, NAME, { ...opts, force: true });
    expect(expiredForced.locks[1].detail).toBe(`released by ${holderId()}: lease expired`);

    const live = new MemoryLedger();
    held(live);
    await expect(unlock(live, NAME, opts)).rejects.toMatchObject({
      code: 'LOCK_HELD',
      kind: 'REFUSED',
      message: `the lock ${NAME} is held by a live runner: elsewhere:1 (run other) until ${iso(60_000)}`,
      hint: 'wait for it to finish, or pass --force if you know that process is gone',
    });
    expect(live.locks).toHaveLength(1);
    await unlock(live, NAME, { ...opts, force: true });
    expect(live.locks[1].detail).toBe(`released by ${holderId()}: forced`);
  });

  test('clearing a freeze under a live holder leaves the holder; clears the freeze', async () => {
    const store = new MemoryLedger();
    held(store);
    held(store, { event: 'FREEZE', detail: 'x', at: iso(5) });
    const r = await unlock(store, NAME, { ...opts, clearFreeze: true });
    expect(r.actions).toEqual([`cleared the freeze set at ${iso(5)}`]);
    expect(store.locks[2]).toMatchObject({ seq: 3, event: 'CLEAR', detail: `freeze cleared by ${holderId()}` });
  });

  test('release and clear together append in order', async () => {
    const store = new MemoryLedger();
    held(store, { expiresAt: iso(0) });
    held(store, { event: 'FREEZE', detail: 'x', at: iso(5) });
    const r = await unlock(store, NAME, { ...opts, clearFreeze: true });
    expect(r.actions).toHaveLength(2);
    expect(store.locks.map((e) => `${e.seq} ${e.event}`)).toEqual(['1 ACQUIRE', '2 FREEZE', '3 RELEASE', '4 CLEAR']);
  });

  test('the lock changing underneath: LOCK_CONTENDED, run it again', async () => {
    const store = new MemoryLedger();
    held(store, { expiresAt: iso(0) });
    store.beforeLockAppend = (e) => void store.locks.push({ ...e, runId: 'rival' });
    await expect(unlock(store, NAME, opts)).rejects.toMatchObject({ code: 'LOCK_CONTENDED', kind: 'FAILURE', message: `${NAME} changed while unlocking`, hint: 'run `bqx unlock` again' });
  });

  test('defaults to the current time', async () => {
    const store = new MemoryLedger();
    held(store, { expiresAt: '2000-01-01T00:00:00.000Z' });
    const r = await unlock(store, NAME, { clearFreeze: false, force: false, runId: 'u' });
    expect(r.actions).toHaveLength(1);
    expect(Date.parse(store.locks[1].at)).toBeGreaterThan(T0 - 365 * 86_400_000 * 10);
  });
});
