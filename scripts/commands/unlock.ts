import type { Command } from 'commander';
import { runUnlock } from '../../app/runs';
import { describeHolder } from '../../core/execute/lock';
import type { Finish } from '../exit-codes';
import { emit, engineOptions, withEngineOptions, withJsonOption } from '../options';

export function registerUnlock(program: Command, finish: Finish): void {
  const cmd = program
    .command('unlock')
    .description("Release the runner's lock when its holder is gone or its lease expired (--force: even if not), and clear a freeze (--clear-freeze, a person's decision).")
    .option('--clear-freeze', 'clear the freeze set after repeated validation halts')
    .option('--force', 'release the lock even though its holder may be alive');
  withJsonOption(withEngineOptions(cmd), 'the result').action(async (opts) => {
    const r = await runUnlock({ engine: engineOptions(opts), clearFreeze: Boolean(opts.clearFreeze), force: Boolean(opts.force) });
    emit(Boolean(opts.json), r, () =>
      [
        `lock ${r.lock}: ${r.holder ? `held by ${describeHolder(r.holder)}` : 'free'}${r.frozen ? `; frozen since ${r.frozen.at}` : ''}`,
        ...(r.actions.length ? r.actions.map((a) => `  ${a}`) : ['  nothing to do']),
      ].join('\n'),
    );
    finish('OK');
  });
}
