import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { App } from 'cdktf';
import type { EnvironmentConfig } from '../config/environment';
import { placeholders, serviceAccountEmail } from '../config/environment';
import { BqxError } from '../core/errors';
import { PlatformResult, buildPlatform, resourceCount, stackApplier } from './platform';
import type { ViewPlan } from './view-plan';
import { disableTokenStackTraces } from './token-stack-traces';

export interface SynthesizeOptions {
  readonly env: EnvironmentConfig;
  /** @default 'cdktf.out' (or CDKTF_OUTDIR when run by the cdktf CLI) */
  readonly outdir?: string;
  /** Write `cdk.tf` (HCL) instead of `cdk.tf.json`, like `cdktf synth --hcl`. */
  readonly hcl?: boolean;
  readonly now?: Date;
  readonly plan?: ViewPlan | null;
  /** Plan file instead of the environment's (BQX_PLAN_FILE for the cdktf CLI). */
  readonly planFile?: string;
  /** Applied retirement plan of the plan's views (BQX_RETIRE_PLAN_FILE for the cdktf CLI). */
  readonly retirePlanFile?: string;
  /** Views handoff file instead of the environment's `views.appliedFile` (`bqx synth --applied`). */
  readonly appliedFile?: string;
  readonly repoRoot?: string;
  /** Terraform binary for formatting HCL. @default the first of TERRAFORM_CANDIDATES that exists; null: do not format */
  readonly terraform?: string | null;
}

export interface SynthesizeResult extends PlatformResult {
  readonly outdir: string;
  readonly resources: Readonly<Record<string, number>>;
  /** `ENV=prod project=bqx-ml state=gs://bqx-ml-tfstate/platform/prod`: what every synthesis names first. */
  readonly header: string;
  /** HCL output only: whether `terraform fmt` formatted it (false where no terraform binary exists). */
  readonly hclFormatted: boolean | null;
}

/** The file every synthesis writes next to `stacks/`: which environment the output is for, and what CI must check before applying. */
export const ENVIRONMENT_MANIFEST = 'environment.json';

/** Where a terraform binary is looked for (this machine: 1.11 in /usr/local/bin). */
export const TERRAFORM_CANDIDATES = ['/usr/local/bin/terraform', '/usr/bin/terraform'];

/** The header that names the environment of a synthesis. */
export const synthHeader = (env: EnvironmentConfig): string =>
  `ENV=${env.name} project=${env.project} state=gs://${env.state.bucket}/${env.state.prefixRoot}`;

/**
 * The stack directories to clear before writing. Stacks that no longer exist (a shard emptied, the
 * plan removed, another environment synthesized into the same directory) must not linger. The
 * cdktf CLI lists `stacks/` before running the app and, afterwards, removes every directory the app
 * did not write with `fs.rmSync(dir, { recursive: true })`, which throws ENOENT on a directory
 * that is already gone (@cdktf/cli-core synth-stack.js). So under the CLI (its CDKTF_OUTDIR is
 * this outdir) only the synthesized files are removed and the CLI removes the directories.
 */
function clearStacks(outdir: string): void {
  const stacksDir = path.join(outdir, 'stacks');
  const cli = process.env.CDKTF_OUTDIR !== undefined && path.resolve(process.env.CDKTF_OUTDIR) === path.resolve(outdir);
  if (!cli) {
    fs.rmSync(stacksDir, { recursive: true, force: true });
    return;
  }
  if (!fs.existsSync(stacksDir)) return;
  for (const d of fs.readdirSync(stacksDir, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of ['cdk.tf.json', 'cdk.tf']) fs.rmSync(path.join(stacksDir, d.name, f), { force: true });
  }
}

/**
 * `terraform fmt` over every cdk.tf: cdktf's HCL renderer does not indent, so its output fails
 * `terraform fmt -check` until formatted. Returns false where no terraform binary exists.
 */
function formatHcl(outdir: string, terraform: string | null | undefined): boolean {
  const bin = terraform === undefined ? TERRAFORM_CANDIDATES.find((p) => fs.existsSync(p)) : terraform;
  if (!bin) return false;
  const r = spawnSync(bin, ['fmt', '-recursive', '-list=false', path.join(outdir, 'stacks')], { encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } });
  if (r.status !== 0) {
    throw new BqxError('HCL_INVALID', `terraform fmt refused the synthesized HCL: ${(r.stderr || r.stdout || String(r.error)).trim().slice(0, 2000)}`, 'a cdktf HCL rendering bug (see stacks/README.md "HCL exit"); synthesize JSON instead');
  }
  return true;
}

