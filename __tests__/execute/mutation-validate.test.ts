/**
 * Validation verdicts (core/execute/validate.ts, core/execute/paper-validate.ts) against an
 * in-memory engine: which checks each action gets, when each passes, what its detail says, how a
 * batch is scored, and how reads answered in bulk feed the same checks.
 */
import { paperChecks } from '../../core/execute/paper-validate';
import { mergeReads, prefetched, scoreChecks, validateConsolidation, validateOperation, validateView, validationReads, withReads, type ValidationCheck } from '../../core/execute/validate';
import type { Column, TableInfo } from '../../core/catalogue';
import type { ReadResults } from '../../core/ports/engine';
import { COLS, compatView, consolidation, FakeEngine, FakeState, operation, table, validatesConsolidation, view } from './operation-fakes';

const brief = (cs: readonly ValidationCheck[]) => cs.map((c) => [c.check, c.kind, c.ok, c.detail]);

describe('a consolidation before its sources are dropped', () => {
  const a = table('a');
  const b = table('b');
  function setup(parallel = 1) {
    const { op } = consolidation(a, b, 'ab', ['a_copy']);
    const engine = new FakeEngine([a, b, table('a_copy'), table('ab')]);
    engine.maxParallelOperations = parallel;
    return { op, engine: validatesConsolidation(engine, op, 2) };
  }

  test('every check passes on a faithful consolidation, in a fixed order', async () => {
    const { op, engine } = setup();
    const checks = await validateConsolidation(engine.asEngine(), op);
    expect(brief(checks)).toEqual([
      ['coverage', 'coverage', true, 'target keys 5, union 5, missing 0, extra 0'],
      ['equality a', 'content', true, '0 rows of a differ from ab on 2 columns'],
      ['null counts a', 'content', true, '2 columns equal'],
      ['equality a_copy', 'content', true, '0 rows of a_copy differ from ab on 2 columns'],
      ['null counts a_copy', 'content', true, '2 columns equal'],
      ['equality b', 'content', true, '0 rows of b differ from ab on 2 columns'],
      ['null counts b', 'content', true, '2 columns equal'],
    ]);
    expect(checks.every((c) => c.operationId === op.id)).toBe(true);
    // Each window compares its own columns, on the target's rows of that window; the target's
    // null counts of a window are read once for the source and its copies.
    expect(engine.calls).toEqual([
      'coverage ab a+a_copy+b interval_time',
      'mismatch ab a interval_time interval_time>interval_time,val>val_45 in_w45',
      'nulls ab interval_time,val_45 in_w45',
      'nulls a interval_time,val',
      'mismatch ab a_copy interval_time interval_time>interval_time,val>val_45 in_w45',
      'nulls a_copy interval_time,val',
      'mismatch ab b interval_time interval_time>interval_time,val>val_90 in_w90',
      'nulls ab interval_time,val_90 in_w90',
      'nulls b interval_time,val',
    ]);
    expect(engine.maxInFlight).toBe(1);
  });

  test('an engine that runs many reads at once gets them together, and the checks keep their order', async () => {
    const serial = await validateConsolidation(setup().engine.asEngine(), setup().op);
    const { op, engine } = setup(8);
    const checks = await validateConsolidation(engine.asEngine(), op);
    expect(engine.maxInFlight).toBeGreaterThan(5);
    expect(brief(checks)).toEqual(brief(serial.map((c) => ({ ...c, operationId: op.id }))));
  });

  test.each([
    [{ targetKeys: 5, unionKeys: 5, missing: 1, extra: 0 }, 'target keys 5, union 5, missing 1, extra 0'],
    [{ targetKeys: 5, unionKeys: 5, missing: 0, extra: 2 }, 'target keys 5, union 5, missing 0, extra 2'],
    [{ targetKeys: 4, unionKeys: 5, missing: 0, extra: 0 }, 'target keys 4, union 5, missing 0, extra 0'],
  ])('coverage fails on any missing or extra key: %j', async (cov, detail) => {
    const { op, engine } = setup();
    engine.coverages.set('ab', cov);
    const [c] = await validateConsolidation(engine.asEngine(), op);
    expect(brief([c])).toEqual([['coverage', 'coverage', false, detail]]);
  });

  test('differing rows, differing null counts and failed reads fail their checks with what was found', async () => {
    const { op, engine } = setup();
    engine.coverages.set('ab', new Error('coverage read failed'));
    engine.mismatches.set('a', 3);
    engine.nulls.set('a', { val: 1, interval_time: 0 });
    engine.mismatches.set('a_copy', new Error('mismatch read failed'));
    engine.nulls.set('b', new Error('null count read failed'));
    expect(brief(await validateConsolidation(engine.asEngine(), op))).toEqual([
      ['coverage', 'coverage', false, 'coverage read failed'],
      ['equality a', 'content', false, '3 rows of a differ from ab on 2 columns'],
      ['null counts a', 'content', false, 'val 1≠2'],
      ['equality a_copy', 'content', false, 'mismatch read failed'],
      ['null counts a_copy', 'content', true, '2 columns equal'],
      ['equality b', 'content', true, '0 rows of b differ from ab on 2 columns'],
      ['null counts b', 'content', false, 'null count read failed'],
    ]);
  });

  test('a null-count difference names at most five columns', async () => {
    const { op, engine } = setup();
    const cols = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const spec = { ...op.consolidation!, columns: cols.map((name) => ({ name: `${name}_t`, type: 'FLOAT64' as const, from: [{ window: 90, column: name }] })) };
    engine.nulls.set('b', Object.fromEntries(cols.map((c) => [c, 1])));
    engine.nulls.set('ab|in_w90', Object.fromEntries(cols.map((c) => [`${c}_t`, 0])));
    engine.nulls.set('ab|in_w45', {});
    const checks = await validateConsolidation(engine.asEngine(), { ...op, consolidation: spec });
    expect(checks.find((c) => c.check === 'null counts b')?.detail).toBe('c1 1≠0, c2 1≠0, c3 1≠0, c4 1≠0, c5 1≠0');
    expect(checks.find((c) => c.check === 'null counts a')).toMatchObject({ ok: true, detail: '0 columns equal' });
  });
});

