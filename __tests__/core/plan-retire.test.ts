/**
 * The retirement plan as a pure function of the migration plan, the catalogue now and the measured
 * reads: which views go, which stay and what each says. The executor's retirement runs are tested
 * in __tests__/execute/retirement.test.ts.
 */
import { catalogueFingerprint, tableStateHash, type TableInfo } from '../../core/catalogue';
import { emptyFacts } from '../../core/plan/facts';
import { computePlanHash, operationId } from '../../core/plan/hash';
import { validatePlan } from '../../core/plan/load';
import { buildRetirePlan, graceEnded, readersLine, retiredViews, type RetireInput } from '../../core/plan/retire';
import type { Plan } from '../../core/plan/types';
import type { UsageReport, ViewUsage } from '../../core/usage';
import { f, pair, plan, planOfEachAction, policy, table, ts } from './plan-support';

const cols = [ts, pair, f('reg_r2_45')];
const names = ['reg_eurusd_bqx', 'reg_gbpusd_bqx', 'reg_usdjpy_bqx', 'reg_audusd_bqx'];
let migration: Plan;
beforeEach(() => {
  migration = plan(names.map((n) => table(n, cols)), emptyFacts(), policy, '2026-11-01');
});
const asView = (name: string): TableInfo => ({ ...table(name, cols), kind: 'VIEW' });
const reader = (principal: string, jobs: number) => ({ principal, jobs, lastRead: '2026-12-05T10:00:00Z', labels: ['team=fx'] });
const usage = (views: Partial<ViewUsage>[]): UsageReport => ({
  planHash: migration.planHash,
  dataset: 'ds',
  since: '2026-11-20T00:00:00Z',
  until: '2026-12-07T00:00:00Z',
  days: 17,
  source: 'test job history',
  jobsSeen: 9,
  views: views.map((v) => ({ view: '', newName: '', graceEnd: '2026-12-01', jobs: 0, lastRead: null, readers: [], ...v }) as ViewUsage),
  read: 0,
  unread: 0,
});

function retire(over: Partial<RetireInput> = {}) {
  // reg_audusd_bqx's view is gone from the catalogue; the others are views now.
  const tables = [...names.slice(0, 3).map(asView), ...names.map((n) => table(n.replace(/_(\w+)_bqx$/, '_bqx_$1'), cols))];
  const input: RetireInput = {
    // Views in any order: the retirement plan lists them by name.
    basePlan: { ...migration, views: [...migration.views].reverse() },
    tables,
    usage: usage([{ view: 'reg_gbpusd_bqx', jobs: 3, lastRead: '2026-12-05T10:00:00Z', readers: [reader('svc-a', 2), reader('svc-b', 1)] }]),
    unreadDays: 17,
    now: new Date('2026-12-07T12:00:00Z'),
    engine: 'duckdb',
    policyHash: policy.hash,
    batchSize: 100,
    ...over,
  };
  return { input, plan: buildRetirePlan(input) };
}

