/**
 * `npm run mutation:plan`: every file of core/plan/ against the planner's in-process tests, loaded
 * as one test file (__tests__/core/plan.mutation.ts, group `plan-all` of jest.mutation.config.js).
 * That one file is all jest needs to run, so it skips looking for the test files related to each
 * mutant (enableFindRelatedTests), a search of the whole test tree per mutant.
 */
process.env.BQX_MUTATION_TESTS = 'plan-all';
const base = require('./stryker.config.json');

module.exports = {
  ...base,
  _comment: undefined,
  mutate: ['core/plan/**/*.ts'],
  jest: { ...base.jest, enableFindRelatedTests: false },
  incrementalFile: 'reports/stryker-incremental-plan-all.json',
  jsonReporter: { fileName: 'reports/mutation/plan.json' },
};
