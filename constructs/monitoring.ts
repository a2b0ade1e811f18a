import { Construct } from 'constructs';
import { ITerraformDependable } from 'cdktf';
import {
  LoggingMetric,
  MonitoringAlertPolicy,
  MonitoringAlertPolicyAlertStrategy,
  MonitoringAlertPolicyConditions,
  MonitoringNotificationChannel,
} from './google';
import { flatAddress } from './addresses';
import { Labels, mergeLabels } from './labels';

/**
 * Alerting building blocks: a log-based counter metric, alert conditions, an alert policy and an
 * e-mail notification channel. Each construct's resource has the flat Terraform address
 * `<type>.<construct id>`.
 */

export interface LogMetricProps {
  /** Metric name (`logging.googleapis.com/user/<name>`). */
  readonly name: string;
  readonly description: string;
  /** Logging query; no backslashes (cdktf's HCL output does not escape them). */
  readonly filter: string;
  /** @default 'DELTA' */
  readonly metricKind?: string;
  /** @default 'INT64' (a count of matching entries) */
  readonly valueType?: string;
  /** @default '1' */
  readonly unit?: string;
  /** Metric labels (STRING) and how each is extracted from the entry, e.g. `{ kind: 'EXTRACT(jsonPayload.kind)' }`. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A log-based metric: by default, the count of log entries matching a filter. */
export class LogMetric extends Construct {
  readonly resource: LoggingMetric;
  readonly metricName: string;
  /**
   * `logging.googleapis.com/user/<name>`, a literal rather than a reference: cdktf's HCL output
   * breaks strings that mix quotes and references, and alert filters are full of quotes.
   */
  readonly metricType: string;

  constructor(scope: Construct, id: string, props: LogMetricProps) {
    super(scope, id);
    this.metricName = props.name;
    this.metricType = `logging.googleapis.com/user/${props.name}`;
    this.resource = flatAddress(
      new LoggingMetric(this, 'metric', {
        name: props.name,
        description: props.description,
        filter: props.filter,
        metricDescriptor: {
          metricKind: props.metricKind ?? 'DELTA',
          valueType: props.valueType ?? 'INT64',
          unit: props.unit ?? '1',
          labels: props.labels ? Object.keys(props.labels).map((key) => ({ key, valueType: 'STRING' })) : undefined,
        },
        labelExtractors: props.labels ? { ...props.labels } : undefined,
      }),
      id,
    );
  }
}

export interface ThresholdConditionProps {
  readonly displayName: string;
  /** Monitoring filter selecting the time series. */
  readonly filter: string;
  /** @default 'COMPARISON_GT' */
  readonly comparison?: string;
  /** @default 0 (any occurrence) */
  readonly threshold?: number;
  /** How long the condition must hold. @default '0s' (at once) */
  readonly duration?: string;
  /** @default '300s' */
  readonly alignmentPeriod?: string;
  /** @default 'ALIGN_SUM' (counts) */
  readonly aligner?: string;
}

/** One condition of an alert policy, with the resources it reads that Terraform cannot see. */
export class AlertCondition {
  private constructor(
    readonly spec: MonitoringAlertPolicyConditions,
    /** Resources the condition names by literal (a log metric): the policy waits for them. */
    readonly dependsOn: readonly ITerraformDependable[],
  ) {}

  /** A metric crosses a threshold (by default: summed over 5 minutes, above 0). */
  static threshold(props: ThresholdConditionProps): AlertCondition {
    return new AlertCondition(
      {
        displayName: props.displayName,
        conditionThreshold: {
          filter: props.filter,
          comparison: props.comparison ?? 'COMPARISON_GT',
          thresholdValue: props.threshold ?? 0,
          duration: props.duration ?? '0s',
          aggregations: [{ alignmentPeriod: props.alignmentPeriod ?? '300s', perSeriesAligner: props.aligner ?? 'ALIGN_SUM' }],
        },
      },
      [],
    );
  }

