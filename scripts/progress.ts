/**
 * Progress on a terminal: one rewritten line on stderr, only when stderr is a TTY (quiet when piped
 * or in CI), at most ~10 updates a second.
 */
export function progressReporter(verb: string): ((stage: string, done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (stage, done, total) => {
    const now = Date.now();
    if (done !== total && now - last < 100) return;
    last = now;
    process.stderr.write(`\r${verb}: ${stage} ${done}/${total}${done === total ? '\n' : ''}`);
  };
}
