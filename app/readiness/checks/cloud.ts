/**
 * Google Cloud checks (bigquery engine only), asked of the APIs rather than read from configs:
 * credentials, enabled APIs, the runner's permissions (the permission table of
 * config/runner-permissions.ts, asked with testIamPermissions), buckets writable, jobs deployed.
 * Readiness runs as the runner's identity (`--impersonate-service-account`, default the
 * environment's runner): testIamPermissions answers for the caller.
 */
import { PERMISSION_SCOPES, STAGING_MANIFEST_PREFIX, permissionsFor, testablePermissions, type PermissionScope } from '../../../config/runner-permissions';
import type { Plan } from '../../../core/plan/types';
import type { Engine } from '../../../core/ports/engine';
import type { BigQueryEngine } from '../../../engines/bigquery/engine';
import type { RenameLossFinding } from '../../../engines/bigquery/rename-loss';
import { stepsNeeding } from '../../engine';
import type { Findings } from '../findings';
import { apiErrorText, type GoogleApis } from '../google-apis';
import type { DeclaredStacks } from '../stacks';

export interface CloudTargets {
  readonly project: string;
  readonly region: string;
  readonly dataset: string;
  readonly buckets: readonly { readonly name: string; readonly writeProbe: boolean }[];
  /** `role`: the job's `job` label (extract, merge, runner). */
  readonly jobs: readonly { readonly name: string; readonly role: string | null }[];
  readonly apis: readonly string[];
}

/** APIs without which the runner cannot work at all; the others serve the pipeline. */
export const RUNNER_APIS = ['bigquery.googleapis.com'] as const;

/** Targets from the synthesized stacks, or the runner's minimum when none were synthesized. */
export function cloudTargets(project: string, region: string, dataset: string, stacks: DeclaredStacks | null): CloudTargets {
  // The runner writes to the staging bucket only (the extraction manifests, under manifests/); the others are checked for existence.
  const buckets = (stacks?.buckets ?? []).map((b) => ({ name: b.name, writeProbe: b.role ? b.role === 'staging' : /staging/.test(b.name) }));
  return {
    project,
    region,
    dataset,
    buckets,
    jobs: (stacks?.jobs ?? []).map((j) => ({ name: j.name, role: j.role })),
    apis: stacks && stacks.apis.length ? stacks.apis : [...RUNNER_APIS, 'storage.googleapis.com', 'cloudresourcemanager.googleapis.com'],
  };
}

export async function checkCredentials(findings: Findings, apis: GoogleApis): Promise<boolean> {
  let ok = false;
  await findings.run(
    {
      id: 'dependencies.credentials',
      section: 'dependencies',
      title: 'Google Cloud credentials',
      onError: (m) => ({
        code: 'CREDENTIALS_MISSING',
        priority: 'P0',
        title: 'no usable Google Cloud credentials',
        impact: 'no API can be called',
        mitigation: `gcloud auth application-default login --impersonate-service-account=<runner SA> (${m.slice(0, 160)})`,
      }),
    },
    async (scope) => {
      if (apis.offline && !apis.impersonating) {
        ok = true;
        scope.skip();
        return 'test endpoint: no credentials looked up';
      }
      await apis.token();
      ok = true;
      const who = await apis.identity();
      const how = apis.impersonating ? ` by impersonation (IAM Credentials generateAccessToken${apis.offline ? ' of the test endpoint' : ''})` : '';
      return `access token obtained${who ? ` for ${who}${how}` : ' (user credentials: run as the runner service account for a faithful permission check)'}`;
    },
  );
  return ok;
}

export async function checkApis(findings: Findings, apis: GoogleApis, t: CloudTargets): Promise<void> {
  await findings.run({ id: 'dependencies.apis', section: 'dependencies', title: 'APIs enabled' }, async (scope) => {
    const enabled = new Set<string>();
    let pageToken: string | undefined;
    do {
      const r = await apis.request<{ services?: { config?: { name?: string }; name?: string }[]; nextPageToken?: string }>(
        'serviceusage',
        'GET',
        `/v1/projects/${encodeURIComponent(t.project)}/services`,
        { query: { filter: 'state:ENABLED', pageSize: '200', ...(pageToken ? { pageToken } : {}) } },
      );
      if (r.status !== 200) throw new Error(`Service Usage services.list: ${apiErrorText(r)}`);
      for (const s of r.body.services ?? []) {
        const name = s.config?.name ?? s.name?.split('/').pop();
        if (name) enabled.add(name);
      }
      pageToken = r.body.nextPageToken || undefined;
    } while (pageToken);
    const missing = t.apis.filter((a) => !enabled.has(a));
    const critical = missing.filter((a) => (RUNNER_APIS as readonly string[]).includes(a));
    if (critical.length) {
      scope.block({
        code: 'API_DISABLED',
        priority: 'P0',
        title: `${critical.join(', ')} not enabled on ${t.project}`,
        impact: 'the runner cannot call BigQuery',
        mitigation: `gcloud services enable ${critical.join(' ')} --project ${t.project} (the foundation stack declares it)`,
      });
    }
    const rest = missing.filter((a) => !critical.includes(a));
    if (rest.length) {
      scope.block({
        code: 'API_DISABLED',
        priority: 'P2',
        title: `${rest.length} declared API(s) not enabled: ${rest.join(', ')}`,
        impact: 'parts of the platform (pipeline, monitoring, budgets) cannot be deployed or used',
        mitigation: 'deploy the foundation stack (it enables the declared APIs)',
      });
    }
    return `${enabled.size} APIs enabled; ${t.apis.length - missing.length}/${t.apis.length} required present`;
  });
}

