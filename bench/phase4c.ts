/**
 * Phase 4C on the full local warehouse, timed verb by verb through the CLI:
 *   npm run build && node dist/bench/phase4c.js
 * Seeds the 5,817-table catalogue into a temporary directory, then times plan, the paper run,
 * apply, verify, reconcile and rollback, and the whole `bqx main` on a fresh warehouse.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { repoPath } from '../core/paths';

const BIN = repoPath('bin', 'bqx.js');

function timed(label: string, args: string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${label}: bqx ${args.join(' ')} exited ${r.status}\n${r.stderr}`);
  process.stdout.write(`  ${label.padEnd(28)} ${seconds.toFixed(1).padStart(7)} s\n`);
  return seconds;
}

function main(): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'bqx-bench-4c-'));
  const db = ['--database', path.join(dir, 'w.duckdb')];
  const evidence = ['--reports-dir', path.join(dir, 'reports'), '--metrics-file', path.join(dir, 'metrics.prom')];
  const planFile = path.join(dir, 'plan.json');
  try {
    process.stdout.write('Phase 4C on the full local warehouse (5,817 tables, 2,485 operations), through the CLI:\n');
    timed('warehouse seed --scale full', ['warehouse', 'seed', '--scale', 'full', ...db], dir);
    timed('plan', ['plan', '--out', planFile, ...db], dir);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { planHash: string; summary: { byAction: Record<string, number> } };
    process.stdout.write(`    ${Object.entries(plan.summary.byAction).map(([a, n]) => `${a} ${n}`).join(', ')}\n`);
    timed('apply --dry-run (paper)', ['apply', planFile, '--dry-run', ...db, ...evidence], dir);
    timed('apply', ['apply', planFile, '--approve', plan.planHash, ...db, ...evidence], dir);
    timed('apply again (all skipped)', ['apply', planFile, '--approve', plan.planHash, ...db, ...evidence], dir);
    timed('verify', ['verify', planFile, ...db, ...evidence], dir);
    timed('reconcile', ['reconcile', planFile, ...db, '--reports-dir', path.join(dir, 'reports')], dir);
    timed('rollback', ['rollback', planFile, '--approve', plan.planHash, ...db, ...evidence], dir);
    const main = mkdtempSync(path.join(tmpdir(), 'bqx-bench-main-'));
    try {
      timed('bqx main (npm start), fresh', ['main', '--database', path.join(main, 'w.duckdb')], main);
    } finally {
      rmSync(main, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
