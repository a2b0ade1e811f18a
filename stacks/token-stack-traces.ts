/**
 * cdktf captures a full stack trace (Error.stackTraceLimit = MAX_SAFE_INTEGER) for every token and
 * every nested-block object it creates: Lazy, Intrinsic, ComplexObject/ComplexList. A
 * google_bigquery_table alone creates a dozen of those, so with ~2,500 views that is most of synth
 * time and much of its memory. cdktf 0.21 has no switch for it: the App's `stackTraces: false`
 * (context `@cdktf/disable_stack_trace_in_metadata`) only covers construct metadata. The traces are
 * read only to decorate token-resolution error messages, so synth replaces the capture function
 * (looked up on the module's exports at every call) with one returning no frames.
 * BQX_TOKEN_STACK_TRACES=1 keeps them, for debugging a resolution error.
 */
export function disableTokenStackTraces(): boolean {
  if (process.env.BQX_TOKEN_STACK_TRACES === '1') return false;
  const mod = require('cdktf/lib/tokens/private/stack-trace') as { captureStackTrace: (below?: unknown) => string[] };
  mod.captureStackTrace = () => [];
  return true;
}
