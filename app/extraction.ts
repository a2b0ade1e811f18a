/**
 * `bqx extraction`: what the extract job reads for a pair before and after a plan, and what a
 * discovery by name alone would pick up besides (compatibility views, legacy twins). Reads the
 * catalogue only; changes nothing. Optionally writes the per-pair manifest the job can read instead
 * of discovering tables by name.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import type { TableInfo } from '../core/catalogue';
import { STAGING_MANIFEST_PREFIX } from '../config/runner-permissions';
import { BqxError } from '../core/errors';
import { discoveryRule, extractionSets, pairProblem, type DiscoveryRule, type ExtractionSets } from '../core/extraction/discovery';
import { loadPlanFile } from '../core/plan/load';
import type { Plan } from '../core/plan/types';
import { loadPolicy } from '../core/policy';
import type { EngineOptions } from '../core/ports/engine';
import { describeWarehouse, withEngine } from './engine';
import { apiErrorText, googleApis } from './readiness/google-apis';

export interface ExtractionReport extends ExtractionSets {
  readonly warehouse: string;
  readonly summary: {
    readonly before: number;
    readonly after: number;
    readonly duplicatesBefore: number;
    readonly duplicatesDuringGrace: number;
  };
}

export const MANIFEST_FORMAT = 'bqx-extraction-manifest/v1';

/** What the job reads instead of discovering: the base tables, each feature once. */
export interface ExtractionManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly project: string;
  readonly dataset: string;
  readonly pair: string;
  readonly planHash: string | null;
  readonly tables: readonly string[];
}

/** A pair as people write it (EURUSD) → the policy's token, or BAD_INPUT naming the pairs there are. */
export function parsePair(rule: DiscoveryRule, value: unknown): string {
  const pair = String(value ?? '').trim().toLowerCase();
  const problem = pairProblem(rule, pair);
  if (problem) throw new BqxError('BAD_PAIR', `--pair ${JSON.stringify(String(value ?? ''))}: ${problem}`, 'pass one of the 28 pairs, e.g. --pair eurusd');
  return pair;
}

/** The plan file, which must be for the dataset the engine reads. */
export function planFor(planFile: string, engine: EngineOptions): Plan {
  const plan = loadPlanFile(planFile);
  if (plan.dataset !== engine.dataset) {
    throw new BqxError('PLAN_ELSEWHERE', `plan ${planFile} is for dataset ${plan.dataset}, the engine reads ${engine.dataset}`, `pass --dataset ${plan.dataset}, or the plan of ${engine.dataset}`);
  }
  return plan;
}

export function extractionReport(sets: ExtractionSets, warehouse: string): ExtractionReport {
  const dupBefore = sets.duplicatesByName.filter((d) => d.when === 'before').length;
  return {
    ...sets,
    warehouse,
    summary: { before: sets.before.tables.length, after: sets.after.tables.length, duplicatesBefore: dupBefore, duplicatesDuringGrace: sets.duplicatesByName.length - dupBefore },
  };
}

export function manifestOf(r: ExtractionSets, where: { project: string; dataset: string }): ExtractionManifest {
  return { format: MANIFEST_FORMAT, project: where.project, dataset: where.dataset, pair: r.pair, planHash: r.planHash, tables: r.after.tables };
}

/**
 * Uploads the manifest to `gs://bucket[/prefix]` at the policy's object path, with the caller's
 * credentials. The runner may create and overwrite objects under `manifests/` of the staging bucket
 * and nothing else there (custom role bqxMigrationRunnerManifests, bound by the data stack under a
 * condition on the object name; config/runner-permissions.ts, stagingManifests).
 */
export async function uploadManifest(target: string, r: ExtractionSets, where: { project: string; dataset: string }, endpoint?: string): Promise<string> {
  const m = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(\/.*)?$/.exec(target);
  if (!m) throw new BqxError('BAD_MANIFEST_TARGET', `--manifest-dir ${target} is not a bucket URL`, 'pass gs://BUCKET (e.g. gs://bqx-ml-staging) or a local directory');
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  const object = prefix ? `${prefix}/${r.manifestPath}` : r.manifestPath;
  const apis = googleApis({ endpoint: endpoint ?? process.env.BQX_GOOGLE_API_ENDPOINT });
  const res = await apis.request('storage', 'POST', `/upload/storage/v1/b/${encodeURIComponent(m[1])}/o`, {
    query: { uploadType: 'media', name: object },
    media: { contentType: 'application/json', data: `${JSON.stringify(manifestOf(r, where), null, 2)}\n` },
  });
  if (res.status !== 200) {
    const outside = object.startsWith(STAGING_MANIFEST_PREFIX) ? '' : `; ${object} is outside ${STAGING_MANIFEST_PREFIX}, which is all the runner may write: pass gs://${m[1]} without a prefix`;
    throw new BqxError(
      'MANIFEST_UPLOAD_FAILED',
      `writing gs://${m[1]}/${object} failed: ${apiErrorText(res)}`,
      `run as the runner, on the staging bucket: it may create and overwrite objects under ${STAGING_MANIFEST_PREFIX} only ` +
        `(custom role bqxMigrationRunnerManifests: storage.objects.create, storage.objects.delete; granted by the data stack with the condition ` +
        `resource.name.startsWith("projects/_/buckets/${m[1]}/objects/${STAGING_MANIFEST_PREFIX}"))${outside}`,
      'FAILURE',
    );
  }
  return `gs://${m[1]}/${object}`;
}

