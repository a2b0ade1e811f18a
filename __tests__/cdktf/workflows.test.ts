/**
 * Properties of the CI workflows (.github/workflows/*.yml) and of the script that applies saved
 * plans (.github/scripts/apply-saved-plans.sh): least privilege per job, pinned actions, time
 * limits, reviewed deploys of exactly the saved plan.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { loadEnvironment } from '../../config/environments';
import { environmentManifest, synthesizeEnvironment } from '../../stacks/synthesize';
import { tmpDir } from './helpers';

const ROOT = path.join(__dirname, '..', '..');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const APPLY_SCRIPT = path.join(ROOT, '.github', 'scripts', 'apply-saved-plans.sh');

type Job = { permissions?: Record<string, string> | string; steps: { name?: string; id?: string; uses?: string; run?: string; with?: Record<string, any>; env?: Record<string, string> }[]; environment?: string | { name: string }; needs?: string | string[]; 'timeout-minutes'?: number; [k: string]: any };
type Workflow = { name: string; permissions?: Record<string, string> | string; jobs: Record<string, Job> };

const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
const raw = (f: string) => fs.readFileSync(path.join(WORKFLOWS, f), 'utf8');
const load = (f: string): Workflow => parse(raw(f)) as Workflow;

/** The commit of each action tag the workflows pin, looked up in the actions' own repositories (git rev-parse <tag>^{commit}). */
const PINNED: Readonly<Record<string, { tag: string; sha: string }>> = {
  'actions/checkout': { tag: 'v4.4.0', sha: '11d5960a326750d5838078e36cf38b85af677262' },
  'actions/setup-node': { tag: 'v4.4.0', sha: '49933ea5288caeca8642d1e84afbd3f7d6820020' },
  'actions/upload-artifact': { tag: 'v4.6.2', sha: 'ea165f8d65b6e75b540449e92b4886f43607fa02' },
  'actions/download-artifact': { tag: 'v4.3.0', sha: 'd3f86a106a0bac45b974a628896c90dbdf5c8093' },
  'google-github-actions/auth': { tag: 'v2.1.13', sha: 'c200f3691d83b41bf9bbd8638997a462592937ed' },
  'hashicorp/setup-terraform': { tag: 'v3.1.2', sha: 'b9cd54a3c349d3f38e8881555d616ced269862dd' },
  'actions/github-script': { tag: 'v7.1.0', sha: 'f28e40c7f34bde8b3046d885e986cb6290c5673b' },
};

const perms = (p: Job['permissions']): Record<string, string> => (typeof p === 'string' ? { all: p } : (p ?? {}));
const authenticates = (j: Job) => j.steps.some((s) => s.uses?.startsWith('google-github-actions/auth@'));
const script = (j: Job) => j.steps.map((s) => s.run ?? '').join('\n');

