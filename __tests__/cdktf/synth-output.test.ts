import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { environmentInput } from '../../config/environments';
import { parseEnvironment } from '../../config/environment';
import { synthesizeEnvironment } from '../../stacks/synthesize';
import { main } from '../../scripts/cli';
import { syntheticViewPlan } from '../../bench/synthetic-plan';
import { PINNED_NOW, tmpDir } from './helpers';

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

  it('removes stacks that no longer exist from the output directory', () => {
    const out = tmpDir('bqx-synth-stale-');
    synthesizeEnvironment({ env: devEnv(), outdir: out, plan: devPlan(), now: PINNED_NOW });
    synthesizeEnvironment({ env: devEnv(), outdir: out, plan: null, now: PINNED_NOW });
    expect(fs.readdirSync(path.join(out, 'stacks')).sort()).toEqual(['data', 'foundation', 'pipeline']);
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
    // Terraform's own parser, where a terraform binary exists (this machine: 1.11, no providers
    // needed for fmt). It caught two cdktf HCL rendering bugs: unescaped backslashes, and quotes in
    // a string that also holds a reference.
    const terraform = ['/usr/local/bin/terraform', '/usr/bin/terraform'].find((p) => fs.existsSync(p));
    if (terraform) {
      for (const id of fs.readdirSync(path.join(out, 'stacks'))) {
        const r = spawnSync(terraform, ['fmt', '-write=false', '-list=false', path.join(out, 'stacks', id, 'cdk.tf')], { encoding: 'utf8' });
        expect({ id, status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ id, status: 0, stderr: '' });
      }
    }
    // The environment switch is restored: a later JSON synth writes JSON again.
    expect(process.env.SYNTH_HCL_OUTPUT).toBeUndefined();
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
