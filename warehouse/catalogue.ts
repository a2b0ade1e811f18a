/**
 * The BQX ML V3 feature catalogue as recorded in the BQX ML V3 reference facts (§2.3–2.4, names and schemas):
 * every table name of `bqx_ml_v3_features_v2`, its columns and the content it holds. The seed builds
 * the local warehouse from this, and the GoogleSQL tests register the same schemas with ZetaSQL.
 *
 * Content is described, not stored: a table's rows are a pure function of its `content.key`, so
 * tables that share a key (the `_w45` LAG copies, legacy COV/VAR/CORR twins) hold identical rows.
 */
import { datasetByRole } from '../config/environment';
import { loadEnvironment } from '../config/environments';
import type { Column, ColumnType } from '../core/catalogue';

/** The feature dataset the catalogue reproduces: production's, as the environment config names it. */
export const FEATURES_DATASET = datasetByRole(loadEnvironment('prod'), 'features').id;

export const PAIRS = [
  'eurusd', 'gbpusd', 'usdjpy', 'usdchf', 'audusd', 'usdcad', 'nzdusd', 'eurgbp', 'eurjpy', 'eurchf',
  'euraud', 'eurcad', 'eurnzd', 'gbpjpy', 'gbpchf', 'gbpaud', 'gbpcad', 'gbpnzd', 'audjpy', 'audchf',
  'audcad', 'audnzd', 'nzdjpy', 'nzdchf', 'nzdcad', 'cadjpy', 'cadchf', 'chfjpy',
] as const;
export const CURRENCIES = ['aud', 'cad', 'chf', 'eur', 'gbp', 'jpy', 'nzd', 'usd'] as const;
export const ETFS = ['ewa', 'ewg', 'ewj', 'ewu', 'gld', 'spy', 'uup', 'vix'] as const;
export const TRIANGLES_18 = [
  'aud_cad_usd', 'aud_chf_usd', 'aud_eur_usd', 'aud_gbp_usd', 'aud_jpy_usd', 'aud_nzd_usd', 'cad_eur_usd',
  'cad_gbp_usd', 'cad_nzd_usd', 'chf_eur_usd', 'chf_gbp_usd', 'chf_nzd_usd', 'eur_gbp_usd', 'eur_jpy_usd',
  'eur_nzd_usd', 'gbp_jpy_usd', 'gbp_nzd_usd', 'jpy_nzd_usd',
] as const;
export const TRIANGLES_REG_EXTRA = ['aud_jpy_nzd', 'cad_chf_jpy', 'cad_jpy_usd', 'chf_eur_gbp', 'chf_eur_jpy', 'chf_gbp_jpy', 'eur_gbp_jpy'] as const;

export type ContentVariant = 'idx' | 'bqx' | 'none' | 'ambiguous';

export interface TableContent {
  /** Rows are a pure function of this key; equal keys mean identical content. */
  readonly key: string;
  readonly variant: ContentVariant;
  readonly rows: number;
  /** First row's offset in minutes from the series start (90-window tables start later). */
  readonly startOffset: number;
  /** A deliberate one-value difference from every other table with the same key. */
  readonly perturbed?: boolean;
}

export interface CatalogueTable {
  readonly name: string;
  readonly columns: readonly Column[];
  readonly partitionBy: 'interval_time';
  readonly clusterBy: readonly string[];
  readonly content: TableContent;
  /** Set on the deliberately planted anomalies (see ANOMALIES). */
  readonly anomaly?: string;
}

export interface Anomaly {
  readonly table: string;
  readonly kind: 'VARIANT_AMBIGUOUS' | 'TWIN_DIFFERS' | 'EMPTY_TABLE';
  readonly description: string;
  /** The plan's expected reaction. */
  readonly expectedReason: 'VARIANT_AMBIGUOUS' | 'TARGET_EXISTS_DIFFERENT' | 'EMPTY_TABLE';
}