describe('CI workflows', () => {
  it('are the three platform workflows and the runner image build', () => {
    expect(files).toEqual(['platform-deploy.yml', 'platform-drift.yml', 'platform-pr.yml', 'runner-image.yml']);
  });

  it.each(files)('%s: every action is pinned to a full commit SHA, with its tag in a comment', (f) => {
    const uses = raw(f).split('\n').filter((l) => /^\s*-?\s*uses:/.test(l));
    const parsedUses = Object.values(load(f).jobs).flatMap((j) => j.steps.filter((s) => s.uses).map((s) => s.uses as string));
    expect(uses).toHaveLength(parsedUses.length);
    for (const line of uses) {
      const m = /uses:\s+([^@\s]+)@([0-9a-f]{40})\s+#\s+(v\d+\.\d+\.\d+)\s*$/.exec(line);
      expect({ line, pinned: m !== null }).toEqual({ line, pinned: true });
      expect({ action: m![1], tag: m![3], sha: m![2] }).toEqual({ action: m![1], ...PINNED[m![1]] });
    }
  });

  it.each(files)('%s: every job has a time limit', (f) => {
    for (const [name, job] of Object.entries(load(f).jobs)) {
      expect({ name, timeout: typeof job['timeout-minutes'] === 'number' && job['timeout-minutes'] > 0 && job['timeout-minutes'] <= 120 }).toEqual({ name, timeout: true });
    }
  });

  it.each(files)('%s: read-only by default; id-token only on the jobs that authenticate to Google', (f) => {
    const wf = load(f);
    expect(perms(wf.permissions)).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(wf.jobs)) {
      const p = perms(job.permissions);
      expect({ name, idToken: p['id-token'] === 'write' }).toEqual({ name, idToken: authenticates(job) });
      expect({ name, contents: p.contents ?? 'read' }).toEqual({ name, contents: 'read' });
      // A job holding cloud credentials never also writes to GitHub, and the reverse.
      if (authenticates(job)) expect({ name, writes: Object.entries(p).filter(([k, v]) => v === 'write' && k !== 'id-token') }).toEqual({ name, writes: [] });
    }
  });

  it('the pull-request workflow: PR code runs without credentials; only the comment job writes, and runs no PR code', () => {
    const wf = load('platform-pr.yml');
    for (const [name, job] of Object.entries(wf.jobs)) {
      const p = perms(job.permissions);
      const writes = Object.entries(p).filter(([, v]) => v === 'write').map(([k]) => k);
      const runsRepoCode = /npm (ci|run)|node bin\/bqx\.js|npx jest/.test(script(job));
      if (runsRepoCode) expect({ name, writes }).toEqual({ name, writes: [] });
      if (name === 'comment') {
        expect(writes).toEqual(['pull-requests']);
        expect(job.steps.some((s) => s.uses?.startsWith('actions/checkout@'))).toBe(false);
        expect(runsRepoCode).toBe(false);
      } else {
        expect({ name, writes: writes.filter((w) => w !== 'id-token') }).toEqual({ name, writes: [] });
      }
    }
    // Terraform only runs on checked configuration: the guard (from the base branch) precedes `terraform init`.
    const plan = script(wf.jobs.plan);
    expect(plan.indexOf('guard/.github/scripts/guard-stack.sh')).toBeGreaterThan(-1);
    expect(plan.indexOf('guard-stack.sh')).toBeLessThan(plan.indexOf('terraform init'));
    expect(wf.jobs.plan.steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with).toMatchObject({ ref: '${{ github.event.pull_request.base.sha }}', 'sparse-checkout': '.github/scripts' });
  });

  it.each(files)('%s: no expression is interpolated into a run: script (matrix values and the like arrive through env:)', (f) => {
    for (const [name, job] of Object.entries(load(f).jobs)) {
      const interpolated = job.steps.flatMap((s) => (s.run ?? '').match(/\$\{\{[^}]*\}\}/g) ?? []);
      expect({ name, interpolated }).toEqual({ name, interpolated: [] });
    }
  });

  it.each(files)('%s: every job that runs terraform passes each stack through the guard first', (f) => {
    for (const [name, job] of Object.entries(load(f).jobs)) {
      const s = script(job);
      const init = s.indexOf('terraform init');
      if (init < 0 || name.startsWith('apply') || name.startsWith('deploy')) continue;
      expect({ name, guarded: s.indexOf('guard-stack.sh') > -1 && s.indexOf('guard-stack.sh') < init }).toEqual({ name, guarded: true });
    }
  });

  it('a plan longer than its share of the review is marked TRUNCATED and points at the full plan artifact', () => {
    const deploy = raw('platform-deploy.yml');
    expect(deploy).toMatch(/TRUNCATED: 60000 of \$size bytes shown\.\*\* The full plan is plan\.txt in the artifact plan-\$MATRIX_ENV-\$MATRIX_STACK of \$GITHUB_SERVER_URL\/\$GITHUB_REPOSITORY\/actions\/runs\/\$GITHUB_RUN_ID/);
    expect(deploy).toMatch(/\$\{\{ env\.DIR \}\}\/plan\.txt/);
    expect(raw('platform-pr.yml')).toMatch(/TRUNCATED: \$\{limit\} of \$\{text\.length\} characters shown; the full plan is the artifact plan-\$\{env\}-\$\{stack\} of \$\{run\}/);
  });

  it('the pull-request workflow type-checks the tests and runs the whole suite when any layer changes', () => {
    const wf = parse(raw('platform-pr.yml')) as Workflow & { on: { pull_request: { paths: string[] } } };
    for (const layer of ['core/**', 'engines/**', 'app/**', 'scripts/**', 'config/**', 'constructs/**', 'stacks/**', '__tests__/**']) expect(wf.on.pull_request.paths).toContain(layer);
    const test = script(wf.jobs.test);
    expect(test).toMatch(/npm ci[^\n]*\n\s*npm run typecheck\n\s*npm test/);
    expect(perms(wf.jobs.test.permissions)).toEqual({});
    // .ci/run does the same on a fresh machine.
    expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm run typecheck$/m);
  });

  it.each(files)('%s: every terraform plan runs without the state lock (the planner cannot write state)', (f) => {
    for (const [name, job] of Object.entries(load(f).jobs)) {
      for (const line of script(job).split('\n').filter((l) => /terraform plan /.test(l))) expect({ name, line, lockFree: line.includes('-lock=false') }).toEqual({ name, line, lockFree: true });
    }
  });

  it.each(files)('%s: synthesizes with bqx synth and a named environment (dist/scripts/synth.js is gone)', (f) => {
    expect(raw(f)).not.toContain('dist/scripts/synth.js');
    const synths = raw(f).match(/bqx(\.js)? synth[^\n]*/g) ?? [];
    expect(synths.length).toBeGreaterThan(0);
    for (const s of synths) expect(s).toMatch(/--env ("?\$env"?|prod|dev)\b/);
  });

  it('pr: when plans/ changes, bqx plan --diff of each saved plan against the base branch is posted in the plan comment', () => {
    const pr = load('platform-pr.yml');
    const steps = pr.jobs.synth.steps;
    const at = steps.findIndex((st) => st.name === 'Plan diff (plans/ changed)');
    expect(at).toBeGreaterThan(steps.findIndex((st) => st.name === 'Synthesize dev and prod (base)'));
    expect(steps[at].run).toContain('git diff --quiet "$BASE_SHA" HEAD -- plans/');
    expect(steps[at].env).toEqual({ BASE_SHA: '${{ github.event.pull_request.base.sha }}' });
    expect(steps[at].run).toContain('node bin/bqx.js plan --diff "../base/$plan" --current "$plan"');
    expect(steps[at + 1]).toMatchObject({ with: { name: 'plan-diff', path: 'plan-diff/' } });
    const comment = pr.jobs.comment.steps;
    expect(comment.find((st) => st.uses?.startsWith('actions/download-artifact@'))?.with).toMatchObject({ pattern: 'plan-*', path: 'plans' });
    expect(comment.find((st) => st.uses?.startsWith('actions/github-script@'))?.with?.script).toContain("f.endsWith('.diff.txt')");
  });

  it('drift: authenticates as the drift identity read from environment.json, never as the planner, and no pull request triggers it', () => {
    const wf = load('platform-drift.yml') as Workflow & { on: Record<string, unknown> };
    // Only the default branch may impersonate the drift identity: the schedule (and a dispatch) run there.
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    const authJobs = Object.entries(wf.jobs).filter(([, j]) => authenticates(j));
    expect(authJobs.map(([name]) => name)).toEqual(['drift']);
    for (const [, job] of authJobs) {
      const ids = job.steps.find((s) => s.id === 'ids');
      expect(ids?.run).toContain('jq -r .identities.drift ');
      expect(ids?.run).not.toContain('.identities.planner');
      const auth = job.steps.filter((s) => s.uses?.startsWith('google-github-actions/auth@'));
      expect(auth.map((s) => s.with?.service_account)).toEqual(['${{ steps.ids.outputs.drift }}']);
    }
    // What the workflow reads is the drift identity, an account apart from the planner.
    for (const name of ['dev', 'prod'] as const) {
      const env = loadEnvironment(name);
      const { identities } = environmentManifest(env, {});
      expect(identities.drift).toBe(`bqx-ml-ci-drift@${env.project}.iam.gserviceaccount.com`);
      expect(identities.drift).not.toBe(identities.planner);
    }
  });

  it('deploy: plans are saved with a readable summary; dev and prod apply exactly the downloaded saved plans, prod behind its environment', () => {
    const wf = load('platform-deploy.yml');
    const plan = script(wf.jobs.plan);
    expect(plan).toMatch(/terraform plan [^\n]*-out=tfplan/);
    expect(plan).toContain('terraform show -no-color tfplan > plan.txt');
    expect(plan).toContain('GITHUB_STEP_SUMMARY');
    expect(plan).toContain('--arg commit "$GITHUB_SHA"');
    const upload = wf.jobs.plan.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.with!.path).toMatch(/tfplan/);
    expect(upload.with!['include-hidden-files']).toBe(true);

    for (const [job, env, environment] of [['apply-dev', 'dev', 'development'], ['apply-prod', 'prod', 'production']] as const) {
      const j = wf.jobs[job];
      expect(j.environment).toBe(environment);
      const download = j.steps.find((s) => s.uses?.startsWith('actions/download-artifact@') && s.with?.pattern);
      expect(download?.with).toEqual({ pattern: `plan-${env}-*`, path: 'plans' });
      expect(j.steps.some((s) => s.run === '.github/scripts/apply-saved-plans.sh' && s.env?.DEPLOY_ENV === env)).toBe(true);
      // It applies saved plans only: no plan of its own, no synthesis.
      expect(script(j)).not.toMatch(/terraform plan|bqx synth|npm /);
    }
    expect(wf.jobs['apply-prod'].needs).toEqual(['plan', 'apply-dev']);
    const apply = fs.readFileSync(APPLY_SCRIPT, 'utf8');
    expect(apply).toContain('terraform apply -input=false -no-color tfplan');
    expect(apply).not.toMatch(/terraform apply(?![^\n]*tfplan)/);
  });
});

