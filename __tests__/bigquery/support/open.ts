import type { BigQueryEngineOptions } from '../../../core/ports/engine';
import { BigQueryEngineDeps, openBigQueryEngine, BigQueryEngine } from '../../../engines/bigquery/engine';
import { Clock, scaledClock } from '../../../engines/bigquery/limits';
import { FEATURES_DATASET } from '../../../warehouse/catalogue';
import { BigQueryDouble, DoubleOptions } from '../../../testing/bigquery/double';
import { LOCATION, PROJECT, RUNNER_DATASET } from '../../../testing/bigquery/warehouse';

export interface Harness {
  readonly double: BigQueryDouble;
  readonly engine: BigQueryEngine;
  readonly clock: Clock;
  close(): Promise<void>;
}

/**
 * The double on 127.0.0.1 (random port) and the engine on the official client pointed at it, both
 * on one simulated clock running `speedup` times faster than real time.
 */
export async function openHarness(
  seed: (d: BigQueryDouble) => void,
  opts: { speedup?: number; double?: Partial<DoubleOptions>; deps?: BigQueryEngineDeps; engine?: Partial<BigQueryEngineOptions>; before?: (d: BigQueryDouble) => void } = {},
): Promise<Harness> {
  const clock = scaledClock(opts.speedup ?? 1000);
  const double = new BigQueryDouble({ project: PROJECT, location: LOCATION, clock, ...opts.double });
  seed(double);
  const endpoint = await double.start();
  const engine = await openBigQueryEngine(
    { engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET, apiEndpoint: endpoint, ...opts.engine },
    { clock, ...opts.deps, jobs: { backoffBaseMs: 200, backoffCapMs: 5_000, ...opts.deps?.jobs } },
  );
  return {
    double,
    engine,
    clock,
    async close() {
      try {
        await engine.close();
      } finally {
        await double.stop();
      }
    },
  };
}
