/**
 * The Google Cloud APIs readiness asks beyond BigQuery (Cloud Storage, Cloud Run Admin, Resource
 * Manager, Service Usage), over REST with a token from google-auth-library: the identity the
 * BigQuery engine acts as (the runner, impersonated), or Application Default Credentials. With a
 * test endpoint every service is served from that one base URL and only a test identity's token (a
 * fixed token, or one the test IAM Credentials endpoint issued) is sent, never real credentials.
 */
import type { GoogleAuth } from 'google-auth-library';
import { DEFAULT_TEST_TOKEN, googleAuthLibrary, type Identity } from '../../engines/bigquery/credentials';

export type GoogleService = 'storage' | 'run' | 'resourcemanager' | 'serviceusage';

const PRODUCTION: Record<GoogleService, string> = {
  storage: 'https://storage.googleapis.com',
  run: 'https://run.googleapis.com',
  resourcemanager: 'https://cloudresourcemanager.googleapis.com',
  serviceusage: 'https://serviceusage.googleapis.com',
};

export interface ApiResponse<T> {
  readonly status: number;
  readonly body: T;
}

export interface GoogleApis {
  /** Whether requests go to a test endpoint (no credentials involved). */
  readonly offline: boolean;
  /** The service account the requests act as by impersonation, if any. */
  readonly impersonating: string | null;
  request<T = Record<string, unknown>>(
    service: GoogleService,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts?: { query?: Record<string, string | string[]>; json?: unknown; media?: { contentType: string; data: string } },
  ): Promise<ApiResponse<T>>;
  /** The identity the token belongs to, when the credentials say (service account email). */
  identity(): Promise<string | null>;
  /** Obtains an access token; throws when there are no usable credentials. */
  token(): Promise<string>;
}

export interface GoogleApisOptions {
  /** One base URL for every service (a local test double); production endpoints otherwise. */
  readonly endpoint?: string;
  readonly timeoutMs?: number;
  /**
   * Act as this identity (the BigQuery engine's: the runner, impersonated). Used only when it
   * matches the endpoint: a test identity with a test endpoint, a real one with Google's.
   */
  readonly identity?: Identity;
}

export function googleApis(opts: GoogleApisOptions = {}): GoogleApis {
  const offline = Boolean(opts.endpoint);
  const id = opts.identity && opts.identity.test === offline ? opts.identity : null;
  let auth: GoogleAuth | null = null;
  const getAuth = () => (auth ??= new (googleAuthLibrary().GoogleAuth)({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }));
  const token = async (): Promise<string> => {
    if (id) return id.token();
    if (offline) return DEFAULT_TEST_TOKEN;
    const t = await getAuth().getAccessToken();
    if (!t) throw new Error('Application Default Credentials returned no access token');
    return t;
  };
  return {
    offline,
    impersonating: id?.impersonating ?? null,
    token,
    async identity() {
      if (id) return id.principal();
      if (offline) return null;
      try {
        const c = await getAuth().getCredentials();
        return c.client_email ?? null;
      } catch {
        return null;
      }
    },
    async request<T>(service: GoogleService, method: 'GET' | 'POST' | 'DELETE', path: string, o: Parameters<GoogleApis['request']>[3] = {}) {
      const base = (opts.endpoint ?? PRODUCTION[service]).replace(/\/$/, '');
      const url = new URL(base + path);
      for (const [k, v] of Object.entries(o.query ?? {})) for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, x);
      const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
      let body: string | undefined;
      if (o.media) {
        headers['content-type'] = o.media.contentType;
        body = o.media.data;
      } else if (o.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(o.json);
      }
      const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
      const text = await res.text();
      let parsed: unknown = {};
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { raw: text.slice(0, 500) };
        }
      }
      return { status: res.status, body: parsed as T };
    },
  };
}

/** Google's error message from an error body, for a check's detail. */
export function apiErrorText(r: ApiResponse<unknown>): string {
  const e = (r.body as { error?: { message?: string; status?: string } })?.error;
  return `HTTP ${r.status}${e?.status ? ` ${e.status}` : ''}${e?.message ? `: ${e.message}` : ''}`;
}
