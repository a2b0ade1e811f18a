import { Testing } from 'cdktf';
import type { CompatibilityView } from '../../core/plan/types';
import { ManagedDataset } from '../../constructs/managed-dataset';
import { LifecycleBucket } from '../../constructs/lifecycle-bucket';
import { PipelineJob } from '../../constructs/pipeline-job';
import { CompatibilityViewSet, compatibilityViewSql } from '../../constructs/compatibility-view-set';
import { ServiceAccountPrincipal } from '../../constructs/principal';
import { LABELS, PINNED_NOW, Tf, resourcesOf } from './helpers';

const extract = new ServiceAccountPrincipal('bqx-ml-extract@bqx-ml.iam.gserviceaccount.com');
const merge = new ServiceAccountPrincipal('bqx-ml-merge@bqx-ml.iam.gserviceaccount.com');
const synth = (fn: Parameters<typeof Testing.synthScope>[0]): Tf => JSON.parse(Testing.synthScope(fn));

const view = (name: string, graceEnd: string, over: Partial<CompatibilityView> = {}): CompatibilityView => ({
  name,
  target: `lag_idx_${name.split('_')[1] ?? 'eurusd'}`,
  operationId: `op-${name}`,
  columns: [
    { name: 'interval_time', column: 'interval_time' },
    { name: 'lag_45', column: 'lag_w45' },
  ],
  filter: null,
  graceEnd,
  ...over,
});

describe('ManagedDataset', () => {
  it('snapshot: dataset with read and write grants as IAM member resources', () => {
    const out = Testing.synthScope((s) => {
      const ds = new ManagedDataset(s, 'features', { datasetId: 'bqx_ml_v3_features_v2', description: 'features', runnerRenamesIn: true, labels: LABELS });
      ds.grantRead(extract);
      ds.grantWrite(merge);
    });
    expect(out).toMatchSnapshot();
  });

  it('sets no expiration unless asked, converts days to ms, never uses the access block', () => {
    const tf = synth((s) => {
      new ManagedDataset(s, 'a', { datasetId: 'bqx_a', description: 'a', labels: LABELS });
      new ManagedDataset(s, 'b', { datasetId: 'bqx_b', description: 'b', defaultTableExpirationDays: 2, labels: LABELS });
    });
    const [a, b] = resourcesOf(tf, 'google_bigquery_dataset');
    expect(a.default_table_expiration_ms).toBeUndefined();
    expect(b.default_table_expiration_ms).toBe(2 * 86400000);
    expect(a.access).toBeUndefined();
    expect(a.delete_contents_on_destroy).toBe(false);
  });

  it('refuses the same grant twice (it would be two resources for one binding)', () => {
    expect(() =>
      Testing.synthScope((s) => {
        const ds = new ManagedDataset(s, 'x', { datasetId: 'bqx_x', description: 'x' });
        ds.grantRead(extract);
        ds.grantRead(extract);
      }),
    ).toThrow(/already granted/);
  });
});

describe('LifecycleBucket', () => {
  it('snapshot: uniform access, public access prevention, lifecycle, grants', () => {
    const out = Testing.synthScope((s) => {
      const b = new LifecycleBucket(s, 'staging', {
        name: 'bqx-ml-staging',
        expireByPrefix: [{ prefix: 'checkpoints/', days: 30 }],
        versioning: true,
        noncurrentVersionDays: 90,
        labels: LABELS,
      });
      b.grantReadWrite(extract);
      b.grantRead(merge);
      b.grantWrite(new ServiceAccountPrincipal('bqx-ml-runner@bqx-ml.iam.gserviceaccount.com'));
    });
    expect(out).toMatchSnapshot();
    const bucket = resourcesOf(JSON.parse(out), 'google_storage_bucket')[0];
    expect(bucket.uniform_bucket_level_access).toBe(true);
    expect(bucket.public_access_prevention).toBe('enforced');
    expect(bucket.lifecycle_rule).toEqual([
      { action: { type: 'Delete' }, condition: { age: 30, matches_prefix: ['checkpoints/'] } },
      { action: { type: 'Delete' }, condition: { days_since_noncurrent_time: 90, with_state: 'ARCHIVED' } },
    ]);
  });
});

