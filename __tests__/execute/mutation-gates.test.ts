/**
 * The gates of one operation (core/execute/gates.ts) against an in-memory warehouse state: each
 * gate's verdict and reason, their fixed order, where a real run stops and a paper run does not,
 * and the detail an operator reads.
 */
import { evaluateGates, firstFailure, type GateContext } from '../../core/execute/gates';
import { GATE_ORDER } from '../../core/execute/reasons';
import type { PlanOperation } from '../../core/plan/types';
import { compatView, consolidation, FakeState, operation, table, view } from './operation-fakes';

function ctx(state: FakeState, over: Partial<GateContext> = {}): GateContext {
  return { state, views: [], datasetExpirationMs: null, costUsd: 1, committedUsd: 0, budgetUsd: 10, approved: false, evaluateAll: false, ...over };
}

const src = table('src');

test('a clean operation passes every gate, in the fixed order', async () => {
  const op = operation('RENAME', [src]);
  const verdicts = await evaluateGates(op, ctx(new FakeState([src])));
  expect(verdicts.map((v) => v.gate)).toEqual([...GATE_ORDER]);
  expect(verdicts.every((v) => v.ok && v.reason === undefined)).toBe(true);
  expect(firstFailure(verdicts)).toBeNull();
  expect(GATE_ORDER).toEqual(['IDENTIFIERS', 'SOURCE_EXISTS', 'TARGET_FREE', 'STREAMING_BUFFER', 'DATASET_EXPIRATION', 'BUDGET', 'APPROVAL']);
});

test('a real run stops at the first failed gate; a paper run shows every verdict', async () => {
  // Fails TARGET_FREE, DATASET_EXPIRATION, BUDGET and APPROVAL.
  const op = operation('RENAME', [src], { destructive: true });
  const state = new FakeState([src, table('src_new')]);
  const real = await evaluateGates(op, ctx(state, { datasetExpirationMs: 5, costUsd: 20 }));
  expect(real.map((v) => [v.gate, v.ok])).toEqual([
    ['IDENTIFIERS', true],
    ['SOURCE_EXISTS', true],
    ['TARGET_FREE', false],
  ]);
  expect(firstFailure(real)).toMatchObject({ gate: 'TARGET_FREE', reason: 'TARGET_EXISTS', detail: 'src_new already exists (TABLE)' });

  const paper = await evaluateGates(op, ctx(state, { datasetExpirationMs: 5, costUsd: 20, evaluateAll: true }));
  expect(paper.map((v) => [v.gate, v.ok, v.reason])).toEqual([
    ['IDENTIFIERS', true, undefined],
    ['SOURCE_EXISTS', true, undefined],
    ['TARGET_FREE', false, 'TARGET_EXISTS'],
    ['STREAMING_BUFFER', true, undefined],
    ['DATASET_EXPIRATION', false, 'DATASET_EXPIRATION'],
    ['BUDGET', false, 'OVER_BUDGET'],
    ['APPROVAL', false, 'APPROVAL_MISSING'],
  ]);
  expect(paper[4].detail).toBe('default table expiration 5 ms: a renamed table could be deleted at once');
  expect(paper[5].detail).toBe('$20.0000 would exceed the budget of $10');
  expect(paper[6].detail).toBe('drops a table; pass --approve with the plan hash');
  expect(firstFailure(paper)?.gate).toBe('TARGET_FREE');
});

test('a bad identifier stops even a paper run before anything reads the warehouse with it', async () => {
  const bad = table('bad-name');
  const op = operation('RENAME', [bad]);
  const state = new FakeState([bad]);
  const verdicts = await evaluateGates(op, ctx(state, { evaluateAll: true }));
  expect(verdicts).toEqual([{ gate: 'IDENTIFIERS', ok: false, reason: 'INVALID_IDENTIFIER', detail: 'table name "bad-name"' }]);
  expect(state.reads).toEqual([]);
});

