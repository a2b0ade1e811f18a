/**
 * Finds out at once whether Application Default Credentials can exist here, before the client
 * looks them up itself: without any, google-auth-library probes the metadata server with retries
 * (76 s, then a MetadataLookupWarning) and the error that finally surfaces says nothing useful.
 */
import { accessSync, constants } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AuthClient, Impersonated, OAuth2Client } from 'google-auth-library';
import { BqxError } from '../../core/errors';

/**
 * google-auth-library, loaded when an identity is made (on BigQuery only): the modules that import
 * this one for its names and checks load with every verb, the embedded warehouse's included.
 */
export const googleAuthLibrary = (): typeof import('google-auth-library') => require('google-auth-library') as typeof import('google-auth-library');

/** Where `gcloud auth application-default login` writes its credentials. */
export function adcFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env.CLOUDSDK_CONFIG ?? (process.platform === 'win32' ? path.join(env.APPDATA ?? os.homedir(), 'gcloud') : path.join(os.homedir(), '.config', 'gcloud'));
  return path.join(config, 'application_default_credentials.json');
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** One quick GET of the metadata server (Cloud Run, GCE, GKE): answers in milliseconds where it exists. */
export function metadataServerAnswers(env: NodeJS.ProcessEnv = process.env, timeoutMs = 500): Promise<boolean> {
  const host = env.GCE_METADATA_HOST ?? env.GCE_METADATA_IP ?? '169.254.169.254';
  return new Promise((resolve) => {
    const req = http.get({ host: host.split(':')[0], port: Number(host.split(':')[1] ?? 80), path: '/computeMetadata/v1/project/project-id', headers: { 'Metadata-Flavor': 'Google' }, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.headers['metadata-flavor'] === 'Google');
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Throws CREDENTIALS_MISSING (exit UNAVAILABLE) when no source of credentials exists. */
export async function checkCredentials(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (explicit) {
    if (readable(explicit)) return `GOOGLE_APPLICATION_CREDENTIALS (${explicit})`;
    throw new BqxError('CREDENTIALS_MISSING', `GOOGLE_APPLICATION_CREDENTIALS names ${explicit}, which cannot be read`, 'point it at a readable credentials file, or unset it to use `gcloud auth application-default login`', 'UNAVAILABLE');
  }
  const file = adcFile(env);
  if (readable(file)) return `application default credentials (${file})`;
  if (await metadataServerAnswers(env)) return 'the metadata server (this is a Google Cloud machine)';
  throw new BqxError(
    'CREDENTIALS_MISSING',
    `no Google Cloud credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, ${file} does not exist, and no metadata server answers (not a Google Cloud machine)`,
    'run `gcloud auth application-default login --impersonate-service-account=<the runner service account>` (see RUNBOOK), or set GOOGLE_APPLICATION_CREDENTIALS; for an emulator or test double pass --api-endpoint',
    'UNAVAILABLE',
  );
}

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** The bearer token sent to a test endpoint when none is configured. */
export const DEFAULT_TEST_TOKEN = 'offline-endpoint';
const SERVICE_ACCOUNT_RE = /^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$/;

export interface IdentityOptions {
  /**
   * A test endpoint (emulator or double) is in use: no credential is ever looked up and `accessToken`
   * (default DEFAULT_TEST_TOKEN) is sent as is. Never true for googleapis.com.
   */
  readonly testEndpoint: boolean;
  readonly accessToken?: string;
  /** Act as this service account (IAM Credentials generateAccessToken with the caller's credentials). */
  readonly impersonate?: string;
  /** IAM Credentials base URL: a test double (required to impersonate on a test endpoint). */
  readonly iamEndpoint?: string;
}

/** Who the Google clients act as, and how they sign a request. */
export interface Identity {
  /** For the BigQuery client: undefined means Application Default Credentials. */
  readonly authClient: AuthClient | undefined;
  /** Authorization header(s) for one request to a Google API. */
  headers(): Promise<Headers>;
  /** An access token (throws when there are no usable credentials). */
  token(): Promise<string>;
  /** The identity requests are made as, when known (a service account e-mail). */
  principal(): Promise<string | null>;
  readonly impersonating: string | null;
  /** A test endpoint's identity (its tokens are never sent to Google). */
  readonly test: boolean;
}

/** A client that presents one fixed token: a test endpoint's identity (or the source of an impersonation there). */
function fixedTokenClient(token: string): OAuth2Client {
  // Node's fetch: gaxios would otherwise load node-fetch, which Jest's VM cannot import.
  const client = new (googleAuthLibrary().OAuth2Client)({ transporterOptions: { fetchImplementation: globalThis.fetch } } as never);
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 365 * 86_400_000 });
  return client;
}

function checkServiceAccount(email: string): string {
  if (!SERVICE_ACCOUNT_RE.test(email)) {
    throw new BqxError('BAD_OPTION', `--impersonate-service-account ${email} is not a service account e-mail`, 'e.g. bqx-ml-runner@bqx-ml.iam.gserviceaccount.com');
  }
  return email;
}

/**
 * The identity the engine and readiness act as. On a test endpoint: a fixed token, or (with
 * `impersonate`) google-auth-library's Impersonated client whose source presents that token and
 * whose IAM Credentials endpoint is the test double, so the impersonation code that runs against
 * Google is the code the tests run. On Google: Application Default Credentials, or Impersonated
 * with ADC as its source (skipped when ADC already is that service account, e.g. credentials made
 * with `gcloud auth application-default login --impersonate-service-account`).
 */
export async function resolveIdentity(o: IdentityOptions): Promise<Identity> {
  const target = o.impersonate ? checkServiceAccount(o.impersonate) : null;
  if (o.testEndpoint) {
    const token = o.accessToken ?? process.env.BQX_BIGQUERY_ACCESS_TOKEN ?? DEFAULT_TEST_TOKEN;
    if (!/^[\x21-\x7e]+$/.test(token)) throw new BqxError('BAD_OPTION', 'the test endpoint access token has characters a bearer token cannot hold', 'use printable ASCII without spaces');
    if (!target) {
      const headers = async () => new Headers({ authorization: `Bearer ${token}` });
      const stand = { getRequestHeaders: headers, getAccessToken: async () => ({ token }), getProjectId: async () => undefined } as unknown as AuthClient;
      return { authClient: stand, headers, token: async () => token, principal: async () => null, impersonating: null, test: true };
    }
    if (!o.iamEndpoint) {
      throw new BqxError('BAD_OPTION', `impersonating ${target} on a test endpoint needs a test IAM Credentials endpoint`, 'pass --google-api-endpoint (env BQX_GOOGLE_API_ENDPOINT): a test token is never sent to Google');
    }
    return impersonated(new (googleAuthLibrary().Impersonated)({ sourceClient: fixedTokenClient(token), targetPrincipal: target, targetScopes: [CLOUD_PLATFORM_SCOPE], lifetime: 3600, endpoint: o.iamEndpoint.replace(/\/$/, '') }), target, true);
  }
  if (o.accessToken !== undefined) {
    throw new BqxError('BAD_OPTION', 'a fixed access token is only for a test endpoint', 'pass --api-endpoint for a test double, or drop the token to use Application Default Credentials');
  }
  const { GoogleAuth, Impersonated: ImpersonatedClient } = googleAuthLibrary();
  const adc = new GoogleAuth({ scopes: [CLOUD_PLATFORM_SCOPE] });
  const adcPrincipal = async () => {
    try {
      return (await adc.getCredentials()).client_email ?? null;
    } catch {
      return null;
    }
  };
  if (target && (await adcPrincipal()) !== target) {
    const source = await adc.getClient();
    return impersonated(new ImpersonatedClient({ sourceClient: source as OAuth2Client, targetPrincipal: target, targetScopes: [CLOUD_PLATFORM_SCOPE], lifetime: 3600 }), target, false);
  }
  return {
    authClient: undefined,
    headers: () => adc.getRequestHeaders(),
    async token() {
      const t = await adc.getAccessToken();
      if (!t) throw new Error('Application Default Credentials returned no access token');
      return t;
    },
    principal: adcPrincipal,
    impersonating: null,
    test: false,
  };
}

function impersonated(client: Impersonated, target: string, test: boolean): Identity {
  return {
    authClient: client,
    headers: () => client.getRequestHeaders(),
    async token() {
      const t = (await client.getAccessToken()).token;
      if (!t) throw new Error(`impersonating ${target} returned no access token`);
      return t;
    },
    principal: async () => target,
    impersonating: target,
    test,
  };
}
