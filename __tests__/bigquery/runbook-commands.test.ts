/**
 * The runbook's command lines, as an operator copies them, run against the BigQuery double: every
 * `bqx` command of the production sections of RUNBOOK.md and of docs/ROLLBACK.md names the
 * environment it acts on, and run through the CLI (in a directory with a local warehouse of its own,
 * which must stay untouched) each one reaches the project that environment names (here the double,
 * through BQX_BIGQUERY_API_ENDPOINT), never the local `.bqx/warehouse.duckdb`. Before the one
 * environment rule, `bqx unlock` copied from the runbook printed "free / nothing to do" about a
 * local file and exited 0.
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { makeSnapshot } from '../../core/catalogue';
import { buildPlan } from '../../core/plan/planner';
import { loadPolicy } from '../../core/policy';
import { main } from '../../scripts/cli';
import { PROJECT, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { openHarness, type Harness } from './support/open';

const ROOT = path.resolve(__dirname, '../..');
const VERBS = /^bqx (apply|verify|reconcile|rollback|unlock|readiness|views applied|usage|retire)\b/;

/** Every `bqx` command in code blocks and inline code of a Markdown text, from `from` (a heading) on. */
function commands(file: string, from?: string): string[] {
  let text = readFileSync(path.join(ROOT, file), 'utf8');
  if (from) text = text.slice(text.indexOf(from));
  const inBlocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').map((l) => l.trim()));
  const inline = [...text.matchAll(/`(bqx [^`]+)`/g)].map((m) => m[1]);
  // A bare `bqx apply` in prose refers to a command shown elsewhere; a command line has arguments.
  return [...new Set([...inBlocks, ...inline].filter((c) => VERBS.test(c) && c.split(/\s+/).length > 2))];
}

/** Where a verb's evidence goes in the test directory (the options each verb has). */
function evidenceIn(dir: string, verb: string): string[] {
  const reports = ['--reports-dir', path.join(dir, 'reports')];
  if (['apply', 'verify', 'rollback'].includes(verb)) return [...reports, '--metrics-file', path.join(dir, 'reports/metrics.prom')];
  return verb === 'reconcile' ? reports : [];
}

const PRODUCTION = [...commands('RUNBOOK.md', '## 4. Paper run'), ...commands('docs/ROLLBACK.md')];

describe("the runbook's command lines run against the environment they name", () => {
  test('every command of the production sections names its environment', () => {
    expect(PRODUCTION.length).toBeGreaterThan(8);
    expect(PRODUCTION.filter((c) => !/--env (dev|prod)\b|^BQX_ENV=(dev|prod) |--engine bigquery --project /.test(c))).toEqual([]);
  });

  let h: Harness;
  let dir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    h = await openHarness((d) => seedDouble(d, 'small', { withRunnerDataset: true }));
    dir = mkdtempSync(path.join(tmpdir(), 'bqx-runbook-'));
    // The plan the runbook names, made from the double's catalogue, at the path the runbook uses.
    const plan = await buildPlan(h.engine, { snapshot: makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, await h.engine.listTables()), policy: loadPolicy(), graceStart: '2026-11-21' });
    mkdirSync(path.join(dir, 'plans'));
    writeFileSync(path.join(dir, 'plans/phase-4c.plan.json'), JSON.stringify(plan));
    // A local warehouse in the operator's directory: the commands must not act on it.
    mkdirSync(path.join(dir, '.bqx'));
    writeFileSync(path.join(dir, '.bqx/warehouse.duckdb'), 'not a warehouse: a command that opens it fails');
    process.env.BQX_BIGQUERY_API_ENDPOINT = h.double.endpoint;
    delete process.env.BQX_ENV;
    delete process.env.GOOGLE_CLOUD_PROJECT;
  });
  afterAll(async () => {
    for (const k of ['BQX_BIGQUERY_API_ENDPOINT', 'BQX_ENV', 'GOOGLE_CLOUD_PROJECT']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each one, run through the CLI as written, reaches the project of its environment (the double) and leaves the local warehouse alone', async () => {
    const plan = JSON.parse(readFileSync(path.join(dir, 'plans/phase-4c.plan.json'), 'utf8')) as { planHash: string };
    // readiness also calls Resource Manager, Cloud Storage and Cloud Run (real endpoints): it is checked for its environment above, not run here.
    const runnable = PRODUCTION.filter((c) => !c.startsWith('bqx readiness'));
    const local = statSync(path.join(dir, '.bqx/warehouse.duckdb')).mtimeMs;
    const cwd = process.cwd();
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const seen: string[] = [];
    try {
      process.chdir(dir);
      for (const line of runnable) {
        // The retirement plan is the one the runbook's `bqx retire` line wrote just before.
        const retirePlan = path.join(dir, 'plans/phase-4c.retire.json');
        const retireHash = existsSync(retirePlan) ? (JSON.parse(readFileSync(retirePlan, 'utf8')) as { planHash: string }).planHash : '<no retirement plan written>';
        const args = line.replace('<planHash>', plan.planHash).replace('<retirement planHash>', retireHash).split(/\s+/).slice(1);
        const before = h.double.counters.requests;
        const code = await main(['node', 'bqx', ...args, ...evidenceIn(dir, args[0])]);
        seen.push(`${line} -> exit ${code}, ${h.double.counters.requests - before > 0 ? 'reached the double' : 'did NOT reach the double'}`);
      }
    } finally {
      process.chdir(cwd);
      out.mockRestore();
      err.mockRestore();
    }
    expect(seen.length).toBe(runnable.length);
    expect(seen.filter((s) => s.includes('did NOT reach'))).toEqual([]);
    // Exit codes: nothing refused for lack of an environment (2) or crashed (1) except reconcile's honest DRIFT.
    expect(seen.filter((s) => / -> exit 2,/.test(s))).toEqual([]);
    expect(statSync(path.join(dir, '.bqx/warehouse.duckdb')).mtimeMs).toBe(local);
    expect(readFileSync(path.join(dir, '.bqx/warehouse.duckdb'), 'utf8')).toBe('not a warehouse: a command that opens it fails');
    // The real apply ran in the double's project: its feature dataset changed.
    expect(h.double.applied.length).toBeGreaterThan(0);
  }, 600_000);
});
