/**
 * Test hooks (BQX_FAILPOINTS, BQX_FULL_PREPARE) act only with the test switch BQX_TEST_HOOKS=1,
 * and never against BigQuery's own endpoint: anything else is refused with exit 2 before any work.
 * The CLI runs in-process (scripts/cli.ts main) with the variables set for each case.
 */
import { failpoint } from '../../core/failpoints';
import { checkTestHooks } from '../../core/test-hooks';
import { main } from '../../scripts/cli';
import { EXIT } from '../../scripts/exit-codes';

const HOOK_VARS = ['BQX_FAILPOINTS', 'BQX_FULL_PREPARE', 'BQX_TEST_HOOKS', 'BQX_BIGQUERY_API_ENDPOINT'];

async function bqx(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const saved = Object.fromEntries(HOOK_VARS.map((k) => [k, process.env[k]]));
  for (const k of HOOK_VARS) delete process.env[k];
  Object.assign(process.env, env);
  let stderr = '';
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(['node', 'bqx', ...args]), stderr };
  } finally {
    write.mockRestore();
    for (const k of HOOK_VARS) delete process.env[k];
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  }
}

const AUDIT_BIGQUERY = ['audit', '--engine', 'bigquery', '--env', 'prod'];

test('a failpoint without the test switch: exit 2 before any verb runs, saying what to unset', async () => {
  const r = await bqx(['audit', '--database', '/nonexistent/w.duckdb'], { BQX_FAILPOINTS: 'engine.after-step=kill@1' });
  expect(r.code).toBe(EXIT.BAD_INPUT);
  expect(r.stderr).toContain('BQX_FAILPOINTS is a test hook and BQX_TEST_HOOKS=1 is not set');
  expect(r.stderr).toMatch(/what to do: unset BQX_FAILPOINTS/);
});

test('BQX_FULL_PREPARE without the test switch is refused the same way', async () => {
  const r = await bqx(['audit', '--database', '/nonexistent/w.duckdb'], { BQX_FULL_PREPARE: '1' });
  expect(r.code).toBe(EXIT.BAD_INPUT);
  expect(r.stderr).toContain('BQX_FULL_PREPARE is a test hook');
});

test("with the switch, a failpoint is still refused against Google's BigQuery API or any non-loopback endpoint", async () => {
  const hooks = { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'engine.after-step=kill@1' };
  const google = await bqx(AUDIT_BIGQUERY, hooks);
  expect(google.code).toBe(EXIT.BAD_INPUT);
  expect(google.stderr).toContain("BQX_FAILPOINTS may not act on Google's BigQuery API");
  const remote = await bqx([...AUDIT_BIGQUERY, '--api-endpoint', 'http://10.1.2.3:9050'], hooks);
  expect(remote.code).toBe(EXIT.BAD_INPUT);
  expect(remote.stderr).toContain('may not act on the endpoint http://10.1.2.3:9050');
  const fromEnv = await bqx(AUDIT_BIGQUERY, { ...hooks, BQX_BIGQUERY_API_ENDPOINT: 'https://bigquery.googleapis.com' });
  expect(fromEnv.code).toBe(EXIT.BAD_INPUT);
  expect(fromEnv.stderr).toContain('may not act on the endpoint https://bigquery.googleapis.com');
});

test('with the switch, loopback endpoints and the embedded engine are test targets', () => {
  const env = { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'ledger.flush=delay(1)' };
  for (const apiEndpoint of ['http://127.0.0.1:9050', 'http://localhost:1', 'http://[::1]:9050']) expect(() => checkTestHooks(env, { engine: 'bigquery', apiEndpoint })).not.toThrow();
  expect(() => checkTestHooks(env, { engine: 'duckdb' })).not.toThrow();
  expect(() => checkTestHooks(env, { engine: 'bigquery', apiEndpoint: 'http://127.example.com' })).toThrow(/loopback/);
  // An empty value sets nothing.
  expect(() => checkTestHooks({ BQX_FAILPOINTS: '' }, { engine: 'bigquery' })).not.toThrow();
});

test('a failpoint armed in a process the CLI did not start still needs the switch', async () => {
  const saved = { fp: process.env.BQX_FAILPOINTS, sw: process.env.BQX_TEST_HOOKS };
  try {
    delete process.env.BQX_TEST_HOOKS;
    process.env.BQX_FAILPOINTS = 'unit.point=throw(ENOSPC)';
    await expect(failpoint('unit.point')).rejects.toThrow(/BQX_FAILPOINTS is a test hook/);
    process.env.BQX_TEST_HOOKS = '1';
    process.env.BQX_FAILPOINTS = 'unit.point=throw(EACCES)';
    await expect(failpoint('unit.point')).rejects.toMatchObject({ code: 'EACCES' });
  } finally {
    if (saved.fp === undefined) delete process.env.BQX_FAILPOINTS;
    else process.env.BQX_FAILPOINTS = saved.fp;
    if (saved.sw === undefined) delete process.env.BQX_TEST_HOOKS;
    else process.env.BQX_TEST_HOOKS = saved.sw;
  }
});
