import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment';
import { datasetByRole, extractJobEnv, imageUri } from '../config/environment';
import { DataGoogleProject, WorkflowsWorkflow } from '../constructs/google';
import { PipelineJob } from '../constructs/pipeline-job';
import { AlertCondition, AlertPolicy, EmailNotificationChannel, LogMetric } from '../constructs/monitoring';
import { Budget } from '../constructs/budget';
import { ScheduledJobRun } from '../constructs/scheduled-job-run';
import { PHASE_4C_JOB_LABEL } from '../config/job-labels';
import { terraformLiteral } from '../constructs/terraform-literal';
import { BqxStack } from './bqx-stack';
import { Principals, grantAll } from './iam';
import { workflowDefinition } from './workflow-definition';

/** Literal, not a reference: cdktf's HCL output breaks strings that mix quotes and references. */
const NO_CHECKPOINTS_METRIC = 'bqx_extract_no_checkpoints';

/**
 * No backslashes in filters: cdktf's HCL output does not escape them (`\b` is invalid HCL).
 * Contract with the extract script: at the end of a run it logs one structured line
 * `{"event": "extract_finished", "pair": ..., "checkpoints": N}`. The original once "succeeded"
 * with 0 checkpoints; this metric counts such runs (and the legacy text line, if printed).
 */
export const NO_CHECKPOINTS_FILTER = (jobName: string) =>
  `resource.type="cloud_run_job" AND resource.labels.job_name="${jobName}" AND ` +
  `((jsonPayload.event="extract_finished" AND jsonPayload.checkpoints=0) OR textPayload=~"(?i)(^|[^0-9])0 checkpoints")`;

/** Contract with the migration runner: a halt is logged as `{"component": "bqx-runner", "event": "halted", ...}`. */
export const RUNNER_HALT_FILTER = 'jsonPayload.component="bqx-runner" AND jsonPayload.event="halted"';

/**
 * The "runner halted" alert: a halt logged by the runner's Cloud Run job (its stderr JSON lines
 * become jsonPayload entries of resource type `cloud_run_job`, labelled with the job name:
 * https://cloud.google.com/run/docs/logging#job-logs).
 */
export const RUNNER_HALT_ALERT_FILTER = (jobName: string) =>
  `resource.type="cloud_run_job" AND resource.labels.job_name="${jobName}" AND ${RUNNER_HALT_FILTER}`;

/** The log-based metric of M008 violations the scheduled audit logs (app/report/compliance-log.ts). */
export const VIOLATIONS_METRIC = 'bqx_m008_violations';

/** Contract with the audit: one `{"component":"bqx-runner","event":"audit_violation",...}` line per violation. */
export const AUDIT_VIOLATION_FILTER = (jobName: string) =>
  `resource.type="cloud_run_job" AND resource.labels.job_name="${jobName}" AND jsonPayload.component="bqx-runner" AND jsonPayload.event="audit_violation"`;

/** What the scheduled execution of the runner job runs: the table and column audit, metadata only. */
export function complianceAuditArgs(env: EnvironmentConfig): string[] {
  return [
    'audit', '--engine', 'bigquery', '--project', env.project, '--location', env.bigqueryLocation,
    '--dataset', datasetByRole(env, 'features').id, '--runner-dataset', datasetByRole(env, 'ledger').id, '--columns', '--json',
  ];
}

/**
 * Pipeline: the extract, merge and runner jobs with their IAM from the `iam` config, the Workflows
 * fan-out over the pairs, alerting (job failure, an extract that wrote no checkpoints, runner halts)
 * and the budgets.
 */
/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** A Markdown link to a RUNBOOK section on the repository's default branch. */
export function runbookLink(repository: string, heading: string): string {
  return `[RUNBOOK, ${heading}](https://github.com/${repository}/blob/main/RUNBOOK.md#${headingAnchor(heading)})`;
}

export class PipelineStack extends BqxStack {
  readonly extract: PipelineJob;
  readonly merge: PipelineJob;
  /** The M008 runner (its image carries the committed plan; configured as the paper run). */
  readonly runner: PipelineJob;
  readonly workflow: WorkflowsWorkflow;
  readonly alerts: readonly AlertPolicy[];
  readonly budgets: readonly Budget[];
  /** The daily compliance audit (the runner job, executed by Cloud Scheduler as its own identity). */
  readonly complianceAudit: ScheduledJobRun;
  readonly violations: LogMetric;

