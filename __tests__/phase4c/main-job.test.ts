/**
 * `npm start` runs `bqx main`: here on the small catalogue, through the real CLI, twice.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { repoPath } from '../../core/paths';

interface MainResult {
  planFile: string;
  planHash: string;
  steps: { name: string; seconds: number; line: string }[];
  violations: { before: number; after: number; review: number };
  columns: { before: { names: number; nonCompliant: number; windowViolations: number; patternViolations: number }; after: { names: number; nonCompliant: number; windowViolations: number } };
  extraction: { pair: string; before: number; after: number; duplicatesDuringGrace: number; remap: { RENAMED: number; MERGED: number; UNCHANGED: number } } | null;
  documents: string[];
  views: number;
  readiness: string;
  html: string;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bqx-main-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function main(): { code: number; result: MainResult; stderr: string } {
  const r = spawnSync(process.execPath, [repoPath('bin', 'bqx.js'), 'main', '--scale', 'small', '--database', 'w.duckdb', '--json'], { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return { code: r.status ?? -1, result: JSON.parse(r.stdout || '{}') as MainResult, stderr: r.stderr };
}

test('seeds, plans, applies on GO and leaves only the planted anomalies; a second run has nothing to do', () => {
  const first = main();
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.result.steps.map((s) => s.name)).toEqual(['seed', 'audit', 'columns', 'plan', 'synth', 'readiness', 'extraction', 'paper run', 'apply', 'verify', 'reconcile', 'audit', 'columns']);
  expect(first.result.violations).toEqual({ before: 166, after: 3, review: 3 });
  // The column audit reports (nothing is renamed); consolidation suffixes the window-less regime columns it joins.
  expect(first.result.columns.before).toMatchObject({ names: 359, nonCompliant: 40, windowViolations: 32, patternViolations: 8 });
  expect(first.result.columns.after.windowViolations).toBeLessThan(first.result.columns.before.windowViolations);
  // What the extract job reads for EURUSD, and the remap of its training columns.
  expect(first.result.extraction).toMatchObject({ pair: 'eurusd', before: 211, after: 207, duplicatesDuringGrace: 73 });
  expect(first.result.extraction!.remap.RENAMED).toBeGreaterThan(0);
  expect(first.result.extraction!.remap.MERGED).toBeGreaterThan(0);
  expect(first.result.steps.find((s) => s.name === 'extraction')?.line).toMatch(/^EURUSD: 211 tables before, 207 after, each feature once; a name-only discovery reads 73 views twice/);
  // The directive's own file names, dated by the run (YYYYMMDD).
  expect(first.result.documents.map((d) => path.basename(d).replace(/_\d{8}\./, '_DATE.'))).toEqual([
    'BA_AUDIT_SUMMARY_DATE.md',
    'IMPLEMENTATION_SCRIPT_INVENTORY_DATE.md',
    'M008_PHASE4C_READINESS_REPORT_DATE.md',
    'INFRASTRUCTURE_READINESS_REPORT_DATE.md',
    'DEPENDENCY_ANALYSIS_DATE.md',
    'EXECUTION_BLOCKER_ANALYSIS_DATE.md',
    'BA_AUDIT_SUMMARY_DATE.json',
  ]);
  for (const d of first.result.documents) expect(existsSync(d)).toBe(true);
  expect(JSON.parse(readFileSync(path.join(dir, 'reports', 'staging', 'manifests', 'eurusd', 'extraction.json'), 'utf8')).tables).toHaveLength(207);
  // The plan's review file beside it: one line per operation that changes something.
  const review = readFileSync(path.resolve(dir, `${first.result.planFile}.txt`), 'utf8');
  expect(review).toContain(first.result.planHash);
  expect(review.split('\n').filter((l) => /^(  [~-]|-\/\+) +\d+ op_[0-9a-f]{16} b\d+\s+(RENAME|DEDUPE|CONSOLIDATE)\s/.test(l)).length).toBeGreaterThan(100);
  // The job applies on the rehearsal's verdict; production's (the extract job's change, the cloud checks) is reported beside it.
  expect(first.result.readiness).toBe('REHEARSAL GO (this local run may proceed) · PRODUCTION CONDITIONAL GO');
  expect(first.result.views).toBe(163);
  expect(existsSync(first.result.html)).toBe(true);
  // The verdict element itself (a bare 'GO' would also match NO-GO).
  expect(readFileSync(first.result.html, 'utf8')).toMatch(/id="verdict"[^>]*>GO</);
  for (const f of ['run-paper.md', 'run-apply.json', 'run-verify.md', 'run-reconcile.json', 'metrics.prom', 'readiness.md']) {
    expect(existsSync(path.join(dir, 'reports', f))).toBe(true);
  }
  expect(readFileSync(path.join(dir, 'reports', 'metrics.prom'), 'utf8')).toMatch(/bqx_operations_total\{[^}]*outcome="APPLIED"/);

  const second = main();
  expect(second.code).toBe(0);
  expect(second.result.steps.map((s) => s.name)).not.toContain('seed');
  expect(second.result.violations).toEqual({ before: 3, after: 3, review: 3 });
  expect(second.result.steps.find((s) => s.name === 'apply')?.line).toMatch(/^nothing left to do/);
}, 240_000);