const SCOPE_CHECKS: Record<PermissionScope, { id: string; what: (e: Engine) => string }> = {
  project: { id: 'infrastructure.iam.project', what: (e) => `project ${e.where.project}` },
  featureDataset: { id: 'infrastructure.iam.dataset', what: (e) => `feature dataset ${e.where.dataset}` },
  runnerDataset: { id: 'infrastructure.iam.runner-dataset', what: (e) => `runner dataset ${e.where.runnerDataset}` },
};

/**
 * The runner's permission table (config/runner-permissions.ts), asked scope by scope of the
 * identity readiness runs as (the runner: `--impersonate-service-account`), through the engine's
 * own read-only `testPermissions` (the same call the apply's preflight makes):
 *  - project: Resource Manager projects.testIamPermissions for every permission of the scope;
 *  - each dataset: BigQuery has no dataset-level testIamPermissions, so the table permissions
 *    (`testablePermissions(scope)`) are asked with tables.testIamPermissions on one existing table
 *    (the plan's sample table; the runner dataset's ledger table), `bigquery.datasets.get` by a
 *    datasets.get. What cannot be asked (no table yet) is a P2 naming what covers it.
 * A missing permission is a P0 PERMISSION_MISSING naming the permission and the steps needing it.
 * testIamPermissions may fail open: the paper run's first batch stays the second line of defence.
 */
export async function checkPermissions(findings: Findings, engine: Engine, sampleTable: string | null): Promise<void> {
  if (!engine.testPermissions) return;
  for (const scope of PERMISSION_SCOPES) {
    const { id, what } = SCOPE_CHECKS[scope];
    await findings.run({ id, section: 'infrastructure', title: `runner permissions on ${what(engine)}` }, async (check) => {
      const wanted = permissionsFor(scope);
      const testable = testablePermissions(scope);
      const t = await engine.testPermissions!(scope, wanted, { table: sampleTable ?? undefined });
      const missing = wanted.filter((p) => !t.granted.includes(p) && !t.untested.includes(p));
      for (const p of missing) {
        const steps = stepsNeeding(p, scope);
        check.block({
          code: 'PERMISSION_MISSING',
          priority: 'P0',
          title: `the runner lacks ${p} on ${t.resource} (${scope}), needed by ${steps.join(', ')}`,
          impact: `${steps.join(', ')} would fail with accessDenied; bqx apply refuses before its first write (PERMISSION_MISSING)`,
          mitigation: `grant ${p} on the ${scope} through the runner's roles (config/runner-permissions.ts is what the stacks grant: deploy the foundation and data stacks), then run readiness again`,
        });
      }
      if (t.untested.length) {
        check.block({
          code: 'PERMISSION_UNTESTED',
          priority: 'P2',
          title: `${t.untested.length} permission(s) on ${t.resource} could not be asked: ${t.untested.join(', ')}`,
          impact: 'a grant missing among them is not seen here: the paper run stops at its first write refused (its first batch is the second line of defence), the apply at its first step refused',
          mitigation:
            scope === 'runnerDataset'
              ? 'run the paper run (it creates the ledger tables with these permissions), then readiness again: it asks on the ledger table'
              : 'run readiness against the real endpoints as the runner',
        });
      }
      const asked = scope === 'project' ? `${wanted.length} permission(s)` : `${testable.length} table permission(s) by testIamPermissions and ${wanted.length - testable.length} by use`;
      return (
        `${asked}, as ${(await identityOf(engine)) ?? 'the engine identity'}: ${t.how}. ` +
        `Granted ${t.granted.length}/${wanted.length}${missing.length ? `; MISSING ${missing.join(', ')}` : ''}${t.untested.length ? `; not asked ${t.untested.join(', ')}` : ''}. ` +
        "testIamPermissions may fail open: the paper run's first batch is the second line of defence"
      );
    });
  }
}

