/**
 * The extract job (Job 1) discovers its tables by name from INFORMATION_SCHEMA.TABLES, which lists
 * views too: during the grace period every compatibility view matches the same discovery group as
 * the table it replaced, so each renamed feature is extracted twice. This check counts, per pair,
 * the duplicate features a name-only discovery would produce, and asks the extract job how it
 * discovers (its EXTRACTION_DISCOVERY environment variable: the deployed job on Google Cloud, the
 * synthesized stacks locally).
 */
import type { TableInfo } from '../../../core/catalogue';
import { DISCOVERY_ENV, FIXED_MODES, MANIFEST_ENV, discoveryRule, extractionBasis, extractionSetsOf, pairsInCatalogue } from '../../../core/extraction/discovery';
import { remapBasis, remapCounts } from '../../../core/extraction/remap';
import type { Plan } from '../../../core/plan/types';
import type { Policy } from '../../../core/policy';
import type { Findings } from '../findings';
import { jobEnvironment, type DeclaredStacks } from '../stacks';
import type { ExtractionReadiness, PairExtraction } from '../types';

// The job's settings (names and modes) are core's; the stacks render them from config (jobs.extract.discovery).
export { DISCOVERY_ENV, FIXED_MODES, MANIFEST_ENV };

export interface ExtractJobSource {
  /** `live`: the Cloud Run Admin API's answer; `declared`: the synthesized stacks. */
  readonly kind: 'live' | 'declared' | 'none';
  readonly job: string | null;
  readonly env: Readonly<Record<string, string>>;
}

/** The extract job as the stacks declare it (label job=extract), with its literal environment. */
export function declaredExtractJob(stacks: DeclaredStacks | null): { name: string; env: Record<string, string> } | null {
  const job = stacks?.jobs.find((j) => j.role === 'extract') ?? stacks?.jobs.find((j) => /extract/.test(j.name));
  return job ? { name: job.name, env: { ...job.env } } : null;
}

export function extractJobSource(engineKind: 'duckdb' | 'bigquery', stacks: DeclaredStacks | null, deployed: ReadonlyMap<string, unknown> | null): ExtractJobSource {
  const declared = declaredExtractJob(stacks);
  if (engineKind === 'bigquery' && declared && deployed?.has(declared.name)) return { kind: 'live', job: declared.name, env: jobEnvironment(deployed.get(declared.name)) };
  if (declared) return { kind: 'declared', job: declared.name, env: declared.env };
  return { kind: 'none', job: null, env: {} };
}

/** Per pair: what the job reads before and after the plan, the duplicates a name-only discovery makes, and the remap. */
export function extractionByPair(policy: Policy, tables: readonly TableInfo[], plan: Plan | null): PairExtraction[] {
  const rule = discoveryRule(policy);
  const basis = extractionBasis(rule, tables, plan);
  const remap = plan ? remapBasis(rule, tables, plan, basis) : null;
  const pairs = pairsInCatalogue(rule, [...tables.map((t) => t.name), ...(plan?.operations.flatMap((o) => o.sources) ?? [])]);
  return pairs.map((pair) => {
    const s = extractionSetsOf(basis, pair);
    const dupBefore = s.duplicatesByName.filter((d) => d.when === 'before').length;
    const r = remap ? remapCounts(remap, pair, s) : null;
    return {
      pair,
      before: s.before.tables.length,
      after: s.after.tables.length,
      nameOnlyBefore: s.nameOnly.before,
      nameOnlyGrace: s.nameOnly.grace,
      duplicatesBefore: dupBefore,
      duplicatesDuringGrace: s.duplicatesByName.length - dupBefore,
      remap: r ? { RENAMED: r.RENAMED, MERGED: r.MERGED, UNCHANGED: r.UNCHANGED, added: r.added } : null,
    };
  });
}

const n = (x: number) => x.toLocaleString('en-US');

export interface ExtractionCheckInput {
  readonly engineKind: 'duckdb' | 'bigquery';
  readonly policy: Policy | null;
  readonly tables: readonly TableInfo[] | null;
  readonly plan: Plan | null;
  readonly job: ExtractJobSource;
  /** The staging bucket the manifests go to (from the stacks), if known. */
  readonly stagingBucket: string | null;
}

