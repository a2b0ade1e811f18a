import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { openDuckDbEngine } from '../../engines/duckdb/engine';
import type { Engine } from '../../core/ports/engine';
import type { LedgerRecord } from '../../core/ledger/types';
import type { DuckDbEngineOptions } from '../../core/ports/engine';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { seedWarehouse, type SeedStats } from '../../warehouse/seed';

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `bqx-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function engineOptions(database: string, overrides: Partial<DuckDbEngineOptions> = {}): DuckDbEngineOptions {
  return {
    engine: 'duckdb',
    database,
    project: 'bqx-ml',
    location: 'us-central1',
    dataset: FEATURES_DATASET,
    runnerDataset: 'bqx_ml_v3_migration',
    ...overrides,
  };
}

export async function seedSmall(dir: string, name = 'warehouse.duckdb'): Promise<{ database: string; stats: SeedStats }> {
  const database = path.join(dir, name);
  const stats = await seedWarehouse({ database, scale: 'small' });
  return { database, stats };
}

export function open(database: string, overrides: Partial<DuckDbEngineOptions> = {}): Promise<Engine> {
  return openDuckDbEngine(engineOptions(database, overrides));
}

/** A ledger record with every field filled: a RENAME's STARTED unless `over` says otherwise. */
export function ledgerRecord(over: Partial<LedgerRecord> & Pick<LedgerRecord, 'runId' | 'planHash' | 'operationId' | 'seq'>): LedgerRecord {
  return { action: 'RENAME', state: 'STARTED', reason: 'OK', detail: null, attempt: 1, bytes: 0, rows: null, jobId: null, at: '2026-12-07T08:00:00.000Z', ...over };
}
