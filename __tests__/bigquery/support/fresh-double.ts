/** A small seeded warehouse on the REST double, and the BigQuery engine on it, as the crash sweeps use them. */
import { planWarehouse } from '../../../app/plan';
import type { Plan } from '../../../core/plan/types';
import { loadPolicy } from '../../../core/policy';
import { openBigQueryEngine, type BigQueryEngine } from '../../../engines/bigquery/engine';
import { realClock } from '../../../engines/bigquery/limits';
import { BigQueryDouble } from '../../../testing/bigquery/double';
import { GRACE_START } from '../../../testing/bigquery/phase4c';
import { datasetState, type DatasetState } from '../../../testing/bigquery/scenario';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../../warehouse/catalogue';

export async function freshDouble(): Promise<{ double: BigQueryDouble; endpoint: string }> {
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock: realClock });
  seedDouble(double, 'small', { withRunnerDataset: true });
  return { double, endpoint: await double.start() };
}

export async function engineOn(endpoint: string): Promise<BigQueryEngine> {
  return openBigQueryEngine({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint });
}

/** The small catalogue's plan, made by the BigQuery engine on a fresh double, and that double's feature dataset before any apply. */
export async function smallPlanOnDouble(): Promise<{ plan: Plan; preApply: DatasetState }> {
  const { double, endpoint } = await freshDouble();
  const engine = await engineOn(endpoint);
  try {
    return { plan: await planWarehouse(engine, loadPolicy(), GRACE_START), preApply: datasetState(double, FEATURES_DATASET) };
  } finally {
    await engine.close();
    await double.stop();
  }
}
