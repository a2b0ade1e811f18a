/**
 * Named failpoints: how the crash and failure tests reach an exact point in a real process (the
 * way FoundationDB's and TiKV's fail points do). Off unless `BQX_FAILPOINTS` names them, so a
 * production run pays one map lookup per point. A test hook (core/test-hooks.ts): it needs
 * BQX_TEST_HOOKS=1 as well, and the CLI refuses it against BigQuery's own endpoint.
 *
 *   BQX_TEST_HOOKS=1 BQX_FAILPOINTS="engine.after-step=kill@5;ledger.flush=throw(ENOSPC)"
 *
 * Points: `engine.after-step` and `engine.after.<step-kind>` (e.g. `engine.after.drop-table`) right
 * after a step succeeded; `engine.step` inside a DuckDB step's transaction, before its statements;
 * `ledger.flush` before the ledger writes its pending records (BigQuery: before the INSERT job);
 * `ledger.commit` after the records of an operation (or of a batch run as one transaction) are written in its DuckDB transaction, before COMMIT;
 * `seed.transaction` after each committed transaction of a seed; `run.ended` once a run's END record is written.
 *
 * Actions: `kill` (SIGKILL this process), `throw(CODE)` (an Error with that errno code, e.g.
 * ENOSPC, EACCES), `delay(MS)`, `signal(SIGTERM)` (this process sends itself the signal, then goes
 * on). `@N` fires only at the N-th hit of that point (1-based, counted in this process since the variable took its value); without it,
 * at every hit.
 */

import { checkTestHooks } from './test-hooks';

export const FAILPOINTS_ENV = 'BQX_FAILPOINTS';

type Action = { kind: 'kill' } | { kind: 'throw'; code: string } | { kind: 'delay'; ms: number } | { kind: 'signal'; signal: NodeJS.Signals };
interface Spec {
  readonly action: Action;
  readonly at: number | null;
}

const ACTION_RE = /^(kill|throw\(([A-Z][A-Z0-9_]*)\)|delay\((\d+)\)|signal\((SIG[A-Z]+)\))(?:@(\d+))?$/;

/** Parses the env value; a malformed entry is an error (a failpoint silently off would pass a test that should fail). */
export function parseFailpoints(text: string): Map<string, Spec> {
  const out = new Map<string, Spec>();
  for (const entry of text.split(';').map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq).trim();
    const m = ACTION_RE.exec(entry.slice(eq + 1).trim());
    if (eq <= 0 || !/^[a-z][a-z0-9.-]*$/.test(name) || !m) throw new Error(`${FAILPOINTS_ENV}: cannot parse ${JSON.stringify(entry)} (name=kill|throw(CODE)|delay(MS)|signal(SIGNAME)[@N])`);
    const action: Action = m[1] === 'kill' ? { kind: 'kill' } : m[2] ? { kind: 'throw', code: m[2] } : m[3] ? { kind: 'delay', ms: Number(m[3]) } : { kind: 'signal', signal: m[4] as NodeJS.Signals };
    out.set(name, { action, at: m[5] ? Number(m[5]) : null });
  }
  return out;
}

let specs: Map<string, Spec> | null = null;
let specsFrom: string | undefined;
const hits = new Map<string, number>();

function active(): Map<string, Spec> {
  const text = process.env[FAILPOINTS_ENV];
  if (specs === null || text !== specsFrom) {
    // Armed without the test switch (a process the CLI did not start): refused, never run.
    if (text) checkTestHooks();
    specs = parseFailpoints(text ?? '');
    specsFrom = text;
    hits.clear();
  }
  return specs;
}

/** An error as the operating system would raise it (`code` like ENOSPC). */
export function systemError(code: string, where: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: failpoint ${where}`);
  e.code = code;
  return e;
}

/** Passes the named point: does nothing unless BQX_FAILPOINTS arms it. */
export async function failpoint(name: string): Promise<void> {
  const spec = active().get(name);
  if (!spec) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (spec.at !== null && spec.at !== n) return;
  switch (spec.action.kind) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      // SIGKILL is not delivered synchronously everywhere: never run past the point.
      await new Promise(() => undefined);
      return;
    case 'throw':
      throw systemError(spec.action.code, name);
    case 'delay':
      await new Promise((r) => setTimeout(r, (spec.action as { ms: number }).ms));
      return;
    case 'signal':
      process.kill(process.pid, spec.action.signal);
      return;
  }
}