/** Writes the manifest under `dir` at the policy's object path (the staging bucket's layout). */
export function writeManifest(dir: string, r: ExtractionSets, where: { project: string; dataset: string }): string {
  const file = path.resolve(dir, r.manifestPath);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(manifestOf(r, where), null, 2)}\n`);
  return file;
}

export interface ExtractionInput {
  readonly engine: EngineOptions;
  readonly pair: string;
  readonly planFile?: string;
  readonly policyFile?: string;
  /** Write the pair's manifest under this directory (same layout as the staging bucket), or to `gs://BUCKET`. */
  readonly manifestDir?: string;
  /** One base URL for Cloud Storage (a test double); env BQX_GOOGLE_API_ENDPOINT. */
  readonly googleApiEndpoint?: string;
}

export async function runExtraction(input: ExtractionInput): Promise<{ report: ExtractionReport; manifest: string | null }> {
  const policy = loadPolicy(input.policyFile);
  const rule = discoveryRule(policy);
  const pair = parsePair(rule, input.pair);
  const plan = input.planFile !== undefined ? planFor(input.planFile, input.engine) : null;
  const tables: TableInfo[] = await withEngine({ ...input.engine, readOnly: true }, (engine) => engine.listTables());
  const report = extractionReport(extractionSets(rule, tables, plan, pair), describeWarehouse(input.engine));
  const dir = input.manifestDir;
  const manifest = dir === undefined ? null : dir.startsWith('gs://') ? await uploadManifest(dir, report, input.engine, input.googleApiEndpoint) : writeManifest(dir, report, input.engine);
  return { report, manifest };
}

const n = (x: number) => x.toLocaleString('en-US');

export function formatExtraction(r: ExtractionReport, manifest: string | null, limit = 12): string {
  const s = r.summary;
  const views = r.duplicatesByName.filter((d) => d.when === 'grace');
  const twins = r.duplicatesByName.filter((d) => d.when === 'before');
  const lines = [
    `What the extract job reads for ${r.pair.toUpperCase()} (${r.warehouse}${r.planHash ? `, plan ${r.planHash.slice(0, 12)}…` : ', no plan: the catalogue as it is'})`,
    `  before: ${n(s.before)} base tables, each feature once` + (twins.length ? ` (a name-only discovery read ${n(r.nameOnly.before)}: ${n(twins.length)} legacy copies besides)` : ''),
    `  after:  ${n(s.after)} base tables, each feature once`,
    `  during the grace period a name-only discovery reads ${n(r.nameOnly.grace)}: ${n(views.length)} compatibility views duplicate a feature`,
  ];
  const shown = (list: typeof views) => list.slice(0, limit).map((d) => `    ${d.name.padEnd(34)} ${d.kind.padEnd(18)} same feature as ${d.sameAs ?? '(unknown)'}`);
  if (twins.length) lines.push('', `  legacy copies read twice before the plan (${n(twins.length)}):`, ...shown(twins), ...(twins.length > limit ? [`    … ${n(twins.length - limit)} more (see --json)`] : []));
  if (views.length) lines.push('', `  views a name-only discovery also reads (${n(views.length)}):`, ...shown(views), ...(views.length > limit ? [`    … ${n(views.length - limit)} more (see --json)`] : []));
  if (r.unmanaged.length) lines.push('', `  base tables the plan does not know (read before and after): ${r.unmanaged.slice(0, limit).join(', ')}${r.unmanaged.length > limit ? ', …' : ''}`);
  lines.push(
    '',
    '  the fix in the job: list tables with table_type = \'BASE TABLE\' (INFORMATION_SCHEMA.TABLES), or read the manifest',
    manifest
      ? `  manifest written to ${manifest}${manifest.startsWith('gs://') ? '' : '; copy it to the staging bucket'}`
      : `  (bqx extraction --manifest-dir gs://STAGING_BUCKET writes ${r.manifestPath} there after apply)`,
  );
  return lines.join('\n');
}
