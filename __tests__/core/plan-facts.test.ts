/**
 * What the planner reads before it decides (gatherFacts): which reads, in which order, at what
 * cost against the planning budget, how many at once, and what it records when a read fails.
 * The source is an in-memory table of answers; the engines' own reads are tested with them.
 */
import { makeSnapshot, type TableInfo } from '../../core/catalogue';
import { TIB } from '../../core/cost';
import type { FactSource } from '../../core/plan/facts';
import { buildPlan, gatherFacts, type PlanInput } from '../../core/plan/planner';
import type { Policy } from '../../core/policy';
import { bqxLag, covCols, f, lagTables, pair, policy, policyWith, table, ts } from './plan-support';

type Answers = Partial<Pick<FactSource, 'sampleNumeric' | 'contentFingerprint' | 'keyStats' | 'columnsAgreeOnKey' | 'readMany'>>;

/** A source that logs every read and answers from `answers` (a fixed default otherwise). */
function source(answers: Answers = {}, maxParallelOperations = 4): FactSource & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    maxParallelOperations,
    sampleNumeric: async (t, column, limit) => (log.push(`sample ${t} ${column} ${limit}`), answers.sampleNumeric ? answers.sampleNumeric(t, column, limit) : [100]),
    contentFingerprint: async (t) => (log.push(`fingerprint ${t}`), answers.contentFingerprint ? answers.contentFingerprint(t) : { rows: 10, hash: `h-${t}` }),
    keyStats: async (t, key) => (log.push(`keystats ${t} ${key}`), answers.keyStats ? answers.keyStats(t, key) : { rows: 10, distinctKeys: 10, nullKeys: 0 }),
    columnsAgreeOnKey: async (a, b, key, columns) => (
      log.push(`agree ${a} ${b} ${key} ${columns.join(',')}`), answers.columnsAgreeOnKey ? answers.columnsAgreeOnKey(a, b, key, columns) : Object.fromEntries(columns.map((c) => [c, true]))
    ),
    ...(answers.readMany ? { readMany: answers.readMany } : {}),
  };
}
const input = (tables: TableInfo[], p: Policy = policy): PlanInput => ({ snapshot: makeSnapshot('test', 'bqx-ml', 'ds', tables), policy: p, graceStart: '2026-12-01' });

