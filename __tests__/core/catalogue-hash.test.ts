/**
 * tableStateHash keeps the hash of a frozen table entry (a listing's entries are frozen whole) and
 * never of one that can still change: a mutated entry is hashed anew.
 */
import { catalogueFingerprint, tableStateHash, type Column, type TableInfo } from '../../core/catalogue';

function entry(rowCount: number, columns: Column[]): TableInfo {
  return { name: 'agg_eurusd_45', kind: 'TABLE', columns, rowCount, bytes: 0, partitionBy: null, clusterBy: [] };
}

const frozenWhole = (t: TableInfo): TableInfo => {
  t.columns.forEach((c) => Object.freeze(c));
  Object.freeze(t.columns);
  return Object.freeze(t);
};

test('a frozen entry hashes as an equal unfrozen one does, and again the same', () => {
  const cols = () => [{ name: 'interval_time', type: 'TIMESTAMP' as const }, { name: 'close', type: 'FLOAT64' as const }];
  const open = entry(10, cols());
  const frozen = frozenWhole(entry(10, cols()));
  expect(tableStateHash(frozen)).toBe(tableStateHash(open));
  expect(tableStateHash(frozen)).toBe(tableStateHash(open));
  expect(tableStateHash(frozenWhole(entry(11, cols())))).not.toBe(tableStateHash(frozen));
});

test('an entry that can still change is hashed anew each time: its row count, its columns, a column itself', () => {
  const t = entry(10, [{ name: 'close', type: 'FLOAT64' }]) as { -readonly [K in keyof TableInfo]: TableInfo[K] };
  const first = tableStateHash(t);
  t.rowCount = 12;
  const second = tableStateHash(t);
  expect(second).not.toBe(first);
  // Frozen entry, columns array still open.
  const cols: Column[] = [{ name: 'close', type: 'FLOAT64' }];
  const half = Object.freeze(entry(10, cols));
  const before = tableStateHash(half);
  cols.push({ name: 'open', type: 'FLOAT64' });
  expect(tableStateHash(half)).not.toBe(before);
  // Entry and array frozen, one column still open.
  const column = { name: 'close', type: 'FLOAT64' as Column['type'] };
  const arr = Object.freeze([column]);
  const inner = Object.freeze({ ...entry(10, []), columns: arr });
  const was = tableStateHash(inner);
  column.type = 'STRING';
  expect(tableStateHash(inner)).not.toBe(was);
});

test('the fingerprint of a frozen listing is the fingerprint of the same listing unfrozen', () => {
  const make = () => [entry(1, [{ name: 'a', type: 'INT64' }]), { ...entry(2, [{ name: 'b', type: 'STRING' }]), name: 'agg_gbpusd_45' }];
  const open = catalogueFingerprint(make());
  expect(catalogueFingerprint(make().map(frozenWhole))).toBe(open);
  expect(catalogueFingerprint(make().map(frozenWhole))).toBe(open);
});
