/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of the BigQuery REST double: the engine talks
 * to the proxy as if it were BigQuery, and a seeded fraction of its requests meet what the network
 * and Google's front ends really do to a client:
 *
 * - `rateLimit`: 403 rateLimitExceeded, the request never reaches BigQuery;
 * - `unavailableBefore`: 500 or 503 before forwarding (nothing happened);
 * - `unavailableAfter`: the request is forwarded and acted on, then the answer is replaced by a 500
 *   or 503 (the outcome is unknown to the client);
 * - `dropBefore` / `dropAfter`: the socket is closed without an answer, before or after forwarding;
 * - `delay`: the request waits before it is forwarded.
 *
 * Decisions come from a seeded PRNG, so a failing run can be replayed; counts per kind are kept.
 */
import * as http from 'http';
import { closeServer, listenOnLoopback } from '../loopback';
import { mulberry32 } from './double';

export const PROXY_FAULTS = ['rateLimit', 'unavailableBefore', 'unavailableAfter', 'dropBefore', 'dropAfter', 'delay'] as const;
export type ProxyFault = (typeof PROXY_FAULTS)[number];

export interface FaultProxyOptions {
  /** Where requests go when no fault is injected. */
  readonly target: string;
  /** Fraction of requests that meet a fault (0–1). */
  readonly rate: number;
  readonly seed?: number;
  /** Which faults may be injected (default all), picked uniformly. */
  readonly kinds?: readonly ProxyFault[];
  /** Real milliseconds a `delay` waits (default 20–120). */
  readonly delayMs?: readonly [number, number];
  /** Only requests this returns true for may meet a fault (default: every request). */
  readonly applies?: (method: string, path: string) => boolean;
}

export class FaultProxy {
  readonly injected: Record<ProxyFault, number> = { rateLimit: 0, unavailableBefore: 0, unavailableAfter: 0, dropBefore: 0, dropAfter: 0, delay: 0 };
  requests = 0;
  endpoint = '';
  private server: http.Server | null = null;
  private readonly random: () => number;
  private readonly target: URL;
  /** Faults can be switched off (e.g. to let a run finish cleanly). */
  rate: number;

  constructor(private readonly opts: FaultProxyOptions) {
    this.random = mulberry32(opts.seed ?? 7);
    this.target = new URL(opts.target);
    this.rate = opts.rate;
  }

  get totalInjected(): number {
    return Object.values(this.injected).reduce((a, b) => a + b, 0);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.endpoint = await listenOnLoopback(this.server);
    return this.endpoint;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = null;
  }

  private pick(method: string, path: string): ProxyFault | null {
    this.requests++;
    if (this.opts.applies && !this.opts.applies(method, path)) return null;
    if (this.random() >= this.rate) return null;
    const kinds = this.opts.kinds ?? PROXY_FAULTS;
    return kinds[Math.floor(this.random() * kinds.length)];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const fault = this.pick(req.method ?? 'GET', req.url ?? '/');
    if (fault) this.injected[fault]++;
    const status5xx = () => (this.random() < 0.5 ? 500 : 503);
    switch (fault) {
      case 'rateLimit':
        return this.error(res, 403, 'rateLimitExceeded', 'Exceeded rate limits: too many api requests per user per method for this user_method');
      case 'unavailableBefore':
        return this.error(res, status5xx(), 'backendError', 'The service is currently unavailable.');
      case 'dropBefore':
        req.socket.destroy();
        return;
      case 'delay': {
        const [lo, hi] = this.opts.delayMs ?? [20, 120];
        await new Promise((r) => setTimeout(r, lo + Math.floor(this.random() * (hi - lo))));
        break;
      }
      default:
        break;
    }
    let upstream: { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
    try {
      upstream = await this.forward(req, body);
    } catch (e) {
      return this.error(res, 502, 'backendError', `proxy: upstream failed: ${(e as Error).message}`);
    }
    if (fault === 'unavailableAfter') return this.error(res, status5xx(), 'backendError', 'The service is currently unavailable.');
    if (fault === 'dropAfter') {
      req.socket.destroy();
      return;
    }
    const headers = { ...upstream.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    res.writeHead(upstream.status, headers);
    res.end(upstream.body);
  }

  private forward(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: this.target.host };
      delete headers['content-length'];
      const up = http.request(
        { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: { ...headers, 'content-length': String(body.length) } },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (c) => chunks.push(c as Buffer));
          r.on('end', () => resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(chunks) }));
          r.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });
  }

  private error(res: http.ServerResponse, status: number, reason: string, message: string): void {
    const body = JSON.stringify({ error: { code: status, message, errors: [{ reason, message, domain: 'global' }], status: status === 403 ? 'PERMISSION_DENIED' : 'UNAVAILABLE' } });
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}
