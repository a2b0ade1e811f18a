import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Compiles dist/ (incremental: fast when nothing changed) for the tests that run the CLI from it,
 * and throws with the compiler's output when it fails: a test must never run a stale dist/ (tsc
 * still emits files on type errors, so the emitted files alone prove nothing).
 */
export function buildDist(): void {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${build.status ?? build.signal}); dist/ would be stale:\n${build.stdout}${build.stderr}`);
}
