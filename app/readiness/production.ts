/**
 * Rehearsal or production. On the embedded warehouse readiness is a REHEARSAL on a synthetic copy:
 * it proves the tool and the plan, not the cloud. Two verdicts follow from one list of blockers:
 * the rehearsal's (may this local run proceed: what `npm start` acts on) leaves out blockers that
 * only production has; production's counts them all, and on a rehearsal also the cloud checks that
 * could not run, each listed NOT CHECKED with the command that checks it. Severities are never
 * lowered for the local engine.
 */
import type { Blocker, NotChecked, ReadinessMode, Verdict } from './types';
import { conditionsOf, verdictOf } from './verdict';

export function modeOf(engineKind: 'duckdb' | 'bigquery'): ReadinessMode {
  return engineKind === 'duckdb' ? 'rehearsal' : 'production';
}

/** One line every document, the console and the HTML page open with. */
export function modeLine(mode: ReadinessMode, engine: { kind: string; project: string; dataset: string }): string {
  return mode === 'rehearsal'
    ? `REHEARSAL on a synthetic copy: the embedded DuckDB warehouse (${engine.dataset}), not the production feature store ${engine.project}.${engine.dataset}; cloud checks are NOT CHECKED`
    : `PRODUCTION: BigQuery ${engine.project}.${engine.dataset}, checked with Google's APIs as the runner`;
}

interface Target {
  readonly project: string;
  readonly dataset: string;
  readonly region: string;
  readonly planFile: string | null;
}

/**
 * The checks that need Google Cloud. On a rehearsal all of them are NOT CHECKED; on BigQuery
 * readiness runs the first six itself, and quotas and cost tracking stay NOT CHECKED on both.
 */
export function notCheckedOf(mode: ReadinessMode, t: Target): NotChecked[] {
  const plan = t.planFile ?? 'PLAN';
  const readiness = `bqx readiness --engine bigquery --project ${t.project} --dataset ${t.dataset} --plan ${plan} --env prod`;
  const cloud: NotChecked[] = [
    { id: 'credentials', what: 'credentials of the runner (impersonation works)', command: readiness },
    { id: 'apis', what: 'APIs enabled (BigQuery, Cloud Run, Cloud Storage, IAM Credentials, Resource Manager, Service Usage)', command: readiness },
    { id: 'permissions', what: 'service-account permissions of the runner on the project, the feature dataset and the runner dataset (testIamPermissions)', command: readiness },
    { id: 'gcs', what: 'GCS access: the staging bucket (checkpoints, manifests) and the output bucket exist and are writable', command: `${readiness}   # or: gsutil ls gs://bqx-ml-staging/checkpoints/` },
    { id: 'cloud-run', what: 'Cloud Run jobs deployed (bqx-ml-extract, bqx-ml-merge) and the extract job’s live EXTRACTION_DISCOVERY', command: `gcloud run jobs describe bqx-ml-extract --region ${t.region} --project ${t.project} --format=yaml` },
    { id: 'rename-loss', what: 'policy tags and search indexes a rename would drop', command: readiness },
  ];
  const always: NotChecked[] = [
    { id: 'quotas', what: 'quotas: BigQuery concurrent queries and metadata updates, Cloud Run executions, memory and CPU per execution', command: `gcloud alpha services quota list --service=bigquery.googleapis.com --consumer=projects/${t.project} && gcloud alpha services quota list --service=run.googleapis.com --consumer=projects/${t.project}` },
    { id: 'cost-tracking', what: 'cost tracking: a billing budget with alert thresholds on the project, and billing export', command: 'gcloud billing budgets list --billing-account=BILLING_ACCOUNT_ID' },
  ];
  return mode === 'rehearsal' ? [...cloud, ...always] : always;
}

/** On a rehearsal: production cannot be GO while its cloud checks have not run. */
export function notCheckedBlocker(mode: ReadinessMode, list: readonly NotChecked[], t: Target): Omit<Blocker, 'check'> | null {
  if (mode !== 'rehearsal' || !list.length) return null;
  return {
    code: 'PRODUCTION_NOT_CHECKED',
    priority: 'P1',
    scope: 'production',
    title: `${list.length} production check(s) need Google Cloud and were NOT CHECKED by this rehearsal (${list.map((x) => x.id).join(', ')})`,
    impact: 'the rehearsal proves the plan and the tool on a synthetic copy; whether the runner can act on the real feature store is unknown until these run',
    mitigation: `run readiness against BigQuery as the runner before the first apply: bqx readiness --engine bigquery --project ${t.project} --dataset ${t.dataset} --plan ${t.planFile ?? 'PLAN'} --env prod`,
  };
}

export interface Verdicts {
  readonly rehearsal: { readonly verdict: Verdict; readonly conditions: readonly string[] } | null;
  readonly production: { readonly verdict: Verdict; readonly conditions: readonly string[] };
  /** What this run acts on (its exit code, `npm start`): the rehearsal's on the embedded engine, production's on BigQuery. */
  readonly acted: Verdict;
}

export function verdictsOf(mode: ReadinessMode, blockers: readonly Blocker[]): Verdicts {
  const production = { verdict: verdictOf(blockers), conditions: conditionsOf(blockers) };
  if (mode === 'production') return { rehearsal: null, production, acted: production.verdict };
  const local = blockers.filter((b) => b.scope !== 'production');
  const rehearsal = { verdict: verdictOf(local), conditions: conditionsOf(local) };
  return { rehearsal, production, acted: rehearsal.verdict };
}

/** The verdicts in one line: both on a rehearsal, production's on BigQuery. */
export function verdictHeadline(r: { mode: ReadinessMode; verdict: Verdict; production: { verdict: Verdict } }): string {
  if (r.mode === 'production') return `PRODUCTION: ${r.production.verdict}`;
  return `REHEARSAL ${r.verdict} (this local run ${r.verdict === 'GO' ? 'may' : 'may not'} proceed) · PRODUCTION ${r.production.verdict}`;
}