describe('a compatibility view', () => {
  const s = table('src');
  const op = operation('RENAME', [s], { target: 'dst' });
  const v = compatView(op, 'src');
  const engineWith = (probe: { columns: Column[]; rows: number } | Error) => {
    const e = new FakeEngine();
    e.probes.set('src', probe);
    return e.asEngine();
  };

  test('resolves with the old columns, rows and schema', async () => {
    expect(brief(await validateView(engineWith({ columns: COLS, rows: 10 }), op, v, s))).toEqual([
      ['view src columns', 'schema', true, '2 columns'],
      ['view src row count', 'rows', true, '10 rows, was 10'],
      ['view src schema', 'schema', true, 'unchanged'],
    ]);
  });

  test('a view that does not resolve is one failed check', async () => {
    expect(brief(await validateView(engineWith(new Error('Binder Error: no such table')), op, v, s))).toEqual([['view src resolves', 'view', false, 'Binder Error: no such table']]);
  });

  test('other columns, rows or types fail', async () => {
    const cols = [COLS[1], { name: 'interval_time', type: 'STRING' as const }];
    expect(brief(await validateView(engineWith({ columns: cols, rows: 9 }), op, v, s))).toEqual([
      ['view src columns', 'schema', false, 'has val,interval_time; expected interval_time,val'],
      ['view src row count', 'rows', false, '9 rows, was 10'],
      ['view src schema', 'schema', false, 'now val:FLOAT64,interval_time:STRING'],
    ]);
  });

  test('without the source as this run found it: against the planned state, or nothing to compare', async () => {
    expect(brief(await validateView(engineWith({ columns: COLS, rows: 10 }), op, v, undefined))).toEqual([
      ['view src columns', 'schema', true, '2 columns'],
      ['view src rows+schema', 'rows', true, '10 rows, 2 columns as planned'],
    ]);
    expect(brief(await validateView(engineWith({ columns: COLS, rows: 11 }), op, v, undefined))).toEqual([
      ['view src columns', 'schema', true, '2 columns'],
      ['view src rows+schema', 'rows', false, '11 rows, 2 columns differ from the planned state'],
    ]);
    const other = compatView(op, 'alias');
    const e = new FakeEngine();
    e.probes.set('alias', { columns: COLS, rows: 10 });
    expect(brief(await validateView(e.asEngine(), op, other, undefined))).toEqual([['view alias columns', 'schema', true, '2 columns']]);
  });
});

