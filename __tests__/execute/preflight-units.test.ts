/**
 * The executor's refusals and folds as pure functions: what each preflight check refuses and says,
 * the lock's fold and lease, and the ledger's fold, at their edges (these decide whether a real
 * run starts, so each boundary is pinned here; the runs themselves are in the other files).
 */
import { hostname } from 'os';
import { catalogueFingerprint, tableStateHash, type TableInfo } from '../../core/catalogue';
import { foldHistory, historyOf, planMayHaveChanged } from '../../core/execute/history';
import { describeHolder, foldLock, haltsSinceClear, holderIsDeadHere, isExpired, lockNameFor } from '../../core/execute/lock';
import { catalogueDifferences, checkApproval, checkBudget, checkCatalogue, checkExpiration, dollars, previewSteps } from '../../core/execute/preflight';
import type { OpStep } from '../../core/execute/steps';
import { TIB } from '../../core/cost';
import type { LedgerRecord, LockEvent, RunRecord } from '../../core/ledger/types';
import type { ConsolidationSpec, Plan, PlanOperation } from '../../core/plan/types';
import type { Engine, Step } from '../../core/ports/engine';

const table = (name: string, rowCount = 10): TableInfo => ({ name, kind: 'TABLE', columns: [{ name: 'interval_time', type: 'TIMESTAMP' }], rowCount, bytes: 80, partitionBy: null, clusterBy: [] });
const op = (id: string, sources: TableInfo[], destructive = false): PlanOperation =>
  ({ id, action: destructive ? 'DEDUPE' : 'RENAME', sources: sources.map((t) => t.name), sourceState: Object.fromEntries(sources.map((t) => [t.name, tableStateHash(t)])), destructive }) as unknown as PlanOperation;
const planOf = (tables: TableInfo[], ops: PlanOperation[]): Plan => ({ catalogueFingerprint: catalogueFingerprint(tables), planHash: 'f'.repeat(64), operations: ops }) as unknown as Plan;

describe('checkCatalogue', () => {
  const a = table('a');
  const b = table('b');
  const plan = planOf([a, b], [op('op_a', [a]), op('op_b', [b])]);

  test('the catalogue the plan was made from passes', () => {
    expect(checkCatalogue(plan, [b, a], 'p.json')).toBeNull();
  });

  test('a table gone, one changed and one created since are each named; the run is refused', () => {
    const now = [table('a', 11), table('c')];
    const f = checkCatalogue(plan, now, 'p.json')!;
    expect(f).toMatchObject({ code: 'CATALOGUE_CHANGED', kind: 'REFUSED' });
    expect(f.message).toContain(`plan p.json was made from catalogue ${plan.catalogueFingerprint.slice(0, 12)}…, the warehouse is now ${catalogueFingerprint(now).slice(0, 12)}…:`);
    expect(f.message).toContain(': 3 table(s) differ — a: schema or row count changed (now 11 rows, 1 columns); b: gone; c: not in the plan (created since)');
    expect(f.message).not.toContain('; …');
    expect(f.hint).toContain('bqx plan --out FILE');
    expect(catalogueDifferences(plan, [a, b])).toEqual([]);
  });

  test('ten differences are all shown; more than ten: ten shown, then an ellipsis', () => {
    const ten = Array.from({ length: 8 }, (_, i) => table(`new_${i}`));
    expect(checkCatalogue(plan, [...ten], 'p.json')!.message).toMatch(/10 table\(s\) differ — .*new_7: not in the plan \(created since\)$/);
    const extra = Array.from({ length: 11 }, (_, i) => table(`new_${String(i).padStart(2, '0')}`));
    const f = checkCatalogue(plan, [a, b, ...extra], 'p.json')!;
    expect(f.message).toContain('11 table(s) differ');
    expect(f.message).toContain('new_09: not in the plan (created since); …');
    expect(f.message).not.toContain('new_10');
  });

  test('same tables in another state than the fingerprint says: refused without a list', () => {
    const stale = { ...plan, catalogueFingerprint: '0'.repeat(64) };
    expect(checkCatalogue(stale, [a, b], 'p.json')!.message).toMatch(/\(same tables, different state\)$/);
  });
});

