/**
 * The cdktf app (main.ts) as the cdktf CLI runs it: through @cdktf/cli-core's own SynthStack.synth
 * (the code behind `npx cdktf synth`), with the TypeScript app transpiled by swc instead of built.
 * Covers what only the CLI path exercises: the CLI's cleanup of stack directories around the app's
 * own, switching environments between syntheses, and the app refusing to guess an environment.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
const { SynthStack } = require('@cdktf/cli-core/src/lib/synth-stack') as {
  SynthStack: { synth(signal: AbortSignal, command: string, outdir: string, cwd: string, graceful: boolean, noColor: boolean, origin: string, hcl: boolean): Promise<{ name: string }[]> };
};
import { ENVIRONMENT_MANIFEST } from '../../stacks/synthesize';
import { tmpDir } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const REGISTER = path.join(__dirname, 'support', 'swc-register.js');
const APP = `node -r ${REGISTER} ${path.join(ROOT, 'main.ts')}`;

/** Runs one `cdktf synth` of the app with `env` set, as the CLI does. */
async function cdktfSynth(outdir: string, env: Record<string, string | undefined>): Promise<string[]> {
  const saved = { ...process.env };
  Object.assign(process.env, { CHECKPOINT_DISABLE: '1' }, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined); // the CLI echoes the app's stdout
  try {
    const stacks = await SynthStack.synth(new AbortController().signal, APP, outdir, ROOT, true, true, 'synth', false);
    return stacks.map((s) => s.name).sort();
  } finally {
    log.mockRestore();
    process.env = saved;
  }
}

describe('the cdktf app under the cdktf CLI', () => {
  it('synthesizes prod (13 stacks), then dev (3) into the same directory: no ENOENT, no stale stack', async () => {
    const out = tmpDir('bqx-cli-switch-');
    const prod = await cdktfSynth(out, { BQX_ENV: 'prod', BQX_NOW: '2026-11-21T00:00:00Z' });
    expect(prod).toHaveLength(13);
    expect(JSON.parse(fs.readFileSync(path.join(out, ENVIRONMENT_MANIFEST), 'utf8')).env).toBe('prod');
    // Before the fix the CLI threw ENOENT (lstat cdktf.out/stacks/views-00) here: the app had removed
    // the directories the CLI listed before running it and meant to remove afterwards.
    const dev = await cdktfSynth(out, { BQX_ENV: 'dev', BQX_NOW: '2026-11-21T00:00:00Z' });
    expect(dev).toEqual(['data', 'foundation', 'pipeline']);
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['data', 'foundation', 'pipeline']);
    const m = JSON.parse(fs.readFileSync(path.join(out, ENVIRONMENT_MANIFEST), 'utf8'));
    expect(m).toMatchObject({ env: 'dev', project: 'bqx-ml-dev' });
    const backend = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'data', 'cdk.tf.json'), 'utf8')).terraform.backend.gcs;
    expect(backend).toEqual({ bucket: 'bqx-ml-dev-tfstate', prefix: 'platform/dev/data' });
  }, 60_000);

  it('refuses to run without BQX_ENV (no implicit prod), and names the environment first when given one', () => {
    const env: NodeJS.ProcessEnv & { CDKTF_OUTDIR: string } = { ...process.env, CHECKPOINT_DISABLE: '1', CDKTF_OUTDIR: tmpDir('bqx-cli-noenv-') };
    delete env.BQX_ENV;
    const none = spawnSync('node', ['-r', REGISTER, path.join(ROOT, 'main.ts')], { cwd: ROOT, env, encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('BQX_ENV is not set: the cdktf app does not default to an environment');
    expect(fs.readdirSync(env.CDKTF_OUTDIR)).toEqual([]);
    const prod = spawnSync('node', ['-r', REGISTER, path.join(ROOT, 'main.ts')], { cwd: ROOT, env: { ...env, BQX_ENV: 'prod' }, encoding: 'utf8' });
    expect(prod.status).toBe(0);
    expect(prod.stdout.split('\n')[0]).toBe('bqx: PRODUCTION ENV=prod project=bqx-ml state=gs://bqx-ml-tfstate/platform/prod');
  }, 60_000);

  it('cdktf.json builds before running the compiled app, so the CLI never synthesizes stale code', () => {
    const cdktf = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8'));
    expect(cdktf.app).toBe('npm run --silent build && node dist/main.js');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json');
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')).include).toContain('main.ts');
  });

  it('the cdktf CLI runs without its checkpoint lookup (no `[ERROR] getaddrinfo` offline): npm run cdktf and every workflow set CHECKPOINT_DISABLE', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.cdktf).toBe('CHECKPOINT_DISABLE=1 cdktf');
    const workflows = path.join(ROOT, '.github', 'workflows');
    for (const f of fs.readdirSync(workflows)) {
      const text = fs.readFileSync(path.join(workflows, f), 'utf8');
      if (/\bcdktf\b/.test(text)) expect(`${f}: ${/CHECKPOINT_DISABLE: '1'/.test(text)}`).toBe(`${f}: true`);
    }
    expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain('The `cdktf` script sets `CHECKPOINT_DISABLE=1`');
  });
});
