/**
 * `npm run build && node dist/bench/synth.js [--runs N] [--no-cli]`
 *
 * Times the full prod synthesis the way CI runs it (`bqx synth`, a fresh process: wall time from
 * spawn to exit, peak RSS as the process reports it), with the committed Phase 4C plan. Then the
 * same with --hcl, then a plain `npx cdktf synth` of the same app (the CLI adds its own start-up and
 * runs `node dist/main.js` as a child).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadEnvironment } from '../config/environments';

const REPO = path.resolve(__dirname, '..', '..');
const NOW = '2026-11-21T00:00:00.000Z';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function planFile(): { file: string; label: string } {
  const committed = path.join(REPO, loadEnvironment('prod').views.planFile);
  if (!fs.existsSync(committed)) throw new Error(`${committed} is missing: the synthesis bench declares the committed plan's views`);
  return { file: committed, label: 'committed plan' };
}

function run(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: REPO, env: { ...process.env, ...env }, encoding: 'utf8' });
  const wallMs = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) {
    process.stdout.write(`${label}: FAILED (exit ${r.status}) after ${wallMs} ms\n${(r.stderr || r.stdout).slice(-1500)}\n`);
    return '';
  }
  const rss = /peak RSS (\d+) MB/.exec(r.stdout)?.[1];
  process.stdout.write(`${label}: wall ${wallMs} ms${rss ? `, peak RSS ${rss} MB` : ''}\n`);
  return r.stdout;
}

function main(): void {
  const runs = Number(arg('--runs', '3'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bqx-bench-'));
  try {
    const { file, label } = planFile();
    process.stdout.write(`bench: prod, ${label}, BQX_NOW=${NOW}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}\n`);
    const synth = [path.join(REPO, 'bin/bqx.js'), 'synth', '--env', 'prod', '--plan', file, '--now', NOW];
    let report = '';
    for (let i = 1; i <= runs; i++) {
      const out = run(`npm run synth (json) #${i}`, process.execPath, [...synth, '--out', path.join(tmp, `json${i}`)], {});
      if (i === 1) report = out;
    }
    run('npm run synth --hcl', process.execPath, [...synth, '--hcl', '--out', path.join(tmp, 'hcl')], {});
    process.stdout.write(report.split('\n').filter((l) => /^\s+(foundation|data|pipeline|views-)/.test(l) || l.startsWith('synthesized') || l.includes('views:')).join('\n') + '\n');
    if (!process.argv.includes('--no-cli')) {
      run('npx cdktf synth (cdktf-cli 0.21)', 'npx', ['cdktf', 'synth', '--output', path.join(tmp, 'cli')], {
        BQX_ENV: 'prod',
        BQX_PLAN_FILE: file,
        BQX_NOW: NOW,
        CHECKPOINT_DISABLE: '1',
      });
      const stacks = fs.existsSync(path.join(tmp, 'cli', 'stacks')) ? fs.readdirSync(path.join(tmp, 'cli', 'stacks')).length : 0;
      process.stdout.write(`  cdktf synth wrote ${stacks} stacks\n`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