/**
 * Planted among the catalogue's own tables, so counts stay those of the real catalogue. The planner
 * must find each of them and leave it in REVIEW; nothing else may land there.
 */
export const ANOMALIES: readonly Anomaly[] = [
  {
    table: 'cov_vol_audcad_audchf',
    kind: 'VARIANT_AMBIGUOUS',
    description: 'un-suffixed COV table whose values sit around 30: neither BQX (|v| < 10) nor IDX (|v| > 50)',
    expectedReason: 'VARIANT_AMBIGUOUS',
  },
  {
    table: 'corr_ibkr_eurusd_spy',
    kind: 'TWIN_DIFFERS',
    description: 'legacy CORR spelling whose content differs in one value from its canonical twin corr_etf_idx_eurusd_spy',
    expectedReason: 'TARGET_EXISTS_DIFFERENT',
  },
  {
    table: 'csi_rev_nzd',
    kind: 'EMPTY_TABLE',
    description: 'un-suffixed CSI table with no rows: its variant cannot be read from data',
    expectedReason: 'EMPTY_TABLE',
  },
];

/**
 * `small` (447 tables, every family and anomaly) for tests; `full` the 5,817 tables of the real
 * dataset; `2x`, `5x` and `10x` that many copies of the full catalogue for the linearity bench
 * (bench/scale.ts): copy c > 0 is the full catalogue with every entity token replaced by a synthetic
 * one of copy c (see `copyToken`), so every family, twin, window table and anomaly grows exactly k
 * times. The planner accepts the synthetic tokens only with the scaled policy copy
 * (warehouse/scaled-policy.ts); the real policy knows none of them.
 */
export const SCALES = ['small', 'full', '2x', '5x', '10x'] as const;
export type Scale = (typeof SCALES)[number];

export function isScale(value: unknown): value is Scale {
  return typeof value === 'string' && (SCALES as readonly string[]).includes(value);
}

/** Copies of the full catalogue a scale holds (`small` and `full`: 1). */
export function scaleFactor(scale: Scale): number {
  switch (scale) {
    case 'small':
    case 'full':
      return 1;
    default:
      return Number(scale.slice(0, -1));
  }
}

export interface CatalogueOptions {
  readonly scale: Scale;
  /** Rows per table (defaults: 24). */
  readonly rows?: number;
}

// ---------------------------------------------------------------------------------------------
// Synthetic tokens of the scaled catalogues

/** Copy c of a token uses letter c; copy 0 is the real token. 26 copies at most. */
const COPY_LETTERS = 'abcdefghijklmnopqrstuvwxyz';
export const MAX_COPIES = COPY_LETTERS.length;

/** Entity and mkt-type tokens a copy replaces. */
export type TokenKind = 'pair' | 'ccy' | 'etf' | 'mktType';

/** The mkt types of the catalogue (`mkt_{type}` and `mkt_{type}_bqx`, `mkt_reg_summary`). */
export const MKT_TYPES = ['corr', 'dispersion', 'regime', 'sentiment', 'vol', 'reg'] as const;

function copyLetter(copy: number): string {
  if (!Number.isInteger(copy) || copy < 1 || copy >= MAX_COPIES) throw new Error(`copy ${copy} is not between 1 and ${MAX_COPIES - 1}`);
  return COPY_LETTERS[copy];
}

/**
 * The synthetic token of copy `copy` (≥ 1) for a real token. Currencies become `q<copy><index>`
 * (`aud` → `qba` in copy 1) and pairs the concatenation of their currencies' (`audcad` → `qbaqbb`),
 * so the order of currencies and pairs within a copy is the real order (the `sorted` slots of cov
 * and tri names stay sorted) and no synthetic token contains a real one (the extract job's
 * `contains: {pair}` rule finds no synthetic table for a real pair). ETFs become `z<copy><index>`,
 * mkt types `<type>q<copy>` (`corr` → `corrqb`).
 */
