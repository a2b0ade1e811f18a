import { BqxError } from '../../core/errors';
import type { EngineOptions } from '../../scripts/options';
import type { Engine } from '../engine';

// Placeholder replaced by the DuckDB engine implementation.
export async function openDuckDbEngine(_opts: EngineOptions): Promise<Engine> {
  throw new BqxError('NOT_BUILT', 'the DuckDB engine is not built yet', undefined, 1);
}
