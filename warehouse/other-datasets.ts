import { loadEnvironment } from '../config/environments';
/**
 * Representative tables of the project's other datasets (facts §2): enough for the tool to see
 * that they exist and are left alone, small enough to keep the seed fast.
 */
import type { Column } from '../core/catalogue';
import { PAIRS, type Scale, type TableContent } from './catalogue';

export interface SeedTable {
  readonly dataset: string;
  readonly name: string;
  readonly columns: readonly Column[];
  readonly partitionBy: string | null;
  readonly clusterBy: readonly string[];
  readonly content: TableContent;
}

/**
 * Datasets whose tables expire (scratch space), with their default expiration: taken from the prod
 * environment the stacks declare, so the local warehouse and the stacks agree.
 */
export const SCRATCH_EXPIRATION_MS: Readonly<Record<string, number>> = Object.fromEntries(
  loadEnvironment('prod')
    .datasets.filter((d) => d.defaultTableExpirationDays)
    .map((d) => [d.id, (d.defaultTableExpirationDays as number) * 24 * 3600 * 1000]),
);

const SMALL_PAIRS = ['audcad', 'eurusd', 'gbpusd'];

export function otherDatasetTables(scale: Scale, rows: number): SeedTable[] {
  const pairs = scale === 'small' ? SMALL_PAIRS : [...PAIRS];
  const ts: Column = { name: 'interval_time', type: 'TIMESTAMP' };
  const pair: Column = { name: 'pair', type: 'STRING' };
  const f = (name: string): Column => ({ name, type: 'FLOAT64' });
  const content = (key: string, variant: TableContent['variant']): TableContent => ({ key, variant, rows, startOffset: 0 });
  const out: SeedTable[] = [];
  for (const p of pairs) {
    out.push({
      dataset: 'bqx_bq_uscen1_v2',
      name: `m1_${p}`,
      columns: [ts, pair, f('open'), f('high'), f('low'), f('close'), { name: 'volume', type: 'INT64' }],
      partitionBy: 'interval_time',
      clusterBy: ['pair'],
      content: content(`m1_${p}`, 'idx'),
    });
    out.push({
      dataset: 'bqx_ml_v3_analytics_v2',
      name: `targets_${p}`,
      columns: [ts, pair, ...[45, 90].flatMap((w) => [15, 60].map((h) => f(`target_bqx${w}_h${h}`)))],
      partitionBy: 'interval_time',
      clusterBy: ['pair'],
      content: content(`targets_${p}`, 'bqx'),
    });
  }
  out.push({
    dataset: 'bqx_ml_v3_predictions',
    name: `predictions_${pairs[0]}`,
    columns: [ts, pair, f('predicted_bqx45_h15'), f('confidence')],
    partitionBy: 'interval_time',
    clusterBy: ['pair'],
    content: content(`predictions_${pairs[0]}`, 'bqx'),
  });
  out.push({
    dataset: 'bqx_ml_v3_training',
    name: `training_${pairs[0]}`,
    columns: [ts, pair, f('feature_mean'), f('target_bqx45_h15')],
    partitionBy: 'interval_time',
    clusterBy: ['pair'],
    content: content(`training_${pairs[0]}`, 'bqx'),
  });
  out.push({
    dataset: 'bqx_ml_v3_models',
    name: 'model_registry',
    columns: [{ name: 'model_id', type: 'STRING' }, pair, { name: 'created_at', type: 'TIMESTAMP' }, f('auc')],
    partitionBy: null,
    clusterBy: [],
    content: content('model_registry', 'none'),
  });
  return out;
}
