import { openEngine } from '../engines';
import type { Engine, EngineOptions } from '../core/ports/engine';

/** Opens the engine the options name, runs `f` with it and closes it, whatever happens. */
export async function withEngine<T>(options: EngineOptions, f: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(options);
  try {
    return await f(engine);
  } finally {
    await engine.close();
  }
}

/** `engine:where` as reports and messages name a warehouse. */
export function describeWarehouse(o: EngineOptions): string {
  return `${o.engine}:${o.engine === 'duckdb' ? o.database : o.project}/${o.dataset}`;
}