describe('IDENTIFIERS names the first bad name, table names before column names', () => {
  const ok = table('a');
  const cases: [string, (op: PlanOperation) => PlanOperation, string][] = [
    ['target', (op) => ({ ...op, target: 'x;drop' }), 'table name "x;drop"'],
    ['a view of the operation', (op) => ({ ...op, view: compatView(op, 'v w') }), 'table name "v w"'],
    ['a view target', (op) => ({ ...op, view: compatView(op, 'v', { target: 't.t' }) }), 'table name "t.t"'],
    ['a view column name', (op) => ({ ...op, view: compatView(op, 'v', { columns: [{ name: '1x', column: 'val' }] }) }), 'column name "1x"'],
    ['a view column source', (op) => ({ ...op, view: compatView(op, 'v', { columns: [{ name: 'val', column: 'v-al' }] }) }), 'column name "v-al"'],
    ['a view filter', (op) => ({ ...op, view: compatView(op, 'v', { filter: 'in w' }) }), 'column name "in w"'],
    ['a long name, cut to 80 characters', (op) => ({ ...op, target: `${'x'.repeat(100)}-` }), `table name "${'x'.repeat(80)}"`],
    ['a long column name, cut to 80 characters', (op) => ({ ...op, view: compatView(op, 'v', { filter: `${'c'.repeat(100)}-` }) }), `column name "${'c'.repeat(80)}"`],
  ];
  test.each(cases)('%s', async (_what, change, detail) => {
    const op = change(operation('RENAME', [ok]));
    const [v] = await evaluateGates(op, ctx(new FakeState([ok])));
    expect(v).toEqual({ gate: 'IDENTIFIERS', ok: false, reason: 'INVALID_IDENTIFIER', detail });
  });

  test('a target-less operation (retirement) and a good one pass', async () => {
    const v = view('old_v');
    const op = operation('RETIRE_VIEW', [v], { target: null });
    expect((await evaluateGates(op, ctx(new FakeState([v]))))[0]).toEqual({ gate: 'IDENTIFIERS', ok: true });
  });

  test('views passed with the context are checked too', async () => {
    const op = operation('RENAME', [ok]);
    const [v] = await evaluateGates(op, ctx(new FakeState([ok]), { views: [compatView(op, 'good'), compatView(op, 'bad name')] }));
    expect(v.detail).toBe('table name "bad name"');
  });

  const a = table('a45');
  const b = table('b90');
  const consolidationCases: [string, (s: NonNullable<PlanOperation['consolidation']>) => NonNullable<PlanOperation['consolidation']>, string][] = [
    ['a window source', (s) => ({ ...s, windows: [{ ...s.windows[0], source: 'a 45' }, s.windows[1]] }), 'table name "a 45"'],
    ['a copy', (s) => ({ ...s, windows: [{ ...s.windows[0], copies: ['ok_copy', 'c-1'] }, s.windows[1]] }), 'table name "c-1"'],
    ['the key', (s) => ({ ...s, key: 'interval time' }), 'column name "interval time"'],
    ['a presence column', (s) => ({ ...s, windows: [s.windows[0], { ...s.windows[1], presenceColumn: 'in-90' }] }), 'column name "in-90"'],
    ['a column name', (s) => ({ ...s, columns: [...s.columns, { name: 'v.1', type: 'FLOAT64', from: [{ window: 45, column: 'val' }] }] }), 'column name "v.1"'],
    ['a source column', (s) => ({ ...s, columns: [...s.columns, { name: 'v1', type: 'FLOAT64', from: [{ window: 45, column: 'val' }, { window: 90, column: 'v;' }] }] }), 'column name "v;"'],
  ];
  test.each(consolidationCases)('consolidation: %s', async (_what, change, detail) => {
    const { op, spec } = consolidation(a, b, 'ab');
    const [v] = await evaluateGates({ ...op, consolidation: change(spec) }, ctx(new FakeState([a, b])));
    expect(v).toEqual({ gate: 'IDENTIFIERS', ok: false, reason: 'INVALID_IDENTIFIER', detail });
  });

  test('a well-formed consolidation passes', async () => {
    const { op } = consolidation(a, b, 'ab', ['a45_copy']);
    expect((await evaluateGates(op, ctx(new FakeState([a, b]))))[0].ok).toBe(true);
  });
});

