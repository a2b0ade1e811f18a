import type { SynthesizeResult } from '../stacks/synthesize';

export interface SynthInput {
  readonly env: string;
  readonly outdir?: string;
  readonly hcl?: boolean;
  readonly now?: Date;
  readonly planFile?: string;
  /** Applied retirement plan of the plan's views: exactly the views it retired are not declared. */
  readonly retirePlanFile?: string;
  readonly repoRoot?: string;
}

/** Synthesizes every stack of an environment. cdktf and the provider modules load only here. */
export async function synthesize(input: SynthInput): Promise<SynthesizeResult> {
  const { loadEnvironment } = await import('../config/environments');
  const { synthesizeEnvironment } = await import('../stacks/synthesize');
  return synthesizeEnvironment({ env: loadEnvironment(input.env), outdir: input.outdir, hcl: input.hcl, now: input.now, planFile: input.planFile, retirePlanFile: input.retirePlanFile, repoRoot: input.repoRoot });
}
