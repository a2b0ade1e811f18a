import type { EngineOptions } from '../core/ports/engine';
import type { Engine } from '../core/ports/engine';

/** Opens the engine the options name. Engines load lazily so a local run never loads the cloud clients. */
export async function openEngine(opts: EngineOptions): Promise<Engine> {
  if (opts.engine === 'duckdb') {
    const { openDuckDbEngine } = await import('./duckdb/engine');
    return openDuckDbEngine(opts);
  }
  const { openBigQueryEngine } = await import('./bigquery/engine');
  return openBigQueryEngine(opts);
}