describe('checkApproval', () => {
  const t = table('dup_a');
  const plan = planOf([t], []);
  const drop = op('op_d', [t, table('dup_b'), table('dup_c'), table('dup_d')], true);

  test('nothing destructive needs no approval; the plan hash approves', () => {
    expect(checkApproval(plan, [op('op_r', [t])], undefined, 'p.json')).toBeNull();
    expect(checkApproval(plan, [drop], plan.planHash, 'p.json')).toBeNull();
  });

  test('a drop without --approve, or with another hash, is refused with the command that approves it', () => {
    const missing = checkApproval(plan, [drop], undefined, 'p.json')!;
    expect(missing).toMatchObject({ code: 'APPROVAL_MISSING', kind: 'REFUSED' });
    expect(missing.message).toBe('1 operation(s) drop tables (e.g. DEDUPE dup_a, dup_b, dup_c) and no --approve was given');
    expect(missing.hint).toBe(`review the plan (\`bqx apply p.json --dry-run\`), then approve it: bqx apply p.json --approve ${plan.planHash}`);
    const wrong = checkApproval(plan, [drop], 'e'.repeat(64), 'p.json')!;
    expect(wrong.message).toContain(`--approve ${'e'.repeat(16)}… does not match the plan hash`);
  });
});

test('checkExpiration: a default table expiration refuses a run with pending work, and only then', () => {
  expect(checkExpiration(null, 'ds', 3)).toBeNull();
  expect(checkExpiration(86_400_000, 'ds', 0)).toBeNull();
  const f = checkExpiration(86_400_000, 'ds', 1)!;
  expect(f).toMatchObject({ code: 'DATASET_EXPIRATION', kind: 'REFUSED' });
  expect(f.message).toBe('dataset ds has a default table expiration of 86400000 ms: a renamed table keeps its creation time and could be deleted at once');
  expect(f.hint).toContain('bq update --default_table_expiration 0 ds');
});

describe('checkBudget', () => {
  const op = (id: string): PlanOperation => ({ id }) as PlanOperation;
  const bytes = new Map([['a', TIB], ['b', TIB]]);

  test('a cost exactly at the budget runs; a byte over it is refused, as OVER_BUDGET', () => {
    expect(checkBudget([op('a'), op('b')], bytes, 12.5, 6.25, 'p.json')).toBeNull();
    const over = checkBudget([op('a'), op('b')], new Map([['a', TIB], ['b', TIB + 2 ** 20]]), 12.5, 6.25, 'p.json')!;
    expect(over).toMatchObject({ code: 'OVER_BUDGET', kind: 'REFUSED' });
    // The first operation ends exactly at the budget: it fits.
    expect(over.message).toContain('over the budget of $12.5; the first 1 fit');
    expect(checkBudget([op('a'), op('b')], bytes, 6.25, 6.25, 'p.json')!.hint).toBe('run a smaller batch: bqx apply p.json --max-operations 1, or raise --budget-usd');
  });

  test('when not even the first operation fits, the hint says so instead of --max-operations 0', () => {
    expect(checkBudget([op('a')], bytes, 6, 6.25, 'p.json')!.hint).toBe('raise --budget-usd (the first operation alone exceeds it)');
  });
});

describe('previewSteps', () => {
  const steps: OpStep[] = [
    { kind: 'RENAME_TABLE', from: 'a', to: 'b' },
    { kind: 'BACKUP_TABLE', name: 'b', backupName: 'bk' },
    { kind: 'DROP_TABLE', name: 'b' },
    { kind: 'RESTORE_TABLE', backupName: 'bk', name: 'b' },
    { kind: 'CONSOLIDATE', target: 't', spec: { windows: [{ source: 's_45' }] } as unknown as ConsolidationSpec },
    { kind: 'VALIDATE_CONSOLIDATION' },
  ];
  const engineWith = (asked: string[], fail = new Set<string>()) =>
    ({
      estimateBytes: async (s: Step) => {
        asked.push(s.kind);
        if (fail.has(s.kind)) throw new Error('dry run refused');
        return 100;
      },
      render: (s: Step) => [`-- ${s.kind}`],
    }) as unknown as Engine;

  test('a real run asks the engine only for the steps that may read data, and adds them up', async () => {
    const asked: string[] = [];
    const p = await previewSteps(engineWith(asked), steps, 6.25, 7, false);
    expect(asked).toEqual(['BACKUP_TABLE', 'RESTORE_TABLE', 'CONSOLIDATE']);
    expect(p.bytes).toBe(300);
    // Only the validation's note: a real run renders no statement.
    expect(p.statements.map((x) => x.step)).toEqual(['VALIDATE consolidation']);
  });

  test("nothing estimated: the plan's own estimate; a refused dry run counts as unknown", async () => {
    expect((await previewSteps(engineWith([]), [steps[0], steps[2]], 6.25, 7, false)).bytes).toBe(7);
    const p = await previewSteps(engineWith([], new Set(['CONSOLIDATE'])), steps, 6.25, 7, true);
    expect(p.bytes).toBe(400);
    expect(p.statements.map((s) => [s.sql[0].slice(0, 20), s.bytes])).toEqual([
      ['-- RENAME_TABLE', 100],
      ['-- BACKUP_TABLE', 100],
      ['-- DROP_TABLE', 100],
      ['-- RESTORE_TABLE', 100],
      ['-- CONSOLIDATE', null],
      ['-- coverage of the k', null],
    ]);
    expect(p.statements[0].costUsd).toBe(dollars(100, 6.25));
    expect(p.statements[4].costUsd).toBeNull();
  });
});

