/**
 * What tables.get says about the tables the engine reads, kept briefly. Metadata calls are free and
 * take no job slot, so the engine answers from them what they prove on their own:
 *
 * - a plain table's row count (`numRows`: exactly COUNT(*) when no streaming buffer is attached);
 * - an upper bound of the bytes a read can scan (the logical bytes of every table it reads,
 *   streaming buffer included): a read whose bound is within the byte cap needs no dry run, and
 *   the job still carries maximumBytesBilled, so BigQuery itself refuses a read above the cap
 *   before it runs whatever the metadata said;
 * - whether a table changed since a content read (`fingerprintSignature`).
 */
import type { Clock } from './limits';
import { kindOf, type CatalogReader, type RestTable } from './catalog';

/** How long a tables.get answer serves byte bounds and fingerprint signatures (clock ms). */
export const METADATA_TTL_MS = 30_000;

/** A table with no streaming buffer: its numRows and numBytes are the whole table. */
export function plainTable(t: RestTable | null | undefined): t is RestTable {
  return !!t && kindOf(t.type) === 'TABLE' && !t.streamingBuffer;
}

/**
 * What must be unchanged for a table's content to be unchanged: its identity (creation time), its
 * last change (lastModifiedTime moves on every write: DML, loads, streaming commits, schema
 * changes), size and schema. Null when the metadata cannot vouch for the content (no such table,
 * not a plain table, a streaming buffer attached, no lastModifiedTime). These are the conditions
 * under which BigQuery itself serves a query from its result cache.
 */
export function fingerprintSignature(t: RestTable | null | undefined): string | null {
  if (!plainTable(t) || !t.lastModifiedTime) return null;
  const schema = (t.schema?.fields ?? []).map((f) => [f.name, f.type, f.mode ?? null]);
  return JSON.stringify([t.creationTime ?? null, t.lastModifiedTime, t.numRows ?? null, t.numBytes ?? null, schema]);
}

export class TableMetadata {
  private readonly seen = new Map<string, { at: number; t: RestTable | null }>();
  /** tables.get calls in flight: concurrent lookups of one name share one call. */
  private readonly asking = new Map<string, Promise<RestTable | null>>();
  /** Per name, bumped by `forget`: an answer to a call made before it is not remembered. */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly catalog: CatalogReader,
    private readonly clock: Clock,
    private readonly dataset: string,
  ) {}

  private key(name: string, dataset: string): string {
    return `${dataset}.${name}`;
  }

  /** tables.get now (null: no such table); remembered for byte bounds. */
  async fresh(name: string, dataset: string = this.dataset): Promise<RestTable | null> {
    const k = this.key(name, dataset);
    const generation = this.generation.get(k) ?? 0;
    const at = this.clock.now();
    const t = await this.catalog.getRestTable(name, dataset);
    if (generation === (this.generation.get(k) ?? 0)) this.seen.set(k, { at, t });
    return t;
  }

  /** The last tables.get answer if younger than METADATA_TTL_MS, else a fresh one. */
  async recent(name: string, dataset: string = this.dataset): Promise<RestTable | null> {
    const k = this.key(name, dataset);
    const e = this.seen.get(k);
    if (e && this.clock.now() - e.at < METADATA_TTL_MS) return e.t;
    const asked = this.asking.get(k);
    if (asked) return asked;
    const p: Promise<RestTable | null> = this.fresh(name, dataset).finally(() => {
      if (this.asking.get(k) === p) this.asking.delete(k);
    });
    this.asking.set(k, p);
    return p;
  }

  /** Forgets what the engine's own changes made stale (`dataset.table` keys). */
  forget(keys: readonly string[]): void {
    for (const k of keys) {
      this.generation.set(k, (this.generation.get(k) ?? 0) + 1);
      this.seen.delete(k);
      this.asking.delete(k);
    }
  }

  /**
   * At most how many bytes a read of these tables (of the engine's dataset) can scan: the sum of
   * their logical bytes and streaming-buffer estimates. Null when one of them is not a table or is
   * missing (the caller then asks a dry run).
   */
  async bytesBound(names: readonly string[]): Promise<number | null> {
    let total = 0;
    for (const t of await Promise.all([...new Set(names)].map((n) => this.recent(n)))) {
      if (!t || kindOf(t.type) !== 'TABLE') return null;
      total += Number(t.numBytes ?? 0) + Number(t.streamingBuffer?.estimatedBytes ?? 0);
    }
    return total;
  }
}
