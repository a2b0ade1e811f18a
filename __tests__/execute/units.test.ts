import { backupNameFor, jobIdFor } from '../../core/execute/ids';
import { foldHistory } from '../../core/execute/history';
import { foldLock, haltsSinceClear } from '../../core/execute/lock';
import { TIB } from '../../core/cost';
import { checkBudget } from '../../core/execute/preflight';
import { REASONS } from '../../core/execute/reasons';
import { readPreviousCounters, renderMetrics } from '../../app/report/metrics';
import { newSummary, recordResult } from '../../core/report/summary';
import type { LedgerRecord, LockEvent, RunRecord } from '../../core/ledger/types';
import type { PlanOperation } from '../../core/plan/types';
import { isTableName } from '../../core/identifiers';

const ev = (seq: number, event: LockEvent['event'], runId: string, expiresAt = '2030-01-01T00:00:00.000Z'): LockEvent => ({
  lockName: 'l',
  seq,
  event,
  runId,
  holder: 'h:1',
  expiresAt,
  detail: null,
  at: `2026-01-01T00:00:0${seq}.000Z`,
});

test('lock events fold into holder, lease and freeze', () => {
  expect(foldLock([]).holder).toBeNull();
  const s = foldLock([ev(1, 'ACQUIRE', 'a', '2026-01-01T00:02:00.000Z'), ev(2, 'RENEW', 'a', '2026-01-01T00:05:00.000Z')]);
  expect(s).toMatchObject({ head: 2, holder: { runId: 'a', expiresAt: '2026-01-01T00:05:00.000Z' } });
  // A RENEW from a run that does not hold the lock does not extend it.
  expect(foldLock([ev(1, 'ACQUIRE', 'a', 'x'), ev(2, 'RENEW', 'b', 'y')]).holder?.expiresAt).toBe('x');
  expect(foldLock([ev(1, 'ACQUIRE', 'a'), ev(2, 'RELEASE', 'a')]).holder).toBeNull();
  const frozen = foldLock([ev(1, 'ACQUIRE', 'a'), ev(2, 'FREEZE', 'a'), ev(3, 'RELEASE', 'a')]);
  expect(frozen.frozen).not.toBeNull();
  expect(frozen.holder).toBeNull();
  const cleared = foldLock([ev(1, 'FREEZE', 'a'), ev(2, 'CLEAR', 'p')]);
  expect(cleared).toMatchObject({ frozen: null, clearedAt: '2026-01-01T00:00:02.000Z' });
  const run = (status: string, at: string): RunRecord => ({ runId: at, planHash: 'p', mode: 'apply', event: 'END', status, summary: null, at });
  expect(haltsSinceClear([run('HALTED', '2026-01-01T00:00:01Z'), run('HALTED', '2026-01-01T00:00:05Z'), run('OK', '2026-01-01T00:00:06Z')], '2026-01-01T00:00:02Z')).toBe(1);
});

const rec = (runId: string, operationId: string, state: LedgerRecord['state'], reason = 'OK', detail: string | null = null): LedgerRecord => ({
  runId,
  planHash: 'p',
  operationId,
  seq: 1,
  action: 'RENAME',
  state,
  reason,
  detail,
  attempt: 1,
  bytes: 0,
  rows: null,
  jobId: null,
  at: '2026-01-01T00:00:00Z',
});

test('the ledger folds into per-operation history; paper records and rollbacks count as they should', () => {
  const runs: RunRecord[] = [
    { runId: 'r1', planHash: 'p', mode: 'apply', event: 'START', status: null, summary: null, at: 'a' },
    { runId: 'pp', planHash: 'p', mode: 'paper', event: 'START', status: null, summary: null, at: 'a' },
    { runId: 'rb', planHash: 'p', mode: 'rollback', event: 'START', status: null, summary: null, at: 'b' },
    { runId: 'r2', planHash: 'p', mode: 'apply', event: 'START', status: null, summary: null, at: 'c' },
  ];
  const h = foldHistory(
    [
      rec('pp', 'x', 'PAPER', 'WOULD_APPLY'),
      rec('r1', 'x', 'STARTED'),
      rec('r1', 'x', 'STEP_DONE', 'RENAME_TABLE', 'a>b'),
      rec('r1', 'x', 'APPLIED'),
      rec('r1', 'y', 'STARTED'),
      rec('r1', 'y', 'STEP_DONE', 'BACKUP_TABLE', 'c>bk'),
      rec('rb', 'x', 'STEP_DONE', 'DROP_VIEW', 'a'),
      rec('rb', 'x', 'ROLLED_BACK', 'ROLLBACK_OK'),
    ],
    runs,
  );
  expect(h.ops.get('x')).toMatchObject({ applied: false, attempts: 1, open: false, lastOutcome: 'ROLLED_BACK' });
  expect(h.ops.get('x')!.stepsDone.size).toBe(0);
  expect(h.ops.get('y')).toMatchObject({ applied: false, attempts: 1, open: true });
  expect(h.ops.get('y')!.stepsDone.has('BACKUP_TABLE|c>bk')).toBe(true);
  expect(h.ops.get('y')!.backups.get('c')).toBe('bk');
  expect(h.touched).toBe(true);
  expect(foldHistory([rec('pp', 'x', 'PAPER')], runs).touched).toBe(false);
});

