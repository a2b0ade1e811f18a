/**
 * What loading a plan refuses, and the words it says: schema, integrity hash, every identifier that
 * can reach SQL, and the plan's structure. Each edit is re-signed (a valid planHash) so the check
 * under test is the one that answers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { BqxError } from '../../core/errors';
import { computePlanHash } from '../../core/plan/hash';
import { freezePlan, loadPlanFile, validatePlan } from '../../core/plan/load';
import type { Plan, PlanOperation } from '../../core/plan/types';
import { planOfEachAction } from './plan-support';

// Built in each test (not at load time), so the mutation run attributes the planner's code to the tests that run it.
let base: Plan;
let rename: PlanOperation, dedupe: PlanOperation, consolidate: PlanOperation, keep: PlanOperation, review: PlanOperation;
beforeEach(() => {
  base = planOfEachAction();
  const by = (action: string) => base.operations.find((o) => o.action === action) as PlanOperation;
  [rename, dedupe, consolidate, keep, review] = ['RENAME', 'DEDUPE', 'CONSOLIDATE', 'KEEP', 'REVIEW'].map(by);
});
const resign = (p: Plan): Plan => ({ ...p, planHash: computePlanHash(p) });
const withOp = (id: string, edit: (o: PlanOperation) => PlanOperation) => resign({ ...base, operations: base.operations.map((o) => (o.id === id ? edit(o) : o)) });
const withConsolidation = (edit: (c: NonNullable<PlanOperation['consolidation']>) => NonNullable<PlanOperation['consolidation']>) =>
  withOp(consolidate.id, (o) => ({ ...o, consolidation: edit(o.consolidation!) }));
const withView = (name: string, edit: (v: Plan['views'][number]) => Plan['views'][number]) => resign({ ...base, views: base.views.map((v) => (v.name === name ? edit(v) : v)) });
const REGENERATE = 'regenerate the plan with `bqx plan --out FILE` and review it again';
const HOSTILE = 'the plan was edited or generated from a hostile catalogue: regenerate it and review';
const EDITED = 'the plan was edited: regenerate it and review';

function refusal(value: unknown): { code: string; message: string; hint?: string } {
  try {
    validatePlan(value, 'p.json');
  } catch (e) {
    if (!(e instanceof BqxError)) throw e;
    return { code: e.code, message: e.message.replace(/^plan p\.json: /, ''), hint: e.hint };
  }
  throw new Error('the plan was accepted');
}

it('the plan under test has one operation of each action and validates', () => {
  expect(base.operations.map((o) => o.action).sort()).toEqual(['CONSOLIDATE', 'DEDUPE', 'KEEP', 'RENAME', 'REVIEW']);
  expect(validatePlan(JSON.parse(JSON.stringify(base)), 'p.json')).toEqual(base);
});

describe('refuses a file that is no plan of this format', () => {
  it.each<[string, () => unknown, string]>([
    ['null', () => null, 'is not a JSON object'],
    ['an array', () => [base], 'is not a JSON object'],
    ['a string', () => 'plan', 'is not a JSON object'],
    ['another format', () => ({ ...base, format: 'bqx-plan/v0' }), 'has format "bqx-plan/v0", expected bqx-plan/v1'],
    ['no format', () => ({ hello: 1 }), 'has format undefined, expected bqx-plan/v1'],
  ])('%s', (_label, value, message) => {
    expect(refusal(value())).toEqual({ code: 'PLAN_INVALID', message, hint: REGENERATE });
  });

  it('names the first five schema problems with their paths', () => {
    const broken = { ...base, tableCount: -1, graceStart: '1 Dec', graceDays: 0, engine: 3, project: null, dataset: [] };
    expect(refusal(broken).message).toBe(
      'does not match the plan schema (engine: Expected string, received number; project: Expected string, received null; dataset: Expected string, received array; tableCount: Number must be greater than or equal to 0; graceStart: Invalid)',
    );
  });

  it('an edit the hash does not cover', () => {
    const edited = { ...base, graceDays: 7 };
    expect(refusal(edited)).toEqual({
      code: 'PLAN_INVALID',
      message: `integrity check failed: content hash ${computePlanHash(edited).slice(0, 12)}… ≠ recorded planHash ${base.planHash.slice(0, 12)}… (the file was edited or truncated)`,
      hint: REGENERATE,
    });
  });
});

describe('refuses an identifier that could reach SQL', () => {
  const bad = (s: string) => `${JSON.stringify(s)} is not a valid identifier (letters, digits and "_" only)`;
  it.each<[string, () => Plan, string, string]>([
    ['the project', () => resign({ ...base, project: 'Bad Project' }), 'project "Bad Project" is not a valid project id', HOSTILE],
    ['the dataset', () => resign({ ...base, dataset: 'ds;' }), bad('ds;'), HOSTILE],
    ['a source that moves', () => withOp(rename.id, (o) => ({ ...o, sources: ['a b'], sourceState: { 'a b': 'x' } })), bad('a b'), HOSTILE],
    ['a target', () => withOp(dedupe.id, (o) => ({ ...o, target: 'x"y' })), bad('x"y'), HOSTILE],
    ['a window’s source', () => withConsolidation((c) => ({ ...c, windows: c.windows.map((w, i) => (i ? w : { ...w, source: 's-1' })) })), bad('s-1'), HOSTILE],
    ['a window’s copy', () => withConsolidation((c) => ({ ...c, windows: c.windows.map((w, i) => (i ? w : { ...w, copies: ['c-1'] })) })), bad('c-1'), HOSTILE],
    ['a view’s name', () => withView(base.views[0].name, (v) => ({ ...v, name: 'v.1' })), bad('v.1'), HOSTILE],
    ['a view’s target', () => withView(base.views[0].name, (v) => ({ ...v, target: 't.1' })), bad('t.1'), HOSTILE],
    ['a kept name BigQuery would not accept', () => withOp(keep.id, (o) => ({ ...o, sources: ['a'.repeat(1100)], sourceState: { ['a'.repeat(1100)]: 'x' } })), `${JSON.stringify('a'.repeat(80))} is not a table name BigQuery accepts`, HOSTILE],
    ['the join key', () => withConsolidation((c) => ({ ...c, key: 'k-1' })), '"k-1" is not a valid column name', EDITED],
    ['the partitioning', () => withConsolidation((c) => ({ ...c, partitionBy: 'p-1' })), '"p-1" is not a valid column name', EDITED],
    ['the clustering', () => withConsolidation((c) => ({ ...c, clusterBy: ['c-1'] })), '"c-1" is not a valid column name', EDITED],
    ['a presence column', () => withConsolidation((c) => ({ ...c, windows: c.windows.map((w) => ({ ...w, presenceColumn: 'p 1' })) })), '"p 1" is not a valid column name', EDITED],
    ['a consolidated column', () => withConsolidation((c) => ({ ...c, columns: c.columns.map((x, i) => (i === 1 ? { ...x, name: 'n-1' } : x)) })), '"n-1" is not a valid column name', EDITED],
    ['a column it comes from', () => withConsolidation((c) => ({ ...c, columns: c.columns.map((x, i) => (i === 1 ? { ...x, from: [{ window: 45, column: 'f-1' }] } : x)) })), '"f-1" is not a valid column name', EDITED],
    ['a view’s column name', () => withView(base.views[0].name, (v) => ({ ...v, columns: [{ name: 'o-1', column: 'interval_time' }] })), '"o-1" is not a valid column name', EDITED],
    ['a view’s target column', () => withView(base.views[0].name, (v) => ({ ...v, columns: [{ name: 'interval_time', column: 't-1' }] })), '"t-1" is not a valid column name', EDITED],
    ['a view’s filter', () => withView(base.views[0].name, (v) => ({ ...v, filter: 'f 1' })), '"f 1" is not a valid column name', EDITED],
  ])('%s', (_label, edit, message, hint) => {
    expect(refusal(edit())).toEqual({ code: 'PLAN_INVALID', message, hint });
  });

  it('accepts a kept or reviewed name BigQuery allows but SQL never sees, and no partitioning', () => {
    const spaced = withOp(review.id, (o) => ({ ...o, sources: ['my table'], sourceState: { 'my table': 'x' } }));
    expect(() => validatePlan(spaced, 'p.json')).not.toThrow();
    expect(() => validatePlan(withConsolidation((c) => ({ ...c, partitionBy: null })), 'p.json')).not.toThrow();
  });
});

describe('refuses a plan whose structure is not one the planner writes', () => {
  const retire = (edit: (o: PlanOperation) => PlanOperation = (o) => o): Plan => {
    const view = base.views.find((v) => v.operationId === rename.id)!;
    return withOp(rename.id, (o) => edit({ ...o, action: 'RETIRE_VIEW', sources: [view.name], sourceState: { [view.name]: 'x' }, view }));
  };
  it.each<[string, () => Plan, () => string]>([
    ['an operation id twice', () => resign({ ...base, operations: [...base.operations, { ...rename, seq: 99, sources: ['other'], sourceState: { other: 'x' } }], tableCount: base.tableCount + 1 }), () => `operation id ${rename.id} appears twice`],
    ['a seq twice', () => withOp(dedupe.id, (o) => ({ ...o, seq: rename.seq })), () => `seq ${rename.seq} appears twice`],
    ['a table in two operations', () => withOp(dedupe.id, (o) => ({ ...o, sources: rename.sources, sourceState: rename.sourceState })), () => `table ${rename.sources[0]} is a source of two operations (${rename.id}, ${dedupe.id}); every table gets exactly one action`],
    ['a change without a target', () => withOp(rename.id, (o) => ({ ...o, target: null })), () => `RENAME ${rename.id} has no target`],
    ['a review with a target', () => withOp(review.id, (o) => ({ ...o, target: 'somewhere' })), () => `REVIEW ${review.id} must not have a target`],
    ['a rename of two tables', () => withOp(rename.id, (o) => ({ ...o, sources: [...o.sources, 'extra'], sourceState: { ...o.sourceState, extra: 'x' } })), () => `RENAME ${rename.id} must have exactly one source`],
    ['a dedupe of two tables', () => withOp(dedupe.id, (o) => ({ ...o, sources: [...o.sources, 'extra'], sourceState: { ...o.sourceState, extra: 'x' } })), () => `DEDUPE ${dedupe.id} must have exactly one source`],
    ['a retirement of two views', () => retire((o) => ({ ...o, sources: [...o.sources, 'extra'], sourceState: { ...o.sourceState, extra: 'x' } })), () => `RETIRE_VIEW ${rename.id} must have exactly one source`],
    ['a retirement without its view', () => retire((o) => ({ ...o, view: undefined })), () => `RETIRE_VIEW ${rename.id} does not carry the definition of view cov_mom_audcad_audchf (rollback recreates the view from it)`],
    ['a retirement of another view’s target', () => retire((o) => ({ ...o, target: 'cov_agg_idx_audcad_audchf' })), () => `RETIRE_VIEW ${rename.id} does not carry the definition of view cov_mom_audcad_audchf (rollback recreates the view from it)`],
    ['a dedupe without the twin’s fingerprint', () => withOp(dedupe.id, (o) => ({ ...o, twin: undefined })), () => `DEDUPE ${dedupe.id} carries no twin fingerprint`],
    ['a consolidation without its spec', () => withOp(consolidate.id, (o) => ({ ...o, consolidation: undefined })), () => `CONSOLIDATE ${consolidate.id} carries no consolidation spec`],
    ['a source without its recorded state', () => withOp(consolidate.id, (o) => ({ ...o, sourceState: { ...o.sourceState, lag_bqx_eurusd_w90: '' } })), () => `${consolidate.id} has no recorded state for source lag_bqx_eurusd_w90`],
    ['a wait for an unknown operation', () => withOp(review.id, (o) => ({ ...o, after: [rename.id, 'op_0000000000000000'] })), () => `${review.id} waits for unknown operation op_0000000000000000`],
    ['fewer tables than the catalogue', () => resign({ ...base, tableCount: base.tableCount + 1 }), () => `covers ${base.tableCount} tables but records a catalogue of ${base.tableCount + 1}: truncated or edited`],
    ['a target that is a kept table', () => withOp(rename.id, (o) => ({ ...o, target: keep.sources[0] })), () => `collision: ${keep.sources[0]} would be produced by ${rename.id} and ${keep.id}`],
    ['two views of one name', () => resign({ ...base, views: [...base.views, base.views[0]] }), () => `two compatibility views named ${base.views[0].name}`],
    ['a view named like a kept table', () => withView(base.views[0].name, (v) => ({ ...v, name: keep.sources[0] })), () => `${keep.sources[0]} would be both a table and a view`],
    ['a view of an unknown operation', () => withView(base.views[0].name, (v) => ({ ...v, operationId: 'op_0000000000000000' })), () => `view ${base.views[0].name} belongs to unknown operation op_0000000000000000`],
    [
      'a view pointing elsewhere than its operation',
      () => withView(base.views[0].name, (v) => ({ ...v, operationId: review.id })),
      () => `view ${base.views[0].name} points at ${base.views[0].target}, but its operation ${review.id} produces nothing`,
    ],
    [
      'a view pointing at another target',
      () => withView(base.views[0].name, (v) => ({ ...v, target: 'cov_mom_bqx_audcad_audchf' })),
      () => `view ${base.views[0].name} points at cov_mom_bqx_audcad_audchf, but its operation ${base.views[0].operationId} produces ${base.operations.find((o) => o.id === base.views[0].operationId)!.target}`,
    ],
  ])('%s', (_label, edit, message) => {
    expect(refusal(edit())).toEqual({ code: 'PLAN_INVALID', message: message(), hint: REGENERATE });
  });

  it('a dedupe and a kept table may share a name: the dedupe’s target is the kept twin', () => {
    expect(dedupe.target).toBe(keep.sources[0]);
    expect(() => validatePlan(base, 'p.json')).not.toThrow();
  });

  const renames = (pairs: [string, string][]): Plan => {
    const ops = base.operations.filter((o) => o.action !== 'RENAME');
    const made = pairs.map(([s, t], i) => ({ ...rename, id: `op_${String(i).padStart(16, '0')}`, seq: 100 + i, sources: [s], target: t, sourceState: { [s]: 'x' } }));
    return resign({ ...base, operations: [...ops, ...made], views: base.views.filter((v) => v.operationId !== rename.id), tableCount: [...ops, ...made].reduce((n, o) => n + o.sources.length, 0) });
  };
  it('a rename chain and a rename cycle, naming the tables', () => {
    expect(refusal(renames([['r_a', 'r_b'], ['r_b', 'r_c']])).message).toBe('rename chain r_a -> r_b -> r_c (a name would be both renamed and reused)');
    expect(refusal(renames([['r_a', 'r_b'], ['r_b', 'r_a']])).message).toBe('rename cycle through r_a -> r_b');
    expect(() => validatePlan(renames([['r_a', 'r_b'], ['r_c', 'r_d']]), 'p.json')).not.toThrow();
  });
});

describe('reading a plan file', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bqx-plan-load-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reads and validates a written plan', () => {
    const file = path.join(work, 'plan.json');
    writeFileSync(file, JSON.stringify(base));
    expect(loadPlanFile(file)).toEqual(base);
  });

  it('a missing file: what to pass instead', () => {
    const file = path.join(work, 'missing.json');
    expect(() => loadPlanFile(file)).toThrow(expect.objectContaining({ code: 'PLAN_UNREADABLE', message: `cannot read plan ${file}: ENOENT`, hint: 'pass the path of a plan written by `bqx plan --out FILE`' }));
  });

  it('a truncated file', () => {
    const file = path.join(work, 'truncated.json');
    writeFileSync(file, JSON.stringify(base).slice(0, 40));
    expect(() => loadPlanFile(file)).toThrow(expect.objectContaining({ code: 'PLAN_INVALID', message: expect.stringMatching(/^plan .*truncated\.json: is not valid JSON \(.+\); a truncated file looks like this$/) }));
  });
});

describe('the view a retirement operation carries', () => {
  const retiring = (column: string, action: 'RETIRE_VIEW' | 'KEEP') => {
    const view = base.views.find((v) => v.operationId === rename.id)!;
    const carried = { ...view, columns: [{ name: column, column }] };
    const edited = withOp(rename.id, (o) => ({ ...o, action, reason: 'UNREAD', target: action === 'KEEP' ? null : o.target, sources: [view.name], sourceState: { [view.name]: 'x' }, view: carried }));
    // As in a retirement plan: the view is the operation's, no longer one the plan creates.
    return resign({ ...edited, views: base.views.filter((v) => v !== view) });
  };
  it('its columns reach SQL when it is dropped (rollback recreates it), not when it is kept', () => {
    expect(refusal(retiring('c-1', 'RETIRE_VIEW'))).toEqual({ code: 'PLAN_INVALID', message: '"c-1" is not a valid column name', hint: EDITED });
    expect(() => validatePlan(retiring('c-1', 'KEEP'), 'p.json')).not.toThrow();
    expect(() => validatePlan(retiring('interval_time', 'RETIRE_VIEW'), 'p.json')).not.toThrow();
  });
});

describe('a plan frozen whole is validated once', () => {
  test('the same validated form is returned for it, equal to an unfrozen validation, and nothing in it can change', () => {
    const copy = (): Plan => JSON.parse(JSON.stringify(base)) as Plan;
    const frozen = freezePlan(copy());
    const first = validatePlan(frozen, 'p.json');
    expect(validatePlan(frozen, 'p.json')).toBe(first);
    expect(validatePlan(first, 'p.json')).toBe(first);
    expect(first).toEqual(validatePlan(copy(), 'p.json'));
    expect(() => ((frozen.operations[0] as { action: string }).action = 'DROP')).toThrow(TypeError);
    expect(() => (first.views as unknown[]).push(first.views[0])).toThrow(TypeError);
    expect(() => ((first.operations[0].sources as string[])[0] = 'x')).toThrow(TypeError);
  });

  test('a plan not frozen is validated again each time: an edit after a validation is refused', () => {
    const plan = JSON.parse(JSON.stringify(base)) as { operations: { target: string | null }[] };
    expect(() => validatePlan(plan, 'p.json')).not.toThrow();
    const op = plan.operations.find((o) => o.target !== null)!;
    op.target = `${op.target}_edited`;
    expect(refusal(plan).message).toMatch(/integrity check failed/);
  });
});
