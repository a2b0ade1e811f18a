/**
 * How long each blocker delays the start and what can be done instead of fixing it: the two
 * columns the directive's execution-blocker analysis asks for beside impact and mitigation. Keyed by
 * blocker code; a check may set its own. Estimates of the work the mitigation names, not
 * measurements.
 */
import type { Blocker, Priority } from './types';

const EFFORT: Readonly<Record<string, { delay: string; workaround: string }>> = {
  DATASET_EXPIRATION: { delay: 'minutes (one bq update)', workaround: 'none: renamed tables could be deleted at once' },
  DATASET_MISSING: { delay: 'hours (deploy the data stack, load the data)', workaround: 'none' },
  RUNNER_DATASET_MISSING: { delay: 'minutes (deploy the data stack)', workaround: 'locally none is needed; on BigQuery grant datasets.create for the first run only' },
  RUNNER_DATASET_EXPIRATION: { delay: 'minutes (one bq update)', workaround: 'none: the ledger and backups would expire' },
  BUDGET_TOO_SMALL: { delay: 'one approval (raise execution.budgetUsd), or one run per budget period', workaround: 'bqx apply --max-operations N in several runs' },
  BUDGET_TIGHT: { delay: 'none', workaround: 'watch the paper run’s cost column' },
  ESTIMATE_LOW: { delay: 'none', workaround: 'use the paper run’s dry-run figures' },
  STACK_DECLARES_EXPIRATION: { delay: 'under an hour (config change, synth, review)', workaround: 'do not deploy the data stack until it is fixed' },
  DECLARED_DATASET_MISSING: { delay: 'minutes (deploy the data stack)', workaround: 'none needed for Phase 4C itself' },
  STACK_DRIFT: { delay: 'under an hour (review and deploy, or change the declaration)', workaround: 'none needed for Phase 4C itself' },
  PLAN_DATASET_UNDECLARED: { delay: 'under an hour (declare it in config)', workaround: 'check its settings by hand' },
  STACKS_NOT_SYNTHESIZED: { delay: 'minutes (npm run synth)', workaround: 'none: the comparison was not made' },
  STACKS_UNREADABLE: { delay: 'minutes (synthesize again)', workaround: 'none: the comparison was not made' },
  NO_PLAN: { delay: 'minutes (bqx plan)', workaround: 'none' },
  PLAN_INVALID: { delay: 'minutes (bqx plan)', workaround: 'none' },
  PLAN_ELSEWHERE: { delay: 'minutes (the right --dataset, or a new plan)', workaround: 'none' },
  PLAN_STALE: { delay: 'minutes to plan again, plus its review', workaround: 'none: the executor refuses it' },
  POLICY_CHANGED: { delay: 'minutes (plan again and compare)', workaround: 'keep the policy the plan was made with' },
  POLICY_INVALID: { delay: 'minutes (fix the YAML)', workaround: 'none' },
  WAREHOUSE_UNREACHABLE: { delay: 'unknown until the cause is known (options, credentials, network)', workaround: 'none' },
  PHASE_NOT_READY: { delay: 'hours: the statement or the warehouse must be fixed and rehearsed again', workaround: 'exclude the operation class from the plan (policy change) and apply the rest' },
  ROW_COUNT_LAG: { delay: 'minutes to hours (the streaming buffer flushes)', workaround: 'none: validation would report false differences' },
  NODE_VERSION: { delay: 'under an hour (install Node 20 LTS)', workaround: 'run from CI or Cloud Shell' },
  PACKAGE_MISSING: { delay: 'minutes (npm ci)', workaround: 'none' },
  PACKAGE_VERSION: { delay: 'minutes (npm ci)', workaround: 'none' },
  LOCKFILE_MISSING: { delay: 'minutes (restore it, npm ci)', workaround: 'none' },
  LOCKFILE_DRIFT: { delay: 'minutes (npm ci)', workaround: 'none' },
  CREDENTIALS_MISSING: { delay: 'minutes (gcloud auth application-default login)', workaround: 'none' },
  API_DISABLED: { delay: 'minutes (enable it, or deploy the foundation stack)', workaround: 'none for BigQuery; the other APIs serve the pipeline only' },
  PERMISSION_MISSING: { delay: 'under an hour (grant through the stacks, review, deploy)', workaround: 'none' },
  BUCKET_MISSING: { delay: 'minutes (deploy the data stack)', workaround: 'none needed for Phase 4C itself' },
  BUCKET_NOT_WRITABLE: { delay: 'under an hour (deploy the data stack, which grants the manifests/ write)', workaround: 'write the manifests to a local directory (--manifest-dir DIR) and copy them as someone who may' },
  JOB_NOT_DEPLOYED: { delay: 'under an hour (deploy the pipeline stack)', workaround: 'none needed for Phase 4C itself' },
  JOB_NOT_READABLE: { delay: 'under an hour (deploy the pipeline stack, which grants the runner run.viewer on the extract job)', workaround: 'read EXTRACTION_DISCOVERY with gcloud run jobs describe as someone who may' },
  SEARCH_INDEX_DROPPED: { delay: 'none before the run; re-create after it', workaround: 'SEARCH() scans until the index is back' },
  POLICY_TAGS_DROPPED: { delay: 'none before the run; re-apply after it', workaround: 'restrict the dataset until the tags are back' },
  EXTRACT_DUPLICATES: {
    delay: 'about a day: change the job’s discovery, rebuild and redeploy its image, set jobs.extract.discovery (config/environments.ts) and deploy the pipeline stack',
    workaround: 'do not run extractions during the grace period, or drop the duplicate columns from the training files after the merge',
  },
  PRODUCTION_NOT_CHECKED: { delay: 'under an hour (one readiness run on Google Cloud as the runner), more if it finds a blocker', workaround: 'none: a rehearsal cannot stand in for the cloud checks' },
  CODE_WRITES_RETIRED_NAME: { delay: 'about an hour per generator (write the plan’s target names, review, redeploy its image if it has one)', workaround: 'do not run those generators from the first apply until they are changed' },
  CODE_DISCOVERY_READS_VIEWS: { delay: 'about a day: change the discovery, rebuild and redeploy every image that ships it', workaround: 'do not run those jobs during the grace period' },
  CODE_READS_RETIRED_NAME: { delay: 'none to the start: the compatibility views serve the old names until the grace period ends', workaround: 'extend the grace period (plan --grace-start) if the consumers cannot change in time' },
  CODE_WRITES_NONCOMPLIANT: { delay: 'none to the start', workaround: 'run bqx audit after each regeneration and plan again' },
  CHECK_FAILED: { delay: 'unknown until the cause is known', workaround: 'none: this part is not assessed' },
};

const BY_PRIORITY: Readonly<Record<Priority, { delay: string; workaround: string }>> = {
  P0: { delay: 'unknown: must be fixed before any start', workaround: 'none' },
  P1: { delay: 'unknown: a condition of the start', workaround: 'accept the risk in writing' },
  P2: { delay: 'none to the start', workaround: 'fix after the run' },
  P3: { delay: 'none', workaround: 'none needed' },
};

/** A P3 is minor whatever its code: it delays nothing. */
export function withEffort(b: Blocker): Blocker {
  const e = b.priority === 'P3' ? BY_PRIORITY.P3 : (EFFORT[b.code] ?? BY_PRIORITY[b.priority]);
  return { ...b, delay: b.delay ?? e.delay, workaround: b.workaround ?? e.workaround };
}