export function copyToken(kind: TokenKind, token: string, copy: number): string {
  const c = copyLetter(copy);
  switch (kind) {
    case 'ccy': {
      const j = (CURRENCIES as readonly string[]).indexOf(token);
      if (j < 0) throw new Error(`${token} is not a currency of the catalogue`);
      return `q${c}${COPY_LETTERS[j]}`;
    }
    case 'pair':
      if (!(PAIRS as readonly string[]).includes(token)) throw new Error(`${token} is not a pair of the catalogue`);
      return copyToken('ccy', token.slice(0, 3), copy) + copyToken('ccy', token.slice(3), copy);
    case 'etf': {
      const j = (ETFS as readonly string[]).indexOf(token);
      if (j < 0) throw new Error(`${token} is not an ETF of the catalogue`);
      return `z${c}${COPY_LETTERS[j]}`;
    }
    case 'mktType':
      if (!(MKT_TYPES as readonly string[]).includes(token)) throw new Error(`${token} is not a mkt type of the catalogue`);
      return `${token}q${c}`;
  }
}

/** Every token of copies 1..k-1, per kind, in the real tokens' order. */
export function syntheticTokens(k: number): Record<TokenKind, string[]> {
  const out: Record<TokenKind, string[]> = { pair: [], ccy: [], etf: [], mktType: [] };
  for (let copy = 1; copy < k; copy++) {
    out.pair.push(...PAIRS.map((t) => copyToken('pair', t, copy)));
    out.ccy.push(...CURRENCIES.map((t) => copyToken('ccy', t, copy)));
    out.etf.push(...ETFS.map((t) => copyToken('etf', t, copy)));
    out.mktType.push(...MKT_TYPES.map((t) => copyToken('mktType', t, copy)));
  }
  return out;
}

/** Real or synthetic entity token → its kind, real token and copy (0: real). Built once, all copies. */
let entityIndex: Map<string, { kind: 'pair' | 'ccy' | 'etf'; real: string; copy: number }> | null = null;

export function entityToken(token: string): { kind: 'pair' | 'ccy' | 'etf'; real: string; copy: number } | undefined {
  if (!entityIndex) {
    entityIndex = new Map();
    for (let copy = 0; copy < MAX_COPIES; copy++) {
      for (const [kind, list] of [['pair', PAIRS], ['ccy', CURRENCIES], ['etf', ETFS]] as const) {
        for (const real of list) entityIndex.set(copy === 0 ? real : copyToken(kind, real, copy), { kind, real, copy });
      }
    }
  }
  return entityIndex.get(token);
}

/** A table name or content key of copy `copy`: every entity token, and the type of a mkt name, replaced. */
export function copyName(name: string, copy: number): string {
  const tokens = name.split('_');
  return tokens
    .map((t, i) => {
      if (tokens[0] === 'mkt' && i === 1) return copyToken('mktType', t, copy);
      const e = entityToken(t);
      return e && e.copy === 0 ? copyToken(e.kind, t, copy) : t;
    })
    .join('_');
}

const SMALL = {
  pairs: ['audcad', 'audchf', 'eurusd', 'gbpusd', 'nzdusd'],
  currencies: ['aud', 'chf', 'nzd', 'usd'],
  etfs: ['gld', 'spy'],
};

const WINDOWS_LAG = [45, 90] as const;

function col(name: string, type: ColumnType = 'FLOAT64'): Column {
  return { name, type };
}

const keyCols = (...names: string[]): Column[] => names.map((n) => col(n, n === 'interval_time' ? 'TIMESTAMP' : 'STRING'));

