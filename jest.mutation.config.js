/**
 * The test files the mutation run (stryker.config.json, `npm run mutation`) runs against mutants
 * of core/execute/ and core/plan/: those that import them and run in-process. Tests that run dist/
 * (crash.test.ts, cli-process.test.ts) cannot see a mutant, and the BigQuery double and readiness
 * files add minutes per mutant for little more.
 *
 * BQX_MUTATION_TESTS narrows the files for a run narrowed with --mutate (each mutant then takes
 * seconds instead of minutes): `plan` keeps the planner's pure tests (the executor's tests build
 * their plan once and cache it, so they would run against every planner mutant without calling
 * the mutated planner); `units` keeps the tests of the executor's pure folds and checks
 * (units.test.ts, preflight-units.test.ts); `plan-all` (`npm run mutation:plan`, every file of
 * core/plan/) keeps __tests__/core/plan.mutation.ts, which loads every __tests__/core/plan*.test.ts
 * as one file: no warehouse, no committed plan, and one module load per mutant instead of ten.
 */
const base = require('./jest.config.js');

const PLAN = ['<rootDir>/__tests__/core/*.test.ts', '<rootDir>/__tests__/app/plan-review.test.ts'];
const PLAN_ALL = ['<rootDir>/__tests__/core/plan.mutation.ts'];
const UNITS = ['<rootDir>/__tests__/execute/units.test.ts', '<rootDir>/__tests__/execute/preflight-units.test.ts'];
// `execute-a`: the in-process tests of the executor's per-operation decisions (gates, step checks,
// validation, runOperation, paper checks, ids) against small fakes of the Engine port; with
// `execute-a-before`, the in-process tests those files had before them.
const EXECUTE_A = ['<rootDir>/__tests__/execute/{units,mutation-operation,mutation-gates,mutation-steps,mutation-validate,mutation-apply,mutation-batch-transaction}.test.ts'];
// The executor's run shell, rollback, verify, reconcile, lock, warehouse state, ledger fold and
// permission preflight, against a fake of the Engine port (in-process: milliseconds per mutant).
const EXECUTE_X = ['<rootDir>/__tests__/execute/{rollback,rollback-edges,run-shell,run-shell-edges,reconcile-verify,readers-edges,lock,warehouse-state,executor-edges}-units.test.ts'];
const EXECUTE = [
  '<rootDir>/__tests__/execute/{preflight-units,units,apply-cycle,atomic-operation,bad-inputs,facts-change,halt-freeze,pipelined-halt,sliding-window,validation-barrier,runner-log}.test.ts',
];

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  reporters: ['default'],
  // `units-before`: units.test.ts alone, the in-process suite of these functions before
  // preflight-units.test.ts (the README's "before" figure).
  // `execute-x`: UNITS plus EXECUTE_X; `execute-x-before`: UNITS alone, on the same files.
  testMatch: { plan: PLAN, units: UNITS, 'units-before': UNITS.slice(0, 1), 'execute-x': [...UNITS, ...EXECUTE_X], 'execute-x-before': UNITS, 'execute-a': EXECUTE_A, 'execute-a-before': UNITS }[process.env.BQX_MUTATION_TESTS ?? ''] ?? [...PLAN, ...EXECUTE, ...EXECUTE_X, ...EXECUTE_A],
};
if (process.env.BQX_MUTATION_TESTS === 'plan-all') module.exports.testMatch = PLAN_ALL;
