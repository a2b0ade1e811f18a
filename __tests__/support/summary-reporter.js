// Prints the plain closing line CI reads ("N passed, N failed") after Jest's own summary.
// With BQX_REQUIRE_ALL_TESTS=1 (.ci/run) a skipped or todo test fails the run: CI installs what
// every test needs, so a skip there means a check silently did not happen.
class SummaryReporter {
  constructor() {
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const tail = skipped ? `, ${skipped} skipped` : '';
    process.stdout.write(`\njest: ${results.numPassedTests} passed, ${results.numFailedTests} failed${tail}\n`);
    if (skipped && process.env.BQX_REQUIRE_ALL_TESTS === '1') {
      const names = results.testResults.flatMap((file) => file.testResults.filter((t) => t.status === 'pending' || t.status === 'todo').map((t) => `${file.testFilePath}: ${t.fullName}`));
      this.error = new Error(`BQX_REQUIRE_ALL_TESTS=1: ${skipped} test(s) skipped, none may be:\n${names.join('\n')}`);
      process.stdout.write(`${this.error.message}\n`);
    }
  }

  getLastError() {
    return this.error;
  }
}
module.exports = SummaryReporter;