test('dollars: bytes at the price per TiB', () => {
  expect(dollars(2 ** 40, 6.25)).toBe(6.25);
  expect(dollars(2 ** 39, 5)).toBe(2.5);
});

describe('the lock', () => {
  const ev = (seq: number, event: LockEvent['event'], runId: string, at: string, detail: string | null = null): LockEvent => ({ lockName: 'l', seq, event, runId, holder: `h:${runId}`, expiresAt: `exp-${seq}`, detail, at });

  test('folds in seq order: takeover replaces the holder, freeze and clear, the head', () => {
    const s = foldLock([ev(3, 'TAKEOVER', 'b', 't3'), ev(1, 'ACQUIRE', 'a', 't1'), ev(2, 'FREEZE', 'a', 't2', 'halted twice')]);
    expect(s).toEqual({ head: 3, holder: { runId: 'b', holder: 'h:b', expiresAt: 'exp-3', since: 't3' }, frozen: { at: 't2', detail: 'halted twice' }, clearedAt: null });
    const cleared = foldLock([ev(1, 'FREEZE', 'a', 't1'), ev(2, 'CLEAR', 'a', 't2'), ev(3, 'RENEW', 'a', 't3')]);
    expect(cleared).toEqual({ head: 3, holder: null, frozen: null, clearedAt: 't2' });
    // A renewal keeps the holder's start.
    expect(foldLock([ev(1, 'ACQUIRE', 'a', 't1'), ev(2, 'RENEW', 'a', 't2')]).holder).toEqual({ runId: 'a', holder: 'h:a', expiresAt: 'exp-2', since: 't1' });
  });

  test('a lease ends at its expiry instant, not after', () => {
    const h = { runId: 'r', holder: 'h:1', expiresAt: '2026-01-01T00:00:00.000Z', since: 'x' };
    expect(isExpired(h, new Date('2025-12-31T23:59:59.999Z'))).toBe(false);
    expect(isExpired(h, new Date('2026-01-01T00:00:00.000Z'))).toBe(true);
    expect(describeHolder(h)).toBe('h:1 (run r) until 2026-01-01T00:00:00.000Z');
    expect(lockNameFor('ds')).toBe('runner:ds');
  });

  test('a holder is dead here only when it is a process of this host that no longer runs', () => {
    expect(holderIsDeadHere(`${hostname()}:${process.pid}`)).toBe(false);
    expect(holderIsDeadHere(`${hostname()}:${process.ppid}`)).toBe(false);
    expect(holderIsDeadHere(`another-host-${hostname()}:2147483646`)).toBe(false);
    expect(holderIsDeadHere(`${hostname()}:0`)).toBe(false);
    expect(holderIsDeadHere(`${hostname()}:12.5`)).toBe(false);
    // A pid far above any pid_max is no process.
    expect(holderIsDeadHere(`${hostname()}:2147483646`)).toBe(true);
  });

  test('halts since the last clear count halted apply runs after it only', () => {
    const run = (runId: string, at: string, status: RunRecord['status'], mode: RunRecord['mode'] = 'apply', event: RunRecord['event'] = 'END'): RunRecord => ({ runId, planHash: 'p', mode, event, status, summary: null, at });
    const runs = [run('1', '2026-01-01', 'HALTED'), run('2', '2026-01-03', 'HALTED'), run('3', '2026-01-04', 'OK'), run('4', '2026-01-05', 'HALTED', 'rollback'), run('5', '2026-01-06', 'HALTED', 'apply', 'START')];
    expect(haltsSinceClear(runs, null)).toBe(2);
    expect(haltsSinceClear(runs, '2026-01-02')).toBe(1);
    expect(haltsSinceClear(runs, '2026-01-03')).toBe(0);
  });
});

