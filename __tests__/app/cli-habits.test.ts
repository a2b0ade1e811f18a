/**
 * Habits a user brings from terraform, gcloud and git: `--version`, `-` for stdout, a lint that
 * names what it rejects, and verify refusing a plan of another catalogue as apply does. Run
 * through bin/bqx.js (dist/, which `npm test` builds first).
 */
import { spawnSync } from 'child_process';
import { existsSync, readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { repoPath } from '../../core/paths';
import { EXIT } from '../../scripts/exit-codes';
import { seedSmall, tempDir } from '../duckdb/support';

const BIN = repoPath('bin', 'bqx.js');
let tmp: ReturnType<typeof tempDir>;
let database: string;

beforeAll(async () => {
  tmp = tempDir('cli-habits');
  ({ database } = await seedSmall(tmp.dir));
}, 120_000);
afterAll(() => tmp.cleanup());

function bqx(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: tmp.dir, input, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--version and -V print the package version and exit 0', () => {
  const version = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;
  for (const flag of ['--version', '-V']) {
    const r = bqx([flag]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout.trim()).toBe(version);
  }
});

test('plan --out - writes the plan JSON to stdout and the summary to stderr; no file named -', () => {
  const before = readdirSync(tmp.dir).sort();
  const r = bqx(['plan', '--out', '-', '--database', database, '--grace-start', '2026-11-21']);
  expect(r.code).toBe(EXIT.OK);
  const plan = JSON.parse(r.stdout) as { planHash: string; operations: unknown[] };
  expect(plan.planHash).toMatch(/^[0-9a-f]{64}$/);
  expect(plan.operations.length).toBeGreaterThan(100);
  expect(r.stderr).toContain(`written to stdout; approve destructive operations with --approve ${plan.planHash}`);
  expect(existsSync(path.join(tmp.dir, '-'))).toBe(false);
  expect(existsSync(path.join(tmp.dir, '-.txt'))).toBe(false);
  expect(readdirSync(tmp.dir).sort()).toEqual(before);

  const both = bqx(['plan', '--out', '-', '--json', '--database', database]);
  expect(both.code).toBe(EXIT.BAD_INPUT);
  expect(both.stderr).toContain('--json and --out -/--review - would both write to stdout');
});

test('audit --names - --fail-on-violation names the offending names on stderr (exit 5)', () => {
  const r = bqx(['audit', '--names', '-', '--fail-on-violation'], 'lag_bqx_eurusd_45\nreg_bqx_eurusd\nlag_bqx_eurusd_w45\n');
  expect(r.code).toBe(EXIT.VIOLATIONS);
  expect(r.stderr).toBe(
    'bqx audit: 2 names violate M008:\n' +
      '  lag_bqx_eurusd_45: WINDOW_IN_TABLE_NAME; M008 name: lag_bqx_eurusd\n' +
      '  lag_bqx_eurusd_w45: WINDOW_IN_TABLE_NAME; M008 name: lag_bqx_eurusd\n',
  );
  const ok = bqx(['audit', '--names', '-', '--fail-on-violation'], 'reg_bqx_eurusd\n');
  expect(ok.code).toBe(EXIT.OK);
  expect(ok.stderr).toBe('');
});

test('verify of a plan from another catalogue is refused as apply refuses it (exit 3), not a flood of MISSING', () => {
  const r = bqx(['verify', repoPath('plans', 'phase-4c.plan.json'), '--database', database, '--reports-dir', path.join(tmp.dir, 'reports'), '--metrics-file', path.join(tmp.dir, 'm.prom')]);
  expect(r.code).toBe(EXIT.REFUSED);
  expect(r.stdout + r.stderr).toMatch(/was made from catalogue [0-9a-f]{12}…, the warehouse is now [0-9a-f]{12}…: \d[\d,]* table\(s\) differ/);
  expect(r.stdout + r.stderr).toContain('make a new plan from the current warehouse');
  expect((r.stdout.match(/MISSING/g) ?? []).length).toBe(0);
});