/** Who the engine acts as, when it knows (the impersonated service account, the ADC identity). */
async function identityOf(engine: Engine): Promise<string | null> {
  const id = (engine as Partial<BigQueryEngine>).identity;
  return id ? id.principal().catch(() => null) : null;
}

/**
 * The buckets the stacks declare. The staging bucket is where the runner writes the extraction
 * manifests, under `manifests/` only (a conditional grant, config/runner-permissions.ts
 * stagingManifests): Cloud Storage's testIamPermissions answers for the bucket, which that condition
 * excludes, so the grant is asked by use: a probe object is written under `manifests/` and deleted
 * (the scope's two permissions), and that answer also says whether the bucket exists. The other
 * buckets are read (buckets.get); the runner holds nothing on them, so a 403 there says only that
 * this identity cannot check them (P3), not that they are missing.
 */
export async function checkBuckets(findings: Findings, apis: GoogleApis, t: CloudTargets, now: Date): Promise<void> {
  await findings.run({ id: 'infrastructure.buckets', section: 'infrastructure', title: 'buckets exist and are writable' }, async (scope) => {
    if (t.buckets.length === 0) {
      scope.skip();
      return 'no buckets declared (stacks not synthesized)';
    }
    const facts: string[] = [];
    const missing = (name: string, status: string) =>
      scope.block({
        code: 'BUCKET_MISSING',
        priority: 'P2',
        title: `bucket ${name} does not exist (${status})`,
        impact: 'the extract/merge pipeline that uses it fails; Phase 4C itself does not write to Cloud Storage',
        mitigation: 'deploy the data stack',
      });
    for (const b of t.buckets) {
      if (!b.writeProbe) {
        const get = await apis.request('storage', 'GET', `/storage/v1/b/${encodeURIComponent(b.name)}`);
        if (get.status === 403) {
          scope.block({
            code: 'BUCKET_NOT_CHECKED',
            priority: 'P3',
            title: `bucket ${b.name} cannot be read by this identity (${apiErrorText(get)})`,
            impact: 'none for Phase 4C: the runner holds nothing on this bucket, so its existence is not checked here',
            mitigation: 'the deployer\'s plan of the data stack shows it (or run readiness with credentials that may read it)',
          });
          facts.push(`${b.name}: not readable by this identity`);
        } else if (get.status !== 200) {
          missing(b.name, apiErrorText(get));
          facts.push(`${b.name}: ${get.status}`);
        } else facts.push(`${b.name}: exists`);
        continue;
      }
      // A real write where the runner may write: a tiny object under manifests/, deleted again.
      const object = `${STAGING_MANIFEST_PREFIX}_bqx_readiness/probe-${now.getTime()}.txt`;
      const put = await apis.request('storage', 'POST', `/upload/storage/v1/b/${encodeURIComponent(b.name)}/o`, {
        query: { uploadType: 'media', name: object },
        media: { contentType: 'text/plain', data: `bqx readiness probe ${now.toISOString()}\n` },
      });
      if (put.status === 404) {
        missing(b.name, apiErrorText(put));
        facts.push(`${b.name}: 404`);
        continue;
      }
      if (put.status !== 200) {
        scope.block({
          code: 'BUCKET_NOT_WRITABLE',
          priority: 'P2',
          title: `this identity cannot write under gs://${b.name}/${STAGING_MANIFEST_PREFIX} (${apiErrorText(put)})`,
          impact: `bqx extraction --manifest-dir gs://${b.name} cannot write the per-pair manifests the extract job reads with EXTRACTION_DISCOVERY=manifest`,
          mitigation:
            `run readiness as the runner, with the data stack deployed: it binds custom role bqxMigrationRunnerManifests on gs://${b.name} ` +
            `under the condition resource.name.startsWith("projects/_/buckets/${b.name}/objects/${STAGING_MANIFEST_PREFIX}")`,
        });
        facts.push(`${b.name}: write under ${STAGING_MANIFEST_PREFIX} refused`);
        continue;
      }
      const del = await apis.request('storage', 'DELETE', `/storage/v1/b/${encodeURIComponent(b.name)}/o/${encodeURIComponent(object)}`);
      const deleted = del.status === 204 || del.status === 200;
      if (!deleted) {
        scope.block({
          code: 'BUCKET_NOT_WRITABLE',
          priority: 'P2',
          title: `this identity wrote ${object} in gs://${b.name} but cannot delete it (${apiErrorText(del)})`,
          impact: 'a second manifest for the same pair cannot overwrite the first (an overwrite needs storage.objects.delete)',
          mitigation: `give custom role bqxMigrationRunnerManifests storage.objects.delete again (config/runner-permissions.ts), then delete gs://${b.name}/${object}`,
        });
      }
      facts.push(`${b.name}: wrote and ${deleted ? 'deleted' : `could not delete (${del.status})`} ${object} (the conditional grant on ${STAGING_MANIFEST_PREFIX}, asked by use)`);
    }
    return facts.join('; ');
  });
}

