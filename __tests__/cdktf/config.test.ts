import { environmentInput, loadEnvironment } from '../../config/environments';
import { parseEnvironment } from '../../config/environment';
import { resolveNow } from '../../stacks/clock';

describe('environment configuration', () => {
  it('prod is the current system', () => {
    const prod = loadEnvironment('prod');
    expect(prod).toMatchObject({ project: 'bqx-ml', region: 'us-central1' });
    expect(prod.jobs.extract).toMatchObject({ cpu: '4', memory: '8Gi', timeoutSeconds: 7200, maxRetries: 0 });
    expect(prod.jobs.merge).toMatchObject({ cpu: '1', memory: '2Gi', timeoutSeconds: 1800, maxRetries: 0 });
    expect(prod.pairs).toHaveLength(28);
    expect(prod.budget).toMatchObject({ monthlyUsd: 276, phase4c: { ceilingUsd: 15 } });
  });

  it('refuses a default table expiration outside scratch datasets, naming the path', () => {
    const input = environmentInput('prod');
    input.datasets = input.datasets.map((d) => (d.id === 'bqx_ml_v3_models' ? { ...d, defaultTableExpirationDays: 30 } : d));
    expect(() => parseEnvironment(input, 'prod')).toThrow(/environment prod is invalid: datasets\.3\.defaultTableExpirationDays: dataset bqx_ml_v3_models: only scratch datasets/);
  });

  it('refuses a scratch dataset the runner renames in having an expiration', () => {
    const input = environmentInput('dev');
    input.datasets = input.datasets.map((d) => (d.id === 'bqx_ml_v3_temp' ? { ...d, runnerRenamesIn: true } : d));
    expect(() => parseEnvironment(input, 'dev')).toThrow(/bqx_ml_v3_temp: the runner renames in it/);
  });

  it('refuses malformed names and sizes', () => {
    const input = environmentInput('dev');
    expect(() => parseEnvironment({ ...input, project: 'BQX ML' }, 'dev')).toThrow(/project:/);
    expect(() => parseEnvironment({ ...input, jobs: { ...input.jobs, merge: { ...input.jobs.merge, memory: '2GB' } } }, 'dev')).toThrow(/jobs\.merge\.memory/);
    expect(() => loadEnvironment('qa')).toThrow(/unknown environment "qa"/);
  });

  it('the clock: explicit, else BQX_NOW, else now; a bad BQX_NOW is refused', () => {
    const pinned = new Date('2026-01-01T00:00:00Z');
    expect(resolveNow(pinned, '2030-01-01T00:00:00Z')).toBe(pinned);
    expect(resolveNow(undefined, '2030-01-01T00:00:00Z').toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(Math.abs(resolveNow(undefined, undefined).getTime() - Date.now())).toBeLessThan(5000);
    expect(() => resolveNow(undefined, 'soon')).toThrow(/BQX_NOW="soon" is not a date/);
  });
});
