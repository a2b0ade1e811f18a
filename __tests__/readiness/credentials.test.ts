import { checkCredentials } from '../../app/readiness/checks/cloud';
import { Findings } from '../../app/readiness/findings';
import { googleApis } from '../../app/readiness/google-apis';

describe('Google Cloud credentials', () => {
  const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  afterEach(() => {
    if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
  });

  test('unusable Application Default Credentials are P0 CREDENTIALS_MISSING and stop the cloud checks', async () => {
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/bqx-runner-key.json';
    const f = new Findings();
    const ok = await checkCredentials(f, googleApis());
    expect(ok).toBe(false);
    expect(f.blockers).toEqual([expect.objectContaining({ code: 'CREDENTIALS_MISSING', priority: 'P0', check: 'dependencies.credentials' })]);
    expect(f.checks[0].status).toBe('fail');
  });

  test('a test endpoint never looks credentials up', async () => {
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/bqx-runner-key.json';
    const f = new Findings();
    expect(await checkCredentials(f, googleApis({ endpoint: 'http://127.0.0.1:9' }))).toBe(true);
    expect(f.blockers).toEqual([]);
    expect(f.checks[0].status).toBe('skip');
  });
});