describe('apply-saved-plans.sh', () => {
  const SHA = 'a'.repeat(40);

  /** A downloaded run: manifest + one plan artifact per stack; a fake terraform that records its calls. */
  function fixture(stacks: Record<string, { changes: boolean; commit?: string; blockedBy?: string[] }>, env = 'prod') {
    const dir = tmpDir('bqx-apply-');
    const appliedBy = (s: string) => (s === 'foundation' ? 'breakGlass' : 'ciDeployer');
    fs.mkdirSync(path.join(dir, 'out', env), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'out', env, 'environment.json'),
      JSON.stringify({ env, header: `ENV=${env}`, stacks: Object.fromEntries(Object.keys(stacks).map((s) => [s, { appliedBy: appliedBy(s) }])) }),
    );
    for (const [stack, p] of Object.entries(stacks)) {
      const d = path.join(dir, 'plans', `plan-${env}-${stack}`);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'plan-meta.json'), JSON.stringify({ commit: p.commit ?? SHA, env, stack, changes: p.changes, appliedBy: appliedBy(stack), blockedBy: p.blockedBy ?? [] }));
      fs.writeFileSync(path.join(d, 'tfplan'), 'saved plan');
    }
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'terraform'), `#!/bin/sh\necho "$(basename "$PWD") $*" >> "${path.join(dir, 'calls')}"\n`, { mode: 0o755 });
    const run = () => {
      const r = spawnSync('bash', [APPLY_SCRIPT], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, DEPLOY_ENV: env, GITHUB_SHA: SHA, GITHUB_STEP_SUMMARY: '' } });
      const calls = fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : [];
      return { status: r.status, out: `${r.stdout}${r.stderr}`, calls };
    };
    return Object.assign(run, { dir });
  }

  it('applies changed plans in order (data, pipeline, shards), skips unchanged ones, never applies foundation', () => {
    const r = fixture({ foundation: { changes: true }, 'views-01': { changes: true }, pipeline: { changes: true }, 'views-00': { changes: false }, data: { changes: true } })();
    expect(r.status).toBe(0);
    expect(r.calls).toEqual([
      'plan-prod-data init -input=false -no-color',
      'plan-prod-data apply -input=false -no-color tfplan',
      'plan-prod-pipeline init -input=false -no-color',
      'plan-prod-pipeline apply -input=false -no-color tfplan',
      'plan-prod-views-01 init -input=false -no-color',
      'plan-prod-views-01 apply -input=false -no-color tfplan',
    ]);
    expect(r.out).toContain('::warning::foundation has changes that only break glass applies');
  });

  it('refuses a plan made from another commit (after the stacks before it in order)', () => {
    const r = fixture({ data: { changes: true }, pipeline: { changes: true, commit: 'b'.repeat(40) } })();
    expect(r.status).toBe(1);
    expect(r.out).toContain(`pipeline: the saved plan was made from ${'b'.repeat(40)}, this run deploys ${SHA}`);
    expect(r.calls).toEqual(['plan-prod-data init -input=false -no-color', 'plan-prod-data apply -input=false -no-color tfplan']);
  });

  it('refuses a stack a placeholder still blocks, and a stack without its saved plan', () => {
    const blocked = fixture({ pipeline: { changes: true, blockedBy: ['jobs.runner.image'] } })();
    expect(blocked.status).toBe(1);
    expect(blocked.out).toContain('pipeline: placeholders still set (jobs.runner.image)');
    expect(blocked.calls).toEqual([]);
    const missing = fixture({ data: { changes: true }, pipeline: { changes: true } });
    fs.rmSync(path.join(missing.dir, 'plans', 'plan-prod-data'), { recursive: true });
    const r = missing();
    expect(r.status).toBe(1);
    expect(r.out).toContain('data: no saved plan (artifact plan-prod-data)');
    expect(r.calls).toEqual([]);
  });
});