describe('the ledger fold', () => {
  const runs: RunRecord[] = [{ runId: 'r1', planHash: 'p', mode: 'apply', event: 'START', status: null, summary: null, at: 'a' }];
  const rec = (operationId: string, state: LedgerRecord['state'], reason = 'OK', detail: string | null = null, runId = 'r1'): LedgerRecord =>
    ({ runId, planHash: 'p', operationId, seq: 1, action: 'RENAME', state, reason, detail, jobId: null, bytes: 0, rows: null, at: 'a' }) as LedgerRecord;

  test('touched: any applied, open or partly done operation; a failed attempt with no step done is not', () => {
    expect(foldHistory([rec('x', 'STARTED'), rec('x', 'FAILED', 'STEP_FAILED')], runs).touched).toBe(false);
    expect(foldHistory([rec('x', 'STARTED')], runs).touched).toBe(true);
    expect(foldHistory([rec('x', 'STARTED'), rec('x', 'STEP_DONE', 'RENAME_TABLE', 'a>b'), rec('x', 'FAILED', 'STEP_FAILED')], runs).touched).toBe(true);
    expect(foldHistory([rec('x', 'STARTED'), rec('x', 'APPLIED')], runs).runs).toEqual(runs);
  });

  test('the plan may have changed the warehouse once touched, or after an apply run that never ended', () => {
    const run = (runId: string, event: RunRecord['event'], mode: RunRecord['mode'] = 'apply'): RunRecord => ({ runId, planHash: 'p', mode, event, status: null, summary: null, at: 'a' });
    expect(planMayHaveChanged(foldHistory([], [run('r1', 'START'), run('r1', 'END')]))).toBe(false);
    expect(planMayHaveChanged(foldHistory([], [run('r1', 'START')]))).toBe(true);
    expect(planMayHaveChanged(foldHistory([], [run('r1', 'START'), run('r1', 'END'), run('r2', 'START')]))).toBe(true);
    expect(planMayHaveChanged(foldHistory([], [run('pp', 'START', 'paper')]))).toBe(false);
    expect(planMayHaveChanged(foldHistory([rec('x', 'STARTED')], runs))).toBe(true);
  });

  test('a rollback run that recorded steps but no ROLLED_BACK (it died) leaves the operation applied', () => {
    const withRollback: RunRecord[] = [...runs, { runId: 'rb', planHash: 'p', mode: 'rollback', event: 'START', status: null, summary: null, at: 'b' }];
    const h = foldHistory([rec('x', 'STARTED'), rec('x', 'STEP_DONE', 'RENAME_TABLE', 'a>b'), rec('x', 'APPLIED'), rec('x', 'STEP_DONE', 'DROP_VIEW', 'a', 'rb')], withRollback);
    expect(historyOf(h, 'x')).toMatchObject({ applied: true, lastOutcome: 'APPLIED' });
    expect([...historyOf(h, 'x').stepsDone]).toEqual(['RENAME_TABLE|a>b']);
  });

  test('a failed attempt is closed, not applied; a second attempt counts; only backups are recorded as backups', () => {
    const h = foldHistory([rec('x', 'STARTED'), rec('x', 'STEP_DONE', 'RENAME_TABLE', 'a>b'), rec('x', 'FAILED', 'STEP_FAILED'), rec('x', 'STARTED')], runs);
    expect(historyOf(h, 'x')).toMatchObject({ applied: false, attempts: 2, open: true, lastOutcome: 'FAILED' });
    expect([...historyOf(h, 'x').stepsDone]).toEqual(['RENAME_TABLE|a>b']);
    expect(historyOf(h, 'x').backups.size).toBe(0);
    expect(h.touched).toBe(true);
  });

  test('records of a run the ledger does not know are ignored; an operation never seen has an empty history', () => {
    const h = foldHistory([rec('x', 'APPLIED', 'OK', null, 'unknown-run')], runs);
    expect(h.ops.size).toBe(0);
    expect(h.touched).toBe(false);
    expect(historyOf(h, 'x')).toMatchObject({ applied: false, attempts: 0, open: false, lastOutcome: null });
  });

  test('a step without detail is recorded with an empty one; an applied operation touches the plan', () => {
    const h = foldHistory([rec('y', 'STARTED'), rec('y', 'STEP_DONE', 'DROP_TABLE'), rec('y', 'APPLIED')], runs);
    expect([...historyOf(h, 'y').stepsDone]).toEqual(['DROP_TABLE|']);
    expect(historyOf(h, 'y')).toMatchObject({ applied: true, open: false, lastOutcome: 'APPLIED' });
  });
});
