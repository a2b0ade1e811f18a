/**
 * The catalogue gates read: the paper run's simulation (every step's effect, every refusal it
 * makes) and the real run's tracked state (primed fingerprints, re-reads when it disagrees),
 * against a fake of the Engine port.
 */
import type { TableInfo } from '../../core/catalogue';
import { namesOf, SimulatedState, TrackedState } from '../../core/execute/warehouse-state';
import type { ConsolidationSpec } from '../../core/plan/types';
import type { Step } from '../../core/ports/engine';
import { FakeEngine } from './fake-engine';

const t = (name: string, kind: 'TABLE' | 'VIEW' = 'TABLE', rowCount = 10, columns: TableInfo['columns'] = [{ name: 'a', type: 'INT64' }]): TableInfo => ({ name, kind, columns, rowCount, bytes: 1, partitionBy: null, clusterBy: [] });
const spec = {
  key: 'a',
  partitionBy: 'a',
  clusterBy: ['b'],
  columns: [
    { name: 'a', type: 'INT64', from: [] },
    { name: 'p45', type: 'STRING', from: [] },
  ],
  windows: [
    { window: 45, source: 'w45', copies: [], presenceColumn: 'p45' },
    { window: 90, source: 'w90', copies: [], presenceColumn: 'p90' },
  ],
} as unknown as ConsolidationSpec;

describe('namesOf', () => {
  test('every name a step reads or writes', () => {
    expect(namesOf({ kind: 'RENAME_TABLE', from: 'a', to: 'b' })).toEqual(['a', 'b']);
    expect(namesOf({ kind: 'CONSOLIDATE', target: 'c', spec })).toEqual(['c', 'w45', 'w90']);
    expect(namesOf({ kind: 'BACKUP_TABLE', name: 'a', backupName: 'bk' })).toEqual(['a']);
    expect(namesOf({ kind: 'RESTORE_TABLE', name: 'a', backupName: 'bk' })).toEqual(['a']);
    expect(namesOf({ kind: 'DROP_TABLE', name: 'a' })).toEqual(['a']);
    expect(namesOf({ kind: 'DROP_VIEW', name: 'v' })).toEqual(['v']);
    expect(namesOf({ kind: 'CREATE_VIEW', name: 'v', target: 'a', columns: [], filter: null })).toEqual(['v']);
  });
});

