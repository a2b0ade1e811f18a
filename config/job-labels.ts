/**
 * Labels the migration runner puts on its BigQuery jobs, in one place: the pipeline stack's Phase
 * 4C budget filters on exactly this key and value (Cloud Billing budgets count spend by resource
 * label: https://cloud.google.com/billing/docs/how-to/budgets#budget-scope), and the engine labels
 * every job it submits with it. BigQuery job labels: keys and values of lowercase letters, digits,
 * `_` and `-`, up to 63 characters (https://cloud.google.com/bigquery/docs/labels-intro#requirements).
 *
 * The engine (engines/) imports only core/, so app/ passes this label into the engine options.
 */
export const PHASE_4C_JOB_LABEL = { key: 'bqx-phase', value: 'm008-4c' } as const;

/** The label as a `{ key: value }` record, the shape BigQuery job configurations take. */
export const phase4cJobLabels = (): Readonly<Record<string, string>> => ({ [PHASE_4C_JOB_LABEL.key]: PHASE_4C_JOB_LABEL.value });
