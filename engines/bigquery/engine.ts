import { BqxError } from '../../core/errors';
import type { EngineOptions } from '../../scripts/options';
import type { Engine } from '../engine';

// Placeholder replaced by the BigQuery engine implementation.
export async function openBigQueryEngine(_opts: EngineOptions): Promise<Engine> {
  throw new BqxError('NOT_BUILT', 'the BigQuery engine is not built yet', undefined, 1);
}