describe('gathering the planning facts', () => {
  it('samples each name whose variant needs data, with the policy’s sample size, never an empty table', async () => {
    const src = source();
    const tables = [table('cov_mom_audcad_audchf', covCols), table('cov_agg_audcad_audchf', covCols, 0), table('reg_eurusd_bqx', [ts, pair]), table('cov_vol_audcad_audchf', [ts, f('spread')])];
    const facts = await gatherFacts(src, input(tables));
    expect(src.log).toEqual(['sample cov_mom_audcad_audchf val1 200']);
    expect(facts.samples.get('cov_mom_audcad_audchf')).toEqual({ column: 'val1', values: [100] });
    expect(facts.samples.get('cov_agg_audcad_audchf')).toEqual({ column: 'val1', values: [] });
    expect(facts.samples.has('cov_vol_audcad_audchf')).toBe(false);
    // A column's share of the table's bytes: one of 5 columns of a 400-byte table.
    expect(facts.bytesRead).toBe(80);
  });

  it('records a failed read as its error text, whatever was thrown', async () => {
    const tables = [table('cov_mom_audcad_audchf', covCols), table('cov_agg_audcad_audchf', covCols)];
    const src = source({
      sampleNumeric: async (t) => {
        if (t === 'cov_mom_audcad_audchf') throw new Error('permission denied');
        throw 'quota';
      },
    });
    const facts = await gatherFacts(src, input(tables));
    expect(facts.samples.get('cov_mom_audcad_audchf')).toEqual({ error: 'permission denied' });
    expect(facts.samples.get('cov_agg_audcad_audchf')).toEqual({ error: 'quota' });
  });

  it('fingerprints a table and the existing twins it may be a copy of, never a view', async () => {
    const src = source();
    const tables = [
      table('cov_mom_audcad_audchf', covCols),
      table('cov_mom_bqx_audcad_audchf', covCols),
      { ...table('cov_mom_idx_audcad_audchf', covCols), kind: 'VIEW' as const },
      table('reg_eurusd_bqx', [ts, pair]),
      table('reg_bqx_eurusd', [ts, pair]),
      table('tmp_eurusd', [ts, pair]),
    ];
    const facts = await gatherFacts(src, input(tables));
    expect(src.log.filter((l) => l.startsWith('fingerprint')).sort()).toEqual(
      ['fingerprint cov_mom_audcad_audchf', 'fingerprint cov_mom_bqx_audcad_audchf', 'fingerprint reg_bqx_eurusd', 'fingerprint reg_eurusd_bqx'].sort(),
    );
    expect(facts.fingerprints.get('reg_bqx_eurusd')).toEqual({ rows: 10, hash: 'h-reg_bqx_eurusd' });
  });

  it('fingerprints the twins the twin rule compares, of a window table too unless it is empty', async () => {
    const csi = [ts, { name: 'currency', type: 'STRING' as const }, f('csi_agg_strength_45')];
    const regime = (w: number) => [ts, pair, f(`hl_range_${w}`)];
    const src = source();
    await gatherFacts(
      src,
      input([
        table('csi_agg_aud', csi),
        table('csi_agg_bqx_aud', csi),
        table('csi_rev_aud', csi),
        table('regime_eurusd_45', regime(45)),
        table('regime_bqx_eurusd_45', regime(45)),
        table('regime_gbpusd_45', regime(45), 0),
        table('regime_bqx_gbpusd_45', regime(45)),
      ]),
    );
    const read = src.log.filter((l) => l.startsWith('fingerprint')).sort();
    expect(read).toEqual(['fingerprint csi_agg_aud', 'fingerprint csi_agg_bqx_aud', 'fingerprint regime_bqx_eurusd_45', 'fingerprint regime_eurusd_45']);
  });

  it('takes fingerprints in one bulk read where the source can, and records what it did not answer', async () => {
    const requested: string[][] = [];
    const src = source({
      readMany: async (req) => {
        requested.push([...req.fingerprints]);
        return {
          rowCounts: new Map(),
          probes: new Map(),
          fingerprints: new Map<string, { rows: number; hash: string } | Error>([
            ['cov_mom_audcad_audchf', { rows: 3, hash: 'x' }],
            ['cov_mom_bqx_audcad_audchf', new Error('denied')],
          ]),
        };
      },
    });
    const progress: string[] = [];
    const facts = await gatherFacts(
      src,
      input([table('cov_mom_audcad_audchf', covCols), table('cov_mom_bqx_audcad_audchf', covCols), table('cov_mom_idx_audcad_audchf', covCols)]),
      (stage, done, total) => progress.push(`${stage} ${done}/${total}`),
    );
    expect(requested).toEqual([['cov_mom_audcad_audchf', 'cov_mom_bqx_audcad_audchf', 'cov_mom_idx_audcad_audchf']]);
    expect(src.log.filter((l) => l.startsWith('fingerprint'))).toEqual([]);
    expect(facts.fingerprints.get('cov_mom_audcad_audchf')).toEqual({ rows: 3, hash: 'x' });
    expect(facts.fingerprints.get('cov_mom_bqx_audcad_audchf')).toEqual({ error: 'denied' });
    expect(facts.fingerprints.get('cov_mom_idx_audcad_audchf')).toEqual({ error: 'no answer for cov_mom_idx_audcad_audchf' });
    expect(progress).toEqual(['sample 1/1', 'fingerprint 1/3', 'fingerprint 2/3', 'fingerprint 3/3']);
  });

  it('runs as many reads at once as the source allows, at least one', async () => {
    const tables = ['audcad_audchf', 'audcad_audjpy', 'audcad_audnzd', 'audchf_audjpy', 'audchf_audnzd'].map((p) => table(`cov_mom_${p}`, covCols));
    for (const [limit, expected] of [
      [2, 2],
      [0, 1],
    ]) {
      let running = 0;
      let most = 0;
      const src = source(
        {
          sampleNumeric: async () => {
            most = Math.max(most, ++running);
            await new Promise((r) => setTimeout(r, 5));
            running--;
            return [100];
          },
        },
        limit,
      );
      const facts = await gatherFacts(src, input(tables));
      expect([limit, most]).toEqual([limit, expected]);
      expect(facts.samples.size).toBe(5);
    }
  });

  it('stops at the planning budget: reads in name order while the bytes fit, an exact fit included', async () => {
    // A budget of exactly one TiB; each sample reads one of the table's five columns.
    const oneTiB = policyWith('planningBudgetUsd: 10', 'planningBudgetUsd: 6.25');
    const sized = (name: string, columnBytes: number): TableInfo => ({ ...table(name, covCols), bytes: columnBytes * 5 });
    const src = source();
    const facts = await gatherFacts(src, input([sized('cov_mom_audcad_audjpy', 2), sized('cov_mom_audcad_audchf', TIB - 3), sized('cov_mom_audchf_audjpy', 1), sized('cov_mom_audcad_audnzd', 1)], oneTiB));
    expect(src.log.map((l) => l.split(' ')[1])).toEqual(['cov_mom_audcad_audchf', 'cov_mom_audcad_audjpy', 'cov_mom_audcad_audnzd']);
    expect(facts.bytesRead).toBe(TIB);
    expect([...facts.overBudget]).toEqual(['cov_mom_audchf_audjpy']);
  });

  it('reads what a consolidation needs: copies, key statistics of each window’s source, agreement of shared columns', async () => {
    const src = source({ contentFingerprint: async (t) => ({ rows: 10, hash: t.endsWith('45') ? 'A' : 'B' }) });
    const progress: string[] = [];
    const facts = await gatherFacts(src, input(lagTables), (stage, done, total) => progress.push(`${stage} ${done}/${total}`));
    expect(src.log.sort()).toEqual(
      [
        'fingerprint lag_bqx_eurusd_45',
        'fingerprint lag_bqx_eurusd_w45',
        'fingerprint lag_bqx_eurusd_90',
        'fingerprint lag_bqx_eurusd_w90',
        'keystats lag_bqx_eurusd_45 interval_time',
        'keystats lag_bqx_eurusd_90 interval_time',
        'agree lag_bqx_eurusd_45 lag_bqx_eurusd_90 interval_time pair,bqx_close,period_minutes',
      ].sort(),
    );
    expect(facts.agreement.get('lag_bqx_eurusd_45|lag_bqx_eurusd_90')).toEqual({ pair: true, bqx_close: true, period_minutes: true });
    expect(facts.keyStats.get('lag_bqx_eurusd_90')).toEqual({ rows: 10, distinctKeys: 10, nullKeys: 0 });
    // Bytes: 4 fingerprints of 400 (45) and 320 (90) bytes, 2 key columns of 80 and 64, and the
    // agreement's 3 shared columns plus the key of each side.
    expect(facts.bytesRead).toBe(400 + 400 + 320 + 320 + 80 + 64 + 80 * 4 + 64 * 4);
    expect(progress.slice(-1)).toEqual(['agreement 1/1']);
    const plan = await buildPlan(src, input(lagTables));
    expect(plan.operations.map((o) => o.action)).toEqual(['CONSOLIDATE']);
  });

  it('a single window, or windows that share no un-windowed column, need no agreement', async () => {
    const src = source();
    await gatherFacts(src, input([table('lag_bqx_eurusd_45', [ts, f('bqx_lag_45')]), table('lag_bqx_eurusd_90', [ts, f('bqx_lag_90')]), table('lag_bqx_gbpusd_45', bqxLag(45))]));
    expect(src.log.filter((l) => l.startsWith('agree'))).toEqual([]);
    expect(src.log.filter((l) => l.startsWith('keystats')).sort()).toEqual(['keystats lag_bqx_eurusd_45 interval_time', 'keystats lag_bqx_eurusd_90 interval_time', 'keystats lag_bqx_gbpusd_45 interval_time']);
  });

  it('groups an un-suffixed window table by the variant its sample gives, and records failed key and agreement reads', async () => {
    const src = source({
      sampleNumeric: async () => [0.5],
      keyStats: async () => {
        throw new Error('no key');
      },
      columnsAgreeOnKey: async () => {
        throw new Error('no agreement');
      },
    });
    const facts = await gatherFacts(src, input([table('lag_eurusd_45', bqxLag(45)), table('lag_bqx_eurusd_90', bqxLag(90)), table('lag_eurusd_x', [ts])]));
    expect(facts.keyStats.get('lag_eurusd_45')).toEqual({ error: 'no key' });
    expect(facts.agreement.get('lag_eurusd_45|lag_bqx_eurusd_90')).toEqual({ error: 'no agreement' });
  });

  it('fingerprint read failures are recorded per table', async () => {
    const src = source({
      contentFingerprint: async (t) => {
        if (t.includes('bqx')) throw new Error(`cannot read ${t}`);
        return { rows: 1, hash: 'h' };
      },
    });
    const facts = await gatherFacts(src, input([table('cov_mom_audcad_audchf', covCols), table('cov_mom_bqx_audcad_audchf', covCols)]));
    expect(facts.fingerprints.get('cov_mom_bqx_audcad_audchf')).toEqual({ error: 'cannot read cov_mom_bqx_audcad_audchf' });
    expect(facts.fingerprints.get('cov_mom_audcad_audchf')).toEqual({ rows: 1, hash: 'h' });
  });
});

describe('reads it does not repeat or make', () => {
  it('a copy fingerprinted for the twin rule is not read again for its consolidation', async () => {
    const regime = (w: number) => [ts, pair, f(`hl_range_${w}`)];
    const src = source({ contentFingerprint: async () => ({ rows: 10, hash: 'same' }) });
    await gatherFacts(src, input([table('regime_eurusd_45', regime(45)), table('regime_bqx_eurusd_45', regime(45))]));
    expect(src.log.sort()).toEqual(['fingerprint regime_bqx_eurusd_45', 'fingerprint regime_eurusd_45', 'keystats regime_bqx_eurusd_45 interval_time']);
  });

  it('a view is never sampled, whatever its name', async () => {
    const src = source();
    const facts = await gatherFacts(src, input([{ ...table('cov_mom_audcad_audchf', covCols), kind: 'VIEW' }]));
    expect(src.log).toEqual([]);
    expect(facts.bytesRead).toBe(0);
  });
});
