/**
 * Discrete-event time for the bench: simulated time moves only when nothing but simulated time
 * can make progress, so a run's simulated duration is a function of the latency model alone, not
 * of how busy the machine is (a scaled wall clock charges every millisecond another process takes
 * from this one, times the speedup, to the run being measured).
 *
 * The clock knows two things: the client calls in flight (`track`, around every REST call the
 * engine makes) and, of those, how many the server has parked on simulated time (`park`, around
 * every wait of a request handler on the clock: a job's completion, a long poll, an API latency).
 * When every call in flight is parked and the event loop has nothing else to run (checked twice,
 * one setImmediate apart, with no activity in between), time jumps to the earliest pending
 * `sleep` and wakes everything due then. A call on its way (request or answer) is in flight and not
 * parked, so time never moves under it.
 *
 * CPU time is therefore free in simulated time: the bench adds an API latency per REST call
 * (double option `apiLatency`) so that a chatty client still pays for its round trips.
 */
import type { Clock } from '../../engines/bigquery/limits';

interface Timer {
  readonly due: number;
  readonly seq: number;
  readonly resolve: () => void;
}

export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];
  private activity = 0;
  private scheduled = false;
  private stopped = false;
  /** Client calls in flight, and how many of them the server holds on simulated time. */
  private inFlight = 0;
  private parked = 0;
  /** Times simulated time moved (for the bench's own report). */
  advances = 0;

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.push({ due: this.t + Math.max(0, ms), seq: ++this.seq, resolve });
      this.poke();
    });
  }

  /** Around a client call: in flight until it settles. */
  track<T>(call: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.poke();
    let p: Promise<T>;
    try {
      p = call();
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.finally(() => {
      this.inFlight--;
      this.poke();
    });
  }

  /** Around a server-side wait on simulated time. */
  park<T>(wait: Promise<T>): Promise<T> {
    this.parked++;
    this.poke();
    return wait.finally(() => {
      this.parked--;
      this.poke();
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private poke(): void {
    this.activity++;
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.check());
  }

  private quiet(): boolean {
    return this.inFlight === this.parked && this.heap.length > 0;
  }

  private check(): void {
    this.scheduled = false;
    if (this.stopped || !this.quiet()) return;
    const seen = this.activity;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.stopped) return;
      if (this.activity !== seen || !this.quiet()) return this.poke();
      this.advance();
    });
  }

  private advance(): void {
    const due = this.heap[0].due;
    this.t = Math.max(this.t, due);
    this.advances++;
    const woken: Timer[] = [];
    while (this.heap.length && this.heap[0].due <= this.t) woken.push(this.pop());
    for (const w of woken) w.resolve();
    this.poke();
  }

  // ---- binary heap on (due, seq) -----------------------------------------------------------

  private less(a: Timer, b: Timer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
