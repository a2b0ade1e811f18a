/*
 * The REST transport: the official @google-cloud/bigquery client's authenticated `request`, with
 * the client's own retries switched off (the job layer decides what is safe to retry).
 *
 * Package choice: @google-cloud/bigquery 8.x. 9.x declares Node >= 22 and this project runs on
 * Node 20.20; 8.x declares Node >= 18 and speaks the same REST v2 API.
 */
import { BigQuery } from '@google-cloud/bigquery';

export interface RestRequest {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  /** Path below `/bigquery/v2/projects/{project}` (starts with `/`). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
}

export interface RestTransport {
  readonly project: string;
  call<T>(req: RestRequest): Promise<T>;
}

/** What went wrong on one REST call: HTTP status (0 = no response) and BigQuery's error reason. */
export class BigQueryApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'BigQueryApiError';
  }

  /** No HTTP response, or a 5xx: the server may or may not have acted on the request. */
  get outcomeUnknown(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

interface ClientError {
  code?: number | string;
  errors?: { reason?: string; message?: string }[];
  message?: string;
  response?: { statusCode?: number };
}

export function toApiError(e: unknown): BigQueryApiError {
  if (e instanceof BigQueryApiError) return e;
  const err = (e ?? {}) as ClientError;
  const status = typeof err.code === 'number' ? err.code : (err.response?.statusCode ?? 0);
  const reason = err.errors?.find((x) => x.reason)?.reason ?? (status === 0 ? 'networkError' : status >= 500 ? 'backendError' : 'unknown');
  return new BigQueryApiError(status, reason, err.message ?? String(e));
}

export interface ClientOptions {
  readonly project: string;
  readonly location: string;
  /** An emulator or test double; when set, requests carry a fixed dummy token instead of ADC. */
  readonly apiEndpoint?: string;
}

/**
 * Real endpoint: Application Default Credentials. Endpoint override: a stand-in auth client that
 * adds a dummy bearer token, so no credentials are looked up for a local double or emulator. The
 * stand-in is only installed when an endpoint is given, never for googleapis.com.
 */
export function makeClient(opts: ClientOptions): BigQuery {
  const offlineAuth = opts.apiEndpoint
    ? {
        authClient: {
          getRequestHeaders: async () => new Headers({ authorization: 'Bearer offline-endpoint' }),
          getProjectId: async () => opts.project,
        } as never,
      }
    : {};
  return new BigQuery({
    projectId: opts.project,
    location: opts.location,
    apiEndpoint: opts.apiEndpoint,
    autoRetry: false,
    maxRetries: 0,
    ...offlineAuth,
  });
}

export function clientTransport(client: BigQuery, project: string): RestTransport {
  return {
    project,
    call<T>(req: RestRequest): Promise<T> {
      const qs: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) qs[k] = v;
      return new Promise<T>((resolve, reject) => {
        client.request({ method: req.method, uri: req.path, qs, json: req.body ?? true } as never, (err: unknown, body: unknown) => {
          if (err) reject(toApiError(err));
          else resolve((body ?? {}) as T);
        });
      });
    },
  };
}