describe('SimulatedState', () => {
  const sim = (tables: TableInfo[] = [t('a'), t('v', 'VIEW'), t('w45', 'TABLE', 5), t('w90', 'TABLE', 12)]) => new SimulatedState(new FakeEngine(tables), tables);

  test('renames move a table and where its content is; the old name is gone', async () => {
    const s = sim();
    expect(s.simulated).toBe(true);
    s.apply({ kind: 'RENAME_TABLE', from: 'a', to: 'b' });
    expect(await s.get('a')).toBeNull();
    expect(await s.get('b')).toEqual({ ...t('a'), name: 'b' });
    // The content is still read under its real name.
    expect(await s.contentFingerprint('b')).toEqual({ rows: 10, hash: 'content-of-a' });
    expect(() => s.apply({ kind: 'RENAME_TABLE', from: 'a', to: 'c' })).toThrow('simulation: a does not exist');
    expect(() => s.apply({ kind: 'RENAME_TABLE', from: 'b', to: 'w45' })).toThrow('simulation: w45 already exists');
    expect(await s.get('b')).not.toBeNull();
  });

  test('drops: a table as a table, a view as a view', async () => {
    const s = sim();
    expect(() => s.apply({ kind: 'DROP_TABLE', name: 'v' })).toThrow('simulation: table v does not exist');
    expect(() => s.apply({ kind: 'DROP_VIEW', name: 'a' })).toThrow('simulation: view a does not exist');
    expect(() => s.apply({ kind: 'DROP_TABLE', name: 'nope' })).toThrow('simulation: table nope does not exist');
    expect(() => s.apply({ kind: 'DROP_VIEW', name: 'nope' })).toThrow('simulation: view nope does not exist');
    s.apply({ kind: 'DROP_TABLE', name: 'a' });
    s.apply({ kind: 'DROP_VIEW', name: 'v' });
    expect(await s.get('a')).toBeNull();
    expect(await s.get('v')).toBeNull();
  });

  test('a backup restores what was dropped, content included', async () => {
    const s = sim();
    expect(() => s.apply({ kind: 'BACKUP_TABLE', name: 'nope', backupName: 'bk' })).toThrow('simulation: nope does not exist');
    s.apply({ kind: 'BACKUP_TABLE', name: 'a', backupName: 'bk' });
    s.apply({ kind: 'DROP_TABLE', name: 'a' });
    expect(() => s.apply({ kind: 'RESTORE_TABLE', name: 'a', backupName: 'other' })).toThrow('simulation: backup other does not exist');
    s.apply({ kind: 'RESTORE_TABLE', name: 'r', backupName: 'bk' });
    expect(await s.get('r')).toEqual({ ...t('a'), name: 'r' });
    expect(await s.contentFingerprint('r')).toEqual({ rows: 10, hash: 'content-of-a' });
  });

  test('a consolidation is a new table: its columns, presence columns, the widest row count, no content to read', async () => {
    const s = sim();
    s.apply({ kind: 'CONSOLIDATE', target: 'c', spec });
    expect(await s.get('c')).toEqual({
      name: 'c',
      kind: 'TABLE',
      columns: [
        { name: 'a', type: 'INT64' },
        { name: 'p45', type: 'STRING' },
        { name: 'p90', type: 'BOOL' },
      ],
      rowCount: 12,
      bytes: 0,
      partitionBy: 'a',
      clusterBy: ['b'],
    });
    expect(await s.contentFingerprint('c')).toBeNull();
    expect(await s.contentFingerprint('nope')).toBeNull();
    expect(() => s.apply({ kind: 'CONSOLIDATE', target: 'a', spec })).toThrow('simulation: a already exists');
    // Sources gone: no rows, not fewer than none.
    const empty = sim([]);
    empty.apply({ kind: 'CONSOLIDATE', target: 'c', spec });
    expect((await empty.get('c'))?.rowCount).toBe(0);
  });

  test('a view takes its columns from the target, OTHER for what the target lacks', async () => {
    const s = sim([t('a', 'TABLE', 10, [{ name: 'x', type: 'FLOAT64' }])]);
    s.apply({ kind: 'CREATE_VIEW', name: 'v2', target: 'a', columns: [{ name: 'y', column: 'x' }, { name: 'z', column: 'missing' }], filter: null });
    expect(await s.get('v2')).toEqual({ name: 'v2', kind: 'VIEW', columns: [{ name: 'y', type: 'FLOAT64' }, { name: 'z', type: 'OTHER' }], rowCount: 0, bytes: 0, partitionBy: null, clusterBy: [] });
    expect(() => s.apply({ kind: 'CREATE_VIEW', name: 'a', target: 'a', columns: [], filter: null })).toThrow('simulation: a already exists');
    expect(() => s.apply({ kind: 'CREATE_VIEW', name: 'v3', target: 'nope', columns: [], filter: null })).toThrow('simulation: view target nope does not exist');
  });

  test('put replaces or removes what the simulation knows', async () => {
    const s = sim();
    s.put('a', null);
    expect(await s.get('a')).toBeNull();
    s.put('n', t('n', 'TABLE', 3));
    expect((await s.get('n'))?.rowCount).toBe(3);
    // What is put is read under its own name in the warehouse.
    await expect(s.contentFingerprint('n')).rejects.toThrow('no table n');
  });
});

describe('TrackedState', () => {
  const world = () => {
    const e = new FakeEngine([t('a'), t('b')]);
    const calls: string[] = [];
    const fp = e.contentFingerprint.bind(e);
    e.contentFingerprint = async (n) => (calls.push(n), fp(n));
    return { e, calls, s: new TrackedState(e, [t('a'), t('b')]) };
  };

  test('a primed fingerprint answers one read; the next goes to the warehouse', async () => {
    const { s, calls } = world();
    expect(s.simulated).toBe(false);
    s.prime(new Map([['a', { rows: 1, hash: 'primed' }]]));
    expect(await s.contentFingerprint('a')).toEqual({ rows: 1, hash: 'primed' });
    expect(calls).toEqual([]);
    expect(await s.contentFingerprint('a')).toEqual({ rows: 10, hash: 'content-of-a' });
    expect(calls).toEqual(['a']);
    s.prime(new Map([['b', new Error('unreadable')]]));
    await expect(s.contentFingerprint('b')).rejects.toThrow('unreadable');
    expect(await s.contentFingerprint('b')).toEqual({ rows: 10, hash: 'content-of-b' });
  });

  test('a step is applied to what it tracks; when it disagrees, the names are re-read', async () => {
    const { s, e } = world();
    await s.afterStep({ kind: 'RENAME_TABLE', from: 'a', to: 'c' });
    expect(await s.get('c')).toMatchObject({ name: 'c' });
    expect(e.reads).toEqual([]);
    // The warehouse has a table the tracked state does not (someone else made it): re-read.
    e.tables.set('d', t('d', 'TABLE', 4));
    e.tables.delete('b');
    const step: Step = { kind: 'RENAME_TABLE', from: 'x', to: 'd' };
    await s.afterStep(step);
    expect(e.reads.sort()).toEqual(['d', 'x']);
    expect((await s.get('d'))?.rowCount).toBe(4);
    await s.refresh(['b', 'b']);
    expect(await s.get('b')).toBeNull();
    expect(e.reads.filter((n) => n === 'b')).toEqual(['b']);
  });
});