  /**
   * A log-based metric crosses a threshold. The policy depends on the metric: Cloud Monitoring
   * refuses a policy whose filter names a metric that does not exist yet (404 "Cannot find
   * metric(s)", hashicorp/terraform-provider-google#11102).
   */
  static logMetric(metric: LogMetric, props: Omit<ThresholdConditionProps, 'filter'> & { readonly resourceType: string; /** More of the filter, e.g. on a metric label. */ readonly where?: string }): AlertCondition {
    const { resourceType, where, ...rest } = props;
    const c = AlertCondition.threshold({ ...rest, filter: `resource.type = "${resourceType}" AND metric.type = "${metric.metricType}"${where ? ` AND ${where}` : ''}` });
    return new AlertCondition(c.spec, [metric.resource]);
  }

  /** A log entry matches (a log-based alert; the policy needs a notification rate limit). */
  static logMatch(props: { readonly displayName: string; readonly filter: string }): AlertCondition {
    return new AlertCondition({ displayName: props.displayName, conditionMatchedLog: { filter: props.filter } }, []);
  }

  get isLogMatch(): boolean {
    return this.spec.conditionMatchedLog !== undefined;
  }
}

export interface AlertPolicyProps {
  /** Also the title of the policy's RUNBOOK section (a test keeps the two in step). */
  readonly displayName: string;
  /** @default 'ERROR' */
  readonly severity?: 'CRITICAL' | 'ERROR' | 'WARNING';
  /** Markdown shown in the incident: what happened and what to do. */
  readonly documentation: string;
  readonly conditions: readonly AlertCondition[];
  /** @default 'OR' */
  readonly combiner?: 'OR' | 'AND';
  /** Notification channel names. @default [] (incidents show in the console only) */
  readonly notificationChannels?: readonly string[];
  /** Required with a log-match condition (its notification rate limit). @default none */
  readonly alertStrategy?: MonitoringAlertPolicyAlertStrategy;
  readonly labels?: Labels;
}

/** A Cloud Monitoring alert policy; it waits for the log metrics its conditions name. */
export class AlertPolicy extends Construct {
  readonly resource: MonitoringAlertPolicy;

  constructor(scope: Construct, id: string, props: AlertPolicyProps) {
    super(scope, id);
    if (props.conditions.length === 0) throw new Error(`${this.node.path}: an alert policy needs at least one condition`);
    if (props.conditions.some((c) => c.isLogMatch) && !props.alertStrategy?.notificationRateLimit) {
      throw new Error(`${this.node.path}: a log-match condition needs alertStrategy.notificationRateLimit (the API refuses the policy without it)`);
    }
    const dependsOn = [...new Set(props.conditions.flatMap((c) => c.dependsOn))];
    this.resource = flatAddress(
      new MonitoringAlertPolicy(this, 'policy', {
        displayName: props.displayName,
        combiner: props.combiner ?? 'OR',
        severity: props.severity ?? 'ERROR',
        documentation: { content: props.documentation, mimeType: 'text/markdown' },
        conditions: props.conditions.map((c) => c.spec),
        notificationChannels: [...(props.notificationChannels ?? [])],
        alertStrategy: props.alertStrategy,
        userLabels: mergeLabels(props.labels),
        dependsOn: dependsOn.length ? dependsOn : undefined,
      }),
      id,
    );
  }
}

export interface EmailNotificationChannelProps {
  readonly email: string;
  /** @default 'BQX platform alerts' */
  readonly displayName?: string;
  readonly labels?: Labels;
}

/** An e-mail notification channel for alert policies and budgets. */
export class EmailNotificationChannel extends Construct {
  readonly resource: MonitoringNotificationChannel;
  /** The channel's resource name, for `notificationChannels`. */
  readonly channelName: string;

  constructor(scope: Construct, id: string, props: EmailNotificationChannelProps) {
    super(scope, id);
    this.resource = flatAddress(
      new MonitoringNotificationChannel(this, 'channel', {
        displayName: props.displayName ?? 'BQX platform alerts',
        type: 'email',
        labels: { email_address: props.email },
        userLabels: mergeLabels(props.labels),
      }),
      id,
    );
    this.channelName = this.resource.name;
  }
}
