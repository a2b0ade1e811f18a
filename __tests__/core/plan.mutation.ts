/**
 * The mutation run's one test file for core/plan/ (`npm run mutation:plan`, group `plan-all` of
 * jest.mutation.config.js): every __tests__/core/plan*.test.ts, each in a describe of its own name,
 * loaded into one module registry. Jest loads every related test file for every mutant, and
 * loading is most of the cost of these fast tests: one file instead of nine makes the run several
 * times shorter. The requires are literal so that jest sees the files as related to core/plan/.
 */
import { readdirSync } from 'fs';

const FILES: Record<string, () => void> = {
  'plan-assembly': () => void require('./plan-assembly.test'),
  'plan-consolidation': () => void require('./plan-consolidation.test'),
  'plan-decisions': () => void require('./plan-decisions.test'),
  'plan-facts': () => void require('./plan-facts.test'),
  'plan-format': () => void require('./plan-format.test'),
  'plan-load': () => void require('./plan-load.test'),
  'plan-projection': () => void require('./plan-projection.test'),
  'plan-retire': () => void require('./plan-retire.test'),
  'plan-variant': () => void require('./plan-variant.test'),
  'planner-rules': () => void require('./planner-rules.test'),
};

for (const [name, load] of Object.entries(FILES)) describe(name, load);

test('loads every plan*.test.ts of __tests__/core', () => {
  const files = readdirSync(__dirname).filter((f) => /^plan.*\.test\.ts$/.test(f)).map((f) => f.replace(/\.test\.ts$/, ''));
  expect(Object.keys(FILES)).toEqual(files.sort());
});
