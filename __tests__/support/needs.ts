/**
 * A test that needs something of the machine (Chromium, a tmpfs mount): it runs when that is
 * there; when it is not, it is reported by Jest as skipped (the reason in its name and on stderr),
 * never as passed. With BQX_REQUIRE_ALL_TESTS=1 (.ci/run sets it: CI installs what these tests need) a
 * missing need fails the test instead.
 */
export const REQUIRE_ALL_TESTS = process.env.BQX_REQUIRE_ALL_TESTS === '1';

/** `missing` is null when the machine has what the test needs, else why it cannot run here. */
export function testNeeding(missing: string | null, name: string, fn: () => Promise<unknown> | void, timeout?: number): void {
  if (missing === null) {
    test(name, fn as jest.ProvidesCallback, timeout);
  } else if (REQUIRE_ALL_TESTS) {
    test(name, () => {
      throw new Error(`cannot run here: ${missing}; BQX_REQUIRE_ALL_TESTS=1 requires every test to run (install what it needs, see .ci/run)`);
    });
  } else {
    // Jest lists skipped tests by name only in verbose mode: say why on stderr as well.
    process.stderr.write(`skipped: ${name}: ${missing} (.ci/run installs what it needs; there this test runs or fails)\n`);
    test.skip(`${name} [skipped: ${missing}]`, fn as jest.ProvidesCallback, timeout);
  }
}
