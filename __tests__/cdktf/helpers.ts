import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Aspects, Testing, TerraformStack } from 'cdktf';
import { GoogleProvider } from '../../constructs/google';
import { PlatformPolicy } from '../../constructs/policy';

export const PINNED_NOW = new Date('2026-11-21T00:00:00.000Z');

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A stack with a provider and the platform policy, for construct-level tests. */
export function policyStack(id = 'policy'): TerraformStack {
  const stack = new TerraformStack(Testing.app(), id);
  new GoogleProvider(stack, 'google', { project: 'bqx-ml', region: 'us-central1' });
  Aspects.of(stack).add(new PlatformPolicy({ requiredLabels: ['system', 'env'], runnerDatasets: ['bqx_ml_v3_features_v2'] }));
  return stack;
}

/** Synthesizes like `cdktf synth` does (aspects, error annotations); returns the error text or ''. */
export function synthErrors(stack: TerraformStack): string {
  try {
    Testing.fullSynth(stack);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

export const LABELS = { system: 'bqx-ml', env: 'test' };

export type Tf = { resource: Record<string, Record<string, any>>; data?: Record<string, Record<string, any>>; terraform?: any };

export const resourcesOf = (tf: Tf, type: string) => Object.values(tf.resource[type] ?? {});
export const countResources = (tf: Tf) => Object.values(tf.resource ?? {}).reduce((n, r) => n + Object.keys(r).length, 0);
