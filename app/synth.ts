import { existsSync } from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { BqxError, OUTCOME_KINDS, type OutcomeKind } from '../core/errors';
import type { SynthesizeResult } from '../stacks/synthesize';

export interface SynthInput {
  readonly env: string;
  readonly outdir?: string;
  readonly hcl?: boolean;
  readonly now?: Date;
  readonly planFile?: string;
  /** Applied retirement plan of the plan's views: exactly the views it retired are not declared. */
  readonly retirePlanFile?: string;
  /** The views handoff file (`bqx views applied`): import blocks for exactly those views. */
  readonly appliedFile?: string;
  readonly repoRoot?: string;
}

/** Synthesizes every stack of an environment. cdktf and the provider modules load only here. */
export async function synthesize(input: SynthInput): Promise<SynthesizeResult> {
  const { loadEnvironment } = await import('../config/environments');
  const { synthesizeEnvironment } = await import('../stacks/synthesize');
  return synthesizeEnvironment({ env: loadEnvironment(input.env), outdir: input.outdir, hcl: input.hcl, now: input.now, planFile: input.planFile, retirePlanFile: input.retirePlanFile, appliedFile: input.appliedFile, repoRoot: input.repoRoot });
}

/** What a synthesis in a worker thread hands back: the counts (its constructs stay in the worker). */
export interface SynthSummary {
  readonly resources: Readonly<Record<string, number>>;
  readonly warnings: readonly string[];
  /** From the call to the answer: worker start and module loading included. */
  readonly seconds: number;
  /** Whether it ran in a worker thread (not where the compiled worker script is absent). */
  readonly inWorker: boolean;
}

/** An error crossing the thread boundary: a BqxError keeps its code, hint and kind. */
export interface SynthError {
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly hint?: string;
  readonly kind?: string;
}

export type SynthMessage = { readonly ok: true; readonly summary: Omit<SynthSummary, 'seconds' | 'inWorker'> } | { readonly ok: false; readonly error: SynthError };

export function synthErrorOf(e: unknown): SynthError {
  if (e instanceof BqxError) return { message: e.message, stack: e.stack, code: e.code, hint: e.hint, kind: e.kind };
  return e instanceof Error ? { message: e.message, stack: e.stack } : { message: String(e) };
}

function errorOf(e: SynthError): Error {
  if (e.code !== undefined) {
    const kind = (OUTCOME_KINDS as readonly string[]).includes(e.kind ?? '') ? (e.kind as OutcomeKind) : undefined;
    return new BqxError(e.code, e.message, e.hint, kind);
  }
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

/** The worker's script: compiled beside this module (dist/app); absent when this runs from TypeScript sources (jest). */
const WORKER_SCRIPT = path.join(__dirname, 'synth-worker.js');

/**
 * The same synthesis in a worker thread, so a caller's other work (the main job's warehouse open,
 * audit and plan: none of them reads or writes what the synthesis does) runs alongside it on
 * another core. In-process where the compiled worker script does not exist.
 */
export async function synthesizeInWorker(input: SynthInput): Promise<SynthSummary> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if (!existsSync(WORKER_SCRIPT)) {
    const r = await synthesize(input);
    return { resources: r.resources, warnings: r.warnings, seconds: seconds(), inWorker: false };
  }
  return new Promise<SynthSummary>((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, { workerData: input });
    let answered = false;
    worker.once('message', (m: SynthMessage) => {
      answered = true;
      if (m.ok) resolve({ ...m.summary, seconds: seconds(), inWorker: true });
      else reject(errorOf(m.error));
    });
    worker.once('error', (e) => {
      answered = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the synthesis worker exited with code ${code} before answering`));
    });
  });
}