describe('an applied operation', () => {
  const s = table('src');

  test('the target must be a table, whatever the action', async () => {
    const op = operation('RENAME', [s], { target: 'dst' });
    const missing = new FakeEngine();
    expect(brief(await validateOperation(missing.asEngine(), op, [], new Map()))).toEqual([['target dst exists', 'rows', false, 'dst is missing']]);
    expect(brief(await validateOperation(new FakeEngine([view('dst')]).asEngine(), op, [], new Map()))).toEqual([['target dst exists', 'rows', false, 'dst is a VIEW']]);
    const broken = new FakeEngine();
    broken.tables.set('dst', new Error('not found: dst'));
    expect(brief(await validateOperation(broken.asEngine(), op, [], new Map()))).toEqual([['target dst exists', 'rows', false, 'not found: dst']]);
  });

  test('RENAME: the target holds the source rows and schema, the source is gone, the views answer for it', async () => {
    const op = operation('RENAME', [s], { target: 'dst' });
    const e = new FakeEngine([table('dst'), view('src')]);
    e.rowCounts.set('dst', 10);
    e.probes.set('src', { columns: COLS, rows: 10 });
    const before = new Map([['src', s]]);
    expect(brief(await validateOperation(e.asEngine(), op, [compatView(op, 'src')], before))).toEqual([
      ['dst row count', 'rows', true, '10 rows, was 10'],
      ['dst schema', 'schema', true, 'unchanged'],
      ['src replaced', 'schema', true, 'no longer a table'],
      ['view src columns', 'schema', true, '2 columns'],
      ['view src row count', 'rows', true, '10 rows, was 10'],
      ['view src schema', 'schema', true, 'unchanged'],
    ]);
    e.rowCounts.set('dst', 8);
    e.tables.set('src', table('src'));
    const failed = await validateOperation(e.asEngine(), op, [], before);
    expect(brief(failed)).toEqual([
      ['dst row count', 'rows', false, '8 rows, was 10'],
      ['dst schema', 'schema', true, 'unchanged'],
      ['src replaced', 'schema', false, 'still a table'],
    ]);
    // Without the pre-apply table: the planned state hash under the source's name.
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))[0]).toEqual(['dst rows+schema', 'rows', false, '8 rows, 2 columns differ from the planned state']);
    e.rowCounts.set('dst', new Error('row count failed'));
    expect(brief(await validateOperation(e.asEngine(), op, [], before))[0]).toEqual(['dst row count', 'rows', false, 'row count failed']);
    e.tables.set('src', new Error('getTable failed'));
    expect(brief(await validateOperation(e.asEngine(), op, [], before))[1]).toEqual(['src replaced', 'schema', false, 'still a table']);
  });

  test("DEDUPE: the twin still holds the planned content", async () => {
    const op = operation('DEDUPE', [s], { target: 'twin', twin: { table: 'twin', rows: 10, hash: 'h1' } });
    const e = new FakeEngine([table('twin')]);
    e.fingerprints.set('twin', { rows: 10, hash: 'h1' });
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))).toEqual([
      ['twin twin content', 'content', true, '10 rows, fingerprint as planned'],
      ['src replaced', 'schema', true, 'no longer a table'],
    ]);
    e.fingerprints.set('twin', { rows: 9, hash: 'h2' });
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))[0]).toEqual(['twin twin content', 'content', false, '9 rows, fingerprint changed']);
    e.fingerprints.set('twin', new Error('fingerprint failed'));
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))[0]).toEqual(['twin twin content', 'content', false, 'fingerprint failed']);
  });

  test('CONSOLIDATE: the target has every planned column and every consolidated table is gone', async () => {
    const { op } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    const full = table('ab', { columns: ['interval_time', 'val_45', 'val_90', 'in_w45', 'in_w90'].map((name) => ({ name, type: 'FLOAT64' as const })) });
    const e = new FakeEngine([full, table('a_copy')]);
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))).toEqual([
      ['ab columns', 'schema', true, '5 columns'],
      ['a replaced', 'schema', true, 'no longer a table'],
      ['a_copy replaced', 'schema', false, 'still a table'],
      ['b replaced', 'schema', true, 'no longer a table'],
    ]);
    const cols = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((name) => ({ name, type: 'FLOAT64' as const, from: [{ window: 45, column: 'val' }] }));
    const wide = { ...op, consolidation: { ...op.consolidation!, columns: [...op.consolidation!.columns, ...cols] } };
    expect(brief(await validateOperation(e.asEngine(), wide, [], new Map()))[0]).toEqual(['ab columns', 'schema', false, 'missing c1, c2, c3, c4, c5']);
  });

  test('RETIRE_VIEW: the view is gone and its readers use the target', async () => {
    const v = view('old');
    const op = operation('RETIRE_VIEW', [v], { target: 'new_t' });
    const e = new FakeEngine([table('new_t')]);
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))).toEqual([['view old dropped', 'schema', true, 'gone; readers use new_t']]);
    e.tables.set('old', v);
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))).toEqual([['view old dropped', 'schema', false, 'still a VIEW']]);
    e.tables.set('old', new Error('cannot read old'));
    expect(brief(await validateOperation(e.asEngine(), op, [], new Map()))).toEqual([['view old dropped', 'schema', false, 'cannot read old']]);
  });
});

