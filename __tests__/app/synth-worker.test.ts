/**
 * The main job synthesizes in a worker thread (app/synth-worker.ts) alongside its warehouse steps.
 * The worker runs the compiled script (dist/, built by `npm test`), so these tests load the
 * compiled module: its output must be the in-process synthesis's, byte for byte, and a refused
 * synthesis must reach the caller as the same BqxError (code, kind, hint).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { synthesize } from '../../app/synth';
import { jobWritesSynthInput } from '../../app/main-job';
import { loadEnvironment } from '../../config/environments';
import { repoPath } from '../../core/paths';

type Compiled = typeof import('../../app/synth');
const COMPILED = repoPath('dist', 'app', 'synth.js');

function compiled(): Compiled {
  if (!existsSync(COMPILED) || !existsSync(repoPath('dist', 'app', 'synth-worker.js'))) throw new Error(`${COMPILED} or its worker is missing: run npm run build first`);
  return require(COMPILED) as Compiled;
}

const NOW = new Date('2026-11-21T00:00:00.000Z');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-synth-worker-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function stackFiles(outdir: string): Record<string, string> {
  const stacks = path.join(outdir, 'stacks');
  return Object.fromEntries(readdirSync(stacks).map((id) => [id, readFileSync(path.join(stacks, id, 'cdk.tf.json'), 'utf8')]));
}

test('the worker writes exactly what the in-process synthesis writes, and answers with its resource counts', async () => {
  const input = { env: 'dev', now: NOW, repoRoot: dir };
  const inWorker = await compiled().synthesizeInWorker({ ...input, outdir: path.join(dir, 'worker') });
  const inProcess = await synthesize({ ...input, outdir: path.join(dir, 'process') });
  expect(inWorker.inWorker).toBe(true);
  expect(inWorker.resources).toEqual(inProcess.resources);
  expect(inWorker.warnings).toEqual(inProcess.warnings);
  expect(Object.keys(inWorker.resources)).toEqual(['foundation', 'data', 'pipeline']);
  expect(stackFiles(path.join(dir, 'worker'))).toEqual(stackFiles(path.join(dir, 'process')));
  for (const f of ['environment.json', 'expiring-views.json']) {
    expect(readFileSync(path.join(dir, 'worker', f), 'utf8')).toBe(readFileSync(path.join(dir, 'process', f), 'utf8'));
  }
});

test('a refused synthesis reaches the caller as the same BqxError: code, kind, message and hint', async () => {
  writeFileSync(path.join(dir, 'plan.json'), '{ not json');
  const input = { env: 'dev', now: NOW, repoRoot: dir, planFile: 'plan.json' };
  const inProcess = await synthesize({ ...input, outdir: path.join(dir, 'process') }).then(
    () => null,
    (e: unknown) => e as { name: string; code: string; kind: string; message: string; hint: string },
  );
  expect(inProcess).not.toBeNull();
  await expect(compiled().synthesizeInWorker({ ...input, outdir: path.join(dir, 'worker') })).rejects.toMatchObject({
    name: 'BqxError',
    code: inProcess!.code,
    kind: inProcess!.kind,
    message: inProcess!.message,
    hint: inProcess!.hint,
  });
});

test('the synthesis runs alongside the plan step unless the job writes a file it reads (--plan-out at the committed plan)', () => {
  const { views } = loadEnvironment('prod');
  expect(jobWritesSynthInput({ planOut: path.join(dir, '.bqx', 'plan.json') })).toBe(false);
  expect(jobWritesSynthInput({ planOut: repoPath(views.planFile) })).toBe(true);
  // The same file by a relative path from the repository.
  const cwd = process.cwd();
  try {
    process.chdir(repoPath());
    expect(jobWritesSynthInput({ planOut: views.planFile })).toBe(true);
  } finally {
    process.chdir(cwd);
  }
});