describe('the retirement plan', () => {
  it('drops views nobody read after the grace period, keeps and names the readers of the others, lists the absent', () => {
    const { input, plan: p } = retire();
    expect(p.operations.map((o) => [o.seq, o.batch, o.action, o.reason, o.sources[0], o.target, o.destructive, o.detail])).toEqual([
      [1, 1, 'RETIRE_VIEW', 'UNREAD', 'reg_eurusd_bqx', 'reg_bqx_eurusd', true, 'no reads since 2026-11-20; readers use reg_bqx_eurusd'],
      [2, 0, 'KEEP', 'STILL_READ', 'reg_gbpusd_bqx', null, false, '3 job(s), last read 2026-12-05T10:00:00Z, by svc-a (2), svc-b (1); they must read reg_bqx_gbpusd'],
      [3, 1, 'RETIRE_VIEW', 'UNREAD', 'reg_usdjpy_bqx', 'reg_bqx_usdjpy', true, 'no reads since 2026-11-20; readers use reg_bqx_usdjpy'],
    ]);
    const kept = p.operations.find((o) => o.action === 'KEEP')!;
    expect(kept.usage).toEqual({ jobs: 3, lastRead: '2026-12-05T10:00:00Z', readers: [reader('svc-a', 2), reader('svc-b', 1)] });
    expect(kept.view).toEqual(migration.views.find((v) => v.name === 'reg_gbpusd_bqx'));
    expect(kept.family).toBe('reg_bqx_gbpusd');
    expect(kept.sourceState).toEqual({ reg_gbpusd_bqx: tableStateHash(asView('reg_gbpusd_bqx')) });
    const dropped = p.operations.find((o) => o.sources[0] === 'reg_eurusd_bqx')!;
    expect(dropped).toMatchObject({ id: operationId('RETIRE_VIEW', ['reg_eurusd_bqx'], 'reg_bqx_eurusd'), variant: null, estimatedBytes: 0 });
    expect(dropped.usage).toEqual({ jobs: 0, lastRead: null, readers: [] });
    expect(kept.id).toBe(operationId('KEEP', ['reg_gbpusd_bqx'], null));
    expect(p.retirement).toEqual({ basePlanHash: migration.planHash, decidedAt: '2026-12-07T12:00:00.000Z', unreadDays: 17, readSince: '2026-11-20T00:00:00Z', usageSource: 'test job history', absent: ['reg_audusd_bqx'] });
    expect(p).toMatchObject({ format: 'bqx-plan/v1', engine: 'duckdb', project: 'bqx-ml', dataset: 'ds', catalogueFingerprint: catalogueFingerprint(input.tables), tableCount: 3, policyHash: policy.hash, graceStart: '2026-11-01', graceDays: 30, views: [] });
    expect(p.summary).toEqual({
      tables: 3,
      byAction: { KEEP: 1, RENAME: 0, DEDUPE: 0, CONSOLIDATE: 0, REVIEW: 0, RETIRE_VIEW: 2 },
      sourcesByAction: { KEEP: 1, RENAME: 0, DEDUPE: 0, CONSOLIDATE: 0, REVIEW: 0, RETIRE_VIEW: 2 },
      byReason: { STILL_READ: 1, UNREAD: 2 },
      views: 0,
      estimatedBytes: 0,
      estimatedCostUsd: 0,
      planningBytes: 0,
    });
    expect(p.planHash).toBe(computePlanHash(p));
    expect(validatePlan(JSON.parse(JSON.stringify(p)), 'retire.json')).toEqual(p);
    expect(retiredViews(p)).toEqual(['reg_eurusd_bqx', 'reg_usdjpy_bqx']);
  });

  it('keeps every view before the grace period ends, and batches retirements by the batch size', () => {
    const early = retire({ now: new Date('2026-11-30T23:59:59Z') }).plan;
    expect(early.operations.map((o) => [o.action, o.reason, o.detail])).toEqual([
      ['KEEP', 'GRACE_NOT_ENDED', 'grace period ends 2026-12-01'],
      ['KEEP', 'GRACE_NOT_ENDED', 'grace period ends 2026-12-01'],
      ['KEEP', 'GRACE_NOT_ENDED', 'grace period ends 2026-12-01'],
    ]);
    expect(early.summary.byAction.RETIRE_VIEW).toBe(0);
    expect(early.summary.sourcesByAction.RETIRE_VIEW).toBe(0);
    expect(retiredViews(early)).toEqual([]);
    const oneByOne = retire({ batchSize: 1 }).plan;
    expect(oneByOne.operations.map((o) => o.batch)).toEqual([1, 0, 2]);
  });

  it('the grace period covers graceStart up to graceEnd, which is the first day a view may go', () => {
    expect(graceEnded({ graceEnd: '2026-12-01' }, new Date('2026-11-30T23:59:59Z'))).toBe(false);
    expect(graceEnded({ graceEnd: '2026-12-01' }, new Date('2026-12-01T00:00:00Z'))).toBe(true);
    expect(graceEnded({ graceEnd: '2026-12-01' }, new Date('2027-01-01T00:00:00Z'))).toBe(true);
  });

  it('names at most five readers, then how many more', () => {
    const six = Array.from({ length: 6 }, (_, i) => reader(`svc-${i}`, 6 - i));
    expect(readersLine({ jobs: 21, lastRead: '2026-12-05', readers: six })).toBe('21 job(s), last read 2026-12-05, by svc-0 (6), svc-1 (5), svc-2 (4), svc-3 (3), svc-4 (2), … 1 more');
    expect(readersLine({ jobs: 20, lastRead: '2026-12-05', readers: six.slice(0, 5) })).toBe('20 job(s), last read 2026-12-05, by svc-0 (6), svc-1 (5), svc-2 (4), svc-3 (3), svc-4 (2)');
  });
});

describe('the retirement plan, more cases', () => {
  it('a name that is a table now is absent; a view with a usage record of no jobs is unread', () => {
    const { plan: p } = retire({
      tables: [asView('reg_eurusd_bqx'), table('reg_gbpusd_bqx', cols), asView('reg_usdjpy_bqx'), asView('reg_audusd_bqx')],
      usage: usage([{ view: 'reg_eurusd_bqx', jobs: 0 }]),
    });
    expect(p.retirement?.absent).toEqual(['reg_gbpusd_bqx']);
    expect(p.operations.map((o) => [o.sources[0], o.action])).toEqual([
      ['reg_audusd_bqx', 'RETIRE_VIEW'],
      ['reg_eurusd_bqx', 'RETIRE_VIEW'],
      ['reg_usdjpy_bqx', 'RETIRE_VIEW'],
    ]);
  });

  it('the views of one consolidation all retire into its one table, and the plan validates', () => {
    const base = planOfEachAction();
    const consolidated = base.views.filter((v) => v.target === 'lag_bqx_eurusd');
    expect(consolidated).toHaveLength(4);
    const p = buildRetirePlan({
      basePlan: base,
      tables: consolidated.map((v) => ({ ...table(v.name, cols), kind: 'VIEW' })),
      usage: usage([]),
      unreadDays: 17,
      now: new Date('2027-02-01T00:00:00Z'),
      engine: 'duckdb',
      policyHash: policy.hash,
      batchSize: 100,
    });
    expect(p.operations.map((o) => [o.action, o.target])).toEqual(consolidated.map(() => ['RETIRE_VIEW', 'lag_bqx_eurusd']));
    expect(() => validatePlan(JSON.parse(JSON.stringify(p)), 'retire.json')).not.toThrow();
  });
});