/** Feature columns of a primary family table (a representative subset of the real ones). */
function primaryColumns(type: string): Column[] {
  const ws = [45, 90, 180, 360, 720, 1440, 2880];
  const metrics: Record<string, string[]> = {
    agg: ['mean', 'std', 'min', 'max'],
    align: ['score', 'agree'],
    base: ['close', 'open', 'high', 'low'],
    cyc: ['sin', 'cos'],
    der: ['d1', 'd2'],
    div: ['score'],
    ext: ['max_dist', 'min_dist'],
    mom: ['roc', 'bqx'],
    mrt: ['zscore', 'halflife'],
    reg: ['lin_coef', 'quad_coef', 'const_term', 'lin_term', 'quad_term', 'residual', 'r2', 'rmse'],
    rev: ['signal'],
    vol: ['atr', 'std'],
  };
  const windows = type === 'base' ? [] : type === 'reg' ? ws : ws.slice(0, 4);
  const ms = metrics[type];
  if (type === 'base') return [...keyCols('interval_time', 'pair'), ...ms.map((m) => col(`base_${m}`)), col('volume', 'INT64')];
  return [...keyCols('interval_time', 'pair'), ...windows.flatMap((w) => ms.map((m) => col(`${type}_${m}_${w}`)))];
}

function tmpColumns(): Column[] {
  return [
    ...keyCols('interval_time', 'pair'),
    col('hour_sin'),
    col('hour_cos'),
    col('dow_sin'),
    col('dow_cos'),
    col('minute_of_day', 'INT64'),
    col('is_asian_session', 'BOOL'),
    col('is_london_session', 'BOOL'),
    col('is_ny_session', 'BOOL'),
  ];
}

function lagColumns(variant: 'idx' | 'bqx', w: number): Column[] {
  if (variant === 'idx') {
    return [
      ...keyCols('interval_time', 'pair'),
      ...['close_lag', 'high_lag', 'low_lag', 'open_lag', 'volume_lag', 'volume_sma', 'hl_range', 'momentum', 'return_lag', 'sma', 'volatility'].map((m) =>
        col(`${m}_${w}`),
      ),
    ];
  }
  return [
    ...keyCols('interval_time', 'pair'),
    col('bqx_close'),
    col(`bqx_lag_${w}`),
    col(`ema_${w}`),
    col(`hl_range_${w}`),
    col(`momentum_${w}`),
    col('period_minutes', 'INT64'),
    col(`positive_ratio_${w}`),
    col(`return_lag_${w}`),
    col(`sma_${w}`),
    col(`volatility_${w}`),
  ];
}

function regimeColumns(variant: 'idx' | 'bqx', w: number): Column[] {
  const base = [
    ...keyCols('interval_time', 'pair'),
    col(`hl_range_${w}`),
    col(`return_lag_${w}`),
    col(`volatility_${w}`),
    col('range_p33'),
    col('range_p66'),
    col('range_regime', 'STRING'),
    col('range_regime_code', 'INT64'),
    col('return_regime', 'STRING'),
    col('return_regime_code', 'INT64'),
    col('vol_p33'),
    col('vol_p66'),
    col('volatility_regime', 'STRING'),
    col('volatility_regime_code', 'INT64'),
  ];
  if (variant === 'idx') return base;
  return [
    ...base,
    col(`momentum_${w}`),
    col('momentum_p33'),
    col('momentum_p66'),
    col('momentum_regime', 'STRING'),
    col('momentum_regime_code', 'INT64'),
    col('period_minutes', 'INT64'),
  ];
}

function covColumns(type: string): Column[] {
  const head = [...keyCols('interval_time', 'pair1', 'pair2'), col('val1'), col('val2'), col('spread'), col('ratio')];
  if (type === 'lag') return [...head, ...[1, 2, 3, 5, 10, 15, 30, 45, 60].map((n) => col(`spread_lag_${n}`))];
  return [
    ...head,
    col('spread_ma_45'),
    col('spread_ma_180'),
    col('spread_std_45'),
    col('spread_zscore'),
    col('sign_agreement', 'INT64'),
    col('rolling_agreement_45'),
    col('mean_reversion_signal', 'INT64'),
  ];
}

function triColumns(): Column[] {
  return [
    ...keyCols('interval_time', 'base_curr', 'quote_curr', 'cross_curr'),
    col('pair1_val'),
    col('pair2_val'),
    col('pair3_val'),
    col('synthetic_val'),
    col('tri_error'),
    col('error_ma_45'),
    col('error_ma_180'),
    col('error_std_180'),
    col('error_zscore'),
    col('error_regime', 'INT64'),
    col('arb_opportunity', 'BOOL'),
  ];
}

