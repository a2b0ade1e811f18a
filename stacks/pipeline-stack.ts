import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment';
import { imageUri, serviceAccountEmail } from '../config/environment';
import {
  BillingBudget,
  DataGoogleProject,
  LoggingMetric,
  MonitoringAlertPolicy,
  MonitoringNotificationChannel,
  WorkflowsWorkflow,
} from '../constructs/google';
import { PipelineJob } from '../constructs/pipeline-job';
import { ServiceAccountPrincipal } from '../constructs/principal';
import { terraformLiteral } from '../constructs/terraform-literal';
import { BqxStack } from './bqx-stack';
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
 * Pipeline: the extract and merge jobs, the Workflows fan-out over the pairs, alerting (job
 * failure, an extract that wrote no checkpoints, runner halts) and the budgets.
 */
export class PipelineStack extends BqxStack {
  readonly extract: PipelineJob;
  readonly merge: PipelineJob;
  readonly workflow: WorkflowsWorkflow;

  constructor(scope: Construct, id: string, env: EnvironmentConfig) {
    super(scope, id, { env, userProjectOverride: true });
    const orchestrator = new ServiceAccountPrincipal(serviceAccountEmail(env, env.serviceAccounts.orchestrator));

    const job = (key: 'extract' | 'merge') => {
      const c = env.jobs[key];
      return new PipelineJob(this, c.name, {
        jobName: c.name,
        location: env.region,
        image: imageUri(env, c.image),
        cpu: c.cpu,
        memory: c.memory,
        timeoutSeconds: c.timeoutSeconds,
        maxRetries: c.maxRetries,
        env: c.env,
        serviceAccount: new ServiceAccountPrincipal(serviceAccountEmail(env, c.serviceAccount)),
        deletionProtection: env.deletionProtection.jobs,
        labels: { ...this.labels, job: key },
      });
    };
    this.extract = job('extract');
    this.merge = job('merge');
    this.extract.grantExecuteWithOverrides(orchestrator);
    this.merge.grantExecuteWithOverrides(orchestrator);

    this.workflow = new WorkflowsWorkflow(this, 'fan-out', {
      name: env.orchestration.workflowName,
      region: env.region,
      description: `Extract then merge, one execution per pair, ${env.orchestration.concurrency} pairs at a time`,
      serviceAccount: orchestrator.email,
      sourceContents: terraformLiteral(workflowDefinition(env)),
      callLogLevel: 'LOG_ERRORS_ONLY',
      deletionProtection: env.deletionProtection.jobs,
      labels: this.labels,
    });
    this.workflow.node.addDependency(this.extract.resource, this.merge.resource);

    const channels = env.alerts.notificationEmail
      ? [
          new MonitoringNotificationChannel(this, 'alerts-email', {
            displayName: 'BQX platform alerts',
            type: 'email',
            labels: { email_address: env.alerts.notificationEmail },
            userLabels: this.labels,
          }).name,
        ]
      : [];
    const alert = (id: string, props: Omit<ConstructorParameters<typeof MonitoringAlertPolicy>[2], 'combiner' | 'userLabels' | 'notificationChannels'>) =>
      new MonitoringAlertPolicy(this, id, { combiner: 'OR', notificationChannels: channels, userLabels: this.labels, ...props });

    alert('alert-job-failed', {
      displayName: 'BQX pipeline job execution failed',
      severity: 'ERROR',
      documentation: { content: 'A bqx-ml-extract or bqx-ml-merge execution failed. Jobs do not retry (max_retries 0): re-run the pair.', mimeType: 'text/markdown' },
      conditions: [
        {
          displayName: 'failed executions > 0',
          conditionThreshold: {
            filter:
              'resource.type = "cloud_run_job" AND metric.type = "run.googleapis.com/job/completed_execution_count" AND metric.labels.result = "failed"',
            comparison: 'COMPARISON_GT',
            thresholdValue: 0,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM' }],
          },
        },
      ],
    });

    const noCheckpoints = new LoggingMetric(this, 'metric-extract-no-checkpoints', {
      name: NO_CHECKPOINTS_METRIC,
      description: 'Extract executions that finished having written no checkpoints',
      filter: NO_CHECKPOINTS_FILTER(env.jobs.extract.name),
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1' },
    });
    const noCheckpointsAlert = alert('alert-extract-no-checkpoints', {
      displayName: 'BQX extract wrote no checkpoints',
      severity: 'ERROR',
      documentation: { content: 'An extract run ended with 0 checkpoints: do not merge this pair; inspect the execution logs.', mimeType: 'text/markdown' },
      conditions: [
        {
          displayName: 'extract runs with 0 checkpoints > 0',
          conditionThreshold: {
            filter: `resource.type = "cloud_run_job" AND metric.type = "logging.googleapis.com/user/${NO_CHECKPOINTS_METRIC}"`,
            comparison: 'COMPARISON_GT',
            thresholdValue: 0,
            duration: '0s',
            aggregations: [{ alignmentPeriod: '300s', perSeriesAligner: 'ALIGN_SUM' }],
          },
        },
      ],
    });

    noCheckpointsAlert.node.addDependency(noCheckpoints);

    alert('alert-runner-halted', {
      displayName: 'BQX migration runner halted',
      severity: 'CRITICAL',
      documentation: { content: 'The M008 runner halted on a validation failure. See the ledger (bqx_ml_v3_migration) and the run report before resuming.', mimeType: 'text/markdown' },
      alertStrategy: { notificationRateLimit: { period: '300s' }, autoClose: '86400s' },
      conditions: [{ displayName: 'runner halt logged', conditionMatchedLog: { filter: RUNNER_HALT_FILTER } }],
    });

    const project = new DataGoogleProject(this, 'project', { projectId: env.project });
    const projects = [`projects/${project.number}`];
    const thresholdRules = [
      ...env.budget.thresholds.map((thresholdPercent) => ({ thresholdPercent, spendBasis: 'CURRENT_SPEND' })),
      { thresholdPercent: 1.0, spendBasis: 'FORECASTED_SPEND' },
    ];
    const allUpdatesRule = channels.length ? { monitoringNotificationChannels: channels } : undefined;
    new BillingBudget(this, 'budget-monthly', {
      billingAccount: env.budget.billingAccount,
      displayName: `bqx-ml ${env.name} monthly`,
      amount: { specifiedAmount: { currencyCode: 'USD', units: String(env.budget.monthlyUsd) } },
      budgetFilter: { projects, calendarPeriod: 'MONTH' },
      thresholdRules,
      allUpdatesRule,
    });
    const [year, month, day] = env.budget.phase4c.start.split('-').map(Number);
    const [labelKey, labelValue] = env.budget.phase4c.label;
    new BillingBudget(this, 'budget-phase-4c', {
      billingAccount: env.budget.billingAccount,
      displayName: `bqx-ml ${env.name} M008 Phase 4C ceiling`,
      amount: { specifiedAmount: { currencyCode: 'USD', units: String(env.budget.phase4c.ceilingUsd) } },
      // Counts only spend labelled by the runner's BigQuery jobs, from the phase's start.
      budgetFilter: { projects, labels: { [labelKey]: labelValue }, customPeriod: { startDate: { year, month, day } } },
      thresholdRules,
      allUpdatesRule,
    });
  }
}
