import { Construct } from 'constructs';
import { BillingBudget, BillingBudgetThresholdRules } from './google';
import { flatAddress } from './addresses';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export interface BudgetProps {
  readonly billingAccount: string;
  readonly displayName: string;
  /** Whole US dollars. */
  readonly amountUsd: number;
  /** Project numbers whose spend counts (a reference to `google_project.number` is fine). */
  readonly projectNumbers: readonly string[];
  /** Fractions of the amount at which current spend notifies. @default [0.5, 0.9, 1.0] */
  readonly thresholds?: readonly number[];
  /** Fraction of the amount at which forecasted spend notifies. @default 1.0; `null` for no forecast rule */
  readonly forecastThreshold?: number | null;
  /** Count spend from this date (`YYYY-MM-DD`) on, open-ended. @default the calendar month */
  readonly startDate?: string;
  /** Count only spend carrying this label (`[key, value]`). @default all spend of the projects */
  readonly label?: readonly [string, string];
  /** Notification channel names. @default none (billing administrators get Google's default e-mails) */
  readonly notificationChannels?: readonly string[];
}

/**
 * A Cloud Billing budget over some projects: notifications only, it never stops spending.
 * Terraform address: `google_billing_budget.<construct id>`.
 */
export class Budget extends Construct {
  readonly resource: BillingBudget;

  constructor(scope: Construct, id: string, props: BudgetProps) {
    super(scope, id);
    if (!Number.isInteger(props.amountUsd) || props.amountUsd <= 0) {
      throw new Error(`${this.node.path}: amountUsd ${props.amountUsd} is not a positive whole number of dollars`);
    }
    let customPeriod: { startDate: { year: number; month: number; day: number } } | undefined;
    if (props.startDate !== undefined) {
      const m = DATE_RE.exec(props.startDate);
      if (!m) throw new Error(`${this.node.path}: startDate ${JSON.stringify(props.startDate)} is not YYYY-MM-DD`);
      customPeriod = { startDate: { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) } };
    }
    const thresholdRules: BillingBudgetThresholdRules[] = (props.thresholds ?? [0.5, 0.9, 1.0]).map((thresholdPercent) => ({ thresholdPercent, spendBasis: 'CURRENT_SPEND' }));
    const forecast = props.forecastThreshold === undefined ? 1.0 : props.forecastThreshold;
    if (forecast !== null) thresholdRules.push({ thresholdPercent: forecast, spendBasis: 'FORECASTED_SPEND' });
    const channels = [...(props.notificationChannels ?? [])];
    this.resource = flatAddress(
      new BillingBudget(this, 'budget', {
        billingAccount: props.billingAccount,
        displayName: props.displayName,
        amount: { specifiedAmount: { currencyCode: 'USD', units: String(props.amountUsd) } },
        budgetFilter: {
          projects: props.projectNumbers.map((n) => `projects/${n}`),
          ...(props.label ? { labels: { [props.label[0]]: props.label[1] } } : {}),
          ...(customPeriod ? { customPeriod } : { calendarPeriod: 'MONTH' }),
        },
        thresholdRules,
        allUpdatesRule: channels.length ? { monitoringNotificationChannels: channels } : undefined,
      }),
      id,
    );
  }
}
