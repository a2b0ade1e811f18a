/*
 * The REST transport: the official @google-cloud/bigquery client's authenticated `request`, with
 * the client's own retries switched off (the job layer decides what is safe to retry).
 *
 * Package choice: @google-cloud/bigquery 8.x. 9.x declares Node >= 22 and this project runs on
 * Node 20.20; 8.x declares Node >= 18 and speaks the same REST v2 API.
 */
import { BigQuery } from '@google-cloud/bigquery';
import type { AuthClient } from 'google-auth-library';
import { BqxError } from '../../core/errors';

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

/**
 * What went wrong on one REST call: HTTP status (0 = no response) and BigQuery's error reason. A
 * BqxError too, so one that reaches the CLI says what kind of outcome it is: a denied permission or
 * unusable credentials mean the warehouse cannot be reached (exit 9), not a bug.
 */
export class BigQueryApiError extends BqxError {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    const denied = status === 401 || reason === 'authError' || (status === 403 && (reason === 'accessDenied' || reason === 'forbidden'));
    super(
      `BIGQUERY_${reason.replace(/[^A-Za-z]/g, '_').toUpperCase()}`,
      message,
      reason === 'authError'
        ? 'the Google credentials cannot be used: run `gcloud auth application-default login --impersonate-service-account=<runner SA>` or point GOOGLE_APPLICATION_CREDENTIALS at a valid file'
        : denied
          ? 'this identity lacks a permission BigQuery names above: grant it (see RUNBOOK, identities), then run again'
          : reason === ENDPOINT_UNREACHABLE
            ? 'start the emulator or test double at that address, or correct --api-endpoint (env BQX_BIGQUERY_API_ENDPOINT); drop it to use Google'
            : undefined,
      denied || reason === ENDPOINT_UNREACHABLE ? 'UNAVAILABLE' : 'FAILURE',
    );
    this.name = 'BigQueryApiError';
  }

  /**
   * No HTTP response, or a 5xx: the server may or may not have acted on the request. A named
   * endpoint that refuses the connection never received it, and is no transient fault of Google.
   */
  get outcomeUnknown(): boolean {
    return (this.status === 0 && this.reason !== ENDPOINT_UNREACHABLE) || this.status >= 500;
  }
}

/** The reason of a refused connection (or an unknown host) at an endpoint the user named. */
export const ENDPOINT_UNREACHABLE = 'endpointUnreachable';

/** Socket errors that mean nothing listens there (or the name does not resolve): the request was never sent. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

interface ClientError {
  code?: number | string;
  errors?: { reason?: string; message?: string }[];
  message?: string;
  response?: { statusCode?: number };
}

/** google-auth-library's errors before any request was sent: unusable credentials, never worth a retry. */
const AUTH_FAILURE_RE = /credential|client_email|private_key|Could not load the default credentials|invalid_grant|unauthorized_client|Could not refresh access token|Getting metadata from plugin failed/i;

export function toApiError(e: unknown): BigQueryApiError {
  if (e instanceof BigQueryApiError) return e;
  const err = (e ?? {}) as ClientError;
  const noResponse = typeof err.code !== 'number' && err.response?.statusCode === undefined;
  if (noResponse && AUTH_FAILURE_RE.test(err.message ?? String(e))) return new BigQueryApiError(401, 'authError', err.message ?? String(e));
  const status = typeof err.code === 'number' ? err.code : (err.response?.statusCode ?? 0);
  const reason = err.errors?.find((x) => x.reason)?.reason ?? (status === 0 ? 'networkError' : status >= 500 ? 'backendError' : 'unknown');
  return new BigQueryApiError(status, reason, err.message ?? String(e));
}

export interface ClientOptions {
  readonly project: string;
  readonly location: string;
  /** An emulator or test double (then `authClient` must be given: no credential is looked up for it). */
  readonly apiEndpoint?: string;
  /**
   * Who the client acts as (credentials.ts `resolveIdentity`): a fixed token for a test endpoint,
   * an impersonated service account, or undefined for Application Default Credentials.
   */
  readonly authClient?: AuthClient;
}

/**
 * Real endpoint: Application Default Credentials unless an auth client is given (impersonation).
 * Endpoint override: the given auth client (credentials.ts: a fixed test token, or an
 * impersonation through a test IAM Credentials endpoint); ADC is never looked up for an endpoint
 * and a test token is never sent to googleapis.com (resolveIdentity refuses it).
 */
export function makeClient(opts: ClientOptions): BigQuery {
  if (opts.apiEndpoint && !opts.authClient) throw new Error('makeClient: a test endpoint needs its auth client (credentials.ts resolveIdentity)');
  return new BigQuery({
    projectId: opts.project,
    location: opts.location,
    apiEndpoint: opts.apiEndpoint,
    autoRetry: false,
    maxRetries: 0,
    ...(opts.authClient ? { authClient: opts.authClient as never } : {}),
  });
}

/**
 * The transport over the client. With `namedEndpoint` (the user's --api-endpoint), a connection
 * that endpoint refuses fails the call at once, naming it: the job layer never retries it.
 */
export function clientTransport(client: BigQuery, project: string, namedEndpoint?: string): RestTransport {
  const failure = (err: unknown): BigQueryApiError => {
    const code = (err as ClientError | null)?.code;
    if (namedEndpoint !== undefined && typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
      return new BigQueryApiError(0, ENDPOINT_UNREACHABLE, `nothing answers at the BigQuery API endpoint ${namedEndpoint} (${code}): ${(err as Error).message}`);
    }
    return toApiError(err);
  };
  return {
    project,
    call<T>(req: RestRequest): Promise<T> {
      const qs: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) qs[k] = v;
      return new Promise<T>((resolve, reject) => {
        client.request({ method: req.method, uri: req.path, qs, json: req.body ?? true } as never, (err: unknown, body: unknown) => {
          if (err) reject(failure(err));
          else resolve((body ?? {}) as T);
        });
      });
    },
  };
}
