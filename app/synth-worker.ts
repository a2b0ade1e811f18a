/** The worker thread of `synthesizeInWorker` (app/synth.ts): one synthesis, its counts posted back. */
import { parentPort, workerData } from 'worker_threads';
import { synthErrorOf, synthesize, type SynthInput, type SynthMessage } from './synth';

synthesize(workerData as SynthInput).then(
  (r) => parentPort!.postMessage({ ok: true, summary: { resources: r.resources, warnings: r.warnings } } satisfies SynthMessage),
  (e) => parentPort!.postMessage({ ok: false, error: synthErrorOf(e) } satisfies SynthMessage),
);
