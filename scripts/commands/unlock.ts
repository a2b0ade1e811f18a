import type { Command } from 'commander';
import { describeHolder, lockNameFor, unlock } from '../../core/execute/lock';
import { newRunId } from '../../core/execute/ids';
import { openEngine } from '../../engines';
import { emit, engineOptions, withEngineOptions } from '../options';

export function registerUnlock(program: Command): void {
  withEngineOptions(
    program
      .command('unlock')
      .description("Release the runner's lock when its holder is gone or its lease expired (--force: even if not), and clear a freeze (--clear-freeze, a person's decision).")
      .option('--clear-freeze', 'clear the freeze set after repeated validation halts')
      .option('--force', 'release the lock even though its holder may be alive')
      .option('--json', 'print the result as JSON'),
  ).action(async (opts) => {
    const engine = await openEngine(engineOptions(opts));
    try {
      await engine.ledger.init();
      const lockName = lockNameFor(engine.where.dataset);
      const r = await unlock(engine.ledger, lockName, { clearFreeze: Boolean(opts.clearFreeze), force: Boolean(opts.force), runId: newRunId() });
      const value = { lock: lockName, holder: r.before.holder, frozen: r.before.frozen, actions: r.actions };
      emit(Boolean(opts.json), value, () =>
        [
          `lock ${lockName}: ${r.before.holder ? `held by ${describeHolder(r.before.holder)}` : 'free'}${r.before.frozen ? `; frozen since ${r.before.frozen.at}` : ''}`,
          ...(r.actions.length ? r.actions.map((a) => `  ${a}`) : ['  nothing to do']),
        ].join('\n'),
      );
    } finally {
      await engine.close();
    }
  });
}
