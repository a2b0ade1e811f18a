/**
 * Synthetic row values of the local warehouse. Every value is a pure function of
 * (content key, column name, row index), so tables that share a content key hold identical rows
 * whatever their name; the few exceptions are spelled out below because the planner relies on them.
 */
import type { Column } from '../core/catalogue';
import { copyToken, entityToken, PAIRS, type TableContent } from './catalogue';
import { columnKind } from './column-kinds';

// Bound once: under jest's sandboxed global every `Math.` lookup in a hot loop costs ~50x more.
const { imul, floor, sin, cos, PI } = Math;

/** First row of every series: 2025-11-20 00:00:00 UTC. */
export const SERIES_START_MS = Date.UTC(2025, 10, 20, 0, 0, 0);

export type CellValue = number | string | boolean | null;

/** cyrb53's state after the characters of `s`, from `h` (its seed state). */
function absorb(s: string, h1: number, h2: number): [number, number] {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = imul(h1 ^ ch, 2654435761);
    h2 = imul(h2 ^ ch, 1597334677);
  }
  return [h1, h2];
}

/** cyrb53's final mix of a state into 53 bits. */
function finish(h1: number, h2: number): number {
  h1 = imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** cyrb53: a fast, well-mixed 53-bit string hash; stable across processes and platforms. */
export function hash53(s: string): number {
  const [h1, h2] = absorb(s, 0xdeadbeef, 0x41c6ce57);
  return finish(h1, h2);
}

/** Uniform in [0, 1), determined by the three parts. */
export function unit(key: string, column: string, i: number): number {
  return hash53(`${key}\u001f${column}\u001f${i}`) / 9007199254740992;
}

/**
 * `unit(key, column, ·)`: the same values, with the hash of the `key, column` prefix computed once
 * instead of once per row (the seed hashes ~2 M cells of the full catalogue).
 */
export function unitSeries(key: string, column: string): (i: number) => number {
  const [p1, p2] = absorb(`${key}\u001f${column}\u001f`, 0xdeadbeef, 0x41c6ce57);
  return (i) => {
    // The decimal digits of a non-negative integer row index, as `${i}` spells them.
    if (i >= 0 && i < 10) return finish(imul(p1 ^ (48 + i), 2654435761), imul(p2 ^ (48 + i), 1597334677)) / 9007199254740992;
    const [h1, h2] = absorb(String(i), p1, p2);
    return finish(h1, h2) / 9007199254740992;
  };
}

/** Entity tokens of a content key (`cov_agg_bqx_audcad_audchf` → pairs audcad, audchf). */
export interface KeyEntities {
  readonly pairs: readonly string[];
  readonly currencies: readonly string[];
  readonly etfs: readonly string[];
}

/** Real tokens and the synthetic ones of the scaled catalogues (warehouse/catalogue.ts `copyToken`). */
export function keyEntities(contentKey: string): KeyEntities {
  const tokens = contentKey.replace(/#.*$/, '').split('_');
  const ofKind = (kind: 'pair' | 'ccy' | 'etf') => tokens.filter((t) => entityToken(t)?.kind === kind);
  return { pairs: ofKind('pair'), currencies: ofKind('ccy'), etfs: ofKind('etf') };
}

// A table's columns share its key, and every table of a family has the same columns: each is worked out once.
const entitiesByKey = new Map<string, KeyEntities>();
function entitiesOf(key: string): KeyEntities {
  let e = entitiesByKey.get(key);
  if (!e) {
    // Only the last table's key is reused (its other columns): keep the map from growing with the catalogue.
    entitiesByKey.clear();
    entitiesByKey.set(key, (e = keyEntities(key)));
  }
  return e;
}

const kindByColumn = new Map<string, ReturnType<typeof columnKind>>();
function kindOf(column: Column): ReturnType<typeof columnKind> {
  const id = `${column.type} ${column.name}`;
  let k = kindByColumn.get(id);
  if (k === undefined) kindByColumn.set(id, (k = columnKind(column)));
  return k;
}

/** The first three pairs of a currency, in the catalogue's order (a synthetic currency: its copy's pairs). */
function pairsOfCurrency(ccy: string): string[] {
  const e = entityToken(ccy);
  const real = e?.real ?? ccy;
  const pairs = PAIRS.filter((p) => p.startsWith(real) || p.endsWith(real)).slice(0, 3);
  return e && e.copy > 0 ? pairs.map((p) => copyToken('pair', p, e.copy)) : pairs;
}

/** The window a table name ends with (`lag_bqx_eurusd_w45` → 45), or null. */
export function tableWindow(tableName: string): number | null {
  const m = /_w?(\d+)$/.exec(tableName);
  return m ? Number(m[1]) : null;
}

const REGIME_LABELS = ['low', 'normal', 'high'] as const;

/**
 * Key and label columns that are constant per table: they are what the table is about. Derived
 * from the content key, not the table name, so twins agree on them too.
 */
function constantString(column: string, e: KeyEntities): string | undefined {
  switch (column) {
    case 'pair':
    case 'fx_pair':
      return e.pairs[0] ?? 'eurusd';
    case 'pair1':
      return e.pairs[0];
    case 'pair2':
      return e.pairs[1];
    case 'currency':
      return e.currencies[0];
    case 'p1':
    case 'p2':
    case 'p3':
      return pairsOfCurrency(e.currencies[0] ?? 'usd')[Number(column.slice(1)) - 1];
    case 'ibkr_instrument':
      return (e.etfs[0] ?? 'spy').toUpperCase();
    case 'base_curr':
      return e.currencies[e.currencies.length - 3];
    case 'quote_curr':
      return e.currencies[e.currencies.length - 2];
    case 'cross_curr':
      return e.currencies[e.currencies.length - 1];
    default:
      return undefined;
  }
}

/** Everything a table's rows depend on. */
export interface RowSource {
  readonly tableName: string;
  readonly content: TableContent;
}

/** Scale of a level's small companions (ranges, changes) per content variant: relative to its level. */
const SCALE: Record<string, number> = { idx: 1, bqx: 0.3, ambiguous: 0.3, none: 0.3 };

/**
 * Builds the value function of one column from what the column means (warehouse/column-kinds.ts):
 * only a level column carries the table's variant (IDX around 100, BQX around 0, the planted
 * ambiguous table around 30). `minute` is the row's offset from SERIES_START in minutes
 * (startOffset + i); `i` the row index.
 */
export function columnGenerator(src: RowSource, column: Column): (i: number) => CellValue {
  const { key, variant, startOffset } = src.content;
  const name = column.name;
  const entities = entitiesOf(key);
  const minute = (i: number) => startOffset + i;
  const own = unitSeries(key, name);
  const salted = new Map<string, (i: number) => number>();
  const u = (i: number, salt = '') => {
    if (!salt) return own(i);
    let f = salted.get(salt);
    if (!f) salted.set(salt, (f = unitSeries(key, `${name}\u001f${salt}`)));
    return f(i);
  };
  const kind = kindOf(column);
  const scale = SCALE[variant] ?? 1;
  const int = column.type === 'INT64';

  switch (kind) {
    case 'timestamp':
      return (i) => SERIES_START_MS + minute(i) * 60_000;
    case 'key': {
      const constant = constantString(name, entities);
      return () => constant ?? name;
    }
    // Regime labels agree with their *_code column.
    case 'regime-label': {
      const code = unitSeries(key, `${name}_code`);
      return (i) => REGIME_LABELS[floor(3 * code(i))];
    }
    case 'regime-code':
      return (i) => floor(3 * u(i));
    case 'window': {
      // The table's window, so the planner sees this column differ across window tables.
      const w = tableWindow(src.tableName) ?? 0;
      return () => w;
    }
    case 'minute-of-day':
      return (i) => minute(i) % 1440;
    case 'cyclic':
      return cyclic(name, minute);
    case 'flag': {
      const hour = (i: number) => floor((minute(i) % 1440) / 60);
      if (name === 'is_asian_session') return (i) => hour(i) < 9;
      if (name === 'is_london_session') return (i) => hour(i) >= 7 && hour(i) < 16;
      if (name === 'is_ny_session') return (i) => hour(i) >= 12 && hour(i) < 21;
      return (i) => u(i) < 0.1;
    }
    case 'level': {
      if (name === 'bqx_close') {
        // Depends only on (pair, interval_time): equal across the 45 and 90 window tables of a pair.
        const close = unitSeries(`bqx_close:${entities.pairs[0] ?? key}`, name);
        return (i) => 4 * close(minute(i)) - 2;
      }
      if (variant === 'idx') return (i) => 95 + 10 * u(i);
      if (variant === 'ambiguous') return (i) => 27 + 6 * u(i);
      return (i) => 4 * u(i) - 2;
    }
    case 'correlation':
      return (i) => 2 * u(i) - 1;
    case 'fraction':
      return (i) => u(i);
    case 'dispersion':
      return (i) => scale * (0.05 + 0.5 * u(i));
    case 'zscore':
      // The sum of three uniforms: bell-shaped around 0, within ±3.
      return (i) => 2 * (u(i, 'a') + u(i, 'b') + u(i, 'c') - 1.5);
    case 'change':
      return (i) => scale * 1.5 * (2 * u(i) - 1);
    case 'ratio':
      // val1 / val2: near 1 for two indexed prices, of either sign for two oscillators.
      return variant === 'idx' ? (i) => 0.95 + 0.1 * u(i) : (i) => (u(i, 'sign') < 0.5 ? -1 : 1) * (0.1 + 2.9 * u(i));
    case 'threshold-low':
    case 'threshold-high':
      return threshold(key, name, kind, scale);
    case 'signal':
      return int ? (i) => floor(3 * u(i)) - 1 : (i) => 2 * u(i) - 1;
    case 'count':
      if (name === 'pairs_covered') return () => PAIRS.length;
      return (i) => 1000 + floor(100_000 * u(i));
    case 'rank':
      return (i) => 1 + floor(8 * u(i));
    case 'halflife':
      return (i) => 5 + 300 * u(i);
    case null:
      if (column.type === 'STRING') return (i) => `${name}_${floor(100 * u(i))}`;
      return int ? (i) => floor(100 * u(i)) : (i) => scale * (2 * u(i) - 1);
  }
}

/** Calendar features of the row's timestamp; `cyc_{sin,cos}_W` a cycle of W minutes. */
function cyclic(name: string, minute: (i: number) => number): (i: number) => number {
  const angle = (i: number, period: number, of: (m: number) => number) => (2 * PI * of(minute(i))) / period;
  const minuteOfDay = (m: number) => m % 1440;
  // 2025-11-20 is a Thursday (day 3 counting from Monday = 0).
  const dayOfWeek = (m: number) => (3 + floor(m / 1440)) % 7;
  const fn = name.includes('cos') ? cos : sin;
  if (name.startsWith('hour_')) return (i) => fn(angle(i, 1440, minuteOfDay));
  if (name.startsWith('dow_')) return (i) => fn(angle(i, 7, dayOfWeek));
  const w = Number(/_(\d+)$/.exec(name)?.[1] ?? 1440);
  return (i) => fn(angle(i, w, (m) => m % w));
}

/**
 * Percentile thresholds of a regime, ordered per row (p33 < p66): both drawn from the same pair of
 * units, keyed by the prefix. Thresholds of a range or volatility are positive; those of a momentum
 * straddle 0.
 */
function threshold(key: string, name: string, kind: 'threshold-low' | 'threshold-high', scale: number): (i: number) => number {
  const prefix = name.replace(/_p\d+$/, '');
  const a = unitSeries(key, `${prefix}_p33`);
  const b = unitSeries(key, `${prefix}_p66`);
  if (prefix === 'momentum') return kind === 'threshold-low' ? (i) => -scale * (0.05 + 0.3 * a(i)) : (i) => scale * (0.05 + 0.3 * b(i));
  return kind === 'threshold-low' ? (i) => scale * (0.05 + 0.2 * a(i)) : (i) => scale * (0.3 + 0.2 * a(i) + 0.2 * b(i));
}

/** The first FLOAT64 feature column, whose first value a perturbed table changes. */
export function perturbedColumn(columns: readonly Column[]): string | null {
  return columns.find((c) => c.type === 'FLOAT64' && c.name !== 'bqx_close')?.name ?? null;
}

/** All rows of a table, column-major (one array per column). */
export function generateColumns(src: RowSource, columns: readonly Column[]): CellValue[][] {
  const n = src.content.rows;
  const perturb = src.content.perturbed ? perturbedColumn(columns) : null;
  return columns.map((c) => {
    const gen = columnGenerator(src, c);
    const values = new Array<CellValue>(n);
    for (let i = 0; i < n; i++) values[i] = gen(i);
    // Halved: a different value that still means what the column means (a correlation stays in [-1, 1]).
    if (perturb === c.name && n > 0) values[0] = (values[0] as number) === 0 ? 0.001 : (values[0] as number) / 2;
    return values;
  });
}