function varColumns(type: string): Column[] {
  if (type === 'corr') {
    return [...keyCols('interval_time', 'currency', 'p1', 'p2', 'p3'), col('corr_12_45'), col('corr_12_180'), col('corr_change'), col('corr_regime', 'INT64'), col('family_coherence')];
  }
  return [...keyCols('interval_time', 'currency'), ...[45, 90, 180].flatMap((w) => [col(`var_${type}_mean_${w}`), col(`var_${type}_disp_${w}`)])];
}

function corrColumns(): Column[] {
  return [
    ...keyCols('interval_time', 'fx_pair', 'ibkr_instrument'),
    col('corr_30min'),
    col('corr_60min'),
    col('corr_90min'),
    col('covar_60min'),
    col('fx_volatility_60min'),
    col('ibkr_volatility_60min'),
  ];
}

function csiColumns(type: string): Column[] {
  return [...keyCols('interval_time', 'currency'), ...[45, 90, 180].flatMap((w) => [col(`csi_${type}_strength_${w}`), col(`csi_${type}_rank_${w}`)])];
}

function mktColumns(type: string, summary: boolean): Column[] {
  if (summary) return [...keyCols('interval_time'), col('reg_slope_mean'), col('reg_r2_mean'), col('pairs_covered', 'INT64')];
  return [...keyCols('interval_time'), ...[45, 90, 180].flatMap((w) => [col(`mkt_${type}_mean_${w}`), col(`mkt_${type}_std_${w}`)])];
}

function sharesCurrency(p1: string, p2: string): boolean {
  const c1 = [p1.slice(0, 3), p1.slice(3)];
  return c1.includes(p2.slice(0, 3)) || c1.includes(p2.slice(3));
}

/**
 * Builds the catalogue. `full` is the 5,817 tables of the real dataset; `2x`, `5x`, `10x` that many
 * copies of it (see SCALES), anomalies planted in every copy.
 */
