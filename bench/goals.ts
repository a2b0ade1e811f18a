/**
 * The contract between the benches and `npm run bench`'s summary: which fields of a bench's JSON
 * line (`{"bench": NAME, ...}`, one per line on stdout) state a goal, and how the summary reads them.
 *
 * A line states its goals in any of three shapes:
 *   1. `goals: [{ name, median, goal, rounds?: number[], unit?: 'x' | 's', strict?: true }]`
 *   2. `ratio` (the median) and `goal`, with `ratios` (the single rounds) beside them
 *   3. `<stem>Ratio` and `<stem>Goal`, with `<stem>Ratios` (e.g. applyRatio, applyGoal, applyRatios)
 * A goal is met when the median is ≤ the goal (< with `strict`). `rounds`, when a number, is how
 * many rounds the median was taken over; otherwise the length of the single rounds.
 * Lines without a goal (e.g. a seed's size) are printed by their bench and left out of the summary.
 */
export interface Goal {
  /** The bench and what it measured, e.g. `embedded-executor-floor apply`. */
  readonly name: string;
  readonly median: number;
  readonly goal: number;
  /** Each round's value, as the bench printed them (empty when it printed only the median). */
  readonly rounds: readonly number[];
  readonly unit: 'x' | 's';
  readonly strict: boolean;
  readonly met: boolean;
}

/** Fields that tell two lines of one bench apart (e.g. bigquery-executor at 0% and at 5% faults). */
const DISTINGUISHING = ['verb', 'mode', 'scale', 'faultRate', 'from', 'to'] as const;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.filter(isNum) : []);

function goal(name: string, median: number, target: number, rounds: readonly number[], unit: 'x' | 's', strict: boolean): Goal {
  return { name, median, goal: target, rounds, unit, strict, met: strict ? median < target : median <= target };
}

/** The goals one parsed bench line states (none for a line that is not a bench's). */
export function goalsOf(line: Record<string, unknown>): Goal[] {
  if (typeof line.bench !== 'string') return [];
  const qualifiers = DISTINGUISHING.filter((k) => line[k] !== undefined && typeof line[k] !== 'object').map((k) => `${k} ${String(line[k])}`);
  const base = [line.bench, ...qualifiers].join(' ');
  const out: Goal[] = [];
  if (Array.isArray(line.goals)) {
    for (const g of line.goals as Record<string, unknown>[]) {
      if (!g || !isNum(g.median) || !isNum(g.goal)) continue;
      out.push(goal(`${base} ${String(g.name ?? '')}`.trim(), g.median, g.goal, numbers(g.rounds), g.unit === 's' ? 's' : 'x', g.strict === true));
    }
  }
  for (const [key, target] of Object.entries(line)) {
    if (!isNum(target)) continue;
    const stem = key === 'goal' ? '' : key.endsWith('Goal') ? key.slice(0, -'Goal'.length) : null;
    if (stem === null) continue;
    const median = line[stem ? `${stem}Ratio` : 'ratio'];
    if (!isNum(median)) continue;
    out.push(goal(stem ? `${base} ${stem}` : base, median, target, numbers(line[stem ? `${stem}Ratios` : 'ratios']), 'x', false));
  }
  return out;
}

/** Every bench line of a child's stdout (lines that are not JSON objects with a `bench` are skipped). */
export function benchLines(stdout: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const text of stdout.split('\n')) {
    const t = text.trim();
    if (!t.startsWith('{') || !t.includes('"bench"')) continue;
    try {
      const parsed = JSON.parse(t) as unknown;
      if (parsed && typeof parsed === 'object' && typeof (parsed as { bench?: unknown }).bench === 'string') out.push(parsed as Record<string, unknown>);
    } catch {
      // a line that merely looks like JSON
    }
  }
  return out;
}

const fmt = (v: number, unit: 'x' | 's') => (unit === 'x' ? `${v.toFixed(2)}x` : `${v.toFixed(1)} s`);

/** The summary table: one row per goal (median, goal, met), then one per bench that failed or stated none. */
export function summaryTable(goals: readonly Goal[], missing: readonly string[]): string {
  const rows = goals.map((g) => [
    g.name,
    fmt(g.median, g.unit),
    `${g.strict ? '<' : '≤'} ${fmt(g.goal, g.unit)}`,
    g.met ? 'met' : 'NOT MET',
    g.rounds.length ? g.rounds.map((r) => (g.unit === 'x' ? r.toFixed(2) : r.toFixed(1))).join(' ') : '–',
  ]);
  for (const m of missing) rows.push([m, '–', '–', 'NO RESULT', '–']);
  const head = ['goal', 'median', 'goal', 'verdict', 'single rounds'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
