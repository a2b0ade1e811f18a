/**
 * The plan file's format (core/plan/schema.ts), its hashes (hash.ts) and its counts (counts.ts):
 * the closed sets a plan may name, what each field accepts, and hashes that do not depend on key order.
 */
import { createHash } from 'crypto';
import { makeSnapshot } from '../../core/catalogue';
import { countOperations } from '../../core/plan/counts';
import { emptyFacts } from '../../core/plan/facts';
import { canonicalJson, computePlanHash, operationId, sha256 } from '../../core/plan/hash';
import { decidePlan } from '../../core/plan/planner';
import {
  ACTIONABLE_ACTIONS,
  ACTIONS,
  compatibilityViewSchema,
  isActionable,
  PLAN_ACTIONS,
  PLAN_FORMAT,
  PLAN_REASONS,
  planOperationSchema,
  planSchema,
  type Plan,
  type PlanOperation,
} from '../../core/plan/schema';
import { f, planOfEachAction, policy, table, ts } from './plan-support';

let base: Plan;
beforeEach(() => {
  base = planOfEachAction();
});
const op = (action: string) => base.operations.find((o) => o.action === action) as PlanOperation;
const accepts = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) => schema.safeParse(value).success;

describe('the closed sets a plan names', () => {
  it('actions, the actionable ones, reasons and the format', () => {
    expect(ACTIONS).toEqual(['KEEP', 'RENAME', 'DEDUPE', 'CONSOLIDATE', 'REVIEW']);
    expect(PLAN_ACTIONS).toEqual([...ACTIONS, 'RETIRE_VIEW']);
    expect(ACTIONABLE_ACTIONS).toEqual(['RENAME', 'DEDUPE', 'CONSOLIDATE', 'RETIRE_VIEW']);
    expect(PLAN_ACTIONS.filter(isActionable)).toEqual(['RENAME', 'DEDUPE', 'CONSOLIDATE', 'RETIRE_VIEW']);
    expect(PLAN_FORMAT).toBe('bqx-plan/v1');
    expect(PLAN_REASONS).toEqual([
      'COMPLIANT', 'BOOKKEEPING', 'CANONICAL_FREE', 'IDENTICAL_TWIN', 'WINDOW_TABLES', 'VARIANT_AMBIGUOUS', 'EMPTY_TABLE', 'READ_ERROR',
      'TARGET_EXISTS_DIFFERENT', 'UNKNOWN_FAMILY', 'NO_CANONICAL_FORM', 'SCHEMA_CONFLICT', 'JOIN_KEY_NOT_UNIQUE', 'COLLISION', 'CHAIN',
      'COPIES_DIFFER', 'CYCLE', 'NOT_A_TABLE', 'PLANNING_BUDGET_EXCEEDED', 'UNSUPPORTED_NAME', 'NO_VARIANT_EVIDENCE', 'NO_LEVEL_COLUMN',
      'NO_TWIN_EVIDENCE', 'LEGACY_VARIANT_CONFLICT', 'UNREAD', 'STILL_READ', 'GRACE_NOT_ENDED',
    ]);
  });

  it('an operation accepts each action and reason of the sets, and nothing else', () => {
    const review = op('REVIEW');
    for (const action of PLAN_ACTIONS) expect([action, accepts(planOperationSchema, { ...review, action })]).toEqual([action, true]);
    for (const reason of PLAN_REASONS) expect([reason, accepts(planOperationSchema, { ...review, reason })]).toEqual([reason, true]);
    expect(accepts(planOperationSchema, { ...review, action: 'TRUNCATE' })).toBe(false);
    expect(accepts(planOperationSchema, { ...review, action: '' })).toBe(false);
    expect(accepts(planOperationSchema, { ...review, reason: '' })).toBe(false);
  });

  it('variant evidence: each verdict and origin of a variant, and nothing else', () => {
    const variant = { column: null, sampled: 0, medianAbs: null, verdict: 'idx', decidedBy: 'name' };
    const withVariant = (v: object) => ({ ...op('RENAME'), evidence: { variant: { ...variant, ...v } } });
    for (const verdict of ['idx', 'bqx', 'ambiguous', 'empty', 'no-numeric-column', 'error', 'not-sampled']) expect([verdict, accepts(planOperationSchema, withVariant({ verdict }))]).toEqual([verdict, true]);
    for (const decidedBy of ['sample', 'identical-twin', 'twin-rule', 'name', 'policy-default', 'none']) expect([decidedBy, accepts(planOperationSchema, withVariant({ decidedBy }))]).toEqual([decidedBy, true]);
    expect(accepts(planOperationSchema, withVariant({ verdict: '' }))).toBe(false);
    expect(accepts(planOperationSchema, withVariant({ decidedBy: '' }))).toBe(false);
    expect(accepts(planOperationSchema, withVariant({ twins: [{ table: 'csi_agg_bqx_aud', variant: 'bqx', same: false }], legacyVariant: 'idx' }))).toBe(true);
    expect(accepts(planOperationSchema, withVariant({ twins: [{ table: '', variant: 'bqx', same: false }] }))).toBe(false);
    expect(accepts(planOperationSchema, withVariant({ sampled: -1 }))).toBe(false);
  });

  it('a twin-rule plan validates with the twins it compared', () => {
    const cols = [ts, { name: 'currency', type: 'STRING' as const }, f('csi_agg_strength_45')];
    const facts = emptyFacts();
    facts.fingerprints.set('csi_agg_aud', { rows: 10, hash: 'I' });
    facts.fingerprints.set('csi_agg_bqx_aud', { rows: 10, hash: 'B' });
    const p = decidePlan({ snapshot: makeSnapshot('test', 'bqx-ml', 'ds', [table('csi_agg_aud', cols), table('csi_agg_bqx_aud', cols)]), policy, graceStart: '2026-12-01' }, facts);
    expect(p.operations[0].evidence?.variant?.twins).toHaveLength(1);
    expect(accepts(planSchema, p)).toBe(true);
  });
});

