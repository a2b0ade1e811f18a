import type { Command } from 'commander';
import { registerApply } from './apply';
import { registerAudit } from './audit';
import { registerMain } from './main';
import { registerPlan } from './plan';
import { registerReadiness } from './readiness';
import { registerReconcile } from './reconcile';
import { registerRollback } from './rollback';
import { registerUnlock } from './unlock';
import { registerVerify } from './verify';
import { registerWarehouse } from './warehouse';

/** Every verb of the CLI, in the order of a run; `bqx readiness` checks that each one is present. */
export function registerCommands(program: Command): void {
  registerWarehouse(program);
  registerAudit(program);
  registerPlan(program);
  registerApply(program);
  registerVerify(program);
  registerReconcile(program);
  registerRollback(program);
  registerUnlock(program);
  registerReadiness(program);
  registerMain(program);
}
