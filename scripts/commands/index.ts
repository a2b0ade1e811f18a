import type { Command } from 'commander';
import type { Finish } from '../exit-codes';
import { registerApply } from './apply';
import { registerAudit } from './audit';
import { registerExtraction } from './extraction';
import { registerMain } from './main';
import { registerPlan } from './plan';
import { registerReadiness } from './readiness';
import { registerReconcile } from './reconcile';
import { registerRemap } from './remap';
import { registerRetirement } from './retirement';
import { registerRollback } from './rollback';
import { registerScan } from './scan';
import { registerSynth } from './synth';
import { registerUnlock } from './unlock';
import { registerVerify } from './verify';
import { registerWarehouse } from './warehouse';

/** Every verb of the CLI, in the order of a run. */
export function registerCommands(program: Command, finish: Finish): void {
  registerWarehouse(program, finish);
  registerAudit(program, finish);
  registerPlan(program, finish);
  registerSynth(program, finish);
  registerApply(program, finish);
  registerVerify(program, finish);
  registerReconcile(program, finish);
  registerExtraction(program, finish);
  registerRemap(program, finish);
  registerRollback(program, finish);
  registerRetirement(program, finish);
  registerUnlock(program, finish);
  registerScan(program, finish);
  registerReadiness(program, finish);
  registerMain(program, finish);
}