describe('PipelineJob', () => {
  it('snapshot: by default the job gets its own service account', () => {
    const out = Testing.synthScope((s) => {
      const job = new PipelineJob(s, 'extract', {
        jobName: 'bqx-ml-extract',
        image: 'us-central1-docker.pkg.dev/bqx-ml/bqx-ml/bqx-ml-extract:latest',
        cpu: '4',
        memory: '8Gi',
        timeoutSeconds: 7200,
        env: { PAIR: 'eurusd', EXTRACTION_WORKERS: '25' },
        labels: LABELS,
      });
      job.grantExecuteWithOverrides(new ServiceAccountPrincipal('bqx-ml-orchestrator@bqx-ml.iam.gserviceaccount.com'));
    });
    expect(out).toMatchSnapshot();
    const tf = JSON.parse(out) as Tf;
    const sa = resourcesOf(tf, 'google_service_account')[0];
    expect(sa.account_id).toBe('bqx-ml-extract');
    const job = resourcesOf(tf, 'google_cloud_run_v2_job')[0];
    expect(job.template.template.max_retries).toBe(0);
    expect(job.template.template.service_account).toMatch(/^\$\{google_service_account\..+\.email\}$/);
    expect(job.deletion_protection).toBe(true);
    expect(resourcesOf(tf, 'google_cloud_run_v2_job_iam_member')[0].role).toBe('roles/run.developer');
  });

  it('uses a given identity and creates no account', () => {
    const tf = synth((s) => {
      new PipelineJob(s, 'merge', { jobName: 'bqx-ml-merge', image: 'img', serviceAccount: merge, deletionProtection: false });
    });
    expect(tf.resource.google_service_account).toBeUndefined();
    const job = resourcesOf(tf, 'google_cloud_run_v2_job')[0];
    expect(job.template.template.service_account).toBe('bqx-ml-merge@bqx-ml.iam.gserviceaccount.com');
    expect(job.deletion_protection).toBe(false);
  });
});

