/**
 * `npm run synth [-- --env prod|dev] [--hcl] [--out DIR] [--plan FILE] [--now ISO]`: synthesizes
 * every stack of one environment (views from the committed plan, or FILE) into DIR/stacks/<stack>/cdk.tf.json, or cdk.tf
 * with --hcl (plain Terraform, the exit from archived CDKTF). Prints warnings (missing plan, views
 * expiring within the warning window) and the resource count per stack.
 */
import { performance } from 'perf_hooks';
import { loadEnvironment } from '../config/environments';
import { BqxError, EXIT, isBqxError } from '../core/errors';
import { synthesizeEnvironment } from '../stacks/synthesize';

interface SynthArgs {
  env: string;
  hcl: boolean;
  out?: string;
  now?: Date;
  plan?: string;
}

export function parseSynthArgs(argv: readonly string[]): SynthArgs {
  const args: SynthArgs = { env: 'prod', hcl: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new BqxError('INVALID_ARGUMENT', `${a} needs a value`, 'see the usage at the top of scripts/synth.ts');
      return v;
    };
    if (a === '--env') args.env = value();
    else if (a.startsWith('--env=')) args.env = a.slice(6);
    else if (a === '--hcl') args.hcl = true;
    else if (a === '--out') args.out = value();
    else if (a === '--plan') args.plan = value();
    else if (a === '--now') {
      const v = value();
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw new BqxError('INVALID_ARGUMENT', `--now ${JSON.stringify(v)} is not a date`, 'use an ISO 8601 timestamp');
      args.now = new Date(ms);
    } else throw new BqxError('INVALID_ARGUMENT', `unknown argument ${JSON.stringify(a)}`, 'usage: synth [--env prod|dev] [--hcl] [--out DIR] [--plan FILE] [--now ISO]');
  }
  return args;
}

export function runSynth(argv: readonly string[]): number {
  const started = performance.now();
  try {
    const args = parseSynthArgs(argv);
    const result = synthesizeEnvironment({ env: loadEnvironment(args.env), outdir: args.out, hcl: args.hcl, now: args.now, planFile: args.plan ?? (process.env.BQX_PLAN_FILE || undefined) });
    for (const w of result.warnings) process.stderr.write(`${w}\n`);
    const file = args.hcl ? 'cdk.tf' : 'cdk.tf.json';
    const total = Object.values(result.resources).reduce((a, b) => a + b, 0);
    process.stdout.write(`synthesized ${args.env}: ${result.stacks.length} stacks, ${total} resources -> ${result.outdir}/stacks/<stack>/${file}\n`);
    for (const [id, n] of Object.entries(result.resources)) process.stdout.write(`  ${id.padEnd(12)} ${String(n).padStart(5)} resources\n`);
    if (result.views.planHash) {
      process.stdout.write(`  views: ${result.views.declared} declared, ${result.views.expired} past their grace period, ${result.views.expiringSoon} expiring soon (plan ${result.views.planHash})\n`);
    }
    process.stdout.write(`  ${Math.round(performance.now() - started)} ms, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB\n`);
    return EXIT.OK;
  } catch (e) {
    if (!isBqxError(e)) {
      process.stderr.write(`synth: unexpected error: ${(e as Error)?.stack ?? String(e)}\n`);
      return EXIT.FAILURE;
    }
    process.stderr.write(`synth: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  what to do: ${e.hint}\n`);
    return e.exitCode;
  }
}

if (require.main === module) {
  process.exitCode = runSynth(process.argv.slice(2));
}
