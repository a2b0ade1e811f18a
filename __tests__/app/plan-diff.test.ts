/**
 * `bqx plan --diff PREVIOUS_PLAN`: operations added, removed and changed between two plans, and the
 * catalogue drift behind them; pure on the committed plan, then through the CLI.
 */
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';
import { diffPlans, formatPlanDiff, type PlanDiff } from '../../app/plan-diff';
import { loadPlanFile } from '../../core/plan/load';
import type { Plan, PlanOperation } from '../../core/plan/types';
import { repoPath } from '../../core/paths';
import { EXIT } from '../../scripts/exit-codes';
import { seedSmall, tempDir } from '../duckdb/support';

const committedFile = repoPath('plans', 'phase-4c.plan.json');
const committed = loadPlanFile(committedFile);

describe('diffPlans on the committed plan', () => {
  test('a plan against itself: nothing added, removed or changed, no drift', () => {
    const d = diffPlans(committed, committed);
    expect(d.operations).toEqual({ added: [], removed: [], changed: [], unchanged: committed.operations.length });
    expect(d.catalogue).toEqual({ added: [], removed: [], changed: [] });
    expect(formatPlanDiff(d, 'a.json', 'b.json')).toContain('  no operation changed');
  });

  test('a table gone, one new, one changed, one decision changed: each named once, with the drift behind it', () => {
    const ops = committed.operations;
    const rename = ops.find((o) => o.action === 'RENAME') as PlanOperation;
    const dedupe = ops.find((o) => o.action === 'DEDUPE') as PlanOperation;
    const keep = ops.find((o) => o.action === 'KEEP') as PlanOperation;
    const fresh: PlanOperation = { ...keep, id: 'op_0000000000000001', sources: ['agg_bqx_newpair'], sourceState: { agg_bqx_newpair: 'f'.repeat(32) } };
    const current: Plan = {
      ...committed,
      planHash: 'b'.repeat(64),
      operations: [
        ...ops
          .filter((o) => o.id !== dedupe.id)
          .map((o) => (o.id === rename.id ? { ...o, action: 'REVIEW' as const, reason: 'VARIANT_AMBIGUOUS' as const, target: null, detail: 'median between thresholds' } : o))
          .map((o) => (o.id === keep.id ? { ...o, sourceState: { [keep.sources[0]]: '0'.repeat(32) } } : o)),
        fresh,
      ],
    };
    const d: PlanDiff = diffPlans(committed, current);
    expect(d.catalogue).toEqual({ added: ['agg_bqx_newpair'], removed: [dedupe.sources[0]], changed: [keep.sources[0]] });
    expect(d.operations.added).toHaveLength(1);
    expect(d.operations.added[0]).toMatch(/^ {4}KEEP +COMPLIANT +agg_bqx_newpair$/);
    expect(d.operations.removed).toHaveLength(1);
    expect(d.operations.removed[0]).toContain(`  - DEDUPE      IDENTICAL_TWIN          ${dedupe.sources[0]} -> ${dedupe.target}   DROP ${dedupe.sources[0]}`);
    expect(d.operations.changed).toEqual([
      { sources: rename.sources[0], fields: ['action', 'reason', 'target'], before: expect.stringMatching(/^ {2}~ RENAME /), after: expect.stringMatching(/^ {2}\? REVIEW +VARIANT_AMBIGUOUS +\S+ +median between thresholds$/) },
    ]);
    // The KEEP whose table changed state is drift, not a changed operation.
    expect(d.operations.unchanged).toBe(ops.length - 2);
    const text = formatPlanDiff(d, 'plans/phase-4c.plan.json', 'new.json');
    expect(text).toContain('Catalogue drift: 1 tables added, 1 removed, 1 changed (schema or row count)');
    expect(text).toContain(`Operations: 1 added, 1 removed, 1 changed, ${(ops.length - 2).toLocaleString('en-US')} unchanged`);
    expect(text).toContain(`~ ${rename.sources[0]}: action, reason, target changed`);
    expect(text).toContain(`  policy     unchanged (${committed.policyHash.slice(0, 12)}…)`);
  });
});

describe('bqx plan --diff', () => {
  const BIN = repoPath('bin', 'bqx.js');
  let tmp: ReturnType<typeof tempDir>;
  let database: string;
  beforeAll(async () => {
    tmp = tempDir('plan-diff');
    ({ database } = await seedSmall(tmp.dir));
  }, 120_000);
  afterAll(() => tmp.cleanup());
  const bqx = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: tmp.dir, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });

  test('plans, writes, and prints what changed since the previous plan; --current compares two saved plans', () => {
    const out = path.join(tmp.dir, 'small.json');
    const r = bqx(['plan', '--out', out, '--database', database, '--grace-start', '2026-11-21', '--diff', committedFile, '--json']);
    expect(r.status).toBe(EXIT.OK);
    const printed = JSON.parse(r.stdout) as { planHash: string; diff: PlanDiff };
    const small = loadPlanFile(out);
    expect(printed.diff).toEqual(diffPlans(committed, small));
    expect(printed.diff.current.catalogue).toBe('duckdb:bqx-ml.bqx_ml_v3_features_v2');
    expect(printed.diff.catalogue.removed.length).toBeGreaterThan(5000);

    // The review file of the small plan: every DEDUPE drop found by grep -i drop, REVIEW first.
    const review = readFileSync(`${out}.txt`, 'utf8').split('\n');
    const dedupes = small.operations.filter((o) => o.action === 'DEDUPE');
    expect(dedupes.length).toBeGreaterThan(0);
    const dropLines = review.filter((l) => /drop/i.test(l) && !l.startsWith('#'));
    for (const op of dedupes) expect(dropLines.filter((l) => l.includes(op.id) && l.startsWith('  - ') && l.includes(`DROP ${op.sources[0]}`))).toHaveLength(1);
    const firstOp = review.findIndex((l) => / op_[0-9a-f]{16} /.test(l));
    expect(review[firstOp]).toMatch(/^ {2}\? /);

    const same = bqx(['plan', '--diff', out, '--current', out]);
    expect(same.status).toBe(EXIT.OK);
    expect(same.stdout).toContain('Catalogue drift: 0 tables added, 0 removed, 0 changed');
    expect(same.stdout).toContain('  no operation changed');

    const text = bqx(['plan', '--diff', committedFile, '--current', out]);
    expect(text.stdout).toContain(`Plan diff: ${committedFile} (${committed.planHash.slice(0, 12)}…) -> ${out} (${small.planHash.slice(0, 12)}…)`);

    const lonely = bqx(['plan', '--current', out]);
    expect(lonely.status).toBe(EXIT.BAD_INPUT);
    expect(lonely.stderr).toContain('no --diff PREVIOUS_PLAN was given');
    const missing = bqx(['plan', '--out', path.join(tmp.dir, 'x.json'), '--database', database, '--diff', path.join(tmp.dir, 'nope.json')]);
    expect(missing.status).toBe(EXIT.BAD_INPUT);
  });
});