/**
 * Builds and writes every stack of an environment to `<outdir>/stacks/<stack>/cdk.tf.json` (or
 * `cdk.tf`, formatted with `terraform fmt` where a terraform binary exists), the layout `cdktf synth`
 * produces. Stack traces are off (construct metadata and token creation, see token-stack-traces.ts):
 * with thousands of resources they dominate synth time. Also writes `<outdir>/expiring-views.json`
 * (views ending their grace period within the window) and `<outdir>/environment.json` (the
 * environment, its identities, who applies each stack, the placeholders that block a stack).
 */
export function synthesizeEnvironment(options: SynthesizeOptions): SynthesizeResult {
  disableTokenStackTraces();
  const outdir = options.outdir ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  clearStacks(outdir);
  fs.mkdirSync(outdir, { recursive: true });

  // TerraformStack reads SYNTH_HCL_OUTPUT in its constructor; App's option only names the file.
  const previous = process.env.SYNTH_HCL_OUTPUT;
  const hcl = options.hcl ?? (previous === 'true' || previous === '1');
  process.env.SYNTH_HCL_OUTPUT = hcl ? 'true' : 'false';
  try {
    const app = new App({ outdir, stackTraces: false, hclOutput: hcl });
    const result = buildPlatform(app, { env: options.env, now: options.now, plan: options.plan, planFile: options.planFile, retirePlanFile: options.retirePlanFile, appliedFile: options.appliedFile, repoRoot: options.repoRoot });
    try {
      app.synth();
    } catch (e) {
      throw asPolicyError(e);
    }
    const hclFormatted = hcl ? formatHcl(outdir, options.terraform) : null;
    const warnings = hcl && !hclFormatted ? [...result.warnings, 'warning: no terraform binary: cdk.tf is left as cdktf rendered it (run terraform fmt -recursive on it)'] : result.warnings;
    fs.writeFileSync(path.join(outdir, 'expiring-views.json'), `${JSON.stringify(result.expiring, null, 2)}\n`);
    const resources: Record<string, number> = {};
    for (const s of result.stacks) resources[s.node.id] = resourceCount(s);
    fs.writeFileSync(path.join(outdir, ENVIRONMENT_MANIFEST), `${JSON.stringify(environmentManifest(options.env, resources, result.views), null, 2)}\n`);
    return { ...result, warnings, outdir, resources, header: synthHeader(options.env), hclFormatted };
  } finally {
    if (previous === undefined) delete process.env.SYNTH_HCL_OUTPUT;
    else process.env.SYNTH_HCL_OUTPUT = previous;
  }
}

/** What CI reads before planning or applying a stack of this output (.github/workflows/platform-*.yml). */
export function environmentManifest(env: EnvironmentConfig, resources: Readonly<Record<string, number>>, views?: Pick<PlatformResult['views'], 'planHash' | 'catalogue'>) {
  const email = (k: keyof EnvironmentConfig['serviceAccounts']) => serviceAccountEmail(env, env.serviceAccounts[k]);
  const blocked = placeholders(env);
  return {
    env: env.name,
    project: env.project,
    header: synthHeader(env),
    state: { bucket: env.state.bucket, foundationBucket: env.state.foundationBucket, prefixRoot: env.state.prefixRoot },
    identities: { planner: email('ciPlanner'), drift: email('ciDrift'), deployer: email('ciDeployer'), breakGlass: email('breakGlass'), runner: email('runner') },
    githubEnvironment: env.ci.deployEnvironment,
    stacks: Object.fromEntries(
      Object.entries(resources).map(([id, n]) => [
        id,
        {
          resources: n,
          statePrefix: `${env.state.prefixRoot}/${id}`,
          appliedBy: stackApplier(id),
          blockedBy: blocked.filter((p) => p.stacks.includes(id)).map((p) => p.path),
        },
      ]),
    ),
    placeholders: blocked,
    ...(views ? { viewsPlan: { planHash: views.planHash, catalogue: views.catalogue } } : {}),
  };
}

/** cdktf reports error annotations as one Error; policy violations become a BqxError naming each. */
function asPolicyError(e: unknown): unknown {
  const message = e instanceof Error ? e.message : String(e);
  const lines = message.split('\n').filter((l) => l.includes('policy '));
  if (lines.length === 0) return e;
  return new BqxError(
    'POLICY_VIOLATION',
    `synthesis refused: ${lines.length} policy violation(s)\n${lines.map((l) => `  ${l.trim()}`).join('\n')}`,
    'fix the construct named in brackets; the rules are in constructs/policy.ts',
    'VIOLATIONS',
  );
}
