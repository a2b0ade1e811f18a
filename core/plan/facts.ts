import type { ReadRequest, ReadResults } from '../ports/engine';

/** The reads the planner needs from a warehouse; engines provide them (the planner never writes). */
export interface FactSource {
  readonly maxParallelOperations: number;
  sampleNumeric(table: string, column: string, limit: number): Promise<number[]>;
  contentFingerprint(table: string): Promise<{ rows: number; hash: string }>;
  keyStats(table: string, key: string): Promise<{ rows: number; distinctKeys: number; nullKeys: number }>;
  columnsAgreeOnKey(a: string, b: string, key: string, columns: readonly string[]): Promise<Record<string, boolean>>;
  /** Optional: many reads at once (Engine.readMany); each answer, or error, is the single read's. */
  readMany?(req: ReadRequest): Promise<ReadResults>;
}

export type Sample = { readonly column: string | null; readonly values: readonly number[] } | { readonly error: string };
export type Fingerprint = { readonly rows: number; readonly hash: string } | { readonly error: string };
export type KeyStat = { readonly rows: number; readonly distinctKeys: number; readonly nullKeys: number } | { readonly error: string };

/** Everything read from the warehouse while planning, keyed so the decision is a pure function of it. */
export interface PlanningFacts {
  readonly samples: Map<string, Sample>;
  readonly fingerprints: Map<string, Fingerprint>;
  readonly keyStats: Map<string, KeyStat>;
  /** key `${a}|${b}` → per-column agreement. */
  readonly agreement: Map<string, Record<string, boolean> | { error: string }>;
  /** Tables the planning budget did not allow reading (in the order they were refused). */
  readonly overBudget: Set<string>;
  bytesRead: number;
}

export function emptyFacts(): PlanningFacts {
  return { samples: new Map(), fingerprints: new Map(), keyStats: new Map(), agreement: new Map(), overBudget: new Set(), bytesRead: 0 };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