export function buildCatalogue(opts: CatalogueOptions): CatalogueTable[] {
  const k = scaleFactor(opts.scale);
  const base = baseTables(opts.scale === 'small', opts.rows ?? 24);
  const tables = [...base];
  for (let copy = 1; copy < k; copy++) {
    for (const t of base) tables.push({ ...t, name: copyName(t.name, copy), content: { ...t.content, key: copyName(t.content.key, copy) } });
  }
  return plantAnomalies(tables, anomaliesOf(opts.scale)).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The anomalies planted in a scale: the three of the real catalogue, and their counterparts in every copy. */
export function anomaliesOf(scale: Scale): Anomaly[] {
  const out = [...ANOMALIES];
  for (let copy = 1; copy < scaleFactor(scale); copy++) {
    for (const a of ANOMALIES) out.push({ ...a, table: copyName(a.table, copy), description: `copy ${copy} of ${a.table}: ${a.description}` });
  }
  return out;
}

/** The tables of the real catalogue (`small`: its small universe), before anomalies are planted. */
function baseTables(small: boolean, rows: number): CatalogueTable[] {
  const pairs = small ? SMALL.pairs : [...PAIRS];
  const ccys = small ? SMALL.currencies : [...CURRENCIES];
  const etfs = small ? SMALL.etfs : [...ETFS];
  const inUniverse = (tri: string) => tri.split('_').every((c) => ccys.includes(c));
  const out: CatalogueTable[] = [];
  const add = (name: string, columns: Column[], clusterBy: string[], key: string, variant: ContentVariant, startOffset = 0) =>
    out.push({ name, columns, partitionBy: 'interval_time', clusterBy, content: { key, variant, rows, startOffset } });

  for (const pair of pairs) {
    for (const t of ['agg', 'align', 'der', 'div', 'mom', 'mrt', 'rev', 'vol', 'reg', 'base']) {
      for (const v of ['bqx', 'idx'] as const) add(`${t}_${v}_${pair}`, primaryColumns(t), ['pair'], `${t}_${v}_${pair}`, v);
    }
    for (const t of ['cyc', 'ext']) add(`${t}_bqx_${pair}`, primaryColumns(t), ['pair'], `${t}_bqx_${pair}`, 'bqx');
    add(`tmp_${pair}`, tmpColumns(), ['pair'], `tmp_${pair}`, 'none');
    for (const w of WINDOWS_LAG) {
      const start = w === 90 ? 2 : 0;
      add(`lag_${pair}_${w}`, lagColumns('idx', w), ['pair'], `lag_idx_${pair}_${w}`, 'idx', start);
      add(`lag_idx_${pair}_w${w}`, lagColumns('idx', w), ['pair'], `lag_idx_${pair}_${w}`, 'idx', start);
      add(`lag_bqx_${pair}_${w}`, lagColumns('bqx', w), ['pair'], `lag_bqx_${pair}_${w}`, 'bqx', start);
      add(`lag_bqx_${pair}_w${w}`, lagColumns('bqx', w), ['pair'], `lag_bqx_${pair}_${w}`, 'bqx', start);
      add(`regime_${pair}_${w}`, regimeColumns('idx', w), ['pair'], `regime_idx_${pair}_${w}`, 'idx', start);
      add(`regime_bqx_${pair}_${w}`, regimeColumns('bqx', w), ['pair'], `regime_bqx_${pair}_${w}`, 'bqx', start);
    }
  }

  const sortedPairs = [...pairs].sort();
  for (let i = 0; i < sortedPairs.length; i++) {
    for (let j = i + 1; j < sortedPairs.length; j++) {
      const [p1, p2] = [sortedPairs[i], sortedPairs[j]];
      const shared = sharesCurrency(p1, p2);
      for (const t of ['agg', 'align']) {
        // The Tier-1 regenerator wrote BQX values to the un-suffixed name (facts §3.1).
        add(`cov_${t}_${p1}_${p2}`, covColumns(t), ['pair1'], `cov_${t}_bqx_${p1}_${p2}`, 'bqx');
        add(`cov_${t}_idx_${p1}_${p2}`, covColumns(t), ['pair1'], `cov_${t}_idx_${p1}_${p2}`, 'idx');
        if (shared) add(`cov_${t}_bqx_${p1}_${p2}`, covColumns(t), ['pair1'], `cov_${t}_bqx_${p1}_${p2}`, 'bqx');
      }
      if (!shared) continue;
      for (const t of ['lag', 'mom', 'reg', 'regime', 'vol']) {
        // Every un-suffixed one has a _bqx_ twin, so the un-suffixed copies hold IDX (facts §3.1).
        add(`cov_${t}_${p1}_${p2}`, covColumns(t), ['pair1'], `cov_${t}_idx_${p1}_${p2}`, 'idx');
        add(`cov_${t}_bqx_${p1}_${p2}`, covColumns(t), ['pair1'], `cov_${t}_bqx_${p1}_${p2}`, 'bqx');
      }
    }
  }

  for (const pair of pairs) {
    for (const etf of etfs) {
      add(`corr_ibkr_${pair}_${etf}`, corrColumns(), [], `corr_etf_idx_${pair}_${etf}`, 'idx');
      add(`corr_bqx_ibkr_${pair}_${etf}`, corrColumns(), [], `corr_etf_bqx_${pair}_${etf}`, 'bqx');
      add(`corr_etf_idx_${pair}_${etf}`, corrColumns(), [], `corr_etf_idx_${pair}_${etf}`, 'idx');
      add(`corr_etf_bqx_${pair}_${etf}`, corrColumns(), [], `corr_etf_bqx_${pair}_${etf}`, 'bqx');
    }
  }

  for (const tri of TRIANGLES_18.filter(inUniverse)) {
    for (const t of ['agg', 'align', 'mom', 'vol']) {
      for (const v of ['bqx', 'idx'] as const) add(`tri_${t}_${v}_${tri}`, triColumns(), [], `tri_${t}_${v}_${tri}`, v);
    }
  }
  for (const tri of [...TRIANGLES_18, ...TRIANGLES_REG_EXTRA].filter(inUniverse)) {
    for (const v of ['bqx', 'idx'] as const) add(`tri_reg_${v}_${tri}`, triColumns(), [], `tri_reg_${v}_${tri}`, v);
  }

  for (const ccy of ccys) {
    for (const t of ['agg', 'align']) for (const v of ['bqx', 'idx'] as const) add(`var_${t}_${v}_${ccy}`, varColumns(t), ['currency'], `var_${t}_${v}_${ccy}`, v);
    if (ccy !== 'nzd') {
      add(`var_corr_${ccy}`, varColumns('corr'), ['currency'], `var_corr_idx_${ccy}`, 'idx');
      add(`var_corr_bqx_${ccy}`, varColumns('corr'), ['currency'], `var_corr_bqx_${ccy}`, 'bqx');
      add(`var_corr_idx_${ccy}`, varColumns('corr'), ['currency'], `var_corr_idx_${ccy}`, 'idx');
    }
    if (ccy !== 'usd') add(`var_lag_bqx_${ccy}`, varColumns('lag'), ['currency'], `var_lag_bqx_${ccy}`, 'bqx');
    if (['aud', 'cad', 'chf'].includes(ccy)) add(`var_lag_idx_${ccy}`, varColumns('lag'), ['currency'], `var_lag_idx_${ccy}`, 'idx');
    for (const t of ['agg', 'align', 'der', 'mom', 'mrt', 'reg', 'rev', 'vol']) add(`csi_${t}_${ccy}`, csiColumns(t), ['currency'], `csi_${t}_idx_${ccy}`, 'idx');
    for (const t of ['agg', 'align', 'der', 'mom', 'mrt', 'reg', 'rev', 'vol', 'cyc', 'ext']) add(`csi_${t}_bqx_${ccy}`, csiColumns(t), ['currency'], `csi_${t}_bqx_${ccy}`, 'bqx');
  }

  for (const t of ['corr', 'dispersion', 'regime', 'sentiment', 'vol']) {
    add(`mkt_${t}`, mktColumns(t, false), [], `mkt_${t}_idx`, 'idx');
    add(`mkt_${t}_bqx`, mktColumns(t, false), [], `mkt_${t}_bqx`, 'bqx');
  }
  add('mkt_reg_summary', mktColumns('reg', true), [], 'mkt_reg_idx_summary', 'idx');
  add('mkt_reg_bqx_summary', mktColumns('reg', true), [], 'mkt_reg_bqx_summary', 'bqx');

  return out;
}

function plantAnomalies(tables: CatalogueTable[], anomalies: readonly Anomaly[]): CatalogueTable[] {
  const byName = new Map(anomalies.map((a) => [a.table, a]));
  return tables.map((t) => {
    const a = byName.get(t.name);
    if (!a) return t;
    switch (a.kind) {
      case 'VARIANT_AMBIGUOUS':
        return { ...t, anomaly: a.kind, content: { ...t.content, key: `${t.name}#ambiguous`, variant: 'ambiguous' } };
      case 'TWIN_DIFFERS':
        return { ...t, anomaly: a.kind, content: { ...t.content, perturbed: true } };
      case 'EMPTY_TABLE':
        return { ...t, anomaly: a.kind, content: { ...t.content, rows: 0 } };
    }
  });
}

/** The other datasets of the project, created as schemas with a few representative tables. */
export const OTHER_DATASETS = [
  'bqx_bq_uscen1_v2',
  'bqx_ml_v3_analytics_v2',
  'bqx_ml_v3_models',
  'bqx_ml_v3_predictions',
  'bqx_ml_v3_training',
  'bqx_ml_v3_staging',
  'bqx_ml_v3_temp',
] as const;
