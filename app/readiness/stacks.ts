import { existsSync, readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { BqxError } from '../../core/errors';

/** What the synthesized CDKTF stacks declare, read from `cdktf.out/stacks/<stack>/cdk.tf.json`. */
export interface DeclaredDataset {
  readonly stack: string;
  readonly datasetId: string;
  readonly location: string | null;
  readonly defaultTableExpirationMs: number | null;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DeclaredStacks {
  readonly dir: string;
  readonly stacks: readonly string[];
  readonly datasets: readonly DeclaredDataset[];
  /** `role` is the bucket's `bucket_role` label (staging, output, state) when it has one. */
  readonly buckets: readonly { readonly stack: string; readonly name: string; readonly role: string | null }[];
  /** `role` is the job's `job` label (extract, merge); `env` its container's literal environment. */
  readonly jobs: readonly DeclaredJob[];
  /** Alert policies with the text their incidents show (which links the RUNBOOK section that handles them). */
  readonly alertPolicies: readonly { readonly stack: string; readonly displayName: string; readonly documentation: string }[];
  readonly apis: readonly string[];
  readonly views: number;
}

export interface DeclaredJob {
  readonly stack: string;
  readonly name: string;
  readonly location: string | null;
  readonly role: string | null;
  readonly env: Readonly<Record<string, string>>;
}

/** The literal environment of a Cloud Run v2 job's first container (synthesized JSON or the Admin API's answer). */
export function jobEnvironment(job: unknown): Record<string, string> {
  const template = (job as { template?: { template?: { containers?: { env?: { name?: unknown; value?: unknown }[] }[] } } } | null)?.template?.template;
  const env: Record<string, string> = {};
  for (const e of template?.containers?.[0]?.env ?? []) if (typeof e.name === 'string' && typeof e.value === 'string' && !e.value.includes('${')) env[e.name] = e.value;
  return env;
}

type Resources = Record<string, Record<string, Record<string, unknown>>>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Only literal values count: a Terraform reference (`${...}`) is not a declared name. */
const literal = (v: unknown): string | null => {
  const s = str(v);
  return s !== null && !s.includes('${') ? s : null;
};

function resourcesOf(file: string): Resources {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new BqxError('STACKS_UNREADABLE', `cannot read synthesized stack ${file}: ${(e as Error).message}`, 'synthesize the stacks again (npm run synth)');
  }
  return ((json as { resource?: Resources }).resource ?? {}) as Resources;
}

/** Null when the directory holds no synthesized stacks. */
export function readDeclaredStacks(dir: string): DeclaredStacks | null {
  const stacksDir = path.join(dir, 'stacks');
  if (!existsSync(stacksDir)) return null;
  const names = readdirSync(stacksDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(stacksDir, d.name, 'cdk.tf.json')))
    .map((d) => d.name)
    .sort();
  if (names.length === 0) return null;
  const datasets: DeclaredDataset[] = [];
  const buckets: { stack: string; name: string; role: string | null }[] = [];
  const jobs: DeclaredJob[] = [];
  const alertPolicies: { stack: string; displayName: string; documentation: string }[] = [];
  const apis = new Set<string>();
  let views = 0;
  for (const stack of names) {
    const r = resourcesOf(path.join(stacksDir, stack, 'cdk.tf.json'));
    for (const d of Object.values(r.google_bigquery_dataset ?? {})) {
      const id = literal(d.dataset_id);
      if (!id) continue;
      const exp = d.default_table_expiration_ms;
      datasets.push({
        stack,
        datasetId: id,
        location: literal(d.location),
        defaultTableExpirationMs: typeof exp === 'number' ? exp : typeof exp === 'string' && /^\d+$/.test(exp) ? Number(exp) : null,
        labels: (d.labels ?? {}) as Record<string, string>,
      });
    }
    for (const b of Object.values(r.google_storage_bucket ?? {})) {
      const name = literal(b.name);
      const role = literal((b.labels as Record<string, unknown> | undefined)?.bucket_role);
      if (name) buckets.push({ stack, name, role });
    }
    for (const j of Object.values(r.google_cloud_run_v2_job ?? {})) {
      const name = literal(j.name);
      if (name) jobs.push({ stack, name, location: literal(j.location), role: literal((j.labels as Record<string, unknown> | undefined)?.job), env: jobEnvironment(j) });
    }
    for (const a of Object.values(r.google_monitoring_alert_policy ?? {})) {
      const displayName = literal(a.display_name);
      if (displayName) alertPolicies.push({ stack, displayName, documentation: literal((a.documentation as { content?: unknown } | undefined)?.content) ?? '' });
    }
    for (const s of Object.values(r.google_project_service ?? {})) {
      const service = literal(s.service);
      if (service) apis.add(service);
    }
    for (const t of Object.values(r.google_bigquery_table ?? {})) if (t.view) views++;
  }
  return { dir, stacks: names, datasets, buckets, jobs, alertPolicies, apis: [...apis].sort(), views };
}
