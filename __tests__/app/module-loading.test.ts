/**
 * `npm start` on the embedded warehouse loads neither the Google client libraries nor cdktf in its
 * main thread (cdktf loads in the synthesis worker): the CLI and every module the main job imports
 * are loaded here from dist/ (built by `npm test`) and the module cache is read.
 */
import { spawnSync } from 'child_process';
import { repoPath } from '../../core/paths';

const HEAVY = ['@google-cloud/bigquery', 'google-auth-library', 'cdktf', '@cdktf/provider-google'];

function loadedPackages(modules: readonly string[]): string[] {
  const script = `
    for (const m of ${JSON.stringify(modules)}) require(m);
    const names = new Set();
    for (const f of Object.keys(require.cache)) {
      const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(f);
      if (m) names.add(m[1]);
    }
    process.stdout.write(JSON.stringify([...names]));`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: repoPath(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[];
}

test('the CLI, the main job and readiness load no Google client library and no cdktf', () => {
  const loaded = loadedPackages(['scripts/cli.js', 'app/main-job.js', 'app/readiness/run.js', 'app/synth.js'].map((f) => repoPath('dist', f)));
  expect(loaded).toContain('@duckdb/node-api');
  expect(loaded.filter((p) => HEAVY.includes(p))).toEqual([]);
});

test('the check can fail: the BigQuery engine and the stacks load them', () => {
  const loaded = loadedPackages([repoPath('dist', 'engines', 'bigquery', 'rest.js'), repoPath('dist', 'stacks', 'synthesize.js')]);
  expect(loaded).toEqual(expect.arrayContaining(['@google-cloud/bigquery', 'cdktf', '@cdktf/provider-google']));
});
