import { openEngine } from '../engines';
import type { Engine, EngineOptions } from '../core/ports/engine';

/** Opens the engine the options name, runs `f` with it and closes it, whatever happens. */
export async function withEngine<T>(options: EngineOptions, f: (engine: Engine) => Promise<T>): Promise<T> {
  const engine = await openEngine(options);
  let result: T;
  try {
    result = await f(engine);
  } catch (e) {
    // The verb's own error says what happened; closing (a last ledger flush) may fail for the same
    // cause (a full disk) and must not replace it.
    await engine.close().catch(() => undefined);
    throw e;
  }
  await engine.close();
  return result;
}

/** `engine:where` as reports and messages name a warehouse. */
export function describeWarehouse(o: EngineOptions): string {
  return `${o.engine}:${o.engine === 'duckdb' ? o.database : o.project}/${o.dataset}`;
}