describe('the stack guard (.github/scripts/guard-stack.sh) and the backend check of pull requests', () => {
  const GUARD = path.join(ROOT, '.github', 'scripts', 'guard-stack.sh');
  let out: string;
  beforeAll(() => {
    out = tmpDir('bqx-guard-');
    synthesizeEnvironment({ env: loadEnvironment('prod'), outdir: out, plan: null, now: new Date('2026-11-21T00:00:00Z') });
  });
  const stack = (s: string) => JSON.parse(fs.readFileSync(path.join(out, 'stacks', s, 'cdk.tf.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const guard = (tf: unknown, name: string) => {
    const f = path.join(out, `probe-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(f, JSON.stringify(tf));
    const r = spawnSync('bash', [GUARD, f, path.join(out, 'environment.json'), name], { encoding: 'utf8' });
    return { status: r.status, err: r.stderr };
  };

  it('passes every synthesized stack as it is', () => {
    for (const s of fs.readdirSync(path.join(out, 'stacks'))) expect({ s, ...guard(stack(s), s) }).toEqual({ s, status: 0, err: '' });
  });

  it.each([
    ['a custom endpoint', (t: any) => (t.provider.google[0].bigquery_custom_endpoint = 'https://evil.example/'), /redirect or re-authenticate Terraform: google\.bigquery_custom_endpoint/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['an access token', (t: any) => (t.provider.google[0].access_token = 'ya29.x'), /google\.access_token/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['impersonation', (t: any) => (t.provider.google[0].impersonate_service_account = 'owner@bqx-ml.iam.gserviceaccount.com'), /google\.impersonate_service_account/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['credentials', (t: any) => (t.provider.google[0].credentials = '{}'), /google\.credentials/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['another state bucket', (t: any) => (t.terraform.backend.gcs.bucket = 'someone-elses-bucket'), /backend is not the environment's state/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ["another stack's state", (t: any) => (t.terraform.backend.gcs.prefix = 'platform/prod/foundation'), /backend is not the environment's state/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['a local backend', (t: any) => (t.terraform.backend = { local: { path: '/tmp/x' } }), /backend is not the environment's state/], // eslint-disable-line @typescript-eslint/no-explicit-any
    ['a backend with credentials', (t: any) => (t.terraform.backend.gcs.access_token = 'ya29.x'), /backend is not the environment's state/], // eslint-disable-line @typescript-eslint/no-explicit-any
  ])('refuses %s', (_what, change, message) => {
    const t = stack('data');
    change(t);
    const r = guard(t, 'data');
    expect(r.status).toBe(1);
    expect(r.err).toMatch(message);
  });

  it('the pull request diff refuses a stack whose terraform.backend changed', () => {
    const step = load('platform-pr.yml').jobs.synth.steps.find((s) => s.run?.includes('Changed stacks'))!;
    const dir = tmpDir('bqx-backend-diff-');
    for (const side of ['head', 'base']) {
      for (const env of ['dev', 'prod']) {
        fs.mkdirSync(path.join(dir, side, env, 'stacks', 'data'), { recursive: true });
        const t = stack('data');
        if (side === 'head' && env === 'prod') t.terraform.backend.gcs.prefix = 'platform/prod/elsewhere';
        fs.writeFileSync(path.join(dir, side, env, 'stacks', 'data', 'cdk.tf.json'), JSON.stringify(t));
      }
    }
    const r = spawnSync('bash', ['-c', step.run!], { cwd: dir, encoding: 'utf8', env: { ...process.env, GITHUB_OUTPUT: path.join(dir, 'o'), GITHUB_STEP_SUMMARY: path.join(dir, 's') } });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('::error::prod/data: terraform.backend changed');
  });
});