describe('CompatibilityViewSet', () => {
  it('snapshot: views with SQL over the fully qualified target, no schema, deletion_protection false', () => {
    const out = Testing.synthScope((s) => {
      new CompatibilityViewSet(s, 'views', {
        project: 'bqx-ml',
        datasetId: 'bqx_ml_v3_features_v2',
        now: PINNED_NOW,
        labels: LABELS,
        views: [view('lag_eurusd_45', '2026-12-20T00:00:00.000Z'), view('lag_gbpusd_45', '2026-12-20T00:00:00.000Z', { filter: 'has_w45' })],
      });
    });
    expect(out).toMatchSnapshot();
    const tables = resourcesOf(JSON.parse(out), 'google_bigquery_table');
    expect(tables).toHaveLength(2);
    for (const t of tables) {
      expect(t.deletion_protection).toBe(false);
      expect(t.schema).toBeUndefined();
      expect(t.view.use_legacy_sql).toBe(false);
    }
    expect(Object.keys(JSON.parse(out).resource.google_bigquery_table).sort()).toEqual(['view_lag_eurusd_45', 'view_lag_gbpusd_45']);
  });

  it('writes the listed columns in order, renaming where the target column differs, with WHERE filter', () => {
    const sql = compatibilityViewSql('bqx-ml', 'bqx_ml_v3_features_v2', view('lag_eurusd_45', '2026-12-20T00:00:00Z', { filter: 'has_w45' }));
    expect(sql).toBe('SELECT\n  `interval_time`,\n  `lag_w45` AS `lag_45`\nFROM `bqx-ml.bqx_ml_v3_features_v2.lag_idx_eurusd`\nWHERE `has_w45`');
    expect(compatibilityViewSql('bqx-ml', 'd_x', view('a_b', '2026-12-20T00:00:00Z'))).not.toContain('WHERE');
  });

  it('refuses identifiers that are not safe in SQL', () => {
    expect(() => compatibilityViewSql('bqx-ml', 'ds', view('a_b', '2026-12-20T00:00:00Z', { target: 'x`; DROP TABLE y' }))).toThrow(/not a valid table name/);
    expect(() => compatibilityViewSql('bqx-ml', 'ds', view('a_b', '2026-12-20T00:00:00Z', { columns: [{ name: 'a b', column: 'a' }] }))).toThrow(/not a valid column name/);
  });

  it('leaves out views whose grace period ended and reports those ending within 3 days', () => {
    let set!: CompatibilityViewSet;
    const tf = synth((s) => {
      set = new CompatibilityViewSet(s, 'views', {
        project: 'bqx-ml',
        datasetId: 'bqx_ml_v3_features_v2',
        now: PINNED_NOW,
        labels: LABELS,
        views: [
          view('gone_a', '2026-11-20T23:59:59.000Z'),
          view('gone_b', PINNED_NOW.toISOString()), // ends exactly now: gone
          view('soon_a', '2026-11-23T12:00:00.000Z'),
          view('later_a', '2026-11-24T00:00:01.000Z'),
        ],
      });
    });
    expect(Object.keys(tf.resource.google_bigquery_table).sort()).toEqual(['view_later_a', 'view_soon_a']);
    expect(set.expired.map((v) => v.name)).toEqual(['gone_a', 'gone_b']);
    expect(set.expiringSoon).toEqual([{ name: 'soon_a', graceEnd: '2026-11-23T12:00:00.000Z', hoursLeft: 60 }]);
  });

  it('with a retirement plan, leaves out exactly the retired views: a view past its grace period that is still read stays', () => {
    const views = [view('unread_a', '2026-11-20T00:00:00.000Z'), view('still_read_a', '2026-11-20T00:00:00.000Z'), view('later_a', '2026-11-24T00:00:01.000Z')];
    const sets: CompatibilityViewSet[] = [];
    const tf = synth((s) => sets.push(new CompatibilityViewSet(s, 'views', { project: 'bqx-ml', datasetId: 'bqx_ml_v3_features_v2', now: PINNED_NOW, retired: new Set(['unread_a']), views })));
    expect(Object.keys(tf.resource.google_bigquery_table).sort()).toEqual(['view_later_a', 'view_still_read_a']);
    expect(sets[0].expired.map((v) => v.name)).toEqual(['unread_a']);
  });

  it('can adopt views the runner created (import blocks keyed by the table path)', () => {
    const tf = synth((s) => {
      new CompatibilityViewSet(s, 'v', { project: 'bqx-ml', datasetId: 'bqx_ml_v3_features_v2', now: PINNED_NOW, importExisting: true, views: [view('lag_eurusd_45', '2026-12-20T00:00:00Z')] });
    }) as Tf & { import?: { to: string; id: string }[] };
    expect(tf.import).toEqual([{ to: 'google_bigquery_table.view_lag_eurusd_45', id: 'projects/bqx-ml/datasets/bqx_ml_v3_features_v2/tables/lag_eurusd_45' }]);
    const plain = synth((s) => {
      new CompatibilityViewSet(s, 'v', { project: 'bqx-ml', datasetId: 'd_x', now: PINNED_NOW, views: [view('lag_eurusd_45', '2026-12-20T00:00:00Z')] });
    }) as Tf & { import?: unknown };
    expect(plain.import).toBeUndefined();
  });

  it('refuses a graceEnd that is not a date, naming the view', () => {
    expect(() =>
      Testing.synthScope((s) => {
        new CompatibilityViewSet(s, 'v', { project: 'bqx-ml', datasetId: 'd', now: PINNED_NOW, views: [view('bad_a', 'next week')] });
      }),
    ).toThrow(/view bad_a: graceEnd "next week" is not a date/);
  });
});
