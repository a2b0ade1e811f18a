/**
 * Single-row reads issued together (within `gatherMs` of each other, or in one turn of the event
 * loop: the two fingerprints of a dedupe gate and those of the gates running beside it, the
 * coverage, equality and null-count reads of one consolidation, a batch's filtered-view counts)
 * run as one query job (sql.ts `fusedReadSql`) instead of one job each:
 * fewer jobs against the concurrent-query limit, fewer API round trips. Each read gets exactly
 * the row it would get alone; if the fused job fails, each read runs alone, so each answer or
 * error is its own. Reads are fused only while their byte bounds (from metadata) add up to no more
 * than the cap the fused job carries.
 */
import type { Row } from './rows';

export interface FusableRead {
  /** The read's label kind (kept when it runs alone). */
  readonly kind: string;
  readonly query: string;
  /** At most how many bytes it scans (metadata). */
  readonly bound: number;
}

interface Waiting extends FusableRead {
  resolve(rows: Row[]): void;
  reject(e: unknown): void;
}

export interface FuserOptions {
  /** Runs reads as one job and returns each read's rows, in order. */
  readonly together: (reads: readonly FusableRead[]) => Promise<Row[][]>;
  /** Runs one read as its own job. */
  readonly alone: (read: FusableRead) => Promise<Row[]>;
  /** Bytes one job may bill (the sum of the fused reads' bounds stays within it). */
  readonly byteCap: number;
  /** Most reads in one job. */
  readonly maxParts: number;
  /**
   * How long the first read of a group waits for company (clock ms) before its job is submitted;
   * a group that reaches `maxParts` goes at once. 0: only reads issued in the same turn of the
   * event loop share a job. Operations running side by side issue their reads a few milliseconds
   * apart (a dedupe gate's two fingerprints, another gate's just after): waiting a fraction of a
   * read job's own latency lets them share one job instead of taking one slot each.
   */
  readonly gatherMs?: number;
  /** Sleeps on the engine's clock (needed with `gatherMs`). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class ReadFuser {
  private waiting: Waiting[] = [];
  private scheduled = false;
  /** Jobs run, and reads they carried (for tests and the bench). */
  readonly stats = { fusedJobs: 0, fusedReads: 0, fallbacks: 0 };

  constructor(private readonly opts: FuserOptions) {}

  read(r: FusableRead): Promise<Row[]> {
    return new Promise<Row[]>((resolve, reject) => {
      this.waiting.push({ ...r, resolve, reject });
      if (this.waiting.length >= this.opts.maxParts) {
        // A full job's worth: no reason to wait longer (a pending timer finds fewer or none).
        this.flush();
        return;
      }
      if (!this.scheduled) {
        this.scheduled = true;
        const gather = this.opts.gatherMs ?? 0;
        if (gather > 0 && this.opts.sleep) void this.opts.sleep(gather).then(() => this.flushScheduled());
        else setImmediate(() => this.flushScheduled());
      }
    });
  }

  private flushScheduled(): void {
    this.scheduled = false;
    this.flush();
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    let group: Waiting[] = [];
    let bytes = 0;
    for (const w of all) {
      if (group.length && (group.length >= this.opts.maxParts || bytes + w.bound > this.opts.byteCap)) {
        void this.run(group);
        group = [];
        bytes = 0;
      }
      group.push(w);
      bytes += w.bound;
    }
    if (group.length) void this.run(group);
  }

  private async run(group: Waiting[]): Promise<void> {
    if (group.length === 1) return this.alone(group[0]);
    let rows: Row[][];
    try {
      rows = await this.opts.together(group);
    } catch {
      // One failing read fails the query: each runs alone and gets its own answer or error.
      this.stats.fallbacks++;
      await Promise.all(group.map((w) => this.alone(w)));
      return;
    }
    this.stats.fusedJobs++;
    this.stats.fusedReads += group.length;
    group.forEach((w, i) => w.resolve(rows[i]));
  }

  private async alone(w: Waiting): Promise<void> {
    try {
      w.resolve(await this.opts.alone(w));
    } catch (e) {
      w.reject(e);
    }
  }
}