/** What the Cloud Run Admin API answered for each deployed job (jobs.get), by job name. */
export type DeployedJobs = ReadonlyMap<string, unknown>;

export async function checkJobs(findings: Findings, apis: GoogleApis, t: CloudTargets): Promise<DeployedJobs> {
  const deployed = new Map<string, unknown>();
  await findings.run({ id: 'infrastructure.jobs', section: 'infrastructure', title: 'Cloud Run jobs deployed' }, async (scope) => {
    if (t.jobs.length === 0) {
      scope.skip();
      return 'no jobs declared (stacks not synthesized)';
    }
    const facts: string[] = [];
    for (const { name: job, role } of t.jobs) {
      const r = await apis.request<{ name?: string; terminalCondition?: { state?: string } }>(
        'run',
        'GET',
        `/v2/projects/${encodeURIComponent(t.project)}/locations/${encodeURIComponent(t.region)}/jobs/${encodeURIComponent(job)}`,
      );
      if (r.status === 403) {
        // The runner may read the extract job only (roles/run.viewer there): its configuration is what readiness needs.
        const extract = role === 'extract';
        scope.block({
          code: extract ? 'JOB_NOT_READABLE' : 'JOB_NOT_CHECKED',
          priority: extract ? 'P2' : 'P3',
          title: `Cloud Run job ${job} cannot be read by this identity (${apiErrorText(r)})`,
          impact: extract
            ? "the extract job's discovery (EXTRACTION_DISCOVERY) is taken from the synthesized stacks, not from the deployed job"
            : 'none for Phase 4C: the runner holds nothing on this job, so whether it is deployed is not checked here',
          mitigation: extract
            ? 'run readiness as the runner with the pipeline stack deployed (it grants the runner roles/run.viewer on this job)'
            : "the deployer's plan of the pipeline stack shows it",
        });
        facts.push(`${job}: not readable by this identity`);
      } else if (r.status !== 200) {
        scope.block({
          code: 'JOB_NOT_DEPLOYED',
          priority: 'P2',
          title: `Cloud Run job ${job} is not deployed in ${t.region} (${apiErrorText(r)})`,
          impact: 'the extract/merge pipeline that reads the renamed tables cannot be re-run to prove the views work',
          mitigation: 'deploy the pipeline stack (cdktf deploy pipeline)',
        });
        facts.push(`${job}: ${r.status}`);
      } else {
        deployed.set(job, r.body);
        facts.push(`${job}: deployed${r.body.terminalCondition?.state ? ` (${r.body.terminalCondition.state})` : ''}`);
      }
    }
    return facts.join('; ');
  });
  return deployed;
}

/**
 * What the plan's renames would silently lose on BigQuery: search indexes and policy tags do not
 * follow a table to its new name. Not a blocker of the run (P2): someone must re-create them.
 */
export async function checkRenameLoss(findings: Findings, lossOf: (tables: readonly string[]) => Promise<readonly RenameLossFinding[]>, plan: Plan | null): Promise<void> {
  await findings.run({ id: 'infrastructure.rename-loss', section: 'infrastructure', title: 'search indexes and policy tags the renames would drop' }, async (scope) => {
    const renamed = plan?.operations.filter((o) => o.action === 'RENAME').map((o) => o.sources[0]) ?? [];
    if (!renamed.length) {
      scope.skip();
      return 'no rename in the plan';
    }
    const lost = await lossOf(renamed);
    for (const code of ['SEARCH_INDEX_DROPPED', 'POLICY_TAGS_DROPPED'] as const) {
      const hit = lost.filter((f) => f.code === code);
      if (!hit.length) continue;
      scope.block({
        code,
        priority: 'P2',
        title: `${hit.length} renamed table(s) lose their ${code === 'SEARCH_INDEX_DROPPED' ? 'search indexes' : 'policy tags'}: ${hit.slice(0, 5).map((f) => f.subject).join(', ')}${hit.length > 5 ? ', …' : ''}`,
        impact: code === 'SEARCH_INDEX_DROPPED' ? 'SEARCH() queries on the new names scan instead of using an index until it is re-created' : 'column-level access control does not follow the rename',
        mitigation: code === 'SEARCH_INDEX_DROPPED' ? 're-create the indexes on the new names after the apply (CREATE SEARCH INDEX)' : 're-apply the policy tags to the renamed tables after the apply',
      });
    }
    return `${renamed.length} rename source(s) checked: ${lost.length ? lost.map((f) => f.message).slice(0, 3).join('; ') : 'nothing would be dropped'}`;
  });
}
