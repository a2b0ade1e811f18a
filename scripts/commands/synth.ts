import { performance } from 'perf_hooks';
import type { Command } from 'commander';
import { Option } from 'commander';
import { synthesize } from '../../app/synth';
import { BqxError } from '../../core/errors';
import type { Finish } from '../exit-codes';

function parseNow(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new BqxError('BAD_OPTION', `--now ${JSON.stringify(value)} is not a date`, 'use an ISO 8601 timestamp');
  return new Date(ms);
}

/**
 * `bqx synth` (`npm run synth`): every stack of one environment into DIR/stacks/<stack>/cdk.tf.json,
 * or cdk.tf with --hcl (plain Terraform, the exit from the archived CDKTF). Prints warnings (missing
 * plan, views expiring soon) and the resource count per stack.
 */
export function registerSynth(program: Command, finish: Finish): void {
  program
    .command('synth')
    .description('Synthesize every CDKTF stack of an environment (views from the committed plan, or --plan) into <out>/stacks/<stack>/.')
    .addOption(new Option('--env <name>', 'environment (no implicit prod: default dev)').choices(['dev', 'prod']).default('dev'))
    .option('--hcl', 'write cdk.tf (plain Terraform) instead of cdk.tf.json')
    .option('--out <dir>', 'output directory (default cdktf.out)')
    .option('--plan <file>', 'plan file for the views stacks (default: the environment’s views.planFile; env BQX_PLAN_FILE)')
    .option('--retire-plan <file>', 'applied retirement plan of the plan\'s views (bqx retire): exactly the views it retired are not declared (env BQX_RETIRE_PLAN_FILE)')
    .option('--now <iso>', 'the clock for grace periods (default now; env BQX_NOW)')
    .action(async (opts) => {
      const started = performance.now();
      const now = parseNow(opts.now);
      const result = await synthesize({ env: opts.env, outdir: opts.out, hcl: Boolean(opts.hcl), now, planFile: opts.plan ?? (process.env.BQX_PLAN_FILE || undefined), retirePlanFile: opts.retirePlan ?? (process.env.BQX_RETIRE_PLAN_FILE || undefined) });
      for (const w of result.warnings) process.stderr.write(`${w}\n`);
      const file = opts.hcl ? 'cdk.tf' : 'cdk.tf.json';
      const total = Object.values(result.resources).reduce((a, b) => a + b, 0);
      const lines = [`synthesized ${opts.env}: ${result.stacks.length} stacks, ${total} resources -> ${result.outdir}/stacks/<stack>/${file}`];
      for (const [id, n] of Object.entries(result.resources)) lines.push(`  ${id.padEnd(12)} ${String(n).padStart(5)} resources`);
      if (result.views.planHash) {
        lines.push(`  views: ${result.views.declared} declared, ${result.views.expired} past their grace period, ${result.views.expiringSoon} expiring soon (plan ${result.views.planHash})`);
        const catalogue = result.views.catalogue;
        if (catalogue && !catalogue.fromWarehouse) lines.push(`  views plan catalogue: ${catalogue.name}, NOT the environment's BigQuery catalogue (allowed by views.allowPlanFromLocalCatalogue)`);
      }
      const sharding = result.views.sharding;
      if (sharding) {
        lines.push(`  shards: fullest ${sharding.fullest.shard} holds ${sharding.fullest.views} of ${sharding.cap}; ${sharding.message} (views.shards)`);
      }
      lines.push(`  ${Math.round(performance.now() - started)} ms, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`);
      process.stdout.write(`${lines.join('\n')}\n`);
      finish('OK');
    });
}
