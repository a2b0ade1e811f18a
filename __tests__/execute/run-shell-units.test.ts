/**
 * The lifecycle every plan verb shares (withRun), the ledger's write guard, the plan-here check
 * and the permission preflight, against a fake of the Engine port: what is written when, what a
 * refusal or a failure leaves behind, and the words an operator reads.
 */
import { BqxError } from '../../core/errors';
import { appliedPlans, checkAppliedHere, refuseUnlessAppliedHere } from '../../core/execute/applied-here';
import { lockNameFor } from '../../core/execute/lock';
import { firstActionableSource, permissionGaps, PERMISSION_HINT, requirePermissions } from '../../core/execute/permissions';
import { isReason, REASONS } from '../../core/execute/reasons';
import { appendRun, checkPlanDataset, guarded, LedgerUnwritable, operationRecord, operationResult, RunRefused } from '../../core/execute/run-common';
import { lockLost, summaryEnd, summaryOfFailedRun, withRun, type RunShellOptions } from '../../core/execute/run-shell';
import type { RunRecord } from '../../core/ledger/types';
import type { Plan, PlanOperation } from '../../core/plan/types';
import type { PermissionScope, RequiredPermission } from '../../core/ports/engine';
import { engineFor, FakeEngine, MemoryLedger, opOf, samplePlan } from './fake-engine';

const T0 = Date.parse('2026-12-03T00:00:00.000Z');
const clock = (stepMs = 1000) => {
  let t = T0 - stepMs;
  return () => new Date((t += stepMs));
};
/** The error a promise rejects with (a resolve fails the test). */
const caught = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as RunRefused,
  );
const write: RunShellOptions = { mode: 'rollback', lock: { ttlSeconds: 120, heartbeat: false } };
const fresh = () => {
  const { plan, tables } = samplePlan();
  return { plan, e: engineFor(plan, tables) };
};

/** The ledger's run record of this event is written only once `release` is called; `written` after each record lands. */
function holdRunRecord(ledger: MemoryLedger, event: RunRecord['event'], written: (r: RunRecord) => void = () => undefined): { release: () => void } {
  const held = { release: () => undefined as void };
  const appendRunOf = ledger.appendRun.bind(ledger);
  ledger.appendRun = async (r: RunRecord) => {
    if (r.event === event) await new Promise<void>((resolve) => (held.release = resolve));
    await appendRunOf(r);
    written(r);
  };
  return held;
}

