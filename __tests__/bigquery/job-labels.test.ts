/**
 * Every BigQuery job the runner submits is labelled, so the Phase 4C budget (which filters on
 * bqx-phase=m008-4c) and the cost reports see the runner's spend: the plan, a paper run, the first
 * 40 operations of the Phase 4C apply and their rollback on the small catalogue, with the engine
 * opened as the app opens it (app/engine.ts), on the permissive double (no IAM: this test is about
 * labels and passes whatever the stacks grant; iam-e2e.test.ts checks the same on the full apply,
 * as the runner).
 */
jest.mock('teeny-request', () => require('./support/teeny-fetch').teenyWithGlobalFetch());

import { appEngineOptions } from '../../app/engine';
import { PHASE_4C_JOB_LABEL } from '../../config/job-labels';
import { makeSnapshot } from '../../core/catalogue';
import { applyPlan } from '../../core/execute/apply';
import { rollbackPlan } from '../../core/execute/rollback';
import { buildPlan } from '../../core/plan/planner';
import { loadPolicy } from '../../core/policy';
import { LABEL_KEY_RE, LABEL_VALUE_RE } from '../../engines/bigquery/labels';
import { LOCATION, PROJECT, RUNNER_DATASET, seedDouble } from '../../testing/bigquery/warehouse';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { openHarness } from './support/open';

test('plan, paper run, apply and rollback: every job (steps, reads, dry runs, ledger, lock, catalogue) carries bqx-phase; every step job its plan and run', async () => {
  const options = appEngineOptions({ engine: 'bigquery', project: PROJECT, location: LOCATION, dataset: FEATURES_DATASET, runnerDataset: RUNNER_DATASET });
  expect(options.jobLabels).toEqual({ [PHASE_4C_JOB_LABEL.key]: PHASE_4C_JOB_LABEL.value });
  const h = await openHarness((d) => seedDouble(d, 'small', { withRunnerDataset: true }), { engine: { jobLabels: options.jobLabels } });
  try {
    const { engine, double } = h;
    const policy = loadPolicy();
    const plan = await buildPlan(engine, { snapshot: makeSnapshot('bigquery', PROJECT, FEATURES_DATASET, await engine.listTables()), policy, graceStart: '2026-11-21' });
    expect((await applyPlan(engine, plan, policy, { mode: 'paper' })).summary.status).toBe('OK');
    const beforeApply = double.inserts.length;
    const applied = await applyPlan(engine, plan, policy, { mode: 'real', approve: plan.planHash, maxOperations: 40 });
    expect(applied.summary.status).toBe('OK');
    const afterApply = double.inserts.length;
    const rolled = await rollbackPlan(engine, plan, policy, { approve: plan.planHash });
    expect(rolled.summary.status).toBe('OK');

    const all = double.inserts;
    expect(all.length).toBeGreaterThan(300);
    expect(all.filter((i) => i.labels[PHASE_4C_JOB_LABEL.key] !== PHASE_4C_JOB_LABEL.value)).toEqual([]);
    expect(all.filter((i) => Object.entries(i.labels).some(([k, v]) => !LABEL_KEY_RE.test(k) || !LABEL_VALUE_RE.test(v)))).toEqual([]);
    const kinds = new Set(all.map((i) => (i.dryRun ? 'dry run' : i.labels.bqx_kind)));
    for (const k of ['dry run', 'step', 'ledger_init', 'ledger_append', 'runs_append', 'lock_append', 'ledger_read', 'runs_read', 'lock_events_read', 'catalog_columns', 'catalog_storage', 'catalog_views', 'fingerprint', 'fused_read']) {
      expect(kinds).toContain(k);
    }
    // Step jobs: the plan's first 12 hex digits and the run id (lowercased) of the run that issued them.
    const stepsOf = (from: number, to: number) => all.slice(from, to).filter((i) => !i.dryRun && i.labels.bqx_kind === 'step');
    const expectRun = (steps: typeof all, runId: string) => {
      expect(steps.length).toBeGreaterThan(0);
      expect(steps.filter((i) => i.labels['bqx-plan'] !== plan.planHash.slice(0, 12) || i.labels['bqx-run'] !== runId.toLowerCase())).toEqual([]);
    };
    expect(stepsOf(0, beforeApply)).toEqual([]); // planning and the paper run change nothing
    expectRun(stepsOf(beforeApply, afterApply), applied.summary.runId);
    expect(applied.summary.byOutcome.APPLIED).toBe(40);
    expect(stepsOf(beforeApply, afterApply).length).toBeGreaterThanOrEqual(40);
    expectRun(stepsOf(afterApply, all.length), rolled.summary.runId);
    // Only step jobs carry the run's labels (the run id is a job label, never a metric label).
    expect(all.filter((i) => i.labels.bqx_kind !== 'step' && ('bqx-run' in i.labels || 'bqx-plan' in i.labels))).toEqual([]);
  } finally {
    await h.close();
  }
});
