/**
 * Progress of `bqx main` on a terminal: a step with its own counter shows done/total, a step without
 * one shows its elapsed time on the same line; nothing at all when stderr is not a terminal.
 */
import { silentProgress } from '../../core/report/progress';
import { elapsedTicker, terminalProgress } from '../../app/report/terminal-progress';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { out: string[] } {
  const out: string[] = [];
  return { isTTY, columns: 60, out, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream & { out: string[] };
}

test('on a terminal: counters as done/total, elapsed time for steps without a counter, the line cleared when done', () => {
  jest.useFakeTimers();
  try {
    const stream = fakeStream(true);
    const p = terminalProgress(stream);
    p.update(3, 10, 'apply: batch 1');
    const stop = elapsedTicker(p, 'verify', 500);
    jest.advanceTimersByTime(2_100);
    stop();
    const shown = stream.out.join('');
    expect(shown).toContain('\r\x1b[2K  3/10 apply: batch 1');
    expect(shown).toMatch(/\r\x1b\[2K {2}verify … 0 s/);
    expect(shown).toMatch(/\r\x1b\[2K {2}verify … 2 s/);
    expect(stream.out[stream.out.length - 1]).toBe('\r\x1b[2K');
    // Stopped: no more writes.
    const n = stream.out.length;
    jest.advanceTimersByTime(5_000);
    expect(stream.out.length).toBe(n);
    // Lines are cut to the terminal's width.
    p.update(0, 0, 'x'.repeat(200));
    expect(stream.out[stream.out.length - 1].length).toBeLessThanOrEqual('\r\x1b[2K'.length + 59);
  } finally {
    jest.useRealTimers();
  }
});

test('not a terminal (piped, CI, --json to a file): silent', () => {
  const stream = fakeStream(false);
  const p = terminalProgress(stream);
  expect(p).toBe(silentProgress);
  const stop = elapsedTicker(p, 'verify');
  stop();
  expect(stream.out).toEqual([]);
});
