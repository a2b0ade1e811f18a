/**
 * `bqx scan DIR`: reads a checkout of the team's code and runs core's code scan on it, against the
 * plan (or, without one, the full catalogue the embedded warehouse reproduces).
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import * as path from 'path';
import { BqxError } from '../core/errors';
import { loadPlanFile } from '../core/plan/load';
import type { Plan } from '../core/plan/types';
import { loadPolicy, type Policy } from '../core/policy';
import { scanCode, sourceKind, type SourceFile } from '../core/scan/scan';
import type { CodeScan, ScanCode } from '../core/scan/types';
import { SCAN_CODES } from '../core/scan/types';
import { buildCatalogue, FEATURES_DATASET } from '../warehouse/catalogue';

const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.venv', 'venv', 'dist', 'build', '.mypy_cache', '.pytest_cache']);
/** Larger files are generated or data, not scripts a team writes. */
const MAX_FILE_BYTES = 2_000_000;

/** Every file of `root` the scan reads (Python, shell, SQL, Dockerfiles, Cloud Build files), `/`-separated relative paths. */
export function readSourceTree(root: string): SourceFile[] {
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new BqxError('BAD_OPTION', `scan: ${root} does not exist`, 'pass the directory of a checkout of the team’s repository');
  }
  if (!st.isDirectory()) throw new BqxError('BAD_OPTION', `scan: ${root} is not a directory`, 'pass the directory of a checkout of the team’s repository');
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) walk(full);
        continue;
      }
      if (!entry.isFile()) continue;
      const rel = path.relative(root, full).split(path.sep).join('/');
      if (!sourceKind(rel)) continue;
      if (statSync(full).size > MAX_FILE_BYTES) continue;
      out.push({ path: rel, text: readFileSync(full, 'utf8') });
    }
  };
  walk(root);
  return out;
}

export interface ScanOptions {
  readonly dir: string;
  readonly planFile?: string;
  readonly plan?: Plan | null;
  readonly policyFile?: string;
  readonly policy?: Policy;
}

export function runScan(opts: ScanOptions): CodeScan {
  const policy = opts.policy ?? loadPolicy(opts.policyFile);
  const plan = opts.plan !== undefined ? opts.plan : opts.planFile ? loadPlanFile(opts.planFile) : null;
  const catalogue = plan ? [] : buildCatalogue({ scale: 'full' }).map((t) => t.name);
  const featureDatasets = [...new Set([FEATURES_DATASET, ...(plan ? [plan.dataset] : [])])];
  return scanCode({ root: path.resolve(opts.dir), files: readSourceTree(opts.dir), policy, featureDatasets, catalogue, plan });
}

const n = (x: number) => x.toLocaleString('en-US');

/** The console's summary of a scan: counts per code, then each script with a finding. */
export function formatScan(scan: CodeScan, maxScripts = 40): string {
  const s = scan.summary;
  const L: string[] = [];
  L.push(`Code scan of ${scan.root}: ${n(s.scripts)} files (${n(s.withReferences)} touch the feature dataset), ${n(s.references.write)} writes, ${n(s.references.read)} reads, ${n(s.references.discover)} discoveries; ${n(s.unresolved)} reference(s) unresolved`);
  L.push(`Judged against ${s.basis}`);
  L.push('');
  L.push('code                   references  names');
  for (const c of SCAN_CODES as readonly ScanCode[]) L.push(`${c.padEnd(22)} ${String(s.referencesByCode[c]).padStart(10)}  ${n(s.findings[c])}`);
  L.push('');
  L.push(`Scripts: ${Object.entries(s.byStatus).map(([k, v]) => `${k} ${v}`).join(' · ')}${s.earliestBreak ? ` · first consumer breaks ${s.earliestBreak}` : ''}`);
  L.push('');
  const flagged = scan.scripts.filter((x) => x.status !== 'READY');
  for (const script of flagged.slice(0, maxScripts)) {
    L.push(`${script.status.padEnd(8)} ${script.path} (${script.kind}, ${script.category})`);
    for (const r of script.references) {
      for (const code of new Set(r.findings.map((f) => f.code))) {
        if (code === 'OK') continue;
        const fs = r.findings.filter((f) => f.code === code);
        L.push(`  ${script.path}:${r.line} ${r.direction} ${code} ${fs.length > 1 ? `${n(fs.length)} names, e.g. ${fs[0].name}` : fs[0].name}: ${fs[0].detail.slice(0, 200)}`);
      }
    }
    for (const e of script.evidence.filter((x) => x.includes(' ships '))) L.push(`  ${e}`);
  }
  if (flagged.length > maxScripts) L.push(`… ${flagged.length - maxScripts} more in --json`);
  L.push('');
  L.push('Phase 4C scripts the directive requires:');
  for (const r of s.required) L.push(`  ${r.status.padEnd(8)} ${r.need}${r.evidence.length ? `: ${r.evidence.slice(0, 3).join(', ')}` : ''} (bqx: ${r.bqx})`);
  return `${L.join('\n')}\n`;
}
