import type { Command } from 'commander';
import { registerAudit } from './audit';
import { registerPlan } from './plan';

/** Every verb of the CLI; `bqx readiness` checks that each one is present and self-checks. */
export function registerCommands(program: Command): void {
  registerAudit(program);
  registerPlan(program);
}
