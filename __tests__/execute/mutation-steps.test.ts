/**
 * The executor's steps (core/execute/steps.ts) and ids (core/execute/ids.ts): which steps each
 * action is carried out with and in which order, how each is described to an operator, how a step
 * is recognised as already done after a crash, and the deterministic names and job ids.
 */
import { hostname } from 'os';
import { backupNameFor, holderId, jobIdFor, newRunId, undoJobIdFor } from '../../core/execute/ids';
import { checkStep, consolidatedTables, describeStep, matchesSourceState, sameColumns, stepKey, stepsFor, viewsByOperation, type OpStep } from '../../core/execute/steps';
import type { Plan } from '../../core/plan/types';
import { COLS, compatView, consolidation, FakeState, operation, table, view } from './operation-fakes';

const never = () => false;
const always = () => true;

describe('ids', () => {
  test('a run id is sortable by its start time and unique', () => {
    const at = new Date('2026-03-04T05:06:07.891Z');
    const id = newRunId(at);
    expect(id).toMatch(/^run_20260304T050607Z_[0-9a-f]{8}$/);
    expect(newRunId(at)).not.toBe(id);
    expect(newRunId()).toMatch(/^run_\d{8}T\d{6}Z_[0-9a-f]{8}$/);
  });

  test("a step's job id names the plan, operation, step and attempt", () => {
    expect(jobIdFor('0123456789abcdef'.repeat(4), 'op_1', 2, 3)).toBe('bqx_0123456789ab_op_1_s2_a3');
  });

  test("an undo step's job id comes from what the step does, the apply attempt and the failed undos", () => {
    const id = undoJobIdFor('0123456789abcdef'.repeat(4), 'op_1', 'DROP_VIEW|v', 2, 1);
    expect(id).toMatch(/^bqx_0123456789ab_op_1_rb1_[0-9a-f]{16}_a2$/);
    expect(undoJobIdFor('0123456789abcdef'.repeat(4), 'op_1', 'DROP_VIEW|w', 2, 1)).not.toBe(id);
    expect(undoJobIdFor('0123456789abcdef'.repeat(4), 'op_1', 'DROP_VIEW|v', 2, 1)).toBe(id);
  });

  test('a backup name keeps the table name while it fits, and a hash of it beyond', () => {
    const prefix = 'bk_0123456789abcdef_a1_';
    const fits = 'x'.repeat(1024 - prefix.length);
    expect(backupNameFor('op_0123456789abcdef', fits, 1)).toBe(`${prefix}${fits}`);
    const hashed = backupNameFor('op_0123456789abcdef', `${fits}y`, 1);
    expect(hashed).toMatch(/^bk_0123456789abcdef_a1_[0-9a-f]{32}$/);
  });

  test('the lock holder is host:pid', () => {
    expect(holderId()).toBe(`${hostname()}:${process.pid}`);
  });
});

describe('the steps of each action', () => {
  const s = table('src');
  test('RENAME: the rename, then its views', () => {
    const op = operation('RENAME', [s], { target: 'dst' });
    const v = compatView(op, 'src', { filter: 'in_w45' });
    expect(stepsFor(op, [v], 1)).toEqual([
      { kind: 'RENAME_TABLE', from: 'src', to: 'dst' },
      { kind: 'CREATE_VIEW', name: 'src', target: 'dst', columns: v.columns, filter: 'in_w45' },
    ]);
  });

  test('DEDUPE: backup (named for the attempt), drop, views', () => {
    const op = operation('DEDUPE', [s], { target: 'twin' });
    expect(stepsFor(op, [compatView(op, 'src')], 2).map(describeStep)).toEqual([`BACKUP src -> ${backupNameFor(op.id, 'src', 2)}`, 'DROP TABLE src', 'CREATE VIEW src -> twin']);
  });

  test('CONSOLIDATE: build, validate, then a backup of every removed table, then their drops, then views', () => {
    const { op, spec } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    const steps = stepsFor(op, [compatView(op, 'a'), compatView(op, 'b')], 1);
    expect(steps[0]).toEqual({ kind: 'CONSOLIDATE', target: 'ab', spec });
    expect(steps.map(describeStep)).toEqual([
      'CONSOLIDATE a + b -> ab',
      'VALIDATE consolidation',
      `BACKUP a -> ${backupNameFor(op.id, 'a', 1)}`,
      `BACKUP a_copy -> ${backupNameFor(op.id, 'a_copy', 1)}`,
      `BACKUP b -> ${backupNameFor(op.id, 'b', 1)}`,
      'DROP TABLE a',
      'DROP TABLE a_copy',
      'DROP TABLE b',
      'CREATE VIEW a -> ab',
      'CREATE VIEW b -> ab',
    ]);
  });

  test('RETIRE_VIEW drops the view; KEEP and REVIEW have no steps', () => {
    const v = view('old');
    expect(stepsFor(operation('RETIRE_VIEW', [v], { target: 't' }), [], 1)).toEqual([{ kind: 'DROP_VIEW', name: 'old' }]);
    expect(stepsFor(operation('KEEP', [s], { target: null }), [], 1)).toEqual([]);
    expect(stepsFor(operation('REVIEW', [s], { target: null }), [], 1)).toEqual([]);
  });

  test('consolidated tables: window sources, their copies and any other source, each once', () => {
    const { op } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    expect(consolidatedTables({ ...op, sources: ['b', 'extra', 'a'] })).toEqual(['a', 'a_copy', 'b', 'extra']);
    expect(consolidatedTables(operation('RENAME', [s]))).toEqual(['src']);
  });

  test('views are grouped by the operation they belong to', () => {
    const a = operation('RENAME', [table('a')]);
    const b = operation('RENAME', [table('b')]);
    const views = [compatView(a, 'a'), compatView(b, 'b'), compatView(a, 'a2')];
    const byOp = viewsByOperation({ views } as unknown as Plan);
    expect([...byOp.keys()]).toEqual([a.id, b.id]);
    expect(byOp.get(a.id)!.map((v) => v.name)).toEqual(['a', 'a2']);
    expect(byOp.get(b.id)!.map((v) => v.name)).toEqual(['b']);
  });
});

