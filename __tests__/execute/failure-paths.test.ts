/**
 * Every failure path leaves the ledger true and the exit code honest, on the local engine through
 * the real CLI: a full disk (a small tmpfs where this machine lets us mount one, else a failpoint
 * that throws ENOSPC inside a step's transaction), a failing step, refused runs, signals, and bad
 * output paths and inputs. Each case asserts what it leaves behind: the warehouse, the ledger (one
 * terminal outcome per operation and run, no record lost), the lock, and the documented exit code.
 */
import { spawn, spawnSync } from 'child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { foldLock, lockNameFor } from '../../core/execute/lock';
import type { LedgerRecord } from '../../core/ledger/types';
import { isActionable, type Plan } from '../../core/plan/types';
import { EXIT } from '../../scripts/exit-codes';
import { FEATURES_DATASET } from '../../warehouse/catalogue';
import { testNeeding } from '../support/needs';
import { fingerprintWarehouse, freshWarehouse, openAt, pristineWarehouse, removeTempDirs, tempDir, type WarehouseFingerprint } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'bqx.js');

interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function bqx(args: string[], opts: { env?: Record<string, string>; cwd?: string; uid?: number; gid?: number; command?: string[]; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = opts.command ?? [process.execPath, BIN];
    const child = spawn(cmd, [...pre, ...args], { cwd: opts.cwd ?? tempDir(), env: { ...process.env, ...opts.env }, uid: opts.uid, gid: opts.gid });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
}

let plan: Plan;
let planFile: string;
let clean: WarehouseFingerprint;
let pristineState: WarehouseFingerprint;

const evidence = (dir: string) => ['--reports-dir', path.join(dir, 'reports'), '--metrics-file', path.join(dir, 'reports', 'metrics.prom')];
const applyArgs = (db: string, dir: string, extra: string[] = []) => ['apply', planFile, '--database', db, '--approve', plan.planHash, ...evidence(dir), ...extra];
const actionable = () => plan.operations.filter((o) => isActionable(o.action));

async function ledgerOf(db: string): Promise<{ records: LedgerRecord[]; runs: { mode: string; event: string; status: string | null; runId: string }[]; holder: unknown }> {
  const engine = await openAt(db);
  try {
    return { records: await engine.ledger.records(plan.planHash), runs: await engine.ledger.runs(plan.planHash), holder: foldLock(await engine.ledger.lockEvents(lockNameFor(FEATURES_DATASET))).holder };
  } finally {
    await engine.close();
  }
}

/**
 * Exactly one terminal outcome per operation per apply/rollback run, and every run that started
 * ended. `stopped` names runs that died unable to write (a full disk, like a crash): each may leave
 * at most the one operation it was in open and no END, which the next run resumes.
 */
function expectLedgerTrue(l: Awaited<ReturnType<typeof ledgerOf>>, stopped: readonly string[] = []): void {
  const terminal = new Set(['APPLIED', 'SKIPPED_ALREADY_APPLIED', 'SKIPPED', 'REJECTED', 'FAILED', 'ROLLED_BACK', 'PAPER']);
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  for (const r of l.records) {
    const k = `${r.runId} ${r.operationId}`;
    if (r.state === 'STARTED') started.set(k, (started.get(k) ?? 0) + 1);
    if (terminal.has(r.state)) ended.set(k, (ended.get(k) ?? 0) + 1);
  }
  expect([...ended.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const open = [...started.keys()].filter((k) => !ended.has(k));
  expect(open.filter((k) => !stopped.includes(k.split(' ')[0]))).toEqual([]);
  for (const run of stopped) expect(open.filter((k) => k.startsWith(`${run} `)).length).toBeLessThanOrEqual(1);
  const starts = l.runs.filter((r) => r.event === 'START').map((r) => r.runId);
  const ends = new Set(l.runs.filter((r) => r.event === 'END').map((r) => r.runId));
  expect(starts.filter((id) => !ends.has(id) && !stopped.includes(id))).toEqual([]);
  expect(l.holder).toBeNull();
  // Whatever the failures, every operation applied is applied exactly once (no ROLLED_BACK between).
  const applied = new Map<string, number>();
  for (const r of l.records) if (r.state === 'APPLIED') applied.set(r.operationId, (applied.get(r.operationId) ?? 0) + 1);
  if (!l.records.some((r) => r.state === 'ROLLED_BACK')) expect([...applied.values()].filter((n) => n > 1)).toEqual([]);
}

beforeAll(async () => {
  const p = await pristineWarehouse();
  plan = p.plan;
  planFile = path.join(tempDir(), 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const w = await freshWarehouse();
  pristineState = await fingerprintOf(w.database);
  const r = await bqx(applyArgs(w.database, w.dir));
  expect(r.status).toBe(0);
  clean = await fingerprintOf(w.database);
});

afterAll(() => removeTempDirs());

async function fingerprintOf(db: string): Promise<WarehouseFingerprint> {
  const engine = await openAt(db);
  try {
    return await fingerprintWarehouse(engine);
  } finally {
    await engine.close();
  }
}

describe('a step that fails (ENOSPC inside its transaction) keeps the ledger true', () => {
  test('the records of earlier steps survive, the run ends 6 (partial progress), rollback restores exactly, twice', async () => {
    const w = await freshWarehouse();
    // The 40th step's transaction fails after the pending ledger records were written into it.
    const r = await bqx(applyArgs(w.database, w.dir), { env: { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'engine.step=throw(ENOSPC)@40' } });
    expect(r.status).toBe(EXIT.INCOMPLETE);
    const l = await ledgerOf(w.database);
    expectLedgerTrue(l);
    const failed = l.records.filter((x) => x.state === 'FAILED');
    expect(failed).toHaveLength(1);
    expect(failed[0].detail).toContain('ENOSPC');
    // Every step the warehouse shows done is in the ledger (the failing step's records were not lost).
    const applied = new Set(l.records.filter((x) => x.state === 'APPLIED').map((x) => x.operationId));
    expect(applied.size).toBeGreaterThan(5);
    const report = JSON.parse(readFileSync(path.join(w.dir, 'reports', 'run-apply.json'), 'utf8'));
    expect(report.status).toBe('INCOMPLETE');

    const rb = await bqx(['rollback', planFile, '--database', w.database, '--approve', plan.planHash, ...evidence(w.dir)]);
    expect(rb.status).toBe(EXIT.OK);
    expect(rb.stdout).toContain('pre-apply catalogue restored exactly: yes');
    expect(await fingerprintOf(w.database)).toEqual(pristineState);
    const again = await bqx(['rollback', planFile, '--database', w.database, '--approve', plan.planHash, ...evidence(w.dir)]);
    expect(again.status).toBe(EXIT.OK);
    expect(await fingerprintOf(w.database)).toEqual(pristineState);
    expectLedgerTrue(await ledgerOf(w.database));
  });

  test('a rename whose view failed: resume completes it; the end state equals the clean run', async () => {
    const w = await freshWarehouse();
    const steps = 3; // first RENAME is step 1, its CREATE VIEW step 2 (one writer, seq order) — fail a view step
    const r = await bqx(applyArgs(w.database, w.dir), { env: { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: `engine.step=throw(ENOSPC)@${steps}` } });
    expect([EXIT.INCOMPLETE, EXIT.HALTED]).toContain(r.status);
    const resume = await bqx(applyArgs(w.database, w.dir));
    expect(resume.status).toBe(EXIT.OK);
    expect(await fingerprintOf(w.database)).toEqual(clean);
    expectLedgerTrue(await ledgerOf(w.database));
  });
});

const unshareArgs = () => [...(process.getuid?.() === 0 ? [] : ['-r']), '-m', '--propagation', 'private', 'sh', '-c'];

/** Why a tmpfs cannot be mounted here (a private mount namespace, util-linux's unshare), or null. */
function tmpfsMissingReason(): string | null {
  const mnt = mkdtempSync(path.join(tmpdir(), 'bqx-tmpfs-probe-'));
  try {
    const probe = spawnSync('unshare', [...unshareArgs(), `mount -t tmpfs -o size=64k tmpfs ${mnt}`], { encoding: 'utf8' });
    if (probe.status === 0) return null;
    return `this machine does not allow mounting a tmpfs (unshare -m: ${probe.error?.message ?? probe.stderr.trim()}); the ENOSPC failpoint cases above cover the same path`;
  } finally {
    rmSync(mnt, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `kib` KiB (a private mount namespace) and runs `script` in it. */
function inTmpfs(kib: number, mnt: string, script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', [...unshareArgs(), `mount -t tmpfs -o size=${kib}k tmpfs ${mnt} && ${script}`], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

testNeeding(tmpfsMissingReason(), 'a full disk (a tmpfs that fills mid-apply): exit 9 with what to do, nothing lost; with room again, resume and rollback both work', async () => {
  const w = await freshWarehouse();
  const mnt = path.join(w.dir, 'mnt');
  mkdirSync(mnt);
  const out = path.join(w.dir, 'out');
  mkdirSync(out);
  const size = Math.ceil(statSync(w.database).size / 1024) + 600;
  const node = process.execPath;
  const script = [
    `cp ${w.database} ${mnt}/w.duckdb`,
    `${node} ${BIN} apply ${planFile} --database ${mnt}/w.duckdb --approve ${plan.planHash} --reports-dir ${out} --metrics-file ${out}/metrics.prom > ${out}/stdout 2> ${out}/stderr; echo $? > ${out}/status`,
    // The disk is full; copy what it holds (database and WAL) to a disk with room.
    `cp ${mnt}/w.duckdb ${out}/w.duckdb; [ -f ${mnt}/w.duckdb.wal ] && cp ${mnt}/w.duckdb.wal ${out}/w.duckdb.wal; true`,
  ].join(' && ');
  const r = inTmpfs(size, mnt, script);
  expect(r.status).toBe(0);
  const status = Number(readFileSync(path.join(out, 'status'), 'utf8'));
  const stderr = readFileSync(path.join(out, 'stderr'), 'utf8');
  expect(status).toBe(EXIT.UNAVAILABLE);
  expect(stderr).toMatch(/No space left on device/);
  expect(stderr).toMatch(/what to do: the disk holding the warehouse .* is full: free space, then re-run the same command/);
  expect(stderr).not.toMatch(/at \w+ \(/); // no stack trace
  const failed = JSON.parse(readFileSync(path.join(out, 'run-apply.json'), 'utf8'));
  expect(failed.status).toBe('FAILED');

  // Room again: the same command resumes to the clean end state…
  const copy = path.join(w.dir, 'copy.duckdb');
  copyFileSync(path.join(out, 'w.duckdb'), copy);
  if (existsSync(path.join(out, 'w.duckdb.wal'))) copyFileSync(path.join(out, 'w.duckdb.wal'), `${copy}.wal`);
  const resume = await bqx(applyArgs(copy, w.dir));
  expect(resume.status).toBe(EXIT.OK);
  expect(await fingerprintOf(copy)).toEqual(clean);
  const after = await ledgerOf(copy);
  expectLedgerTrue(after, [failed.runId]);
  expect(new Set(after.records.filter((x) => x.state === 'APPLIED').map((x) => x.operationId)).size).toBe(actionable().length);
  // …and from the same full-disk state, rollback restores the pre-apply catalogue exactly.
  const rbDb = path.join(out, 'w.duckdb');
  const rb = await bqx(['rollback', planFile, '--database', rbDb, '--approve', plan.planHash, ...evidence(w.dir)]);
  expect(rb.status).toBe(EXIT.OK);
  expect(await fingerprintOf(rbDb)).toEqual(pristineState);
});

describe('refused runs change nothing', () => {
  async function runnerSchemaExists(db: string): Promise<boolean> {
    const engine = await openAt(db);
    try {
      return (await engine.listRunnerTables()).length > 0;
    } finally {
      await engine.close();
    }
  }

  test('--runner-dataset equal to the feature dataset: exit 2 before anything is created; the valid command then works', async () => {
    const w = await freshWarehouse();
    const before = await fingerprintOf(w.database);
    const r = await bqx(applyArgs(w.database, w.dir, ['--runner-dataset', FEATURES_DATASET]));
    expect(r.status).toBe(EXIT.BAD_INPUT);
    expect(r.stderr).toContain('is the dataset being remediated');
    expect(await fingerprintOf(w.database)).toEqual(before);
    expect((await bqx(applyArgs(w.database, w.dir))).status).toBe(EXIT.OK);
  });

  test('approval missing: exit 3, no ledger, no lock, no runner dataset created', async () => {
    const w = await freshWarehouse();
    const before = await fingerprintOf(w.database);
    const r = await bqx(['apply', planFile, '--database', w.database, ...evidence(w.dir)]);
    expect(r.status).toBe(EXIT.REFUSED);
    expect(r.stderr).toContain('no --approve was given');
    expect(await fingerprintOf(w.database)).toEqual(before);
    expect(await runnerSchemaExists(w.database)).toBe(false);
    const report = JSON.parse(readFileSync(path.join(w.dir, 'reports', 'run-apply.json'), 'utf8'));
    expect(report.status).toBe('REFUSED');
  });

  test('one gate-rejected operation after others applied is partial progress (6), not "nothing changed" (3)', async () => {
    const w = await freshWarehouse();
    // A first run applies 10 operations; then someone takes a late rename's target name. The next
    // run (a resume: the plan is underway, so the catalogue fingerprint no longer applies) applies
    // the rest and its gate refuses that one operation.
    expect((await bqx(applyArgs(w.database, w.dir, ['--max-operations', '10']))).status).toBe(EXIT.OK);
    const late = actionable().filter((o) => o.action === 'RENAME').at(-1)!;
    const engine = await openAt(w.database);
    try {
      await engine.run({ kind: 'CREATE_VIEW', name: late.target!, target: late.sources[0], columns: [{ name: 'interval_time', column: 'interval_time' }], filter: null }, { jobId: 'test' });
    } finally {
      await engine.close();
    }
    const r = await bqx(applyArgs(w.database, w.dir));
    expect(r.status).toBe(EXIT.INCOMPLETE);
    expect(r.stdout).toMatch(/REJECTED 1/);
    const l = await ledgerOf(w.database);
    expect(l.records.filter((x) => x.state === 'REJECTED').map((x) => x.operationId)).toEqual([late.id]);
    expectLedgerTrue(l);
  });
});

describe('signals stop at a safe point', () => {
  test('SIGTERM mid-apply: exit 7, report INTERRUPTED, ledger true, lock released; the printed command resumes to the clean end state', async () => {
    const w = await freshWarehouse();
    const r = await bqx(applyArgs(w.database, w.dir), { env: { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'engine.after-step=signal(SIGTERM)@30' } });
    expect(r.status).toBe(EXIT.INTERRUPTED);
    expect(r.stderr).toContain('SIGTERM: the apply stops at the next safe point');
    const report = JSON.parse(readFileSync(path.join(w.dir, 'reports', 'run-apply.json'), 'utf8'));
    expect(report.status).toBe('INTERRUPTED');
    const l = await ledgerOf(w.database);
    expectLedgerTrue(l);
    expect(l.runs.find((x) => x.event === 'END' && x.mode === 'apply')?.status).toBe('INTERRUPTED');
    const resume = /resume with `(bqx [^`]+)`/.exec(r.stdout)?.[1];
    expect(resume).toBeDefined();
    const args = resume!.split(' ').slice(1).map((a) => a.replace(/^'(.*)'$/, '$1'));
    const again = await bqx(args);
    expect(again.status).toBe(EXIT.OK);
    expect(await fingerprintOf(w.database)).toEqual(clean);
    expectLedgerTrue(await ledgerOf(w.database));
  });

  test('a second signal exits at once (143), without waiting for the safe point', async () => {
    const w = await freshWarehouse();
    let second = 0;
    // The run signals itself after its 3rd step; its wind-down is slowed (a 4 s ledger flush) so
    // the second signal, sent as soon as the first is acknowledged, lands while it is still going.
    const r = await bqx(applyArgs(w.database, w.dir), {
      env: { BQX_TEST_HOOKS: '1', BQX_FAILPOINTS: 'engine.after-step=signal(SIGTERM)@3;ledger.flush=delay(4000)' },
      onStderr: (text, child) => {
        if (!second && text.includes('stops at the next safe point')) {
          second = Date.now();
          child.kill('SIGTERM');
        }
      },
    });
    expect(second).toBeGreaterThan(0);
    expect(r.status).toBe(143);
    expect(r.stderr).toContain('second SIGTERM: exiting now');
    expect(Date.now() - second).toBeLessThan(3500);
    // The lock it held expires by itself; the next run takes it over (its holder process is gone) and finishes.
    const again = await bqx(applyArgs(w.database, w.dir));
    expect(again.status).toBe(EXIT.OK);
    expect(await fingerprintOf(w.database)).toEqual(clean);
  });
});

describe('bad output paths and inputs are refused before any work', () => {
  test('--reports-dir under a file, --metrics-file a directory, plan --out a directory: exit 2, warehouse unchanged', async () => {
    const w = await freshWarehouse();
    const before = await fingerprintOf(w.database);
    const file = path.join(w.dir, 'a-file');
    writeFileSync(file, 'x');
    const a = await bqx(['apply', planFile, '--database', w.database, '--approve', plan.planHash, '--reports-dir', path.join(file, 'sub'), '--metrics-file', path.join(w.dir, 'm.prom')]);
    expect(a.status).toBe(EXIT.BAD_INPUT);
    expect(a.stderr).toMatch(/reports directory .*a-file\/sub cannot be written: .*is a file/);
    const b = await bqx(['apply', planFile, '--database', w.database, '--approve', plan.planHash, '--reports-dir', path.join(w.dir, 'r'), '--metrics-file', w.dir]);
    expect(b.status).toBe(EXIT.BAD_INPUT);
    expect(b.stderr).toMatch(/metrics file .* cannot be written: it is a directory/);
    const c = await bqx(['plan', '--database', w.database, '--out', w.dir]);
    expect(c.status).toBe(EXIT.BAD_INPUT);
    expect(await fingerprintOf(w.database)).toEqual(before);
  });

  test('--reports-dir /proc/nope is refused in well under a second, not a spin holding the lock', async () => {
    const w = await freshWarehouse();
    const r = await bqx(['apply', planFile, '--database', w.database, '--approve', plan.planHash, '--reports-dir', '/proc/nope', '--metrics-file', path.join(w.dir, 'm.prom')]);
    expect(r.status).toBe(EXIT.BAD_INPUT);
    expect(r.ms).toBeLessThan(10_000);
    expect(r.stderr).toContain('/proc/nope');
  });

  test('a JSON file as --database, a missing --dataset, an empty --names list and 2026-02-30 are refused (exit 2)', async () => {
    const dir = tempDir();
    const json = path.join(dir, 'x.json');
    writeFileSync(json, '{"not":"a database"}');
    const a = await bqx(['audit', '--database', json]);
    expect(a.status).toBe(EXIT.BAD_INPUT);
    expect(a.stderr).toContain('not a DuckDB database');
    const w = await freshWarehouse();
    const b = await bqx(['audit', '--database', w.database, '--dataset', 'no_such_ds']);
    expect(b.status).toBe(EXIT.BAD_INPUT);
    expect(b.stderr).toContain('dataset no_such_ds does not exist');
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '\n# nothing\n');
    const c = await bqx(['audit', '--names', empty, '--fail-on-violation']);
    expect(c.status).toBe(EXIT.BAD_INPUT);
    const d = await bqx(['plan', '--database', w.database, '--out', path.join(dir, 'p.json'), '--grace-start', '2026-02-30']);
    expect(d.status).toBe(EXIT.BAD_INPUT);
    expect(d.stderr).toContain('--grace-start 2026-02-30 is not a date');
  });

  test('audit opens the warehouse read-only: it works on a file this user cannot write, and does not change it', async () => {
    const w = await freshWarehouse();
    const ownPlan = path.join(w.dir, 'plan.json');
    copyFileSync(planFile, ownPlan);
    chmodSync(w.database, 0o444);
    chmodSync(w.dir, 0o555);
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    try {
      const before = readFileSync(w.database);
      const r = await bqx(['audit', '--database', w.database, '--json'], { ...asNobody, cwd: '/tmp' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(EXIT.OK);
      expect(JSON.parse(r.stdout).summary.tables).toBeGreaterThan(400);
      expect(readFileSync(w.database).equals(before)).toBe(true);
      // A verb that must write says so, with the right hint (not "not a DuckDB database").
      const reports = `/tmp/bqx-nowhere-${Date.now()}`;
      const apply = await bqx(['apply', ownPlan, '--database', w.database, '--approve', plan.planHash, '--reports-dir', reports, '--metrics-file', `${reports}/m.prom`], { ...asNobody, cwd: '/tmp' });
      expect(apply.status).toBe(EXIT.UNAVAILABLE);
      expect(apply.stderr).toMatch(/permission/i);
    } finally {
      chmodSync(w.dir, 0o755);
      chmodSync(w.database, 0o644);
    }
  });
});
