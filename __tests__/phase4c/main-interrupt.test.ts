/**
 * `bqx main` stopped by SIGTERM in the middle of its apply (the process sends itself the signal
 * right after an apply step, as Cloud Run's stop would arrive): it stops at a safe point like
 * `bqx apply` (exit 7, the resume command, the lock released, the apply's report written), and a
 * re-run resumes that plan instead of planning anew over the half-applied warehouse.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { repoPath } from '../../core/paths';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-main-int-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bqx(args: string[], failpoints = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [repoPath('bin', 'bqx.js'), ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 2 ** 20, env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: failpoints } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const MAIN = ['main', '--scale', 'small', '--database', 'w.duckdb', '--json'];

test('SIGTERM during the apply: exit 7 at a safe point with the resume command; the re-run resumes the same plan and reports the counts from before the first apply', () => {
  const stopped = bqx(MAIN, 'engine.after-step=signal(SIGTERM)@10');
  expect(stopped.code).toBe(7);
  expect(stopped.stderr).toContain('stops at the next safe point');
  expect(stopped.stderr).toContain('the main job stopped at a safe point after apply');
  expect(stopped.stderr).toContain(`resume with \`bqx ${MAIN.join(' ')}\``);
  const plan = JSON.parse(readFileSync(path.join(dir, '.bqx', 'plan.json'), 'utf8')) as { planHash: string };
  // The apply's report says INTERRUPTED; the lock is free.
  expect(JSON.parse(readFileSync(path.join(dir, 'reports', 'run-apply.json'), 'utf8'))).toMatchObject({ planHash: plan.planHash, status: 'INTERRUPTED' });
  const lock = bqx(['unlock', '--database', 'w.duckdb', '--json']);
  expect(JSON.parse(lock.stdout)).toMatchObject({ holder: null });

  const resumed = bqx(MAIN);
  expect(resumed.stderr).toBe('');
  expect(resumed.code).toBe(0);
  const r = JSON.parse(resumed.stdout);
  expect(r).toMatchObject({ resumed: true, planHash: plan.planHash, readiness: expect.stringMatching(/^REHEARSAL GO/), violations: { before: 166, after: 3, review: 3 } });
  expect(r.steps.find((s: { name: string }) => s.name === 'plan').line).toContain('resuming the run in progress');
  expect(r.steps.find((s: { name: string }) => s.name === 'reconcile').line).toMatch(/^MATCHED \d+, DRIFT 0, MISSING 0, UNMANAGED 0$/);
  expect(JSON.parse(readFileSync(path.join(dir, '.bqx', 'plan.json'), 'utf8')).planHash).toBe(plan.planHash);
  // Finished: a third run plans afresh (nothing left to do) instead of resuming.
  const state = JSON.parse(readFileSync(path.join(dir, '.bqx', 'plan.json.run.json'), 'utf8'));
  expect(state.finished).toBe(true);
  // The state holds what a resumed run reads back, and nothing else (not the catalogue's listing).
  expect(Object.keys(state).sort()).toEqual(['before', 'columnsBefore', 'finished', 'format', 'planHash']);
});

test('SIGTERM during the seed: exit 7, no temporary seed files left; a seed killed outright leaves files the next seed removes', () => {
  const seedDir = mkdtempSync(path.join(dir, 'seed-'));
  const run = (failpoints: string) => spawnSync(process.execPath, [repoPath('bin', 'bqx.js'), 'main', '--scale', 'small', '--database', 'w.duckdb'], { cwd: seedDir, encoding: 'utf8', env: { ...process.env, BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: failpoints } });
  const leftovers = () => readdirSync(seedDir).filter((f) => f.includes('.seeding-'));
  const stopped = run('seed.transaction=signal(SIGTERM)@1');
  expect({ status: stopped.status, stderr: stopped.stderr }).toEqual({ status: 7, stderr: expect.stringContaining('what to do: run the same command again') });
  expect(leftovers()).toEqual([]);
  expect(existsSync(path.join(seedDir, 'w.duckdb'))).toBe(false);
  const killed = run('seed.transaction=kill@1');
  expect(killed.signal).toBe('SIGKILL');
  expect(leftovers().length).toBeGreaterThan(0);
  const seeded = spawnSync(process.execPath, [repoPath('bin', 'bqx.js'), 'warehouse', 'seed', '--scale', 'small', '--database', 'w.duckdb'], { cwd: seedDir, encoding: 'utf8' });
  expect(seeded.status).toBe(0);
  expect(leftovers()).toEqual([]);
});
