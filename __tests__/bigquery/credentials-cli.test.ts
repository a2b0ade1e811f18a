/**
 * `bqx audit --engine bigquery` with no credentials anywhere says so at once (exit 9) and how to
 * provide them, instead of the client's silent metadata-server retries (76 s before) and a leaked
 * MetadataLookupWarning.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { EXIT } from '../../scripts/exit-codes';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');
let home: string;

beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'bqx-nocreds-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function audit(env: Record<string, string>): { status: number | null; stderr: string; ms: number } {
  const base = { ...process.env };
  delete base.GOOGLE_APPLICATION_CREDENTIALS;
  delete base.BQX_BIGQUERY_API_ENDPOINT;
  const t0 = Date.now();
  // A metadata host nobody listens on: "not a Google Cloud machine", answered at once.
  const r = spawnSync(process.execPath, [BIN, 'audit', '--engine', 'bigquery', '--env', 'prod'], {
    cwd: home,
    encoding: 'utf8',
    env: { ...base, HOME: home, CLOUDSDK_CONFIG: path.join(home, 'gcloud'), GCE_METADATA_HOST: '127.0.0.1:9', ...env },
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, ms: Date.now() - t0 };
}

test('no credentials: exit 9 in seconds, naming where it looked and what to do, no warning leaked', () => {
  const r = audit({});
  expect(r.status).toBe(EXIT.UNAVAILABLE);
  expect(r.ms).toBeLessThan(15_000);
  expect(r.stderr).toContain('no Google Cloud credentials');
  expect(r.stderr).toContain(path.join(home, 'gcloud', 'application_default_credentials.json'));
  expect(r.stderr).toMatch(/what to do: run `gcloud auth application-default login --impersonate-service-account=/);
  expect(r.stderr).not.toMatch(/MetadataLookupWarning|at \w+ \(/);
});

test('GOOGLE_APPLICATION_CREDENTIALS naming a file that is not there is named as such', () => {
  const r = audit({ GOOGLE_APPLICATION_CREDENTIALS: path.join(home, 'missing.json') });
  expect(r.status).toBe(EXIT.UNAVAILABLE);
  expect(r.stderr).toContain(`GOOGLE_APPLICATION_CREDENTIALS names ${path.join(home, 'missing.json')}, which cannot be read`);
});

test('an environment must be named for BigQuery: no implicit prod', () => {
  const f = path.join(home, 'creds.json');
  writeFileSync(f, '{}');
  const r = spawnSync(process.execPath, [BIN, 'audit', '--engine', 'bigquery'], { cwd: home, encoding: 'utf8', env: { ...process.env, BQX_ENV: '', GOOGLE_APPLICATION_CREDENTIALS: f } });
  expect(r.status).toBe(EXIT.BAD_INPUT);
  expect(r.stderr).toContain('--engine bigquery needs an environment');
});

test('a credentials file the auth library cannot use fails at once (exit 9), not after minutes of retries', () => {
  const f = path.join(home, 'broken.json');
  writeFileSync(f, '{}');
  const r = audit({ GOOGLE_APPLICATION_CREDENTIALS: f });
  expect(r.status).toBe(EXIT.UNAVAILABLE);
  expect(r.ms).toBeLessThan(15_000);
  expect(r.stderr).toMatch(/credential/i);
  expect(r.stderr).toContain('what to do: the Google credentials cannot be used');
});