describe('SOURCE_EXISTS', () => {
  test('every source must be a table as planned', async () => {
    const a = table('a');
    const b = table('b');
    const op = operation('CONSOLIDATE', [a, b], { target: 'ab', destructive: false });
    const gate = async (state: FakeState) => (await evaluateGates(op, ctx(state)))[1];
    expect(await gate(new FakeState([a]))).toEqual({ gate: 'SOURCE_EXISTS', ok: false, reason: 'SOURCE_MISSING', detail: 'b does not exist' });
    expect(await gate(new FakeState([a, view('b')]))).toEqual({ gate: 'SOURCE_EXISTS', ok: false, reason: 'SOURCE_MISSING', detail: 'b is a VIEW, not a table' });
    expect(await gate(new FakeState([a, table('b', { rowCount: 11 })]))).toEqual({
      gate: 'SOURCE_EXISTS',
      ok: false,
      reason: 'SOURCE_CHANGED',
      detail: 'b now has 11 rows and 2 columns, not the schema and row count the plan recorded',
    });
    expect(await gate(new FakeState([a, table('b', { columns: [{ name: 'interval_time', type: 'TIMESTAMP' }] })]))).toMatchObject({ reason: 'SOURCE_CHANGED', detail: expect.stringContaining('10 rows and 1 columns') });
    expect(await gate(new FakeState([a, b]))).toEqual({ gate: 'SOURCE_EXISTS', ok: true });
  });

  test("a retirement's source is the view it drops", async () => {
    const v = view('old');
    const op = operation('RETIRE_VIEW', [v], { target: 'new_t' });
    expect((await evaluateGates(op, ctx(new FakeState([v]))))[1]).toEqual({ gate: 'SOURCE_EXISTS', ok: true });
    expect((await evaluateGates(op, ctx(new FakeState([table('old', { kind: 'TABLE', rowCount: 0 })]))))[1]).toMatchObject({ reason: 'SOURCE_MISSING', detail: 'old is a TABLE, not a view' });
  });
});

describe('TARGET_FREE', () => {
  test("a retirement's target is the table its readers use: it must exist, and passes", async () => {
    const v = view('old');
    const op = operation('RETIRE_VIEW', [v], { target: 'new_t' });
    const verdicts = await evaluateGates(op, ctx(new FakeState([v, table('new_t')]), { views: [compatView(op, 'taken')] }));
    expect(verdicts[2]).toEqual({ gate: 'TARGET_FREE', ok: true });
  });

  test('the target name and every view name must be free, except names the operation frees', async () => {
    const op = operation('RENAME', [src]);
    const gate = async (state: FakeState, views = [compatView(op, 'src')]) => (await evaluateGates(op, ctx(state, { views })))[2];
    expect(await gate(new FakeState([src]))).toEqual({ gate: 'TARGET_FREE', ok: true });
    expect(await gate(new FakeState([src, view('src_new')]))).toMatchObject({ reason: 'TARGET_EXISTS', detail: 'src_new already exists (VIEW)' });
    expect(await gate(new FakeState([src, view('alias')]), [compatView(op, 'src'), compatView(op, 'alias')])).toEqual({
      gate: 'TARGET_FREE',
      ok: false,
      reason: 'TARGET_EXISTS',
      detail: 'view name alias is taken (VIEW)',
    });
  });

  describe('DEDUPE: the twin must hold the planned content, and so must the source', () => {
    const s = table('dup');
    const twinHash = 'f'.repeat(40);
    const op = operation('DEDUPE', [s], { target: 'twin', twin: { table: 'twin', rows: 10, hash: twinHash } });
    const run = async (state: FakeState) => (await evaluateGates(op, ctx(state, { approved: true })))[2];
    const fp = (hash: string) => ({ rows: 10, hash });

    test('missing or not a table', async () => {
      expect(await run(new FakeState([s]))).toEqual({ gate: 'TARGET_FREE', ok: false, reason: 'TWIN_MISSING', detail: 'twin does not exist' });
      expect(await run(new FakeState([s, view('twin')]))).toMatchObject({ reason: 'TWIN_MISSING', detail: 'twin is a VIEW' });
    });

    test('fingerprints', async () => {
      const state = new FakeState([s, table('twin')]);
      state.fingerprints.set('twin', fp('a'.repeat(40)));
      state.fingerprints.set('dup', fp(twinHash));
      expect(await run(state)).toEqual({ gate: 'TARGET_FREE', ok: false, reason: 'TWIN_CHANGED', detail: `twin content aaaaaaaaaaaa… (10 rows) ≠ planned ffffffffffff…` });
      state.fingerprints.set('twin', fp(twinHash));
      state.fingerprints.set('dup', fp('b'.repeat(40)));
      expect(await run(state)).toEqual({ gate: 'TARGET_FREE', ok: false, reason: 'CONTENT_DIFFERS', detail: 'dup content bbbbbbbbbbbb… ≠ twin ffffffffffff…' });
      state.fingerprints.set('dup', fp(twinHash));
      expect(await run(state)).toEqual({ gate: 'TARGET_FREE', ok: true });
      // A simulated table (paper run) has no content to read: nothing to compare, not a failure.
      state.fingerprints.clear();
      expect(await run(state)).toEqual({ gate: 'TARGET_FREE', ok: true });
    });

    test('a fingerprint that cannot be read refuses the operation as CONTENT_DIFFERS', async () => {
      const state = new FakeState([s, table('twin')]);
      state.fingerprints.set('twin', new Error('read timed out'));
      expect(await run(state)).toEqual({ gate: 'TARGET_FREE', ok: false, reason: 'CONTENT_DIFFERS', detail: 'gate could not read the warehouse: read timed out' });
    });
  });
});

