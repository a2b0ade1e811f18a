import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { loadEnvironment } from '../../../config/environments';
import { readDeclaredStacks, type DeclaredStacks } from '../../../app/readiness/stacks';
import { synthesizeEnvironment } from '../../../stacks/synthesize';

export const PINNED_NOW = new Date('2026-11-21T00:00:00.000Z');

let cached: { dir: string; stacks: DeclaredStacks } | null = null;

/** The platform's stacks synthesized for real (prod environment, no views plan) into a temp dir. */
export function synthesizedStacks(): { dir: string; stacks: DeclaredStacks } {
  if (cached) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'bqx-readiness-stacks-'));
  synthesizeEnvironment({ env: loadEnvironment('prod'), outdir: dir, plan: null, now: PINNED_NOW });
  const stacks = readDeclaredStacks(dir);
  if (!stacks) throw new Error(`synthesis wrote no stacks to ${dir}`);
  cached = { dir, stacks };
  return cached;
}