test('every step kind is described and keyed as the ledger records it', () => {
  const spec = consolidation(table('a'), table('b'), 'ab').spec;
  const cases: [OpStep, string, { reason: string; detail: string }][] = [
    [{ kind: 'RENAME_TABLE', from: 'a', to: 'b' }, 'RENAME a -> b', { reason: 'RENAME_TABLE', detail: 'a>b' }],
    [{ kind: 'DROP_TABLE', name: 'a' }, 'DROP TABLE a', { reason: 'DROP_TABLE', detail: 'a' }],
    [{ kind: 'DROP_VIEW', name: 'v' }, 'DROP VIEW v', { reason: 'DROP_VIEW', detail: 'v' }],
    [{ kind: 'BACKUP_TABLE', name: 'a', backupName: 'bk' }, 'BACKUP a -> bk', { reason: 'BACKUP_TABLE', detail: 'a>bk' }],
    [{ kind: 'RESTORE_TABLE', name: 'a', backupName: 'bk' }, 'RESTORE bk -> a', { reason: 'RESTORE_TABLE', detail: 'bk>a' }],
    [{ kind: 'CONSOLIDATE', target: 'ab', spec }, 'CONSOLIDATE a + b -> ab', { reason: 'CONSOLIDATE', detail: 'ab' }],
    [{ kind: 'CREATE_VIEW', name: 'v', target: 't', columns: [], filter: null }, 'CREATE VIEW v -> t', { reason: 'CREATE_VIEW', detail: 'v' }],
    [{ kind: 'VALIDATE_CONSOLIDATION' }, 'VALIDATE consolidation', { reason: 'VALIDATE_CONSOLIDATION', detail: 'ok' }],
  ];
  for (const [step, text, key] of cases) {
    expect(describeStep(step)).toBe(text);
    expect(stepKey(step)).toEqual(key);
  }
});

test('same columns: same names and types in the same order', () => {
  expect(sameColumns(COLS, [...COLS])).toBe(true);
  expect(sameColumns(COLS, COLS.slice(0, 1))).toBe(false);
  expect(sameColumns(COLS.slice(0, 1), COLS)).toBe(false);
  expect(sameColumns(COLS, [COLS[1], COLS[0]])).toBe(false);
  expect(sameColumns(COLS, [COLS[0], { name: 'val', type: 'STRING' }])).toBe(false);
  expect(sameColumns(COLS, [COLS[0], { name: 'value', type: 'FLOAT64' }])).toBe(false);
});

test("a renamed table matches the source's planned state under the source's name", () => {
  const s = table('src');
  const op = operation('RENAME', [s], { target: 'dst' });
  expect(matchesSourceState(op, 'src', table('dst'))).toBe(true);
  expect(matchesSourceState(op, 'src', table('dst', { rowCount: 9 }))).toBe(false);
  expect(matchesSourceState(op, 'other', table('dst'))).toBe(false);
});

