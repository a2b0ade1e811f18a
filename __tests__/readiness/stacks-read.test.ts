import { loadEnvironment } from '../../config/environments';
import { synthesizedStacks } from './support/stacks';

describe('reading the synthesized stacks', () => {
  test('finds the declared datasets, buckets, jobs, alert policies and APIs of the real synth', () => {
    const { stacks } = synthesizedStacks();
    const ids = stacks.datasets.map((d) => d.datasetId);
    expect(ids).toEqual(expect.arrayContaining(['bqx_ml_v3_features_v2', 'bqx_ml_v3_migration', 'bqx_ml_v3_temp']));
    expect(stacks.datasets.find((d) => d.datasetId === 'bqx_ml_v3_features_v2')?.defaultTableExpirationMs).toBeNull();
    expect(stacks.datasets.find((d) => d.datasetId === 'bqx_ml_v3_temp')?.defaultTableExpirationMs).toBe(2 * 86_400_000);
    expect(stacks.buckets.map((b) => b.name)).toEqual(expect.arrayContaining(['bqx-ml-staging', 'bqx-ml-output']));
    expect(stacks.buckets.find((b) => b.name === 'bqx-ml-staging')?.role).toBe('staging');
    // Every Cloud Run job the environment declares (extract and merge; the runner's own job where declared).
    expect(stacks.jobs.map((j) => j.name).sort()).toEqual(Object.values(loadEnvironment('prod').jobs).map((j) => j.name).sort());
    expect(stacks.jobs.map((j) => j.name)).toEqual(expect.arrayContaining(['bqx-ml-extract', 'bqx-ml-merge']));
    expect(stacks.alertPolicies.length).toBeGreaterThanOrEqual(3);
    expect(stacks.apis).toContain('bigquery.googleapis.com');
  });
});
