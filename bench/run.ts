/**
 * `npm run bench`: every benchmark in turn, each in its own process so none warms another's caches.
 * Timings are printed, never asserted (tests assert behaviour; benchmarks measure it).
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const BENCHES: readonly [string, string[]][] = [
  ['seed and audit (full local warehouse)', ['seed.js']],
  ['Phase 4C on the full local warehouse', ['phase4c.js']],
  ['embedded executor against its floor (apply and rollback vs replaying their statements; goal ≤ 1.5x)', ['floor.js']],
  ['BigQuery engine against the local double with a latency model (changes-only bound, goal ≤ 1.3x)', ['bigquery.js']],
  ['the same through the full executor (gates, ledger, validation per batch; goal ≤ 1.3x of the same bound)', ['bigquery.js', '--executor']],
  ['bqx verify on the BigQuery engine behind the fault proxy: fault-free and at 20% faults (small catalogue)', ['bigquery.js', '--verify-faults']],
  ['CDKTF synthesis of the prod environment', ['synth.js']],
  ['linearity over catalogue size: audit, plan, paper run, synth at 1x, 2x, 5x, 10x (seeds cached in $TMPDIR/bqx-bench-scale)', ['scale.js']],
];

let failed = 0;
for (const [title, [file, ...args]] of BENCHES) {
  process.stdout.write(`\n== ${title} ==\n`);
  const r = spawnSync(process.execPath, [path.join(__dirname, file), ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`(${file} exited ${r.status})\n`);
  }
}
process.exitCode = failed ? 1 : 0;
