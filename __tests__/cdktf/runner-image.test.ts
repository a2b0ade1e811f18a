/**
 * The runner image, checked statically (no container runtime here): the Dockerfile and its build
 * context hold what the Cloud Run job bqx-ml-runner runs (config/environments.ts jobs.runner: its
 * command, its plan file, its environment), as a small multi-stage build: production dependencies
 * only, non-root, the plan baked in, `bqx` as entrypoint. The workflow that builds and pushes it
 * (.github/workflows/runner-image.yml) pushes to the repository the stacks declare.
 */
import { builtinModules } from 'module';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { loadEnvironment } from '../../config/environments';

const ROOT = path.join(__dirname, '..', '..');
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');

interface Instruction {
  readonly op: string;
  readonly args: string;
}
/** The Dockerfile's stages, each a list of instructions (comments and continuations handled). */
function stages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Instruction[][] = [];
  for (const l of lines) {
    const [op, ...rest] = l.split(/\s+/);
    if (op.toUpperCase() === 'FROM') out.push([]);
    out[out.length - 1]?.push({ op: op.toUpperCase(), args: rest.join(' ') });
  }
  return out;
}

/** Whether the build context keeps `file` (the .dockerignore patterns this repository uses: names, `dir/*`, `*.ext`, `!exception`). */
function inContext(file: string, ignore: readonly string[]): boolean {
  let kept = true;
  for (const raw of ignore) {
    const negate = raw.startsWith('!');
    const p = negate ? raw.slice(1) : raw;
    const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`);
    if (re.test(file)) kept = negate;
  }
  return kept;
}

const dockerfile = stages(read('Dockerfile'));
const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const runtime = dockerfile[dockerfile.length - 1];
const build = dockerfile[0];
const job = loadEnvironment('prod').jobs.runner;
const copies = (stage: Instruction[]) => stage.filter((i) => i.op === 'COPY');

describe('the runner image (Dockerfile, .dockerignore) against the Cloud Run job it runs', () => {
  test('multi-stage: a build stage compiles, the runtime stage holds production dependencies only and runs as a non-root user', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    expect(build.some((i) => i.op === 'RUN' && /tsc -p tsconfig\.build\.json/.test(i.args))).toBe(true);
    const installs = runtime.filter((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args));
    expect(installs.length).toBe(1);
    expect(installs[0].args).toMatch(/npm ci --omit=dev/);
    // No development node_modules carried over from the build stage, no whole-context copy.
    expect(copies(runtime).filter((c) => /node_modules/.test(c.args) || /^\.\s/.test(c.args))).toEqual([]);
    const user = runtime.filter((i) => i.op === 'USER').pop();
    expect(user?.args).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user!.args);
    // The user is set before the entrypoint runs anything.
    expect(runtime.findIndex((i) => i.op === 'USER')).toBeLessThan(runtime.findIndex((i) => i.op === 'ENTRYPOINT'));
  });

  test('the entrypoint is the command the job runs (bqx), and the plan the job applies is baked in where it looks', () => {
    const entrypoint = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint).toEqual(job.command);
    const workdir = runtime.filter((i) => i.op === 'WORKDIR').pop()!.args;
    const planPath = job.env.BQX_PLAN_FILE;
    expect((job.args ?? []).slice(0, 2)).toEqual(['apply', planPath]);
    const dests = copies(runtime).map((c) => c.args.split(/\s+/).filter((a) => !a.startsWith('--')));
    const has = (dest: string) => dests.some((d) => path.posix.resolve(workdir, d[d.length - 1]) === path.posix.resolve(workdir, dest));
    expect({ plan: has(planPath), bin: has('bin'), dist: has('dist'), policy: has('policy'), packageJson: has('./') }).toEqual({ plan: true, bin: true, dist: true, policy: true, packageJson: true });
    // The CLI finds its repository root by policy/m008.policy.yaml next to package.json (core/paths.ts).
    expect(copies(runtime).some((c) => /^package\.json\b/.test(c.args))).toBe(true);
  });

  test('every file the Dockerfile copies from the context exists and is in the build context; the build stage holds every directory tsc compiles', () => {
    for (const stage of dockerfile) {
      for (const c of copies(stage).filter((x) => !x.args.startsWith('--from'))) {
        const sources = c.args.split(/\s+/).slice(0, -1);
        for (const s of sources) {
          expect({ s, exists: fs.existsSync(path.join(ROOT, s)) }).toEqual({ s, exists: true });
          expect({ s, inContext: inContext(s.replace(/\/$/, ''), ignore) }).toEqual({ s, inContext: true });
        }
      }
    }
    const included = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    const copied = new Set(copies(build).flatMap((c) => c.args.split(/\s+/).slice(0, -1)));
    expect(included.filter((d) => !copied.has(d))).toEqual([]);
    // The context keeps the plan and leaves out what the image must not carry.
    expect(inContext('plans/phase-4c.plan.json', ignore)).toBe(true);
    for (const out of ['node_modules', '.git', 'dist', '.bqx', 'reports', '__tests__', 'cdktf.out']) expect({ out, kept: inContext(out, ignore) }).toEqual({ out, kept: false });
  });

  test('what the CLI imports at run time is a production dependency (the runtime stage installs nothing else)', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const files = (dir: string): string[] =>
      fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
    const missing = new Set<string>();
    for (const f of ['core', 'engines', 'app', 'scripts', 'config', 'warehouse', 'stacks', 'constructs'].flatMap(files)) {
      for (const m of read(f).matchAll(/^import [^'"]*from '([^.'][^']*)'/gm)) {
        if (m[0].startsWith('import type')) continue;
        const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
        if (!builtins.has(m[1]) && !builtins.has(name) && !pkg.dependencies[name]) missing.add(`${name} (${f})`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  test('the workflow builds this Dockerfile and pushes it to the repository the stacks declare, as the deployer inside production, recording the digest', () => {
    const wf = parse(read('.github/workflows/runner-image.yml')) as { jobs: Record<string, { environment?: string; steps: { run?: string; uses?: string }[] }> };
    const jobDef = Object.values(wf.jobs)[0];
    expect(jobDef.environment).toBe('production');
    const runs = jobDef.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain("e.region + '-docker.pkg.dev/' + e.project + '/' + e.artifactRegistry.repositoryId");
    expect(runs).toMatch(/docker build --pull -t "\$image" \./);
    expect(runs).toMatch(/docker push "\$image"/);
    expect(runs).toMatch(/RepoDigests/);
    expect(runs).toContain('runner-image.json');
    // The image name is the one the job pins.
    expect(job.image.split('@')[0]).toBe('bqx-ml-runner');
    expect(runs).toContain('bqx-ml-runner:$GITHUB_SHA');
  });
});