export async function checkExtractJob(findings: Findings, input: ExtractionCheckInput): Promise<ExtractionReadiness | null> {
  let out: ExtractionReadiness | null = null;
  await findings.run({ id: 'dependencies.extract-job', section: 'dependencies', title: 'the extract job reads each feature once during the grace period' }, (scope) => {
    const { policy, tables, plan, job } = input;
    if (!policy || !tables) {
      scope.skip();
      return 'not assessed: the policy or the catalogue could not be read';
    }
    const rule = discoveryRule(policy);
    const pairs = extractionByPair(policy, tables, plan);
    const mode = job.env[DISCOVERY_ENV] ?? null;
    const fixed = mode !== null && (FIXED_MODES as readonly string[]).includes(mode);
    const manifest = `gs://${input.stagingBucket ?? '<staging bucket>'}/${rule.manifestPath}`;
    const grace = pairs.reduce((a, p) => a + p.duplicatesDuringGrace, 0);
    const legacy = pairs.reduce((a, p) => a + p.duplicatesBefore, 0);
    const where = job.kind === 'live' ? `the deployed job ${job.job}` : job.kind === 'declared' ? `the stacks' job ${job.job}` : 'no extract job declared';
    const fixes = [
      `filter the discovery to base tables: INFORMATION_SCHEMA.TABLES WHERE table_type = 'BASE TABLE' (${DISCOVERY_ENV}=base-tables)`,
      `or read the per-pair manifest the runner writes after apply, ${manifest} (${DISCOVERY_ENV}=manifest, ${MANIFEST_ENV}=${manifest})`,
    ];
    out = { jobDiscovery: { mode: mode ?? 'name-only', source: where, fixed }, manifestPath: manifest, fixes, duplicatesDuringGrace: grace, duplicatesBefore: legacy, pairs };
    const worst = [...pairs].sort((a, b) => b.duplicatesDuringGrace - a.duplicatesDuringGrace);
    const perPair = worst
      .filter((p) => p.duplicatesDuringGrace > 0)
      .slice(0, 5)
      .map((p) => `${p.pair.toUpperCase()} ${n(p.duplicatesDuringGrace)}`)
      .join(', ');
    const facts = [
      `${pairs.length} pair(s); a name-only discovery reads ${n(grace)} duplicate feature table(s) during the grace period${perPair ? ` (${perPair}${worst.filter((p) => p.duplicatesDuringGrace > 0).length > 5 ? ', …' : ''})` : ''}`,
      `before the plan it already reads ${n(legacy)} legacy copies beside their canonical tables (the plan folds them in)`,
      `job discovery: ${mode ?? 'by name (no ' + DISCOVERY_ENV + ')'} per ${where}`,
    ];
    if (!plan) {
      scope.skip();
      return `${facts.join('; ')}; no plan: the grace period's views are not known`;
    }
    if (grace === 0 || fixed) return facts.join('; ');
    // Production's severity on either engine: the job change must ship before the first apply. On
    // the embedded warehouse no extract job reads the copy, so the rehearsal itself may proceed.
    const local = input.engineKind === 'duckdb';
    scope.block({
      code: 'EXTRACT_DUPLICATES',
      priority: 'P1',
      ...(local ? { scope: 'production' as const } : {}),
      title: `during the grace period the extract job's name-only discovery reads ${n(grace)} duplicate feature tables (${perPair})`,
      impact: `every training file extracted during the grace period gets each renamed feature twice, under its old and new column names (${perPair} tables per pair); ${n(legacy)} legacy copies were already read twice before${local ? '. Counted on the synthetic copy; it does not stop this local rehearsal (no extract job reads it)' : ''}`,
      mitigation: `change the extract job before the first apply: ${fixes.join('; ')}; then set jobs.extract.discovery in config/environments.ts (the pipeline stack renders ${DISCOVERY_ENV}), rebuild the extract image and deploy the pipeline stack`,
    });
    return facts.join('; ');
  });
  return out;
}
