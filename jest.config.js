/**
 * `npm test`: every test file but the long ones, which run as `npm run test:long`
 * (jest.long.config.js); CI (.ci/run) and the PR workflow run both. The long ones: the crash sweeps,
 * which kill and resume real processes dozens of times (minutes each on two cores), and the
 * full-scale Phase 4C run on the 5,817-table catalogue (seed, plan, apply, fingerprints, reconcile),
 * and the suites that kill or restart real DuckDB processes around a transaction (the batch
 * transaction's SIGKILL, the per-operation atomicity, the close-time checkpoint read back by fresh
 * processes): together ~100 s of a worker, which kept npm test near its 10 minutes on two cores.
 */
const LONG = [
  '/__tests__/bigquery/crash-sweep\\.test\\.ts$',
  '/__tests__/bigquery/rollback-crash-sweep\\.test\\.ts$',
  '/__tests__/execute/rollback-crash\\.test\\.ts$',
  '/__tests__/phase4c/full-scale\\.test\\.ts$',
  '/__tests__/execute/batch-transaction\\.test\\.ts$',
  '/__tests__/execute/atomic-operation\\.test\\.ts$',
  '/__tests__/duckdb/checkpoint-at-close\\.test\\.ts$',
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...LONG],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  testTimeout: 120000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/__tests__/support/summary-reporter.js'],
};
// Not a jest option: read by jest.long.config.js (not enumerable, so jest's validation never sees it).
Object.defineProperty(module.exports, 'LONG', { value: LONG, enumerable: false });