test('backup names and job ids are valid, deterministic identifiers', () => {
  const long = 'a'.repeat(1024);
  expect(isTableName(backupNameFor('op_0123456789abcdef', 'cov_agg_eurusd_gbpusd', 1))).toBe(true);
  expect(backupNameFor('op_0123456789abcdef', 'cov_agg_eurusd_gbpusd', 2)).toBe('bk_0123456789abcdef_a2_cov_agg_eurusd_gbpusd');
  expect(backupNameFor('op_0123456789abcdef', long, 1).length).toBeLessThanOrEqual(1024);
  expect(backupNameFor('op_0123456789abcdef', long, 1)).not.toBe(backupNameFor('op_0123456789abcdef', `${'a'.repeat(1023)}b`, 1));
  expect(jobIdFor('f'.repeat(64), 'op_1', 2, 3)).toBe(jobIdFor('f'.repeat(64), 'op_1', 2, 3));
  expect(jobIdFor('f'.repeat(64), 'op_1', 2, 3)).not.toBe(jobIdFor('f'.repeat(64), 'op_1', 2, 4));
  expect(jobIdFor('f'.repeat(64), 'op_1', 2, 3)).toMatch(/^[A-Za-z0-9_-]{1,1024}$/);
});

test('every reason is classified', () => {
  for (const [k, v] of Object.entries(REASONS)) expect({ k, ok: ['none', 'retryable', 'needs-human'].includes(v.class) }).toEqual({ k, ok: true });
});

test('budget refusal counts the leading operations that fit', () => {
  const op = (id: string): PlanOperation => ({ id } as PlanOperation);
  const ops = [op('a'), op('b'), op('c')];
  const bytes = new Map([['a', 0], ['b', TIB], ['c', TIB]]);
  expect(checkBudget(ops, bytes, 13, 6.25, 'p.json')).toBeNull();
  const f = checkBudget(ops, bytes, 10, 6.25, 'p.json')!;
  expect(f.message).toContain('the first 2 fit');
  expect(f.hint).toContain('--max-operations 2');
  expect(checkBudget([op('b')], bytes, 1, 6.25, 'p.json')!.hint).toContain('raise --budget-usd');
});

test('metrics: bounded labels, no run id, counters carried over from the previous textfile', async () => {
  const s = newSummary({ runId: 'run_123_abc', planHash: 'p', mode: 'apply', engine: 'duckdb', dataset: 'd', startedAt: new Date(0) });
  recordResult(s, { operationId: 'op', seq: 1, batch: 1, action: 'RENAME', sources: ['a'], target: 'b', outcome: 'APPLIED', reason: 'OK', detail: null, bytes: 10, rows: 24 });
  s.status = 'OK';
  const first = await renderMetrics(s);
  expect(first).toContain('bqx_runs_total{mode="apply",outcome="OK"} 1');
  expect(first).toContain('bqx_operations_total{action="RENAME",outcome="APPLIED",reason="OK"} 1');
  expect(first).toContain('bqx_rows_processed_total{mode="apply"} 24');
  expect(first).toContain('bqx_bytes_processed_total{mode="apply"} 10');
  expect(first).toMatch(/bqx_run_duration_seconds\{mode="apply"\} 0/);
  expect(first).not.toContain('run_123_abc');
  const second = await renderMetrics(s, readPreviousCounters(first));
  expect(second).toContain('bqx_runs_total{mode="apply",outcome="OK"} 2');
  expect(second).toContain('bqx_rows_processed_total{mode="apply"} 48');
  expect(second).toContain('bqx_validation_score{mode="apply"} 1');
  const paper = { ...s, mode: 'paper' as const, durationSeconds: 3, results: [] };
  const third = await renderMetrics(paper, readPreviousCounters(second));
  expect(third).toContain('bqx_run_duration_seconds{mode="paper"} 3');
  expect(third).toContain('bqx_run_duration_seconds{mode="apply"} 0');
  expect(third).toContain('bqx_runs_total{mode="apply",outcome="OK"} 2');
});
