import PQueue from 'p-queue';

/** Time source the job machinery runs on; tests and the bench inject a scaled one. */
export interface Clock {
  /** Milliseconds (of the clock's own time, simulated or real). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/**
 * A clock whose time runs `speedup` times faster than the wall clock: sleeping 10 s of clock time
 * waits 10 s / speedup. The HTTP double uses the same kind of clock, so quotas expressed in
 * "per 10 s" hold in simulated time on both sides.
 */
export function scaledClock(speedup: number): Clock {
  const start = Date.now();
  return {
    now: () => (Date.now() - start) * speedup,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / speedup))),
  };
}

/**
 * Sliding-window limiter keyed by resource: at most `limit` updates per `windowMs` per key
 * (BigQuery: 5 table metadata updates per 10 s per table). BigQuery counts an update when the job
 * applies it, somewhere between submit and completion, so a grant occupies the window from the
 * moment it is given until `windowMs` after its job completed (`release`): conservative, and
 * never a sixth update inside any server-side window whatever the job latency.
 */
export class KeyedRateLimiter {
  private readonly grants = new Map<string, { start: number; end: number | null }[]>();
  private readonly waiting = new Map<string, Promise<void>>();
  /** Every grant's start time (clock ms) per key, for tests. */
  readonly granted = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly clock: Clock,
    /** Says what a caller waits for once it has waited more than `noticeAfterMs`, then every `noticeAfterMs`. */
    private readonly notice: ((line: string) => void) | null = null,
    private readonly noticeAfterMs = 5_000,
  ) {}

  /** Waits for a free slot and returns the function to call when the job has completed. */
  async acquire(key: string): Promise<() => void> {
    // Serialise callers per key so two of them never take the same slot.
    const previous = this.waiting.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chain = previous.then(() => mine);
    this.waiting.set(key, chain);
    const since = this.clock.now();
    let announced = -Infinity;
    await previous;
    try {
      for (;;) {
        const now = this.clock.now();
        const live = (this.grants.get(key) ?? []).filter((g) => g.end === null || g.end > now - this.windowMs);
        this.grants.set(key, live);
        if (live.length < this.limit) {
          const grant = { start: now, end: null as number | null };
          live.push(grant);
          this.granted.set(key, [...(this.granted.get(key) ?? []), now]);
          return () => {
            grant.end = this.clock.now();
          };
        }
        const finished = live.filter((g) => g.end !== null).map((g) => (g.end as number) + this.windowMs - now);
        // Wait for the oldest finished grant to leave the window, or poll while all are in flight.
        const wait = Math.max(1, (finished.length > 0 ? Math.min(...finished) : this.windowMs / 20) + this.windowMs / 100);
        // A wait that makes this caller's total pass the notice threshold is announced, then one line per threshold.
        if (this.notice && now - since + wait > this.noticeAfterMs && now - announced >= this.noticeAfterMs) {
          announced = now;
          const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
          this.notice(`bqx: waiting for the metadata-update quota of table ${key} (${this.limit} updates per ${s(this.windowMs)}): ${s(now - since)} so far, next look in ${s(wait)}`);
        }
        await this.clock.sleep(wait);
      }
    } finally {
      release();
      if (this.waiting.get(key) === chain) this.waiting.delete(key);
    }
  }
}

export interface AdaptiveLimiterOptions {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Of the last CONGESTION_WINDOW submissions' outcomes, at least CONGESTION_SIGNALS refused for a
 * rate limit is congestion (the limiter halves); fewer is noise, absorbed by each refused job's own
 * backoff. Under a quota the limiter really exceeds (too many concurrent jobs) most submissions
 * above it are refused, so the window fills at once; a lone refusal among dozens of successes (a
 * per-request rate limit met by chance) no longer halves the throughput for the ~20 jobs it takes
 * to climb back.
 */
export const CONGESTION_WINDOW = 32;
export const CONGESTION_SIGNALS = 4;

/**
 * AIMD concurrency for BigQuery jobs: halve on congestion (rate-limit refusals dense among recent
 * submissions, see CONGESTION_SIGNALS), +1 after each success, within [min, max]. p-queue applies a
 * changed concurrency to the next task it starts.
 */
export class AdaptiveLimiter {
  private readonly queue: PQueue;
  private current: number;
  /** Every change, for tests and the bench: [clock ms, new concurrency]. */
  readonly history: [number, number][] = [];
  private lastDecrease = -Infinity;
  private decreases = 0;

  constructor(
    private readonly opts: AdaptiveLimiterOptions,
    private readonly clock: Clock,
  ) {
    this.current = opts.initial;
    this.queue = new PQueue({ concurrency: opts.initial });
  }

  get concurrency(): number {
    return this.current;
  }

  get running(): number {
    return this.queue.pending;
  }

  /** Runs the task in a slot; a higher `priority` goes before lower ones still waiting. */
  run<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    return this.queue.add(task, { priority }) as Promise<T>;
  }

  /** Increments at every halving; a job remembers the epoch it was submitted in. */
  get epoch(): number {
    return this.decreases;
  }

  /**
   * A rate-limit signal from a job submitted in `epoch`. Jobs already in flight when the limit was
   * hit report it one after another; only signals from jobs submitted after the last halving count
   * towards the next one (one decrease per congestion event, as TCP does per window), and it takes
   * CONGESTION_SIGNALS of them among the last CONGESTION_WINDOW outcomes.
   */
  onRateLimited(epoch: number = this.decreases): void {
    if (epoch !== this.decreases) return;
    this.observe(true);
    if (this.outcomes.filter(Boolean).length < CONGESTION_SIGNALS) return;
    this.decreases++;
    this.outcomes = [];
    this.lastDecrease = this.clock.now();
    this.set(Math.max(this.opts.min, Math.floor(this.current / 2)));
  }

  /** The newest submissions' outcomes since the last halving (true: refused for a rate limit). */
  private outcomes: boolean[] = [];

  private observe(refused: boolean): void {
    this.outcomes.push(refused);
    if (this.outcomes.length > CONGESTION_WINDOW) this.outcomes.shift();
  }

  /**
   * +1 per success. (A hold after each halving was tried: under the bench's random 2% rate limits
   * it kept the limit low and cost 50% of throughput, while a sustained quota is already absorbed
   * by the backoff of the rejected jobs, which then go before every job that arrived after them:
   * jobs.ts `runFairly`.)
   */
  onSuccess(): void {
    this.observe(false);
    if (this.current < this.opts.max) this.set(this.current + 1);
  }

  /** Clock time of the last halving (tests). */
  get lastDecreaseAt(): number {
    return this.lastDecrease;
  }

  private set(n: number): void {
    if (n === this.current) return;
    this.current = n;
    this.queue.concurrency = n;
    this.history.push([this.clock.now(), n]);
  }

  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }
}

/** Exponential backoff with full jitter: a random wait in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.max(baseMs / 2, random() * ceiling);
}
