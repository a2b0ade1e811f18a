import { benchLines, goalsOf, summaryTable } from '../../bench/goals';

// The summary of `npm run bench` reads goals from the benches' JSON lines; these are the shapes they print.

test('reads the three shapes a bench line states its goals in, and judges each median against its goal', () => {
  const stdout = [
    'some text the bench prints',
    JSON.stringify({ bench: 'embedded-executor-floor', applyRatio: 1.12, applyRatios: [1.1, 1.12, 1.3], applyGoal: 1.0, rollbackRatio: 0.9, rollbackRatios: [0.9], rollbackGoal: 1.0, rounds: 3 }),
    JSON.stringify({ bench: 'bigquery-executor', faultRate: 0.05, ratio: 1.08, ratios: [1.07, 1.08, 1.09], goal: 1.1 }),
    JSON.stringify({ bench: 'npm-start', goals: [{ name: 'second run', median: 8, goal: 8, unit: 's', strict: true, rounds: [7.9, 8, 8.1] }, { name: 'first run', median: 29, goal: 30, unit: 's' }] }),
    JSON.stringify({ bench: 'seed', seedSeconds: 4.2 }),
    '{"not a bench": 1}',
    '{ broken json "bench"',
  ].join('\n');
  const lines = benchLines(stdout);
  expect(lines.map((l) => l.bench)).toEqual(['embedded-executor-floor', 'bigquery-executor', 'npm-start', 'seed']);
  const goals = lines.flatMap(goalsOf);
  const byName = Object.fromEntries(goals.map((g) => [g.name, g]));
  expect(Object.keys(byName).sort()).toEqual([
    'bigquery-executor faultRate 0.05',
    'embedded-executor-floor apply',
    'embedded-executor-floor rollback',
    'npm-start first run',
    'npm-start second run',
  ]);
  expect(byName['embedded-executor-floor apply']).toMatchObject({ median: 1.12, goal: 1.0, rounds: [1.1, 1.12, 1.3], met: false, unit: 'x' });
  expect(byName['embedded-executor-floor rollback'].met).toBe(true);
  expect(byName['bigquery-executor faultRate 0.05']).toMatchObject({ median: 1.08, goal: 1.1, rounds: [1.07, 1.08, 1.09], met: true });
  // `strict`: the second run must stay under 8 s, so 8.0 does not meet it; ≤ 30 s is met by 29.
  expect(byName['npm-start second run']).toMatchObject({ met: false, unit: 's', strict: true });
  expect(byName['npm-start first run']).toMatchObject({ met: true, rounds: [] });
});

test('the summary table has one row per goal and one per bench that printed none', () => {
  const goals = [JSON.stringify({ bench: 'scale-ratio', verb: 'paper', goals: [{ name: 'wall time per table', median: 1.31, goal: 1.25, rounds: [1.3, 1.31, 1.4] }] })].flatMap((l) => goalsOf(JSON.parse(l)));
  const table = summaryTable(goals, ['floor.js (printed no goal line; exited 1)']).split('\n');
  expect(table).toHaveLength(4);
  expect(table[2]).toMatch(/^scale-ratio verb paper wall time per table\s+1\.31x\s+≤ 1\.25x\s+NOT MET\s+1\.30 1\.31 1\.40$/);
  expect(table[3]).toMatch(/^floor\.js \(printed no goal line; exited 1\).*NO RESULT/);
});
