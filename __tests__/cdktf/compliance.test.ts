/**
 * Continuous compliance in the synthesized stacks: Cloud Scheduler executes the runner job daily
 * with the metadata-only audit as its own identity (declared in the foundation, granted on the
 * runner job only, from the `iam` config), the violations it logs are a log-based metric by kind,
 * class and baseline, and a violation in a table the committed plan does not know raises an alert.
 * The log line the metric counts is the one the audit writes (same filter fields, checked here).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { parse } from 'yaml';
import { Testing, TerraformStack } from 'cdktf';
import { environmentInput } from '../../config/environments';
import { parseEnvironment } from '../../config/environment';
import { auditNames } from '../../core/audit';
import { loadPolicy } from '../../core/policy';
import { logViolations, violationEvents } from '../../app/report/compliance-log';
import { runnerLogger } from '../../app/report/runner-log';
import { buildPlatform } from '../../stacks/platform';
import { disableTokenStackTraces } from '../../stacks/token-stack-traces';
import { complianceAuditArgs } from '../../stacks/pipeline-stack';
import { PINNED_NOW, Tf, resourcesOf } from './helpers';

disableTokenStackTraces();

const env = (() => {
  const input = environmentInput('prod');
  return parseEnvironment({ ...input, ci: { ...input.ci, repositoryId: '812345678', repositoryOwnerId: '91234567' }, budget: { ...input.budget, billingAccount: '0A0A0A-0B0B0B-0C0C0C' } }, 'prod');
})();
const result = buildPlatform(Testing.app(), { env, plan: null, now: PINNED_NOW });
const tf = (id: string) => JSON.parse(Testing.synth(result.stacks.find((s) => s.node.id === id) as TerraformStack)) as Tf;
const pipeline = tf('pipeline');
const compliance = `bqx-ml-compliance@${env.project}.iam.gserviceaccount.com`;

test('a Cloud Scheduler job executes the runner job daily with the audit, as its own identity', () => {
  const [job] = resourcesOf(pipeline, 'google_cloud_scheduler_job');
  expect(job).toMatchObject({ name: 'bqx-ml-runner-compliance-audit', schedule: '0 6 * * *', time_zone: 'Etc/UTC', region: env.region, retry_config: { retry_count: 0 } });
  expect(job.http_target).toMatchObject({
    http_method: 'POST',
    uri: `https://run.googleapis.com/v2/projects/${env.project}/locations/${env.region}/jobs/bqx-ml-runner:run`,
    oauth_token: { service_account_email: compliance, scope: 'https://www.googleapis.com/auth/cloud-platform' },
  });
  const body = JSON.parse(Buffer.from(job.http_target.body, 'base64').toString('utf8'));
  expect(body).toEqual({ overrides: { containerOverrides: [{ args: complianceAuditArgs(env) }] } });
  expect(body.overrides.containerOverrides[0].args).toEqual(expect.arrayContaining(['audit', '--engine', 'bigquery', '--columns', '--json']));
  // Metadata only: nothing that changes the warehouse or reads table data.
  expect(body.overrides.containerOverrides[0].args).not.toContain('apply');
});

test('its identity is declared in the foundation and may only execute the runner job (with overrides), from the iam config', () => {
  expect(resourcesOf(tf('foundation'), 'google_service_account').map((a) => a.account_id)).toContain('bqx-ml-compliance');
  const bindings = resourcesOf(pipeline, 'google_cloud_run_v2_job_iam_member').filter((b) => b.member === `serviceAccount:${compliance}`);
  expect(bindings.map((b) => b.role)).toEqual(['roles/run.jobsExecutorWithOverrides']);
  expect(bindings[0].name).toContain('bqx-ml-runner');
  expect(env.iam.jobs.runner.compliance).toEqual(['roles/run.jobsExecutorWithOverrides']);
  expect(env.apis).toContain('cloudscheduler.googleapis.com');
});

test('the violations are a log-based metric by kind, class and baseline; a new one raises the alert', () => {
  const metric = resourcesOf(pipeline, 'google_logging_metric').find((m) => m.name === 'bqx_m008_violations')!;
  expect(metric.filter).toBe('resource.type="cloud_run_job" AND resource.labels.job_name="bqx-ml-runner" AND jsonPayload.component="bqx-runner" AND jsonPayload.event="audit_violation"');
  expect(metric.label_extractors).toEqual({ kind: 'EXTRACT(jsonPayload.kind)', class: 'EXTRACT(jsonPayload.class)', baseline: 'EXTRACT(jsonPayload.baseline)' });
  expect(metric.metric_descriptor.labels.map((l: { key: string }) => l.key).sort()).toEqual(['baseline', 'class', 'kind']);
  const alert = resourcesOf(pipeline, 'google_monitoring_alert_policy').find((a) => a.display_name === 'BQX new M008 violation')!;
  expect(alert.conditions[0].condition_threshold.filter).toBe('resource.type = "cloud_run_job" AND metric.type = "logging.googleapis.com/user/bqx_m008_violations" AND metric.labels.baseline = "new"');
  expect(alert.conditions[0].condition_threshold.threshold_value).toBe(0);
  expect(alert.depends_on).toEqual(['google_logging_metric.metric-m008-violations']);
});

test('the audit writes the line the metric counts: a table the plan does not know is "new"', () => {
  const policy = loadPolicy();
  const audit = auditNames(policy, ['lag_bqx_eurusd', 'lag_eurusd_45', 'my_new_table']);
  const events = violationEvents(audit, null, new Set(['lag_eurusd_45']));
  expect(events.length).toBeGreaterThan(0);
  expect(events.find((e) => e.table === 'lag_eurusd_45')?.baseline).toBe('plan');
  expect(events.find((e) => e.table === 'my_new_table')?.baseline).toBe('new');
  expect(events.some((e) => e.table === 'lag_bqx_eurusd')).toBe(false);
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += String(d)));
  logViolations(events, runnerLogger(out));
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toHaveLength(events.length);
  // The fields the metric's filter and label extractors read.
  expect(lines[0]).toMatchObject({ component: 'bqx-runner', event: 'audit_violation', kind: 'table', severity: 'WARN' });
  expect(lines.map((l) => l.baseline).sort()).toEqual(events.map((e) => e.baseline).sort());
});

test('the CI template for the team\'s repository fails a pull request introducing a non-compliant or a retired name', () => {
  const wf = parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'ci', 'm008-names.yml'), 'utf8'));
  expect(wf.on).toHaveProperty('pull_request');
  expect(wf.permissions).toEqual({ contents: 'read' });
  const steps = wf.jobs.names.steps as { name?: string; run?: string }[];
  expect(steps.find((s) => s.name === 'M008 audit of the names')?.run).toBe('node .bqx-platform/bin/bqx.js audit --names names.txt --fail-on-violation');
  // The retired-names step, run as the workflow runs it, against a plan with one RENAME.
  const retired = steps.find((s) => s.name === 'No name the migration retired')!.run!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bqx-ci-names-'));
  fs.mkdirSync(path.join(dir, '.bqx-platform', 'plans'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.bqx-platform', 'plans', 'p.json'), JSON.stringify({ operations: [{ action: 'RENAME', sources: ['lag_eurusd_45'] }, { action: 'KEEP', sources: ['lag_bqx_eurusd'] }] }));
  const run = (names: string) => {
    fs.writeFileSync(path.join(dir, 'names.txt'), names);
    return spawnSync('bash', ['-c', retired], { cwd: dir, env: { ...process.env, BQX_PLAN: 'plans/p.json' }, encoding: 'utf8' });
  };
  // The step uses jq, as GitHub's runners have it; so must the machine running this test.
  expect(spawnSync('jq', ['--version']).status).toBe(0);
  expect(run('lag_bqx_eurusd\n').status).toBe(0);
  const bad = run('lag_bqx_eurusd\nlag_eurusd_45\n');
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('lag_eurusd_45');
  fs.rmSync(dir, { recursive: true, force: true });
});
