/**
 * The views handoff from the runner to Terraform, on the embedded warehouse (the ledger and the
 * catalogue are the same code paths as on BigQuery): `bqx views applied` lists the views the runner
 * has created, and the synthesized views stacks carry a Terraform import block for exactly those,
 * whatever the order of deploys: views stack before the apply (nothing imported: Terraform creates
 * the views, the runner's CREATE OR REPLACE then replaces them), between batches (the batches
 * applied), after (all), after a rollback (none: the runner dropped them), and at grace end (the
 * views leave the stack, and no import block stays behind for them).
 */
import { readdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { appliedViews } from '../../app/views-applied';
import { loadEnvironment } from '../../config/environments';
import { makeSnapshot } from '../../core/catalogue';
import { applyPlan } from '../../core/execute/apply';
import { rollbackPlan } from '../../core/execute/rollback';
import { buildPlan } from '../../core/plan/planner';
import { isActionable, type Plan } from '../../core/plan/types';
import { loadPolicy } from '../../core/policy';
import type { Engine } from '../../core/ports/engine';
import { synthesizeEnvironment } from '../../stacks/synthesize';
import { main } from '../../scripts/cli';
import { open, seedSmall, tempDir } from '../duckdb/support';

const policy = loadPolicy();
const env = loadEnvironment('prod');
const NOW = new Date('2026-11-22T00:00:00Z');

let tmp: ReturnType<typeof tempDir>;
let database: string;
let engine: Engine;
let plan: Plan;

beforeAll(async () => {
  tmp = tempDir('views-handoff');
  ({ database } = await seedSmall(tmp.dir));
  engine = await open(database);
  plan = await buildPlan(engine, { snapshot: makeSnapshot('duckdb', 'bqx-ml', engine.where.dataset, await engine.listTables()), policy, graceStart: '2026-11-21' });
}, 300_000);
afterAll(async () => {
  await engine.close();
  tmp.cleanup();
});

/** Synthesizes prod with the plan and the handoff file; every import block of the views stacks, and the declared view count. */
function synth(appliedFile: string | undefined, now: Date = NOW): { imports: string[]; declared: number; warnings: readonly string[] } {
  const outdir = path.join(tmp.dir, `out-${Math.random().toString(36).slice(2, 8)}`);
  const r = synthesizeEnvironment({ env, outdir, plan, appliedFile: appliedFile ?? path.join(tmp.dir, 'never-written.json'), now });
  const stacks = readdirSync(path.join(outdir, 'stacks')).filter((s) => s.startsWith('views'));
  const imports = stacks.flatMap((s) => ((JSON.parse(readFileSync(path.join(outdir, 'stacks', s, 'cdk.tf.json'), 'utf8')) as { import?: { to: string; id: string }[] }).import ?? []).map((i) => {
    expect(i.id).toBe(`projects/bqx-ml/datasets/bqx_ml_v3_features_v2/tables/${i.to.replace('google_bigquery_table.view_', '')}`);
    return i.to.replace('google_bigquery_table.view_', '');
  }));
  return { imports: imports.sort(), declared: r.views.declared, warnings: r.warnings };
}

async function handoff(name: string): Promise<{ file: string; views: string[] }> {
  const set = await appliedViews(engine, plan);
  const file = path.join(tmp.dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(set));
  return { file, views: [...set.views] };
}

const viewsOf = (ops: readonly string[]) => plan.views.filter((v) => ops.includes(v.operationId)).map((v) => v.name).sort();

describe('views handoff: bqx views applied -> import blocks for exactly the views the runner created', () => {
  test('in every order of deploys, and at grace end', async () => {
    expect(plan.views.length).toBeGreaterThan(5);
    // Before the apply: no handoff file yet, or an empty one: nothing imported, every view declared.
    const none = synth(undefined);
    expect(none).toMatchObject({ imports: [], declared: plan.views.length });
    expect(none.warnings.some((w) => /views applied file .* not found: no view is imported/.test(w))).toBe(true);
    const before = await handoff('before');
    expect(before.views).toEqual([]);
    expect(synth(before.file).imports).toEqual([]);

    // Between batches: only the views of the operations applied so far.
    const ordered = [...plan.operations].sort((a, b) => a.seq - b.seq).filter((o) => isActionable(o.action));
    const firstWithView = ordered.findIndex((o) => plan.views.some((v) => v.operationId === o.id));
    const k = firstWithView + 3;
    const partial = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: k, now: () => NOW });
    expect(partial.summary.status).toBe('OK');
    const between = await handoff('between');
    expect(between.views).toEqual(viewsOf(ordered.slice(0, k).map((o) => o.id)));
    expect(between.views.length).toBeGreaterThan(0);
    expect(between.views.length).toBeLessThan(plan.views.length);
    expect(synth(between.file)).toMatchObject({ imports: between.views, declared: plan.views.length });

    // After the whole apply: every view.
    const rest = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, now: () => NOW });
    expect(rest.summary.status).toBe('OK');
    const after = await handoff('after');
    expect(after.views).toEqual(plan.views.map((v) => v.name).sort());
    expect(synth(after.file).imports).toEqual(after.views);

    // At grace end the views leave the stacks: no import block is left for them (the file still lists them).
    const graceEnd = new Date(Math.max(...plan.views.map((v) => Date.parse(v.graceEnd))) + 1000);
    expect(synth(after.file, graceEnd)).toMatchObject({ imports: [], declared: 0 });

    // A file made for another plan is refused, naming both hashes.
    const other = path.join(tmp.dir, 'other.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(after.file, 'utf8')), planHash: 'f'.repeat(64) }));
    expect(() => synth(other)).toThrow(new RegExp(`made for plan f{64}, the views stacks declare plan ${plan.planHash}`));

    // After a rollback the runner has dropped its views: nothing to import.
    const back = await rollbackPlan(engine, plan, policy, { approve: plan.planHash, now: () => NOW });
    expect(back.summary.status).toBe('OK');
    expect((await handoff('rolled-back')).views).toEqual([]);
  }, 600_000);

  test('bqx views applied writes the same file through the CLI (exit 0), read-only', async () => {
    const planFile = path.join(tmp.dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const out = path.join(tmp.dir, 'cli-applied.json');
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'bqx', 'views', 'applied', '--plan', planFile, '--engine', 'duckdb', '--database', database, '--out', out])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(await appliedViews(engine, plan));
  }, 300_000);
});
