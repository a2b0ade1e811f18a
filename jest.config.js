/**
 * `npm test`: every test file but the crash sweeps, which kill and resume real processes dozens of
 * times (minutes each on two cores) and run as `npm run test:sweeps` (jest.sweeps.config.js); CI
 * (.ci/run) runs both.
 */
const SWEEPS = ['/__tests__/bigquery/crash-sweep\\.test\\.ts$', '/__tests__/bigquery/rollback-crash-sweep\\.test\\.ts$', '/__tests__/execute/rollback-crash\\.test\\.ts$'];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...SWEEPS],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  testTimeout: 120000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/__tests__/support/summary-reporter.js'],
};
// Not a jest option: read by jest.sweeps.config.js (not enumerable, so jest's validation never sees it).
Object.defineProperty(module.exports, 'SWEEPS', { value: SWEEPS, enumerable: false });