describe('withRun', () => {
  test('a writing run: ledger initialised, lock taken, START, body, END with its status and record, lock released', async () => {
    const { plan, e } = fresh();
    const seen: string[] = [];
    const out = await withRun(e, plan, { ...write, now: clock() }, {
      preflight: async (pre) => {
        seen.push(`pre ${e.ledger.inits} ${e.ledger.locks.length} ${pre.planSource} ${pre.runId.slice(0, 21)}`);
        return 42;
      },
      body: async (run, checked) => {
        seen.push(`body ${checked} ${run.lock !== null} ${e.ledger.runs_.map((r) => r.event).join(',')}`);
        run.summary.status = 'DRIFT';
        return { ...summaryEnd(run, 'value'), afterEnd: async () => void seen.push(`after ${e.ledger.runs_.length} ${e.ledger.locks.length}`) };
      },
    });
    expect(out).toBe('value');
    expect(seen).toEqual(['pre 0 0 plan run_20261203T000000Z_', 'body 42 true START', 'after 2 1']);
    expect(e.ledger.inits).toBe(1);
    const [start, end] = e.ledger.runs_;
    expect(start).toEqual({ runId: start.runId, planHash: plan.planHash, mode: 'rollback', event: 'START', status: null, summary: null, at: expect.any(String) });
    expect(end).toMatchObject({ runId: start.runId, event: 'END', status: 'DRIFT' });
    expect(JSON.parse(end.summary!)).toMatchObject({ status: 'DRIFT', runId: start.runId, durationSeconds: expect.any(Number) });
    expect(JSON.parse(end.summary!).durationSeconds).toBeGreaterThan(0);
    expect(e.ledger.locks.map((l) => `${l.lockName} ${l.event} ${l.runId === start.runId}`)).toEqual(['runner:ds ACQUIRE true', 'runner:ds RELEASE true']);
  });

  test('the plan is validated, and a plan of another dataset refused, before anything else', async () => {
    const { plan, e } = fresh();
    const body = jest.fn();
    await expect(withRun(e, { ...plan, planHash: '0'.repeat(64) }, { ...write, planSource: 'p.json' }, { body })).rejects.toMatchObject({ code: 'PLAN_INVALID' });
    const other = new FakeEngine([], { dataset: 'other' });
    const err = await caught(withRun(other, plan, { ...write, planSource: 'p.json' }, { body }));
    expect(err).toMatchObject({ code: 'PLAN_ELSEWHERE', kind: 'REFUSED', message: 'plan p.json is for dataset ds, but the engine targets other', hint: 'pass --dataset ds, or make a plan for other' });
    expect(body).not.toHaveBeenCalled();
    expect(other.ledger.inits).toBe(0);
  });

  test('the runner dataset must differ from the dataset', async () => {
    const { plan } = samplePlan();
    const e = new FakeEngine([]);
    (e as { where: FakeEngine['where'] }).where = { ...e.where, runnerDataset: 'ds' };
    await expect(withRun(e, plan, write, { body: jest.fn() })).rejects.toBeInstanceOf(BqxError);
    expect(e.ledger.inits).toBe(0);
  });

  test('a refusal in preflight writes nothing and carries the summary', async () => {
    const { plan, e } = fresh();
    const err = await caught(withRun(e, plan, { ...write, now: clock() }, {
      preflight: async (pre) => pre.refuse({ code: 'CATALOGUE_CHANGED', message: 'no', hint: 'h', kind: 'REFUSED' }, [{ code: 'OVER_BUDGET', message: 'also this', hint: 'h', kind: 'REFUSED' }]),
      body: jest.fn(),
    }));
    expect(err).toBeInstanceOf(RunRefused);
    expect(err.summary).toMatchObject({ status: 'REFUSED', refusal: { code: 'CATALOGUE_CHANGED', message: 'no', hint: 'h' }, warnings: ['also this'] });
    expect(err.summary.endedAt).not.toBe(err.summary.startedAt);
    expect(e.ledger.inits).toBe(0);
    expect(e.ledger.runs_).toEqual([]);
    expect(e.ledger.locks).toEqual([]);
  });

  test('a refusal inside the body is recorded as the END; the lock is released', async () => {
    const { plan, e } = fresh();
    const err = await caught(withRun(e, plan, write, { body: async (run) => run.refuse({ code: 'APPROVAL_MISSING', message: 'late', hint: 'approve it', kind: 'REFUSED' }) }));
    expect(err).toMatchObject({ code: 'APPROVAL_MISSING' });
    expect(e.ledger.runs_.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END REFUSED']);
    expect(JSON.parse(e.ledger.runs_[1].summary!).refusal).toEqual({ code: 'APPROVAL_MISSING', message: 'late', hint: 'approve it' });
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });

  test('a held lock refuses the run before any write, and its summary says so', async () => {
    const { plan, e } = fresh();
    await e.ledger.appendLockIf({ lockName: lockNameFor('ds'), seq: 1, event: 'ACQUIRE', runId: 'other', holder: 'elsewhere:1', expiresAt: '2999-01-01T00:00:00.000Z', detail: null, at: 'x' });
    const preflight = jest.fn(async () => undefined);
    const err = await caught(withRun(e, plan, write, { preflight, body: jest.fn() }));
    expect(err).toBeInstanceOf(RunRefused);
    expect(err).toMatchObject({ code: 'LOCK_HELD', kind: 'REFUSED' });
    expect(err.hint).toMatch(/^wait until 2999/);
    expect(err.summary).toMatchObject({ status: 'REFUSED', refusal: { code: 'LOCK_HELD', hint: err.hint } });
    expect(preflight).toHaveBeenCalled();
    expect(e.ledger.inits).toBe(0);
    // A verb without a lock does not probe it.
    const r = await withRun(e, plan, { mode: 'verify', lock: null }, { body: async () => ({ value: 'ran', status: 'OK', record: null }) });
    expect(r).toBe('ran');
  });

  test('the lock is probed beside the preflight; a refusal of the preflight still comes first; a lease that ended during the preflight is taken', async () => {
    const { plan, e } = fresh();
    const order: string[] = [];
    const lockEventsOf = e.ledger.lockEvents.bind(e.ledger);
    e.ledger.lockEvents = async (name) => {
      order.push('probe');
      return lockEventsOf(name);
    };
    const preflight = async () => {
      await new Promise((r) => setImmediate(r));
      order.push('preflight done');
      return undefined;
    };
    await withRun(e, plan, write, { preflight, body: async () => ({ value: null, status: 'OK', record: null }) });
    expect(order.slice(0, 2)).toEqual(['probe', 'preflight done']);

    // Held by someone else and a refusing preflight: the preflight's refusal is the run's.
    const held = fresh();
    await held.e.ledger.appendLockIf({ lockName: lockNameFor('ds'), seq: 1, event: 'ACQUIRE', runId: 'other', holder: 'elsewhere:1', expiresAt: '2999-01-01T00:00:00.000Z', detail: null, at: 'x' });
    const refusing = async (pre: Parameters<NonNullable<Parameters<typeof withRun>[3]['preflight']>>[0]) => pre.refuse({ code: 'OVER_BUDGET', message: 'too dear', hint: 'raise it', kind: 'REFUSED' });
    expect(await caught(withRun(held.e, held.plan, write, { preflight: refusing, body: jest.fn() }))).toMatchObject({ code: 'OVER_BUDGET' });

    // Held when the preflight began, its lease over when it ended: the lock is looked at again and taken.
    const late = fresh();
    let now = T0;
    await late.e.ledger.appendLockIf({ lockName: lockNameFor('ds'), seq: 1, event: 'ACQUIRE', runId: 'other', holder: 'elsewhere:1', expiresAt: new Date(T0 + 5_000).toISOString(), detail: null, at: 'x' });
    const slow = async () => {
      await new Promise((r) => setImmediate(r));
      now = T0 + 10_000;
    };
    const out = await withRun(late.e, late.plan, { ...write, now: () => new Date(now) }, { preflight: slow, body: async () => ({ value: 'ran', status: 'OK', record: null }) });
    expect(out).toBe('ran');
    expect(late.e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'TAKEOVER', 'RELEASE']);
  });

  test('a store that creates its tables in stages: the lock is claimed once its own table exists, START once every table does', async () => {
    const { plan, e } = fresh();
    const gate = () => {
      let open = (): void => undefined;
      const p = new Promise<void>((r) => (open = r));
      return { p, open: () => open() };
    };
    const lockTable = gate();
    const allTables = gate();
    e.ledger.initStaged = () => ({ lockReady: lockTable.p, done: allTables.p });
    const tick = () => new Promise((r) => setImmediate(r));
    const running = withRun(e, plan, write, { body: async () => ({ value: 'ran', status: 'OK', record: null }) });
    for (let i = 0; i < 5; i++) await tick();
    expect(e.ledger.locks).toEqual([]);
    lockTable.open();
    for (let i = 0; i < 5; i++) await tick();
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE']);
    expect(e.ledger.runs_).toEqual([]);
    allTables.open();
    expect(await running).toBe('ran');
    expect(e.ledger.runs_.map((r) => r.event)).toEqual(['START', 'END']);
    expect(e.ledger.inits).toBe(0);
  });

  test('a staged creation failing after the lock was claimed releases it and writes no START', async () => {
    const { plan, e } = fresh();
    const failed = Promise.reject(new Error('cannot create runs'));
    failed.catch(() => undefined);
    e.ledger.initStaged = () => ({ lockReady: Promise.resolve(), done: failed });
    const body = jest.fn();
    await expect(withRun(e, plan, write, { body })).rejects.toBeInstanceOf(LedgerUnwritable);
    expect(body).not.toHaveBeenCalled();
    expect(e.ledger.runs_).toEqual([]);
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
    // A lock table that cannot be created: nothing is claimed.
    const other = fresh();
    const noLock = Promise.reject(new Error('cannot create lock_events'));
    noLock.catch(() => undefined);
    other.e.ledger.initStaged = () => ({ lockReady: noLock, done: noLock });
    await expect(withRun(other.e, other.plan, write, { body })).rejects.toBeInstanceOf(LedgerUnwritable);
    expect(other.e.ledger.locks).toEqual([]);
  });

  test('a refused BqxError without a hint records a null hint; other errors in preflight pass through untouched', async () => {
    const { plan, e } = fresh();
    const err = await caught(
      withRun(e, plan, write, {
        preflight: async () => {
          throw new BqxError('PERMISSION_MISSING', 'lacks', undefined, 'REFUSED');
        },
        body: jest.fn(),
      }),
    );
    expect(err).toBeInstanceOf(RunRefused);
    expect(err.summary.refusal).toEqual({ code: 'PERMISSION_MISSING', message: 'lacks', hint: null });
    const plain = new BqxError('BAD', 'bad input');
    expect(await caught(withRun(e, plan, write, { preflight: async () => Promise.reject(plain), body: jest.fn() }))).toBe(plain);
    expect(e.ledger.runs_).toEqual([]);
  });

  test('a body that throws: END FAILED with why, the error passes through, its summary kept for the report', async () => {
    const { plan, e } = fresh();
    const boom = new Error('engine exploded');
    const err = await caught(withRun(e, plan, write, { body: async () => Promise.reject(boom) }));
    expect(err).toBe(boom);
    expect(e.ledger.runs_.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END FAILED']);
    expect(JSON.parse(e.ledger.runs_[1].summary!).warnings).toEqual(['the run stopped: engine exploded']);
    expect(summaryOfFailedRun(boom)).toMatchObject({ status: 'FAILED', warnings: ['the run stopped: engine exploded'] });
    expect(summaryOfFailedRun(new Error('other'))).toBeNull();
    expect(summaryOfFailedRun('text')).toBeNull();
    expect(summaryOfFailedRun(null)).toBeNull();
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
    // A thrown string is kept as the reason too.
    const { plan: p2, e: e2 } = fresh();
    await expect(withRun(e2, p2, write, { body: async () => Promise.reject('plain text') })).rejects.toBe('plain text');
    expect(JSON.parse(e2.ledger.runs_[1].summary!).warnings).toEqual(['the run stopped: plain text']);
  });

  test('the END record that cannot be written is a failure of the run, and the lock is still released', async () => {
    const { plan, e } = fresh();
    const appendRunOf = e.ledger.appendRun.bind(e.ledger);
    e.ledger.appendRun = async (r: RunRecord) => (r.event === 'END' ? Promise.reject(new Error('disk full')) : appendRunOf(r));
    const err = await caught(withRun(e, plan, write, { body: async () => ({ value: 1, status: 'OK', record: null }) }));
    expect(err).toBeInstanceOf(LedgerUnwritable);
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });

  test('a failure after END is not recorded as a second END', async () => {
    const { plan, e } = fresh();
    const err = await caught(withRun(e, plan, write, { body: async () => ({ value: 1, status: 'OK', record: 'r', afterEnd: async () => Promise.reject(new Error('freeze failed')) }) }));
    expect(err.message).toBe('freeze failed');
    expect(e.ledger.runs_.map((r) => `${r.event} ${r.status} ${r.summary}`)).toEqual(['START null null', 'END OK r']);
  });

  test('reads under the lock run while START is written; the body starts once both are done, with what they read', async () => {
    const { plan, e } = fresh();
    const seen: string[] = [];
    const startWritten = holdRunRecord(e.ledger, 'START');
    const out = await withRun(e, plan, write, {
      preflight: async () => 1,
      underLock: async (run, pre) => {
        seen.push(`under lock ${run.lock !== null} ${e.ledger.runs_.length} ${e.ledger.locks.map((l) => l.event).join(',')}`);
        startWritten.release(); // START lands only now: the read did not wait for it
        return pre + 1;
      },
      body: async (_run, pre) => {
        seen.push(`body ${pre} ${e.ledger.runs_.map((r) => r.event).join(',')}`);
        return { value: pre, status: 'OK', record: null };
      },
    });
    expect(out).toBe(2);
    expect(seen).toEqual(['under lock true 0 ACQUIRE', 'body 2 START']);
  });

  test('a body that overlaps START starts while START is written; its END, a refusal or a failure come after START', async () => {
    const order: string[] = [];
    const overlapping = async (body: (run: Parameters<Parameters<typeof withRun>[3]['body']>[0]) => Promise<void>, releaseInBody = true) => {
      const { plan, e } = fresh();
      const startWritten = holdRunRecord(e.ledger, 'START', (r) => order.push(`${r.event} written`));
      const ran = withRun(e, plan, write, {
        overlapsStart: true,
        body: async (run) => {
          order.push(`body ${e.ledger.runs_.length}`);
          let settled = false;
          void run.started.then(() => (settled = true));
          await new Promise((r) => setImmediate(r));
          order.push(`started ${settled}`);
          if (releaseInBody) startWritten.release();
          else setTimeout(() => startWritten.release(), 20);
          await body(run);
          return { value: 'ran', status: 'OK', record: null };
        },
      });
      return { ran, e };
    };
    const ok = await overlapping(async (run) => {
      await run.started;
      order.push('change');
    });
    expect(await ok.ran).toBe('ran');
    expect(order.splice(0)).toEqual(['body 0', 'started false', 'START written', 'change', 'END written']);

    // A refusal, and a failure, while START is still being written: their END follows START.
    const refused = await overlapping(async (run) => run.refuse({ code: 'OVER_BUDGET', message: 'no', hint: 'h', kind: 'REFUSED' }), false);
    await expect(refused.ran).rejects.toMatchObject({ code: 'OVER_BUDGET' });
    expect(refused.e.ledger.runs_.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END REFUSED']);
    const failed = await overlapping(async () => Promise.reject(new Error('boom')), false);
    await expect(failed.ran).rejects.toThrow('boom');
    expect(failed.e.ledger.runs_.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END FAILED']);
  });

  test('a failed read under the lock ends the run FAILED after its START, and releases the lock', async () => {
    const { plan, e } = fresh();
    const body = jest.fn();
    await expect(withRun(e, plan, write, { underLock: async () => Promise.reject(new Error('ledger unreadable')), body })).rejects.toThrow('ledger unreadable');
    expect(body).not.toHaveBeenCalled();
    expect(e.ledger.runs_.map((r) => `${r.event} ${r.status}`)).toEqual(['START null', 'END FAILED']);
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });

  test('with nothing to do after END the lock is released while END is written, every record durable first; with something, after it', async () => {
    const { plan, e } = fresh();
    const order: string[] = [];
    const endWritten = holdRunRecord(e.ledger, 'END', (r) => order.push(`run ${r.event}`));
    const appendLockIf = e.ledger.appendLockIf.bind(e.ledger);
    e.ledger.appendLockIf = async (ev) => {
      const ok = await appendLockIf(ev);
      order.push(`lock ${ev.event}`);
      if (ev.event === 'RELEASE') endWritten.release(); // END lands only after the release
      return ok;
    };
    const flushOf = e.ledger.flush.bind(e.ledger);
    e.ledger.flush = async () => {
      await flushOf();
      order.push('flush');
    };
    expect(await withRun(e, plan, write, { body: async () => ({ value: 1, status: 'OK', record: null }) })).toBe(1);
    expect(order).toEqual(['lock ACQUIRE', 'run START', 'flush', 'lock RELEASE', 'run END']);
    expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']); // released once

    // A body with something to do after END (a freeze): END, then that, then the release.
    const { plan: p2, e: e2 } = fresh();
    const seen: string[] = [];
    await withRun(e2, p2, write, { body: async () => ({ value: 1, status: 'HALTED', record: null, afterEnd: async () => void seen.push(`after ${e2.ledger.runs_.length} ${e2.ledger.locks.length}`) }) });
    expect(seen).toEqual(['after 2 1']);
    expect(e2.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
  });

  test('a lock whose release fails does not hide the result', async () => {
    const { plan, e } = fresh();
    const appendLockIf = e.ledger.appendLockIf.bind(e.ledger);
    e.ledger.appendLockIf = async (ev) => (ev.event === 'RELEASE' ? Promise.reject(new Error('gone')) : appendLockIf(ev));
    expect(await withRun(e, plan, write, { body: async () => ({ value: 'ok', status: 'OK', record: null }) })).toBe('ok');
  });

  test('heartbeat only when asked for', async () => {
    const { plan, e } = fresh();
    const timers: unknown[] = [];
    const spy = jest.spyOn(global, 'setInterval').mockImplementation(((f: () => void) => {
      timers.push(f);
      return { unref: () => undefined } as unknown as NodeJS.Timeout;
    }) as unknown as typeof setInterval);
    const clear = jest.spyOn(global, 'clearInterval').mockImplementation(() => undefined);
    try {
      await withRun(e, plan, write, { body: async () => ({ value: 1, status: 'OK', record: null }) });
      expect(timers).toHaveLength(0);
      await withRun(e, plan, { ...write, lock: { ttlSeconds: 120, heartbeat: true } }, { body: async () => ({ value: 1, status: 'OK', record: null }) });
      expect(timers).toHaveLength(1);
    } finally {
      spy.mockRestore();
      clear.mockRestore();
    }
  });

  test('a read-only run writes nothing; its failure keeps a FAILED summary; its refusal is not turned into a failure', async () => {
    const { plan, e } = fresh();
    const ro: RunShellOptions = { mode: 'verify', lock: null, readOnly: true };
    expect(await withRun(e, plan, ro, { body: async (run) => ({ value: run.lock, status: 'OK', record: null }) })).toBeNull();
    const boom = new Error('read failed');
    await expect(withRun(e, plan, ro, { body: async () => Promise.reject(boom) })).rejects.toBe(boom);
    expect(summaryOfFailedRun(boom)).toMatchObject({ status: 'FAILED', mode: 'verify' });
    const err = await caught(withRun(e, plan, ro, { body: async (run) => run.refuse({ code: 'OVER_BUDGET', message: 'r', hint: 'h', kind: 'REFUSED' }) }));
    expect(summaryOfFailedRun(err)).toBeNull();
    expect(err.summary.status).toBe('REFUSED');
    expect(e.ledger.inits).toBe(0);
    expect(e.ledger.runs_).toEqual([]);
    expect(e.ledger.locks).toEqual([]);
  });

  test('lockLost names the verb, why, and how to go on', () => {
    expect(lockLost('apply', 'taken over')).toMatchObject({ code: 'LOCK_LOST', message: 'apply lost its lock: taken over', hint: 're-run `bqx apply`; finished operations are recognised', kind: 'INCOMPLETE' });
  });
});

describe('the ledger guard and records', () => {
  test('a failed write becomes LEDGER_UNWRITABLE with a hint for the cause', async () => {
    const cases: [unknown, RegExp][] = [
      [Object.assign(new Error('write failed'), { code: 'ENOSPC' }), /^the disk holding the warehouse/],
      [new Error('IO Error: No space left on device'), /^the disk holding/],
      [new Error('disk is full'), /^the disk holding/],
      [new Error('out of disk'), /^the disk holding/],
      [Object.assign(new Error('nope'), { code: 'EACCES' }), /^this identity may not write the runner dataset/],
      [new Error('Permission denied'), /^this identity may not/],
      [new Error('Access Denied: Table'), /^this identity may not/],
      [new Error('accessDenied'), /^this identity may not/],
      [new Error('HTTP 403'), /^this identity may not/],
      [new Error('socket hang up'), /^restore write access to the runner dataset, then re-run: finished work is recognised and skipped$/],
      ['a string\nsecond line', /^restore write access/],
    ];
    for (const [cause, hint] of cases) {
      const err = await caught(guarded(() => Promise.reject(cause)));
      expect(err).toBeInstanceOf(LedgerUnwritable);
      expect(err).toMatchObject({ code: 'LEDGER_UNWRITABLE', kind: 'UNAVAILABLE' });
      expect(err.hint).toMatch(hint);
    }
    expect(new LedgerUnwritable(new Error('first\nsecond')).message).toBe('the ledger cannot be written (first); the run stopped');
    expect(new LedgerUnwritable(Object.assign(new Error('x'), { code: 'ENOSPC' })).hint).toBe('the disk holding the warehouse (or its .wal file) is full: free space, then re-run the same command; finished work is recognised and skipped');
    expect(new LedgerUnwritable(Object.assign(new Error('x'), { code: 'EACCES' })).hint).toBe('this identity may not write the runner dataset: grant it (see RUNBOOK, identities), then re-run; finished work is recognised and skipped');
    expect(await guarded(async () => 7)).toBe(7);
    const store = new MemoryLedger();
    store.failWrites = new Error('x');
    await expect(appendRun(store, { runId: 'r', planHash: 'p', mode: 'apply', event: 'START', status: null, summary: null, at: 'a' })).rejects.toBeInstanceOf(LedgerUnwritable);
  });

  test('operation records and results carry the operation and what happened', () => {
    const { plan } = samplePlan();
    const op = opOf(plan, 'DEDUPE');
    expect(operationRecord({ runId: 'r', planHash: 'p', at: 'a' }, op, 2, 'FAILED', 'STEP_FAILED')).toEqual({
      runId: 'r',
      planHash: 'p',
      operationId: op.id,
      seq: op.seq,
      action: 'DEDUPE',
      state: 'FAILED',
      reason: 'STEP_FAILED',
      detail: null,
      attempt: 2,
      bytes: 0,
      rows: null,
      jobId: null,
      at: 'a',
    });
    expect(operationRecord({ runId: 'r', planHash: 'p', at: 'a' }, op, 1, 'APPLIED', 'OK', { detail: 'd', bytes: 5 })).toMatchObject({ detail: 'd', bytes: 5 });
    expect(operationResult(op, 'APPLIED', 'OK', null)).toEqual({ operationId: op.id, seq: op.seq, batch: op.batch, action: 'DEDUPE', sources: op.sources, target: op.target, outcome: 'APPLIED', reason: 'OK', detail: null, bytes: 0, rows: 0 });
    expect(operationResult(op, 'APPLIED', 'OK', 'x', { rows: 3 })).toMatchObject({ rows: 3, detail: 'x' });
  });

  test('checkPlanDataset passes the plan of its own dataset', () => {
    const { plan } = samplePlan();
    expect(() => checkPlanDataset(plan, new FakeEngine([]), 'p.json')).not.toThrow();
  });

  test('reasons: a closed set, each classified', () => {
    expect(isReason('ROLLBACK_BLOCKED')).toBe(true);
    expect(isReason('toString')).toBe(false);
    expect(isReason('CATALOGUE_CHANGED')).toBe(false);
    expect(REASONS.ROLLBACK_BLOCKED).toEqual({ class: 'needs-human', text: 'rollback cannot proceed without losing data' });
  });
});

describe('applied here', () => {
  const run = (planHash: string, at: string, mode: RunRecord['mode'] = 'apply', event: RunRecord['event'] = 'START'): RunRecord => ({ runId: `${planHash}${at}`, planHash, mode, event, status: null, summary: null, at });

  test('the newest apply START of each plan, newest plan first', () => {
    expect(appliedPlans([run('a', '2026-01-01'), run('b', '2026-01-03'), run('a', '2026-01-05'), run('a', '2026-01-02'), run('c', '2026-01-09', 'paper'), run('d', '2026-01-09', 'apply', 'END')])).toEqual([
      { planHash: 'a', at: '2026-01-05' },
      { planHash: 'b', at: '2026-01-03' },
    ]);
    expect(appliedPlans([run('b', '2026-01-03'), run('a', '2026-01-03')]).map((x) => x.planHash)).toEqual(['b', 'a']);
    expect(appliedPlans([run('a', '2026-01-01'), run('b', '2026-01-03')]).map((x) => x.planHash)).toEqual(['b', 'a']);
  });

  test('a plan never applied where another was is refused, naming the plan that was', async () => {
    const { plan } = samplePlan();
    const store = new MemoryLedger();
    expect(await checkAppliedHere(store, plan, 'p.json', 'verify')).toBeNull();
    await store.appendRun(run('b'.repeat(64), '2026-01-03'));
    const f = (await checkAppliedHere(store, plan, 'p.json', 'verify'))!;
    expect(f).toEqual({
      code: 'PLAN_NOT_APPLIED_HERE',
      message: `plan p.json (hash ${plan.planHash.slice(0, 12)}…) was never applied to this warehouse; the plan applied here is ${'b'.repeat(64)} (last apply started 2026-01-03); verify acts only on the records of the plan it is given`,
      hint: `verify the plan that was applied: bqx verify <the plan file whose planHash is ${'b'.repeat(64)}>`,
      kind: 'REFUSED',
    });
    await store.appendRun(run('c'.repeat(64), '2026-01-04'));
    expect((await checkAppliedHere(store, plan, 'p.json', 'verify'))!.message).toContain(`the plan applied here is ${'c'.repeat(64)} (last apply started 2026-01-04) (2 plans in all); verify`);
    await store.appendRun(run(plan.planHash, '2026-01-01'));
    expect(await checkAppliedHere(store, plan, 'p.json', 'verify')).toBeNull();
  });

  test('as a preflight it refuses through the run', async () => {
    const { plan, e } = fresh();
    await e.ledger.appendRun(run('b'.repeat(64), '2026-01-03'));
    const refuse = jest.fn(async () => Promise.reject(new Error('refused')));
    const pre = { engine: e, plan, planSource: 'p.json', refuse } as never;
    await expect(refuseUnlessAppliedHere('reconcile')(pre)).rejects.toThrow('refused');
    expect(refuse).toHaveBeenCalledWith(expect.objectContaining({ code: 'PLAN_NOT_APPLIED_HERE' }));
    const ok = { engine: new FakeEngine([]), plan, planSource: 'p.json', refuse } as never;
    await refuseUnlessAppliedHere('reconcile')(ok);
    expect(refuse).toHaveBeenCalledTimes(1);
  });
});

describe('permissions', () => {
  const need = (scope: PermissionScope, permission: string, neededBy = ['x']): RequiredPermission => ({ scope, permission, neededBy });
  const asking = (answers: Partial<Record<PermissionScope, { granted: string[]; untested?: string[] }>>) => {
    const e = new FakeEngine([]);
    const asked: unknown[] = [];
    (e as { testPermissions?: unknown }).testPermissions = async (scope: PermissionScope, permissions: readonly string[], opts?: { table?: string }) => {
      asked.push([scope, permissions, opts]);
      const a = answers[scope] ?? { granted: [] };
      return { resource: `res-${scope}`, granted: a.granted, untested: a.untested ?? [], how: `asked ${scope}` };
    };
    return { e, asked };
  };

  test('nothing required, or an engine that cannot ask: nothing to say', async () => {
    expect(await permissionGaps(asking({}).e, [], 't')).toBeNull();
    expect(await permissionGaps(asking({}).e, undefined, 't')).toBeNull();
    expect(await permissionGaps(new FakeEngine([]), [need('project', 'p.a')], 't')).toBeNull();
    expect(await requirePermissions(new FakeEngine([]), [need('project', 'p.a')], 'apply')).toEqual([]);
  });

  test('asked scope by scope, only where something is needed; missing and untested named', async () => {
    const { e, asked } = asking({ project: { granted: ['p.a'] }, runnerDataset: { granted: [], untested: ['r.b'] } });
    const gaps = await permissionGaps(e, [need('project', 'p.a'), need('project', 'p.b', ['DROP_TABLE', 'RESTORE']), need('runnerDataset', 'r.b')], 'tbl');
    expect(asked).toEqual([
      ['project', ['p.a', 'p.b'], { table: 'tbl' }],
      ['runnerDataset', ['r.b'], { table: 'tbl' }],
    ]);
    expect(gaps).toEqual({ missing: ['p.b on res-project (project; needed by DROP_TABLE, RESTORE)'], untested: ['r.b on res-runnerDataset', '(res-runnerDataset: asked runnerDataset)'] });
  });

  test('requirePermissions refuses naming each missing one, and returns what it could not ask', async () => {
    const { e } = asking({ featureDataset: { granted: ['f.a'], untested: ['f.c'] } });
    expect(await requirePermissions(e, [need('featureDataset', 'f.a'), need('featureDataset', 'f.c')], 'apply', 't')).toEqual(['f.c on res-featureDataset', '(res-featureDataset: asked featureDataset)']);
    const err = await caught(requirePermissions(e, [need('featureDataset', 'f.b'), need('featureDataset', 'f.d')], 'rollback'));
    expect(err).toMatchObject({
      code: 'PERMISSION_MISSING',
      kind: 'REFUSED',
      message: 'the runner lacks 2 permission(s) rollback needs: f.b on res-featureDataset (featureDataset; needed by x); f.d on res-featureDataset (featureDataset; needed by x)',
      hint: PERMISSION_HINT,
    });
  });

  test('the table asked on is the first source of the first actionable operation by seq', () => {
    const { plan } = samplePlan();
    const reversed = { ...plan, operations: [...plan.operations].reverse() } as Plan;
    expect(firstActionableSource(reversed)).toBe(opOf(plan, 'RENAME').sources[0]);
    const keepOnly = { ...plan, operations: plan.operations.filter((o) => o.action === 'KEEP') } as Plan;
    expect(firstActionableSource(keepOnly)).toBeUndefined();
    const keepFirst = { ...plan, operations: [{ ...opOf(plan, 'KEEP'), seq: 0 } as PlanOperation, ...plan.operations.filter((o) => o.action !== 'KEEP')] } as Plan;
    expect(firstActionableSource(keepFirst)).toBe(opOf(plan, 'RENAME').sources[0]);
  });
});
