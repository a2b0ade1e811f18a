/**
 * What each column of the local warehouse means, and so which values it may hold. The seed
 * (warehouse/content.ts) generates values per kind and a test checks every column of the whole
 * catalogue against its kind's range, so that the planner is tested on values that mean what their
 * columns mean (m008-phase-4c.md §2, "Variant detection"): only a level column carries the variant.
 */
import type { Column } from '../core/catalogue';

export type ColumnKind =
  /** interval_time */
  | 'timestamp'
  /** pair, currency, legs of a comparison: constant per table */
  | 'key'
  /** regime labels (low, normal, high), in step with their `_code` column */
  | 'regime-label'
  /** The variant's signature: an indexed price of an IDX table (around 100), a `bqx_*` oscillator of a BQX table (around 0). */
  | 'level'
  /** A correlation or a bounded score: [-1, 1]. */
  | 'correlation'
  /** A share, agreement or R²: [0, 1]. */
  | 'fraction'
  /** A range, volatility, ATR, standard deviation, RMSE or distance: small and positive relative to the level. */
  | 'dispersion'
  /** A z-score: centred on 0. */
  | 'zscore'
  /** A change, return, momentum, difference, slope, coefficient or signed mean: small, around 0. */
  | 'change'
  /** val1 / val2 of a comparison table. */
  | 'ratio'
  /** The lower percentile threshold of a regime (p33), below its p66. */
  | 'threshold-low'
  /** The upper percentile threshold of a regime (p66), above its p33. */
  | 'threshold-high'
  /** A regime code: a small integer 0..2. */
  | 'regime-code'
  /** A direction or signal: -1..1 (integer-valued when INT64). */
  | 'signal'
  /** A count or volume: a non-negative integer. */
  | 'count'
  /** A rank among the 8 currencies: an integer 1..8. */
  | 'rank'
  /** A mean-reversion half-life in minutes: positive. */
  | 'halflife'
  /** The table's window in minutes. */
  | 'window'
  /** hour_sin, dow_cos, cyc_sin_*: a point on the unit circle, [-1, 1]. */
  | 'cyclic'
  /** minute_of_day: 0..1439. */
  | 'minute-of-day'
  /** is_*_session and other flags. */
  | 'flag';

const KEY_COLUMNS = new Set(['pair', 'fx_pair', 'pair1', 'pair2', 'currency', 'p1', 'p2', 'p3', 'ibkr_instrument', 'base_curr', 'quote_curr', 'cross_curr', 'model_id']);

/** Ordered rules on the column name (window suffixes included): the first match decides. */
const RULES: readonly [RegExp, ColumnKind][] = [
  [/^period_minutes$/, 'window'],
  [/^minute_of_day$/, 'minute-of-day'],
  [/^(hour|dow)_(sin|cos)$|^cyc_(sin|cos)_\d+$/, 'cyclic'],
  [/(^|_)regime_code$|^(corr|error)_regime$/, 'regime-code'],
  [/_p33$/, 'threshold-low'],
  [/_p66$/, 'threshold-high'],
  [/^(sign_agreement|mean_reversion_signal)$|^rev_signal_\d+$/, 'signal'],
  [/^(volume|pairs_covered)$|^volume_(lag|sma)_\d+$/, 'count'],
  [/_rank_\d+$/, 'rank'],
  [/^mrt_halflife_\d+$/, 'halflife'],
  [/zscore/, 'zscore'],
  // Levels: the indexed price (IDX) or the bqx oscillator (BQX) itself, lagged, smoothed or compared.
  [
    /^(base_(close|open|high|low)|bqx_close|bqx_lag_\d+|(close|open|high|low)_lag_\d+|sma_\d+|ema_\d+|agg_(mean|min|max)_\d+|mom_bqx_\d+|reg_const_term_\d+|val[12]|pair[123]_val|synthetic_val|open|high|low|close|target_bqx\d+_h\d+|predicted_bqx\d+_h\d+)$/,
    'level',
  ],
  [/^(corr_\d+_\d+|corr_\d+min|align_score_\d+|div_score_\d+|mkt_(corr|sentiment)_mean_\d+)$/, 'correlation'],
  [/^(reg_r2_\d+|reg_r2_mean|positive_ratio_\d+|rolling_agreement_\d+|align_agree_\d+|family_coherence|confidence|auc)$/, 'fraction'],
  [
    /(^|_)(hl_range|volatility)_\d+$|_(std|disp)_\d+$|^(vol_atr|reg_rmse|ext_max_dist|ext_min_dist)_\d+$|^mkt_(vol|dispersion)_mean_\d+$|^(fx|ibkr)_volatility_\d+min$/,
    'dispersion',
  ],
  [/^ratio$/, 'ratio'],
  [
    /^(return_lag|momentum|mom_roc|der_d1|der_d2|reg_(lin_coef|quad_coef|lin_term|quad_term|residual)|spread_ma|spread_lag|error_ma)_\d+$|^(spread|tri_error|corr_change|reg_slope_mean|feature_mean|covar_\d+min)$|^csi_[a-z]+_strength_\d+$|^var_[a-z]+_mean_\d+$|^mkt_regime_mean_\d+$/,
    'change',
  ],
];

/** The kind of a column, or null when no rule knows it (a test fails on any such column of the catalogue). */
export function columnKind(column: Column): ColumnKind | null {
  if (column.type === 'TIMESTAMP') return 'timestamp';
  if (column.type === 'BOOL') return 'flag';
  if (column.type === 'STRING') {
    if (KEY_COLUMNS.has(column.name)) return 'key';
    if (/_regime$/.test(column.name)) return 'regime-label';
    return null;
  }
  for (const [re, kind] of RULES) if (re.test(column.name)) return kind;
  return null;
}

/** Where a kind's values must lie, for a table of content variant `variant` (the test's contract). */
export function kindAllows(kind: ColumnKind, variant: string, v: unknown): boolean {
  if (kind === 'timestamp' || kind === 'key' || kind === 'regime-label' || kind === 'flag') return v !== null && v !== undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return false;
  const int = Number.isInteger(v);
  switch (kind) {
    case 'level':
      return variant === 'idx' ? v > 50 : variant === 'bqx' ? Math.abs(v) < 10 : variant === 'ambiguous' ? Math.abs(v) >= 10 && Math.abs(v) <= 50 : false;
    case 'correlation':
    case 'cyclic':
      return v >= -1 && v <= 1;
    case 'fraction':
      return v >= 0 && v <= 1;
    case 'dispersion':
      return v > 0 && v < 5;
    case 'zscore':
      return Math.abs(v) <= 4;
    case 'change':
      return Math.abs(v) < 10;
    case 'ratio':
      return v !== 0 && Math.abs(v) < 10;
    case 'threshold-low':
    case 'threshold-high':
      return Math.abs(v) < 5;
    case 'regime-code':
      return int && v >= 0 && v <= 2;
    case 'signal':
      return v >= -1 && v <= 1;
    case 'count':
      return int && v >= 0;
    case 'rank':
      return int && v >= 1 && v <= 8;
    case 'halflife':
      return v > 0;
    case 'window':
      return int && v >= 0;
    case 'minute-of-day':
      return int && v >= 0 && v < 1440;
  }
}