test('a batch score: the share of checks passed, lost rows and schema changes among the failed ones', () => {
  const c = (ok: boolean, kind: ValidationCheck['kind']): ValidationCheck => ({ operationId: 'o', check: kind, ok, kind, detail: '' });
  expect(scoreChecks(3, [], () => true)).toEqual({ batch: 3, checks: 0, passed: 0, score: 1, lostRows: false, schemaChanged: false });
  const rows = (x: ValidationCheck) => x.kind === 'rows';
  expect(scoreChecks(1, [c(true, 'rows'), c(true, 'schema'), c(false, 'content'), c(true, 'view')], rows)).toEqual({ batch: 1, checks: 4, passed: 3, score: 0.75, lostRows: false, schemaChanged: false });
  expect(scoreChecks(1, [c(false, 'rows'), c(true, 'schema')], rows)).toMatchObject({ passed: 1, score: 0.5, lostRows: true, schemaChanged: false });
  expect(scoreChecks(1, [c(true, 'rows'), c(false, 'schema')], rows)).toMatchObject({ lostRows: false, schemaChanged: true });
});

describe('reads answered in bulk', () => {
  const s = table('src');
  const rename = operation('RENAME', [s], { target: 'dst' });
  const dedupe = operation('DEDUPE', [table('dup')], { target: 'twin' });
  const { op: cons } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);

  test('the reads each action validates with', () => {
    expect(validationReads(rename, [compatView(rename, 'src')])).toEqual({ rowCounts: ['dst'], fingerprints: [], probes: ['src'], tables: ['dst', 'src'] });
    expect(validationReads(dedupe, [])).toEqual({ rowCounts: [], fingerprints: ['twin'], probes: [], tables: ['twin', 'dup'] });
    expect(validationReads(cons, [])).toEqual({ rowCounts: [], fingerprints: [], probes: [], tables: ['ab', 'a', 'a_copy', 'b'] });
  });

  test('merged without repeats', () => {
    expect(mergeReads([validationReads(rename, []), validationReads(rename, [compatView(rename, 'src')]), { rowCounts: ['x'], fingerprints: ['twin'], probes: [] }, validationReads(dedupe, [])])).toEqual({
      rowCounts: ['dst', 'x'],
      fingerprints: ['twin'],
      probes: ['src'],
      tables: ['dst', 'src', 'twin', 'dup'],
    });
  });

  test('a read answered in bulk is not asked again; its error is the error; anything else goes to the engine', async () => {
    const e = new FakeEngine([table('t2')]);
    e.rowCounts.set('r2', 2);
    e.fingerprints.set('f2', { rows: 2, hash: 'h' });
    e.probes.set('p2', { columns: COLS, rows: 2 });
    const results: ReadResults = {
      rowCounts: new Map<string, number | Error>([['r1', 1], ['rx', new Error('bad row count')]]),
      fingerprints: new Map([['f1', { rows: 1, hash: 'g' }]]),
      probes: new Map([['p1', { columns: [], rows: 1 }]]),
      tables: new Map<string, TableInfo | null | Error>([['t1', null], ['tx', new Error('bad table')]]),
    };
    const w = withReads(e.asEngine(), results);
    expect(await w.rowCount('r1')).toBe(1);
    await expect(w.rowCount('rx')).rejects.toThrow('bad row count');
    expect(await w.rowCount('r2')).toBe(2);
    expect(await w.contentFingerprint('f1')).toEqual({ rows: 1, hash: 'g' });
    expect(await w.contentFingerprint('f2')).toEqual({ rows: 2, hash: 'h' });
    expect(await w.probe('p1')).toEqual({ columns: [], rows: 1 });
    expect(await w.probe('p2')).toEqual({ columns: COLS, rows: 2 });
    expect(await w.getTable('t1')).toBeNull();
    await expect(w.getTable('tx')).rejects.toThrow('bad table');
    expect(await w.getTable('t2')).toMatchObject({ name: 't2' });
    expect(e.calls).toEqual(['rowCount r2', 'fingerprint f2', 'probe p2', 'getTable t2']);
    // Everything else is the engine's own, called on the engine itself (not on the wrapper).
    class Guarded extends FakeEngine {
      readonly #own = 'the engine itself';
      whoAmI(): string {
        return this.#own;
      }
    }
    expect((withReads(new Guarded().asEngine(), results) as unknown as Guarded).whoAmI()).toBe('the engine itself');
    expect(w.maxParallelOperations).toBe(1);
    expect(await w.getBackup('bk')).toBeNull();
    expect(e.calls.at(-1)).toBe('getBackup bk');
    // Without table answers, getTable is the engine's.
    const plain = withReads(e.asEngine(), { ...results, tables: undefined });
    expect(await plain.getTable('t1')).toBeNull();
    expect(e.calls.at(-1)).toBe('getTable t1');
  });

  test('prefetched asks the engine in bulk only when it can and there is something to ask', async () => {
    const e = new FakeEngine([table('dst')]);
    expect(await prefetched(e.asEngine(), [validationReads(rename, [])])).toBe(e);
    const asked: unknown[] = [];
    const bulk = Object.assign(e, {
      readMany: async (req: unknown): Promise<ReadResults> => {
        asked.push(req);
        return { rowCounts: new Map([['dst', 42]]), fingerprints: new Map(), probes: new Map() };
      },
    });
    expect(await prefetched(bulk.asEngine(), [])).toBe(bulk);
    expect(await prefetched(bulk.asEngine(), [{ rowCounts: [], fingerprints: [], probes: [], tables: [] }])).toBe(bulk);
    expect(asked).toEqual([]);
    for (const req of [
      { rowCounts: ['dst'], fingerprints: [], probes: [] },
      { rowCounts: [], fingerprints: ['dst'], probes: [] },
      { rowCounts: [], fingerprints: [], probes: ['dst'] },
      { rowCounts: [], fingerprints: [], probes: [], tables: ['dst'] },
    ]) {
      const w = await prefetched(bulk.asEngine(), [req]);
      expect(w).not.toBe(bulk);
    }
    expect(asked).toHaveLength(4);
    const w = await prefetched(bulk.asEngine(), [validationReads(rename, [])]);
    expect(await w.rowCount('dst')).toBe(42);
    expect(asked.at(-1)).toEqual({ rowCounts: ['dst'], fingerprints: [], probes: [], tables: ['dst', 'src'] });
  });
});

