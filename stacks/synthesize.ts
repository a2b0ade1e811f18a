import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdktf';
import type { EnvironmentConfig } from '../config/environment';
import { BqxError } from '../core/errors';
import { PlatformResult, buildPlatform, resourceCount } from './platform';
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
  readonly repoRoot?: string;
}

export interface SynthesizeResult extends PlatformResult {
  readonly outdir: string;
  readonly resources: Readonly<Record<string, number>>;
}

/**
 * Builds and writes every stack of an environment to `<outdir>/stacks/<stack>/cdk.tf.json` (or
 * `cdk.tf`), the layout `cdktf synth` produces. Stack traces are off (construct metadata and
 * token creation, see token-stack-traces.ts): with thousands of resources they dominate synth time.
 * Also writes `<outdir>/expiring-views.json`: views ending their grace period within the window.
 */
export function synthesizeEnvironment(options: SynthesizeOptions): SynthesizeResult {
  disableTokenStackTraces();
  const outdir = options.outdir ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  // Stacks that no longer exist (a shard emptied, the plan removed) must not linger in the output.
  fs.rmSync(path.join(outdir, 'stacks'), { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });

  // TerraformStack reads SYNTH_HCL_OUTPUT in its constructor; App's option only names the file.
  const previous = process.env.SYNTH_HCL_OUTPUT;
  const hcl = options.hcl ?? (previous === 'true' || previous === '1');
  process.env.SYNTH_HCL_OUTPUT = hcl ? 'true' : 'false';
  try {
    const app = new App({ outdir, stackTraces: false, hclOutput: hcl });
    const result = buildPlatform(app, { env: options.env, now: options.now, plan: options.plan, planFile: options.planFile, repoRoot: options.repoRoot });
    try {
      app.synth();
    } catch (e) {
      throw asPolicyError(e);
    }
    fs.writeFileSync(path.join(outdir, 'expiring-views.json'), `${JSON.stringify(result.expiring, null, 2)}\n`);
    const resources: Record<string, number> = {};
    for (const s of result.stacks) resources[s.node.id] = resourceCount(s);
    return { ...result, outdir, resources };
  } finally {
    if (previous === undefined) delete process.env.SYNTH_HCL_OUTPUT;
    else process.env.SYNTH_HCL_OUTPUT = previous;
  }
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
