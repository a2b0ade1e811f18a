/**
 * Test hooks: environment variables that change what a process does so a test can reach a case
 * (BQX_FAILPOINTS kills or fails a run at a named point; BQX_FULL_PREPARE restores the CDKTF
 * prepare step the views stack skips). They act only with the explicit test switch
 * BQX_TEST_HOOKS=1, and never against BigQuery itself: with `--engine bigquery` the API endpoint
 * must be a loopback address (the test double). Anything else is refused (exit 2).
 */
import { BqxError } from './errors';

export const TEST_HOOKS_ENV = 'BQX_TEST_HOOKS';
export const TEST_HOOK_VARS = ['BQX_FAILPOINTS', 'BQX_FULL_PREPARE'] as const;
export type TestHookVar = (typeof TEST_HOOK_VARS)[number];

type Env = Readonly<Record<string, string | undefined>>;

/** The test hooks this environment sets (an empty value sets nothing). */
export function testHooksSet(env: Env = process.env): TestHookVar[] {
  return TEST_HOOK_VARS.filter((v) => (env[v] ?? '') !== '');
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

/**
 * Refuses test hooks where they do not belong: without the test switch, or (when `target` names
 * the engine a command works on) against a BigQuery endpoint that is not loopback.
 */
export function checkTestHooks(env: Env = process.env, target?: { readonly engine: string; readonly apiEndpoint?: string }): void {
  const set = testHooksSet(env);
  if (!set.length) return;
  const names = set.join(', ');
  if (env[TEST_HOOKS_ENV] !== '1') {
    throw new BqxError('TEST_HOOK_REFUSED', `${names} is a test hook and ${TEST_HOOKS_ENV}=1 is not set`, `unset ${names} (a production run never needs it); a test that means it sets ${TEST_HOOKS_ENV}=1 as well`);
  }
  if (target?.engine === 'bigquery' && !(target.apiEndpoint && isLoopback(target.apiEndpoint))) {
    const where = target.apiEndpoint ? `the endpoint ${target.apiEndpoint}` : "Google's BigQuery API";
    throw new BqxError('TEST_HOOK_REFUSED', `${names} may not act on ${where}: test hooks run only against a loopback endpoint (the BigQuery test double)`, `unset ${names}, or point --api-endpoint at a test double on 127.0.0.1`);
  }
}
