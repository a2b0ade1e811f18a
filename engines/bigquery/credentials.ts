/**
 * Finds out at once whether Application Default Credentials can exist here, before the client
 * looks them up itself: without any, google-auth-library probes the metadata server with retries
 * (76 s, then a MetadataLookupWarning) and the error that finally surfaces says nothing useful.
 */
import { accessSync, constants } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { BqxError } from '../../core/errors';

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
