import type { Command } from 'commander';
import { registerAudit } from './audit';
import { registerWarehouse } from './warehouse';
import { registerApply } from './apply';
import { registerVerify } from './verify';
import { registerRollback } from './rollback';
import { registerReconcile } from './reconcile';
import { registerUnlock } from './unlock';
import { registerPlan } from './plan';
import { registerMain } from './main';
import { registerReadiness } from './readiness';

/** Every verb of the CLI; `bqx readiness` checks that each one is present and self-checks. */
export function registerCommands(program: Command): void {
  registerAudit(program);
  registerWarehouse(program);
  registerApply(program);
  registerVerify(program);
  registerRollback(program);
  registerReconcile(program);
  registerUnlock(program);
  registerPlan(program);
  registerMain(program);
  registerReadiness(program);
}
