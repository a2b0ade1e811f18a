import type { EngineOptions } from '../core/ports/engine';
import { withEngine } from './engine';

export type TableFingerprints = Record<string, { kind: string; rows: number; hash: string }>;

/** Row count and order-independent content hash of every table and view of the dataset. */
export async function fingerprintWarehouse(options: EngineOptions): Promise<TableFingerprints> {
  return withEngine({ ...options, readOnly: true }, async (engine) => {
    const out: TableFingerprints = {};
    for (const t of await engine.listTables()) {
      const f = await engine.contentFingerprint(t.name);
      out[t.name] = { kind: t.kind, rows: f.rows, hash: f.hash };
    }
    return out;
  });
}
