import { Construct } from 'constructs';
import { CloudSchedulerJob } from './google';
import type { PipelineJob } from './pipeline-job';
import type { ServiceAccountPrincipal } from './principal';

export interface ScheduledJobRunProps {
  /** The Cloud Scheduler job's name. */
  readonly name: string;
  readonly description: string;
  /** The Cloud Run job each tick executes. */
  readonly job: PipelineJob;
  /** unix-cron, in `timeZone`. */
  readonly schedule: string;
  /** @default 'Etc/UTC' */
  readonly timeZone?: string;
  /** Region of the Cloud Run job (and of the scheduler job). */
  readonly region: string;
  readonly project: string;
  /** The identity the scheduler calls the Run API as (an OAuth token for it). */
  readonly serviceAccount: ServiceAccountPrincipal;
  /**
   * Container arguments for this execution (an override of the job's own). Executing with
   * overrides needs run.jobs.runWithOverrides on the job: grant it with `job.grant(principal,
   * 'roles/run.jobsExecutorWithOverrides')`. @default none: the job runs as configured (run.invoker)
   */
  readonly args?: readonly string[];
}

/**
 * A Cloud Run job executed on a schedule: a Cloud Scheduler HTTP job calling the Run Admin API's
 * `jobs.run` (https://cloud.google.com/run/docs/execute/jobs-on-schedule) with an OAuth token of its
 * own identity, optionally with argument overrides. No retries: a missed day is the next day's run.
 */
export class ScheduledJobRun extends Construct {
  readonly resource: CloudSchedulerJob;
  /** What the scheduler sends: the Run API URL and the JSON body (before base64). */
  readonly uri: string;
  readonly body: string;

  constructor(scope: Construct, id: string, props: ScheduledJobRunProps) {
    super(scope, id);
    this.uri = `https://run.googleapis.com/v2/projects/${props.project}/locations/${props.region}/jobs/${props.job.jobName}:run`;
    this.body = JSON.stringify(props.args ? { overrides: { containerOverrides: [{ args: [...props.args] }] } } : {});
    this.resource = new CloudSchedulerJob(this, 'job', {
      name: props.name,
      description: props.description,
      project: props.project,
      region: props.region,
      schedule: props.schedule,
      timeZone: props.timeZone ?? 'Etc/UTC',
      attemptDeadline: '180s',
      retryConfig: { retryCount: 0 },
      httpTarget: {
        httpMethod: 'POST',
        uri: this.uri,
        // The provider takes the body base64-encoded.
        body: Buffer.from(this.body).toString('base64'),
        headers: { 'Content-Type': 'application/json' },
        oauthToken: { serviceAccountEmail: props.serviceAccount.email, scope: 'https://www.googleapis.com/auth/cloud-platform' },
      },
      // The job must exist before its first tick.
      dependsOn: [props.job.resource],
    });
  }
}
