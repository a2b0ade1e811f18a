import { existsSync } from 'fs';
import * as path from 'path';

/** The repository root, found from this module whether it runs from source (tests) or from dist/. */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'policy', 'm008.policy.yaml')) && existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot locate the repository root from ${__dirname}`);
}

export function repoPath(...parts: string[]): string {
  return path.join(repoRoot(), ...parts);
}
