import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { environmentInput } from '../../config/environments';
import { parseEnvironment } from '../../config/environment';
import { ENVIRONMENT_MANIFEST, TERRAFORM_CANDIDATES, synthesizeEnvironment } from '../../stacks/synthesize';
import { main } from '../../scripts/cli';
import { syntheticViewPlan } from '../../bench/synthetic-plan';
import { PINNED_NOW, tmpDir } from './helpers';
import { buildRetirePlan } from '../../core/plan/retire';
import type { Plan } from '../../core/plan/types';
import { viewUsage } from '../../core/usage';

const devEnv = () => {
  const input = environmentInput('dev');
  return parseEnvironment({ ...input, views: { ...input.views, shards: 2 } }, 'dev');
};
const devPlan = () => syntheticViewPlan({ views: 6, project: 'bqx-ml-dev', columns: 3 });

describe('synthesis to disk', () => {
  it('writes cdktf.out/stacks/<stack>/cdk.tf.json and a manifest, like cdktf synth', () => {
    const out = tmpDir('bqx-synth-json-');
    const r = synthesizeEnvironment({ env: devEnv(), outdir: out, plan: devPlan(), now: PINNED_NOW });
    expect(Object.keys(r.resources)).toEqual(['foundation', 'data', 'pipeline', 'views-00', 'views-01']);
    for (const id of Object.keys(r.resources)) {
      const file = path.join(out, 'stacks', id, 'cdk.tf.json');
      const tf = JSON.parse(fs.readFileSync(file, 'utf8'));
      expect(tf.terraform.backend.gcs.prefix).toBe(`platform/dev/${id}`);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.stacks).sort()).toEqual(['data', 'foundation', 'pipeline', 'views-00', 'views-01']);
    expect(manifest.stacks['views-00'].dependencies).toEqual(['data']);
    expect(r.resources['views-00'] + r.resources['views-01']).toBe(6);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'expiring-views.json'), 'utf8'))).toEqual([]);
  });

  it('with an applied retirement plan, the views stacks stop declaring exactly the retired views (the read one stays)', () => {
    // A plan file records days (the synthetic plan carries instants).
    const synthetic = devPlan();
    const plan = { ...synthetic, planHash: 'c'.repeat(64), graceStart: synthetic.graceStart.slice(0, 10), views: synthetic.views.map((v) => ({ ...v, graceEnd: v.graceEnd.slice(0, 10) })) };
    const base = { ...plan, engine: 'bigquery', operations: [] } as unknown as Plan;
    const after = new Date(Date.parse(`${plan.views[0].graceEnd.slice(0, 10)}T00:00:00Z`) + 2 * 86_400_000);
    const read = plan.views[1].name;
    const usage = viewUsage(base, { source: 'test', jobs: [{ jobId: 'j1', principal: 'analyst@bqx.dev', at: new Date(after.getTime() - 3_600_000).toISOString(), labels: {}, tables: [read], query: null }] }, { since: new Date(after.getTime() - 30 * 86_400_000), until: after, days: 30 });
    const tables = plan.views.map((v) => ({ name: v.name, kind: 'VIEW' as const, columns: v.columns.map((c) => ({ name: c.name, type: 'STRING' as const })), rowCount: 0, bytes: 0, partitionBy: null, clusterBy: [] }));
    const retire = buildRetirePlan({ basePlan: base, tables, usage, unreadDays: 30, now: after, engine: 'bigquery', policyHash: 'a'.repeat(64), batchSize: 100 });
    const dir = tmpDir('bqx-synth-retire-');
    fs.writeFileSync(path.join(dir, 'retire.json'), JSON.stringify(retire));
    // Long after the grace period: without the retirement every view would be gone; with it, only the retired ones.
    const late = new Date(after.getTime() + 90 * 86_400_000);
    const r = synthesizeEnvironment({ env: devEnv(), outdir: path.join(dir, 'out'), plan, retirePlanFile: 'retire.json', repoRoot: dir, now: late });
    expect(r.views.declared).toBe(1);
    expect(r.views.expired).toBe(plan.views.length - 1);
    const declared = ['views-00', 'views-01'].flatMap((id) => Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'stacks', id, 'cdk.tf.json'), 'utf8')).resource?.google_bigquery_table ?? {}));
    expect(declared).toEqual([`view_${read}`]);
    const other = { ...plan, planHash: 'b'.repeat(64) };
    expect(() => synthesizeEnvironment({ env: devEnv(), outdir: path.join(dir, 'out2'), plan: other, retirePlanFile: 'retire.json', repoRoot: dir, now: late })).toThrow(/retires the views of plan/);
  });

  it('removes stacks that no longer exist from the output directory', () => {
    const out = tmpDir('bqx-synth-stale-');
    synthesizeEnvironment({ env: devEnv(), outdir: out, plan: devPlan(), now: PINNED_NOW });
    synthesizeEnvironment({ env: devEnv(), outdir: out, plan: null, now: PINNED_NOW });
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['data', 'foundation', 'pipeline']);
  });

  it('writes environment.json: the environment, its identities, who applies each stack, what blocks it', () => {
    const out = tmpDir('bqx-synth-envjson-');
    const r = synthesizeEnvironment({ env: devEnv(), outdir: out, plan: devPlan(), now: PINNED_NOW });
    expect(r.header).toBe('ENV=dev project=bqx-ml-dev state=gs://bqx-ml-dev-tfstate/platform/dev');
    const m = JSON.parse(fs.readFileSync(path.join(out, ENVIRONMENT_MANIFEST), 'utf8'));
    expect(m).toMatchObject({ env: 'dev', project: 'bqx-ml-dev', githubEnvironment: 'development', state: { bucket: 'bqx-ml-dev-tfstate', prefixRoot: 'platform/dev' } });
    expect(m.identities).toEqual({
      planner: 'bqx-ml-ci-planner@bqx-ml-dev.iam.gserviceaccount.com',
      drift: 'bqx-ml-ci-drift@bqx-ml-dev.iam.gserviceaccount.com',
      deployer: 'bqx-ml-ci-deployer@bqx-ml-dev.iam.gserviceaccount.com',
      breakGlass: 'bqx-ml-break-glass@bqx-ml-dev.iam.gserviceaccount.com',
      runner: 'bqx-ml-runner@bqx-ml-dev.iam.gserviceaccount.com',
    });
    expect(Object.keys(m.stacks)).toEqual(Object.keys(r.resources));
    expect(m.stacks.foundation).toMatchObject({ appliedBy: 'breakGlass', statePrefix: 'platform/dev/foundation' });
    for (const id of ['data', 'pipeline', 'views-00']) expect(m.stacks[id].appliedBy).toBe('ciDeployer');
    // The committed config still holds placeholders: each names the stacks CI must not apply.
    expect(m.stacks.pipeline.blockedBy).toEqual(expect.arrayContaining(['jobs.runner.image', 'groups.operators']));
    expect(m.stacks['views-00'].blockedBy).toEqual([]);
  });

  it('every stack of each environment is bound to that environment: state bucket, prefix, provider project', () => {
    for (const name of ['dev', 'prod'] as const) {
      const input = environmentInput(name);
      const env = parseEnvironment(input, name);
      const out = tmpDir(`bqx-synth-bound-${name}-`);
      const r = synthesizeEnvironment({ env, outdir: out, plan: null, now: PINNED_NOW });
      for (const id of Object.keys(r.resources)) {
        const tf = JSON.parse(fs.readFileSync(path.join(out, 'stacks', id, 'cdk.tf.json'), 'utf8'));
        expect({ id, backend: tf.terraform.backend.gcs, project: tf.provider.google[0].project }).toEqual({
          id,
          // The foundation's state apart, in a bucket only break glass writes.
          backend: { bucket: `bqx-ml${name === 'dev' ? '-dev' : ''}-tfstate${id === 'foundation' ? '-foundation' : ''}`, prefix: `platform/${name}/${id}` },
          project: name === 'dev' ? 'bqx-ml-dev' : 'bqx-ml',
        });
      }
    }
  });

  it('--hcl writes cdk.tf files that read as plain Terraform', () => {
    const out = tmpDir('bqx-synth-hcl-');
    synthesizeEnvironment({ env: devEnv(), outdir: out, plan: devPlan(), now: PINNED_NOW, hcl: true });
    const views = fs.readFileSync(path.join(out, 'stacks', 'views-00', 'cdk.tf'), 'utf8');
    expect(fs.existsSync(path.join(out, 'stacks', 'views-00', 'cdk.tf.json'))).toBe(false);
    expect(views).toMatch(/^terraform \{/m);
    expect(views).toMatch(/backend "gcs" \{\s+bucket = "bqx-ml-dev-tfstate"\s+prefix = "platform\/dev\/views-00"/);
    expect(views).toMatch(/^provider "google" \{/m);
    expect(views).toMatch(/^resource "google_bigquery_table" "view_\w+" \{/m);
    expect(views).toMatch(/deletion_protection = false/);
    expect(() => JSON.parse(views)).toThrow();
    const pipeline = fs.readFileSync(path.join(out, 'stacks', 'pipeline', 'cdk.tf'), 'utf8');
    expect(pipeline).toContain('in: $${pairs}');
    expect(pipeline).toMatch(/^resource "google_workflows_workflow" "fan-out" \{/m);
    // Terraform's own parser and formatter, where a terraform binary exists (this machine: 1.11, no
    // providers needed for fmt). It caught two cdktf HCL rendering bugs: unescaped backslashes, and
    // quotes in a string that also holds a reference. Synthesis formats the HCL, so `terraform fmt
    // -check` (what a reviewer's pre-commit or CI runs on the exit) passes on every stack.
    const terraform = TERRAFORM_CANDIDATES.find((p) => fs.existsSync(p));
    if (terraform) {
      for (const id of fs.readdirSync(path.join(out, 'stacks'))) {
        const r = spawnSync(terraform, ['fmt', '-check', '-diff', path.join(out, 'stacks', id, 'cdk.tf')], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } });
        expect({ id, status: r.status, diff: r.status === 0 ? '' : `${r.stdout}${r.stderr}`.slice(0, 3000) }).toEqual({ id, status: 0, diff: '' });
      }
    } else {
      console.warn(`no terraform binary at ${TERRAFORM_CANDIDATES.join(' or ')}: the HCL was neither formatted nor parsed by Terraform in this run`);
    }
    // The environment switch is restored: a later JSON synth writes JSON again.
    expect(process.env.SYNTH_HCL_OUTPUT).toBeUndefined();
  });

  it('without a terraform binary, leaves the HCL unformatted and says so', () => {
    const out = tmpDir('bqx-synth-hcl-nofmt-');
    const r = synthesizeEnvironment({ env: devEnv(), outdir: out, plan: null, now: PINNED_NOW, hcl: true, terraform: null });
    expect(r.hclFormatted).toBe(false);
    expect(r.warnings).toContain('warning: no terraform binary: cdk.tf is left as cdktf rendered it (run terraform fmt -recursive on it)');
    // cdktf's own rendering is not indented (what `terraform fmt -check` used to fail on).
    expect(fs.readFileSync(path.join(out, 'stacks', 'data', 'cdk.tf'), 'utf8')).toMatch(/^terraform \{\nrequired_providers \{/);
  });

  it('fails with the construct path and the rule when a stack breaks policy', () => {
    const input = environmentInput('dev');
    const bad = parseEnvironment({ ...input, buckets: { ...input.buckets, output: { ...input.buckets.output, name: 'bqx_ml_output_bad' } } }, 'dev');
    let err: unknown;
    try {
      synthesizeEnvironment({ env: bad, outdir: tmpDir('bqx-synth-bad-'), plan: null, now: PINNED_NOW });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'POLICY_VIOLATION', kind: 'VIOLATIONS' });
    expect((err as Error).message).toContain('[data/bucket-output/bucket] policy naming-conventions: google_storage_bucket name "bqx_ml_output_bad"');
  });
});

describe('alert e-mail channel', () => {
  it('when configured, passes the policy and reaches every alert policy and budget', () => {
    const input = environmentInput('dev');
    const env = parseEnvironment({ ...input, alerts: { notificationEmail: 'oncall@example.com' } }, 'dev');
    const out = tmpDir('bqx-synth-email-');
    synthesizeEnvironment({ env, outdir: out, plan: null, now: PINNED_NOW });
    const tf = JSON.parse(fs.readFileSync(path.join(out, 'stacks', 'pipeline', 'cdk.tf.json'), 'utf8'));
    const channel = '${google_monitoring_notification_channel.alerts-email.name}';
    expect(tf.resource.google_monitoring_notification_channel['alerts-email']).toMatchObject({ type: 'email', labels: { email_address: 'oncall@example.com' }, user_labels: { env: 'dev' } });
    for (const a of Object.values(tf.resource.google_monitoring_alert_policy) as { notification_channels: string[] }[]) expect(a.notification_channels).toEqual([channel]);
    for (const b of Object.values(tf.resource.google_billing_budget) as { all_updates_rule: unknown }[]) expect(b.all_updates_rule).toEqual({ monitoring_notification_channels: [channel] });
  });
});

describe('bqx synth (npm run synth) arguments', () => {
  async function synth(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const o = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    const e = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
    try {
      return { code: await main(['node', 'bqx', 'synth', ...args]), out: out.join(''), err: err.join('') };
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  }

  it('refuses unknown arguments and bad dates with a hint, exit 2', async () => {
    const unknown = await synth(['--stack']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown option '--stack'/);
    const badNow = await synth(['--env', 'dev', '--now', 'tomorrow', '--out', tmpDir('bqx-synth-now-')]);
    expect(badNow.code).toBe(2);
    expect(badNow.err).toMatch(/--now "tomorrow" is not a date/);
  });

  it('exits 2 on an unknown environment, changing nothing', async () => {
    const out = tmpDir('bqx-synth-env-');
    const r = await synth(['--env', 'staging', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--env.*staging.*(dev, prod|choices)/s);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('one environment rule: --env, else BQX_ENV, else refused (nothing written)', async () => {
    const saved = process.env.BQX_ENV;
    try {
      delete process.env.BQX_ENV;
      const none = tmpDir('bqx-synth-default-');
      const refused = await synth(['--out', none, '--plan', path.join(none, 'none.json')]);
      expect(refused.code).toBe(2);
      expect(refused.err).toMatch(/bqx synth needs an environment: nothing defaults to one/);
      expect(refused.err).toMatch(/--env dev\|prod or set BQX_ENV=dev\|prod/);
      expect(fs.readdirSync(none)).toEqual([]);
      // BQX_ENV=prod npm run synth synthesizes prod (it used to fall back to dev).
      process.env.BQX_ENV = 'prod';
      const out = tmpDir('bqx-synth-bqxenv-');
      const r = await synth(['--out', out, '--plan', path.join(out, 'none.json')]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^synthesized prod: /m);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'environment.json'), 'utf8')).project).toBe('bqx-ml');
      // The flag wins over BQX_ENV.
      const dev = tmpDir('bqx-synth-flag-');
      expect((await synth(['--env', 'dev', '--out', dev, '--plan', path.join(dev, 'none.json')])).out).toMatch(/^synthesized dev: /m);
    } finally {
      if (saved === undefined) delete process.env.BQX_ENV;
      else process.env.BQX_ENV = saved;
    }
  });

  it('prod from the committed plan: says loudly that its views come from the DuckDB replica, and environment.json records it', async () => {
    const out = tmpDir('bqx-synth-prod-plan-');
    const r = await synth(['--env', 'prod', '--out', out, '--now', '2026-11-21T00:00:00Z']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^WARNING: the views of prod come from plan plans\/phase-4c\.plan\.json made from the catalogue duckdb:bqx-ml\.bqx_ml_v3_features_v2, NOT from BigQuery bqx-ml; accepted by views\.allowPlanFromLocalCatalogue: /m);
    expect(r.out).toContain("  views plan catalogue: duckdb:bqx-ml.bqx_ml_v3_features_v2, NOT the environment's BigQuery catalogue (allowed by views.allowPlanFromLocalCatalogue)");
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'environment.json'), 'utf8'));
    expect(manifest.viewsPlan.catalogue).toMatchObject({ name: 'duckdb:bqx-ml.bqx_ml_v3_features_v2', fromWarehouse: false });
  }, 120_000);

  it('synthesizes an environment with a pinned clock and reports every stack', async () => {
    const out = tmpDir('bqx-synth-cli-');
    const plan = path.join(out, 'plan.json');
    const r = await synth(['--env', 'dev', '--out', out, '--now', '2026-11-21T00:00:00Z', '--plan', plan]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^synthesized dev: 3 stacks, \d+ resources -> /m);
    expect(r.err).toContain(`plan file ${plan} not found`);
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['data', 'foundation', 'pipeline']);
  });
});
