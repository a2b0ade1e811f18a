/**
 * Run-shell cases the other unit tests leave open: a ledger that cannot be created, an END FAILED
 * that cannot be written either, and the end instant every refused or failed summary carries.
 */
import { LedgerUnwritable } from '../../core/execute/run-common';
import { lockNameFor } from '../../core/execute/lock';
import { summaryOfFailedRun, withRun, type RunShellOptions } from '../../core/execute/run-shell';
import type { RunRecord } from '../../core/ledger/types';
import { engineFor, samplePlan } from './fake-engine';

const T0 = Date.parse('2026-12-03T00:00:00.000Z');
const stepping = () => {
  let t = T0;
  return () => new Date((t += 1000));
};
const write: RunShellOptions = { mode: 'rollback', lock: { ttlSeconds: 120, heartbeat: false } };
const fresh = () => {
  const { plan, tables } = samplePlan();
  return { plan, e: engineFor(plan, tables) };
};

test('a ledger that cannot be created stops the run before the lock and START', async () => {
  const { plan, e } = fresh();
  e.ledger.init = async () => Promise.reject(new Error('cannot create dataset'));
  await expect(withRun(e, plan, write, { body: jest.fn() })).rejects.toBeInstanceOf(LedgerUnwritable);
  expect(e.ledger.locks).toEqual([]);
  expect(e.ledger.runs_).toEqual([]);
});

test("when END FAILED cannot be written either, the body's error is what the caller sees", async () => {
  const { plan, e } = fresh();
  const appendRun = e.ledger.appendRun.bind(e.ledger);
  e.ledger.appendRun = async (r: RunRecord) => (r.event === 'END' ? Promise.reject(new Error('ledger down')) : appendRun(r));
  const boom = new Error('step exploded');
  await expect(withRun(e, plan, write, { body: async () => Promise.reject(boom) })).rejects.toBe(boom);
  expect(e.ledger.locks.map((l) => l.event)).toEqual(['ACQUIRE', 'RELEASE']);
});

test('a refused lock and a failed body both leave a summary with its end instant', async () => {
  const { plan, e } = fresh();
  await e.ledger.appendLockIf({ lockName: lockNameFor('ds'), seq: 1, event: 'FREEZE', runId: 'x', holder: 'h:1', expiresAt: 'x', detail: null, at: 'x' });
  const refused = await withRun(e, plan, { ...write, now: stepping() }, { body: jest.fn() }).then(
    () => null,
    (x: { summary: { startedAt: string; endedAt: string; durationSeconds: number } }) => x.summary,
  );
  expect(refused!.endedAt > refused!.startedAt).toBe(true);
  expect(refused!.durationSeconds).toBeGreaterThan(0);
  const { plan: p2, e: e2 } = fresh();
  const boom = new Error('x');
  await expect(withRun(e2, p2, { ...write, now: stepping() }, { body: async () => Promise.reject(boom) })).rejects.toBe(boom);
  const failed = summaryOfFailedRun(boom)!;
  expect(failed.endedAt > failed.startedAt).toBe(true);
});

test('ENOSPC named only in the message is still a full disk', () => {
  expect(new LedgerUnwritable(new Error('ENOSPC: write')).hint).toMatch(/^the disk holding the warehouse/);
  expect(new LedgerUnwritable(new Error('access denied to table')).hint).toMatch(/^this identity may not/);
});