describe('paper checks: the simulated end state', () => {
  const s = table('src');

  test('the target is a table and every old name a view with the old columns', async () => {
    const op = operation('RENAME', [s], { target: 'dst' });
    const v = compatView(op, 'src');
    const state = new FakeState([table('dst'), view('src')]);
    expect(brief(await paperChecks(state, op, [v], new Map([['src', s]])))).toEqual([
      ['target dst is a table', 'schema', true, 'TABLE'],
      ['view src columns', 'schema', true, '2 columns as the old table'],
    ]);
    // Not found as the source was: other types, or no view at all.
    const changed = new FakeState([view('dst'), view('src', { columns: [{ name: 'interval_time', type: 'STRING' }, COLS[1]] })]);
    expect(brief(await paperChecks(changed, op, [v], new Map([['src', s]])))).toEqual([
      ['target dst is a table', 'schema', false, 'VIEW'],
      ['view src columns', 'schema', false, 'simulated view has interval_time:STRING,val:FLOAT64; old table interval_time:TIMESTAMP,val:FLOAT64'],
    ]);
    expect(brief(await paperChecks(new FakeState([table('src')]), op, [v], new Map()))).toEqual([
      ['target dst is a table', 'schema', false, 'missing'],
      ['view src columns', 'schema', false, 'simulated view has interval_time:TIMESTAMP,val:FLOAT64; old table undefined'],
    ]);
    expect(brief(await paperChecks(new FakeState([]), op, [v], new Map()))[1][3]).toBe('simulated view has nothing; old table undefined');
    // A view whose old table this run did not see is judged by being a view.
    expect(brief(await paperChecks(new FakeState([view('src', { columns: [] })]), op, [v], new Map()))[1]).toEqual(['view src columns', 'schema', true, '0 columns as the old table']);
  });

  test('an old name the plan has no view for is a failed check', async () => {
    const op = operation('DEDUPE', [s], { target: 'twin' });
    expect(brief(await paperChecks(new FakeState([table('twin')]), op, [], new Map()))).toEqual([
      ['target twin is a table', 'schema', true, 'TABLE'],
      ['src has a compatibility view', 'view', false, 'the plan has no view for this name'],
    ]);
    const { op: cons } = consolidation(table('a'), table('b'), 'ab', ['a_copy']);
    const checks = await paperChecks(new FakeState([table('ab'), view('a'), view('b')]), cons, [compatView(cons, 'a'), compatView(cons, 'b')], new Map());
    expect(checks.filter((c) => !c.ok).map((c) => c.check)).toEqual(['a_copy has a compatibility view']);
    expect(checks.every((c) => c.operationId === cons.id)).toBe(true);
  });

  test('a retirement: the view is gone', async () => {
    const v = view('old');
    const op = operation('RETIRE_VIEW', [v], { target: 'new_t' });
    expect(brief(await paperChecks(new FakeState([table('new_t')]), op, [], new Map()))).toEqual([['view old dropped', 'schema', true, 'gone']]);
    expect(brief(await paperChecks(new FakeState([v]), op, [], new Map()))).toEqual([['view old dropped', 'schema', false, 'still a VIEW']]);
  });
});
