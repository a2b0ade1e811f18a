/**
 * A skipped test is reported as skipped, never as passed, and CI (BQX_REQUIRE_ALL_TESTS=1, set by
 * .ci/run) fails on any: a test that needs Chromium or a tmpfs fails there when it cannot run, and
 * the summary reporter fails the run on a skipped test of any other kind. Jest runs scratch test
 * files here with the project's reporter.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const NEEDS = path.join(ROOT, '__tests__', 'support', 'needs');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-skips-'));
  writeFileSync(
    path.join(dir, 'jest.config.json'),
    JSON.stringify({
      rootDir: dir,
      testMatch: ['<rootDir>/*.test.ts'],
      transform: { '^.+\\.ts$': [require.resolve('@swc/jest'), { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
      reporters: ['default', path.join(ROOT, '__tests__', 'support', 'summary-reporter.js')],
    }),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function jest(file: string, text: string, env: Record<string, string> = {}): { status: number | null; out: string } {
  writeFileSync(path.join(dir, file), text);
  const childEnv = { ...process.env, ...env };
  if (!('BQX_REQUIRE_ALL_TESTS' in env)) delete childEnv.BQX_REQUIRE_ALL_TESTS;
  const r = spawnSync(process.execPath, [JEST, '--config', path.join(dir, 'jest.config.json'), '--ci', file], { cwd: dir, encoding: 'utf8', env: childEnv });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const NEEDY = `import { testNeeding } from ${JSON.stringify(NEEDS)};
testNeeding('no widget on this machine', 'uses the widget', () => expect(1).toBe(1));
test('plain', () => expect(1).toBe(1));
`;

test('a test whose need is missing is reported skipped, with the reason in its name', () => {
  const r = jest('needy.test.ts', NEEDY);
  expect(r.status).toBe(0);
  expect(r.out).toMatch(/^jest: 1 passed, 0 failed, 1 skipped$/m);
  expect(r.out).toContain('uses the widget [skipped: no widget on this machine]');
});

test('with BQX_REQUIRE_ALL_TESTS=1 the same test fails, naming what is missing', () => {
  const r = jest('needy.test.ts', NEEDY, { BQX_REQUIRE_ALL_TESTS: '1' });
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/^jest: 1 passed, 1 failed$/m);
  expect(r.out).toContain('cannot run here: no widget on this machine');
});

test('with BQX_REQUIRE_ALL_TESTS=1 any other skipped test fails the run', () => {
  const text = "test.skip('left out', () => undefined);\ntest('plain', () => expect(1).toBe(1));\n";
  expect(jest('plain-skip.test.ts', text).status).toBe(0);
  const r = jest('plain-skip.test.ts', text, { BQX_REQUIRE_ALL_TESTS: '1' });
  expect(r.status).toBe(1);
  expect(r.out).toMatch(/BQX_REQUIRE_ALL_TESTS=1: 1 test\(s\) skipped, none may be:\n.*plain-skip\.test\.ts: left out/);
});