  constructor(scope: Construct, id: string, env: EnvironmentConfig) {
    super(scope, id, { env, userProjectOverride: true });
    const principals = new Principals(env);
    const orchestrator = principals.identity('orchestrator');

    const job = (key: 'extract' | 'merge' | 'runner') => {
      const c = env.jobs[key];
      const pipelineJob = new PipelineJob(this, c.name, {
        jobName: c.name,
        location: env.region,
        image: imageUri(env, c.image),
        cpu: c.cpu,
        memory: c.memory,
        timeoutSeconds: c.timeoutSeconds,
        maxRetries: c.maxRetries,
        env: key === 'extract' ? extractJobEnv(env) : c.env,
        command: c.command,
        args: c.args,
        serviceAccount: principals.serviceAccount(c.serviceAccount),
        deletionProtection: env.deletionProtection.jobs,
        labels: { ...this.labels, job: key },
      });
      return { pipelineJob, grants: grantAll(pipelineJob, env.iam.jobs[key], principals) };
    };
    const extract = job('extract');
    const merge = job('merge');
    this.extract = extract.pipelineJob;
    this.merge = merge.pipelineJob;
    this.runner = job('runner').pipelineJob;
    this.complianceAudit = new ScheduledJobRun(this, 'compliance-audit', {
      name: `${env.jobs.runner.name}-compliance-audit`,
      description: 'Daily M008 compliance audit of table and column names (metadata only); violations are logged and counted',
      job: this.runner,
      schedule: env.compliance.schedule,
      timeZone: env.compliance.timeZone,
      region: env.region,
      project: env.project,
      serviceAccount: principals.identity('compliance'),
      args: complianceAuditArgs(env),
    });

    this.workflow = new WorkflowsWorkflow(this, 'fan-out', {
      name: env.orchestration.workflowName,
      region: env.region,
      description: `Extract then merge, one execution per pair, ${env.orchestration.concurrency} pairs at a time`,
      serviceAccount: orchestrator.email,
      sourceContents: terraformLiteral(workflowDefinition(env)),
      callLogLevel: 'LOG_ERRORS_ONLY',
      deletionProtection: env.deletionProtection.jobs,
      labels: this.labels,
      // The workflow names the jobs by path (no reference Terraform could follow).
      dependsOn: [this.extract.resource, this.merge.resource],
    });
    // The workflow can run the jobs once it exists: its identity's grants on them come first.
    for (const g of [...extract.grants, ...merge.grants]) if (g.principal.member === orchestrator.member) g.applyBefore(this.workflow);

    const channels = env.alerts.notificationEmail
      ? [new EmailNotificationChannel(this, 'alerts-email', { email: env.alerts.notificationEmail, labels: this.labels }).channelName]
      : [];
    // Each incident links the RUNBOOK section that handles it (its heading is `Alert: <display name>`).
    const alert = (alertId: string, props: Omit<ConstructorParameters<typeof AlertPolicy>[2], 'notificationChannels' | 'labels'>) =>
      new AlertPolicy(this, alertId, {
        ...props,
        documentation: `${props.documentation}\n\nWhat to do: ${runbookLink(env.ci.repository, `Alert: ${props.displayName}`)}`,
        notificationChannels: channels,
        labels: this.labels,
      });

    const noCheckpoints = new LogMetric(this, 'metric-extract-no-checkpoints', {
      name: NO_CHECKPOINTS_METRIC,
      description: 'Extract executions that finished having written no checkpoints',
      filter: NO_CHECKPOINTS_FILTER(env.jobs.extract.name),
    });
    this.violations = new LogMetric(this, 'metric-m008-violations', {
      name: VIOLATIONS_METRIC,
      description: 'M008 violations found by the scheduled audit, per table name or column, by class; baseline new when the committed plan does not know the table',
      filter: AUDIT_VIOLATION_FILTER(env.jobs.runner.name),
      labels: { kind: 'EXTRACT(jsonPayload.kind)', class: 'EXTRACT(jsonPayload.class)', baseline: 'EXTRACT(jsonPayload.baseline)' },
    });
    this.alerts = [
      alert('alert-job-failed', {
        displayName: 'BQX pipeline job execution failed',
        severity: 'ERROR',
        documentation: 'A bqx-ml-extract or bqx-ml-merge execution failed. Jobs do not retry (max_retries 0): re-run the pair.',
        conditions: [
          AlertCondition.threshold({
            displayName: 'failed executions > 0',
            filter: 'resource.type = "cloud_run_job" AND metric.type = "run.googleapis.com/job/completed_execution_count" AND metric.labels.result = "failed"',
          }),
        ],
      }),
      alert('alert-extract-no-checkpoints', {
        displayName: 'BQX extract wrote no checkpoints',
        severity: 'ERROR',
        documentation: 'An extract run ended with 0 checkpoints: do not merge this pair; inspect the execution logs.',
        conditions: [AlertCondition.logMetric(noCheckpoints, { displayName: 'extract runs with 0 checkpoints > 0', resourceType: 'cloud_run_job' })],
      }),
      alert('alert-runner-halted', {
        displayName: 'BQX migration runner halted',
        severity: 'CRITICAL',
        documentation: 'The M008 runner halted on a validation failure. See the ledger (bqx_ml_v3_migration) and the run report before resuming.',
        alertStrategy: { notificationRateLimit: { period: '300s' }, autoClose: '86400s' },
        conditions: [AlertCondition.logMatch({ displayName: 'runner halt logged', filter: RUNNER_HALT_ALERT_FILTER(env.jobs.runner.name) })],
      }),
      alert('alert-m008-new-violation', {
        displayName: 'BQX new M008 violation',
        severity: 'WARNING',
        documentation:
          'The daily compliance audit found a table name or column that violates M008 in a table the committed plan does not know (created since: a generator writes a non-compliant or retired name): find the producer, fix it, re-audit.',
        conditions: [
          AlertCondition.logMetric(this.violations, { displayName: 'new violating tables or columns > 0', resourceType: 'cloud_run_job', where: 'metric.labels.baseline = "new"', alignmentPeriod: '3600s' }),
        ],
      }),
    ];

    const project = new DataGoogleProject(this, 'project', { projectId: env.project });
    const budget = { billingAccount: env.budget.billingAccount, projectNumbers: [project.number], thresholds: env.budget.thresholds, notificationChannels: channels };
    this.budgets = [
      new Budget(this, 'budget-monthly', { ...budget, displayName: `bqx-ml ${env.name} monthly`, amountUsd: env.budget.monthlyUsd }),
      // Counts only spend labelled by the runner's BigQuery jobs, from the phase's start.
      new Budget(this, 'budget-phase-4c', {
        ...budget,
        displayName: `bqx-ml ${env.name} M008 Phase 4C ceiling`,
        amountUsd: env.budget.phase4c.ceilingUsd,
        startDate: env.budget.phase4c.start,
        label: [PHASE_4C_JOB_LABEL.key, PHASE_4C_JOB_LABEL.value],
      }),
    ];
  }
}