describe('checkStep: has this step already happened?', () => {
  const s = table('src');
  const op = operation('RENAME', [s], { target: 'dst' });
  const check = (step: OpStep, tables: Parameters<typeof table>[0][] | ReturnType<typeof table>[], done = never) =>
    checkStep(step, op, new FakeState(tables.map((t) => (typeof t === 'string' ? table(t) : t))), done);

  test('RENAME_TABLE: done when the target holds the source state and the source is no table', async () => {
    const rename: OpStep = { kind: 'RENAME_TABLE', from: 'src', to: 'dst' };
    expect(await check(rename, [s])).toEqual({ state: 'todo' });
    expect(await check(rename, [table('dst')])).toEqual({ state: 'done' });
    expect(await check(rename, [table('dst'), view('src')])).toEqual({ state: 'done' });
    // Both are tables: the rename has not happened (someone else made dst; the gate refuses it).
    expect(await check(rename, [s, table('dst')])).toEqual({ state: 'todo' });
    expect(await check(rename, [view('dst')])).toEqual({ state: 'todo' });
    expect(await check(rename, [table('dst', { rowCount: 1 })])).toEqual({ state: 'conflict', detail: "dst exists but does not hold src's planned state (schema/row count)" });
  });

  test('CONSOLIDATE: done when the target is a table with every planned column', async () => {
    const { op: cop, spec } = consolidation(table('a'), table('b'), 'ab');
    const step: OpStep = { kind: 'CONSOLIDATE', target: 'ab', spec };
    const full = table('ab', { columns: ['interval_time', 'val_45', 'val_90', 'in_w45', 'in_w90'].map((name) => ({ name, type: 'FLOAT64' as const })) });
    const at = (t: ReturnType<typeof table>[]) => checkStep(step, cop, new FakeState(t), never);
    expect(await at([])).toEqual({ state: 'todo' });
    expect(await at([full])).toEqual({ state: 'done' });
    expect(await at([{ ...full, columns: full.columns.filter((c) => c.name !== 'in_w90') }])).toEqual({
      state: 'conflict',
      detail: 'ab exists but is not the planned consolidation (missing in_w90; kind TABLE)',
    });
    expect(await at([{ ...full, columns: full.columns.filter((c) => c.name !== 'val_45') }])).toMatchObject({ state: 'conflict', detail: expect.stringContaining('missing val_45;') });
    expect(await at([{ ...full, kind: 'VIEW' }])).toEqual({ state: 'conflict', detail: 'ab exists but is not the planned consolidation (missing nothing; kind VIEW)' });
    const many = table('ab', { columns: [{ name: 'x', type: 'BOOL' }] });
    const manyMissing = { ...spec, columns: ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((name) => ({ name, type: 'FLOAT64' as const, from: [{ window: 45, column: 'val' }] })) };
    expect(await checkStep({ kind: 'CONSOLIDATE', target: 'ab', spec: manyMissing }, cop, new FakeState([many]), never)).toMatchObject({ detail: expect.stringContaining('(missing c1, c2, c3, c4, c5; kind TABLE)') });
  });

  test('VALIDATE_CONSOLIDATION: only the ledger knows', async () => {
    expect(await check({ kind: 'VALIDATE_CONSOLIDATION' }, [], always)).toEqual({ state: 'done' });
    expect(await check({ kind: 'VALIDATE_CONSOLIDATION' }, [], never)).toEqual({ state: 'todo' });
  });

  test('BACKUP_TABLE: done when recorded; a source gone without a record is a conflict', async () => {
    const step: OpStep = { kind: 'BACKUP_TABLE', name: 'src', backupName: 'bk' };
    expect(await check(step, [], always)).toEqual({ state: 'done' });
    expect(await check(step, [s])).toEqual({ state: 'todo' });
    expect(await check(step, [view('src')])).toEqual({ state: 'conflict', detail: 'src is gone and the ledger records no backup of it' });
    expect(await check(step, [])).toEqual({ state: 'conflict', detail: 'src is gone and the ledger records no backup of it' });
  });

  test('DROP_TABLE: done unless the name is still a table', async () => {
    const step: OpStep = { kind: 'DROP_TABLE', name: 'src' };
    expect(await check(step, [s])).toEqual({ state: 'todo' });
    expect(await check(step, [])).toEqual({ state: 'done' });
    expect(await check(step, [view('src')])).toEqual({ state: 'done' });
  });

  test('CREATE_VIEW: done when the name is a view', async () => {
    const step: OpStep = { kind: 'CREATE_VIEW', name: 'src', target: 'dst', columns: [], filter: null };
    expect(await check(step, [])).toEqual({ state: 'todo' });
    expect(await check(step, [view('src')])).toEqual({ state: 'done' });
    expect(await check(step, [s])).toEqual({ state: 'todo' });
  });

  test('DROP_VIEW: done unless the name is still a view', async () => {
    const step: OpStep = { kind: 'DROP_VIEW', name: 'v' };
    expect(await check(step, [view('v')])).toEqual({ state: 'todo' });
    expect(await check(step, [])).toEqual({ state: 'done' });
    expect(await check(step, [table('v')])).toEqual({ state: 'done' });
  });

  test('RESTORE_TABLE: done when the name is a table again', async () => {
    const step: OpStep = { kind: 'RESTORE_TABLE', name: 'src', backupName: 'bk' };
    expect(await check(step, [s])).toEqual({ state: 'done' });
    expect(await check(step, [])).toEqual({ state: 'todo' });
    expect(await check(step, [view('src')])).toEqual({ state: 'todo' });
  });
});
