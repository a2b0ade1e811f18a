import { silentProgress, type Progress } from '../../core/report/progress';

/** Progress on stderr, only for a person at a terminal: piped runs stay quiet. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silentProgress;
  let last = 0;
  return {
    update(done, total, label) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const text = `  ${done}/${total} ${label}`.slice(0, (stream.columns ?? 80) - 1);
      stream.write(`\r\x1b[2K${text}`);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