test('STREAMING_BUFFER refuses a source with buffered rows', async () => {
  const a = table('a');
  const b = table('b', { streamingBuffer: true });
  const op = operation('CONSOLIDATE', [a, b], { target: 'ab' });
  const verdicts = await evaluateGates(op, ctx(new FakeState([a, b]), { approved: true }));
  expect(verdicts[3]).toEqual({ gate: 'STREAMING_BUFFER', ok: false, reason: 'STREAMING_BUFFER', detail: 'b has rows in the streaming buffer' });
  const clean = await evaluateGates(op, ctx(new FakeState([a, table('b', { streamingBuffer: false })]), { approved: true }));
  expect(clean[3]).toEqual({ gate: 'STREAMING_BUFFER', ok: true });
});

test('a gate that cannot read the warehouse refuses the operation with what went wrong', async () => {
  const op = operation('RENAME', [src]);
  const state = new FakeState([src]);
  state.failOn = 'src';
  const verdicts = await evaluateGates(op, ctx(state, { evaluateAll: true }));
  expect(verdicts[1]).toEqual({ gate: 'SOURCE_EXISTS', ok: false, reason: 'SOURCE_MISSING', detail: 'gate could not read the warehouse: cannot read src' });
  state.failOn = 'src_new';
  const target = await evaluateGates(op, ctx(state));
  expect(target[2]).toEqual({ gate: 'TARGET_FREE', ok: false, reason: 'SOURCE_MISSING', detail: 'gate could not read the warehouse: cannot read src_new' });
});

test('a paper run shows every gate even when the source is gone', async () => {
  const op = operation('RENAME', [src]);
  const verdicts = await evaluateGates(op, ctx(new FakeState([]), { evaluateAll: true }));
  expect(verdicts.map((v) => [v.gate, v.ok])).toEqual(GATE_ORDER.map((g) => [g, g !== 'SOURCE_EXISTS']));
});

test('a DEDUPE gate other than TARGET_FREE that cannot read is SOURCE_MISSING', async () => {
  const s = table('dup');
  const op = operation('DEDUPE', [s], { target: 'twin', twin: { table: 'twin', rows: 10, hash: 'h' } });
  const state = new FakeState([s, table('twin')]);
  state.failOn = 'dup';
  expect((await evaluateGates(op, ctx(state)))[1]).toEqual({ gate: 'SOURCE_EXISTS', ok: false, reason: 'SOURCE_MISSING', detail: 'gate could not read the warehouse: cannot read dup' });
});

test('BUDGET counts what the run already committed; the budget itself is allowed', async () => {
  const op = operation('RENAME', [src]);
  const budget = async (committedUsd: number, costUsd: number) => (await evaluateGates(op, ctx(new FakeState([src]), { committedUsd, costUsd, budgetUsd: 10 })))[5];
  expect(await budget(4, 6)).toEqual({ gate: 'BUDGET', ok: true });
  expect(await budget(4.5, 6)).toEqual({ gate: 'BUDGET', ok: false, reason: 'OVER_BUDGET', detail: '$10.5000 would exceed the budget of $10' });
  expect(await budget(0, 10.001)).toMatchObject({ ok: false, detail: '$10.0010 would exceed the budget of $10' });
});

test('APPROVAL is asked only of operations that drop a table', async () => {
  const approval = async (destructive: boolean, approved: boolean) => (await evaluateGates(operation('RENAME', [src], { destructive }), ctx(new FakeState([src]), { approved })))[6];
  expect(await approval(false, false)).toEqual({ gate: 'APPROVAL', ok: true });
  expect(await approval(true, true)).toEqual({ gate: 'APPROVAL', ok: true });
  expect(await approval(true, false)).toMatchObject({ ok: false, reason: 'APPROVAL_MISSING' });
});

test('DATASET_EXPIRATION refuses any default table expiration, even 0 ms', async () => {
  const op = operation('RENAME', [src]);
  const [, , , , exp] = await evaluateGates(op, ctx(new FakeState([src]), { datasetExpirationMs: 0 }));
  expect(exp).toMatchObject({ gate: 'DATASET_EXPIRATION', ok: false, reason: 'DATASET_EXPIRATION' });
});
