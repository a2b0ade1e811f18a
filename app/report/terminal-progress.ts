import { silentProgress, type Progress } from '../../core/report/progress';

/** Progress on stderr, only for a person at a terminal: piped runs stay quiet. `total` 0 shows the label alone. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silentProgress;
  let last = 0;
  return {
    update(done, total, label) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const text = (total > 0 ? `  ${done}/${total} ${label}` : `  ${label}`).slice(0, (stream.columns ?? 80) - 1);
      stream.write(`\r\x1b[2K${text}`);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}

/**
 * For a step that reports no progress of its own: the elapsed time, every `everyMs`, on the same
 * line. Returns the function that stops it (and clears the line). Silent progress stays silent.
 */
export function elapsedTicker(progress: Progress, label: string, everyMs = 500): () => void {
  if (progress === silentProgress) return () => undefined;
  const started = Date.now();
  const show = () => progress.update(0, 0, `${label} … ${((Date.now() - started) / 1000).toFixed(0)} s`);
  show();
  const timer = setInterval(show, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    progress.done();
  };
}