describe('what the fields accept', () => {
  it('days as YYYY-MM-DD, nothing around them', () => {
    const view = base.views[0];
    for (const day of ['2026-12-01', '0000-00-00']) expect([day, accepts(compatibilityViewSchema, { ...view, graceEnd: day })]).toEqual([day, true]);
    for (const day of ['x2026-12-01', '2026-12-01x', '20261-12-01', '202-12-01', '2026-123-01', '2026-1-01', '2026-12-011', '2026-12-1', '2026/12/01', 'abcd-ef-gh']) {
      expect([day, accepts(compatibilityViewSchema, { ...view, graceEnd: day })]).toEqual([day, false]);
    }
  });

  it('hashes as 64 lowercase hex digits', () => {
    const hash = 'a'.repeat(64);
    expect(accepts(planSchema, { ...base, policyHash: hash })).toBe(true);
    expect(accepts(planSchema, { ...base, policyHash: '0123456789abcdef'.repeat(4) })).toBe(true);
    for (const bad of ['A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), `x${hash}`, `${hash}x`, 'g'.repeat(64)]) expect([bad, accepts(planSchema, { ...base, policyHash: bad })]).toEqual([bad, false]);
  });

  it('operation ids as op_ and 16 hex digits', () => {
    const review = op('REVIEW');
    expect(accepts(planOperationSchema, { ...review, id: 'op_0123456789abcdef' })).toBe(true);
    for (const id of ['op_0123456789abcde', 'op_0123456789abcdef0', 'xop_0123456789abcdef', 'op_0123456789abcdef ', 'op_0123456789ABCDEF', 'op-0123456789abcdef']) {
      expect([id, accepts(planOperationSchema, { ...review, id })]).toEqual([id, false]);
    }
  });

  it('no empty name, view without columns, consolidation without a window or a column, or column from nowhere', () => {
    const view = base.views[0];
    expect(accepts(compatibilityViewSchema, { ...view, name: '' })).toBe(false);
    expect(accepts(compatibilityViewSchema, { ...view, columns: [] })).toBe(false);
    const consolidate = op('CONSOLIDATE');
    const spec = consolidate.consolidation!;
    const withSpec = (s: object) => ({ ...consolidate, consolidation: { ...spec, ...s } });
    expect(accepts(planOperationSchema, withSpec({}))).toBe(true);
    expect(accepts(planOperationSchema, withSpec({ windows: [] }))).toBe(false);
    expect(accepts(planOperationSchema, withSpec({ columns: [] }))).toBe(false);
    expect(accepts(planOperationSchema, withSpec({ columns: [{ ...spec.columns[0], from: [] }] }))).toBe(false);
    expect(accepts(planOperationSchema, withSpec({ windows: [{ ...spec.windows[0], window: 0 }] }))).toBe(false);
    expect(accepts(planOperationSchema, { ...consolidate, sources: [] })).toBe(false);
    expect(accepts(planOperationSchema, { ...consolidate, seq: 0 })).toBe(false);
    expect(accepts(planOperationSchema, { ...consolidate, batch: -1 })).toBe(false);
  });

  it('a summary counts every action, RETIRE_VIEW only if it has one', () => {
    const summary = base.summary;
    expect(accepts(planSchema, { ...base, summary: { ...summary, byAction: { ...summary.byAction, RETIRE_VIEW: 0 } } })).toBe(true);
    const { KEEP: _keep, ...noKeep } = summary.byAction;
    expect(accepts(planSchema, { ...base, summary: { ...summary, byAction: noKeep } })).toBe(false);
    expect(accepts(planSchema, { ...base, summary: { ...summary, byAction: { ...summary.byAction, OTHER: 1 } } })).toBe(false);
  });
});

describe('hashes and counts', () => {
  it('canonical JSON: keys sorted at every depth, undefined left out', () => {
    expect(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }, 2], u: undefined })).toBe('{"a":[{"c":"x","d":null},2],"b":1}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
    expect(canonicalJson('s')).toBe('"s"');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson([])).toBe('[]');
    expect(canonicalJson({ aa: 1, a: 2, b: 3 })).toBe('{"a":2,"aa":1,"b":3}');
  });

  it('sha256 in hex, a plan hash over everything but itself, operation ids from what the operation does', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(computePlanHash({ ...base, planHash: 'anything' })).toBe(base.planHash);
    expect(computePlanHash({ a: 1 })).toBe(sha256('{"a":1}'));
    expect(operationId('RENAME', ['a', 'b'], 't')).toBe(`op_${createHash('sha256').update('RENAME|a,b|t').digest('hex').slice(0, 16)}`);
    expect(operationId('KEEP', ['a'], null)).toBe(`op_${sha256('KEEP|a|').slice(0, 16)}`);
  });

  it('counts operations and sources per action, reasons sorted, RETIRE_VIEW only when present', () => {
    const counts = countOperations(base.operations);
    expect(counts).toEqual({
      byAction: { KEEP: 1, RENAME: 1, DEDUPE: 1, CONSOLIDATE: 1, REVIEW: 1 },
      sourcesByAction: { KEEP: 1, RENAME: 1, DEDUPE: 1, CONSOLIDATE: 4, REVIEW: 1 },
      byReason: { CANONICAL_FREE: 1, COMPLIANT: 1, IDENTICAL_TWIN: 1, UNKNOWN_FAMILY: 1, WINDOW_TABLES: 1 },
    });
    expect(Object.keys(countOperations([...base.operations].reverse()).byReason)).toEqual(['CANONICAL_FREE', 'COMPLIANT', 'IDENTICAL_TWIN', 'UNKNOWN_FAMILY', 'WINDOW_TABLES']);
    const retire = countOperations([{ ...op('RENAME'), action: 'RETIRE_VIEW', reason: 'UNREAD' }, { ...op('RENAME'), action: 'RETIRE_VIEW', reason: 'UNREAD' }]);
    expect(retire.byAction).toEqual({ KEEP: 0, RENAME: 0, DEDUPE: 0, CONSOLIDATE: 0, REVIEW: 0, RETIRE_VIEW: 2 });
    expect(retire.sourcesByAction.RETIRE_VIEW).toBe(2);
    expect(retire.byReason).toEqual({ UNREAD: 2 });
  });
});
