/**
 * The code scan: which of the team's scripts write, read or discover which feature-dataset tables,
 * judged against M008 and the plan. Pure: file texts, the policy, the catalogue's names and the plan
 * in; the report out (app/scan.ts reads the files).
 */
import { namesAfterPlan } from '../extraction/discovery';
import { judgeName } from '../naming/grammar';
import type { Plan } from '../plan/types';
import type { Policy } from '../policy';
import { findReferences, type Direction, type RawReference } from './references';
import { literalValues, patternRegex, resolveTemplate, type NameSpace } from './resolve';
import { bindingsOf, type Bindings, type SourceKind } from './templates';
import {
  SCAN_CODES,
  SCAN_FORMAT,
  SCRIPT_CATEGORIES,
  SCRIPT_STATUSES,
  type CodeScan,
  type RequiredScript,
  type ScanCode,
  type ScanFinding,
  type ScanReference,
  type ScannedScript,
  type ScanSeverity,
  type ScriptCategory,
  type ScriptStatus,
} from './types';

export interface SourceFile {
  /** Relative to the scanned root, `/`-separated. */
  readonly path: string;
  readonly text: string;
}

export interface ScanInput {
  readonly root: string;
  readonly files: readonly SourceFile[];
  readonly policy: Policy;
  /** The feature dataset(s) a reference must name (or imply) to count. */
  readonly featureDatasets: readonly string[];
  /** Table names of the catalogue before the plan. */
  readonly catalogue: readonly string[];
  readonly plan: Plan | null;
}

export const SEVERITY: Readonly<Record<ScanCode, ScanSeverity>> = {
  WRITES_RETIRED_NAME: 'P1',
  DISCOVERY_READS_VIEWS: 'P1',
  WRITES_NONCOMPLIANT: 'P2',
  READS_RETIRED_NAME: 'P2',
  READS_UNKNOWN_NAME: 'P3',
  OK: 'none',
};

/** The kind of a file by its name, or null when the scan does not read it. */
export function sourceKind(path: string): SourceKind | null {
  const base = path.split('/').pop() ?? path;
  if (/\.py$/.test(base)) return 'python';
  if (/\.(sh|bash)$/.test(base)) return 'shell';
  if (/\.sql$/.test(base)) return 'sql';
  if (/^Dockerfile(\.|$)|\.dockerfile$/i.test(base)) return 'dockerfile';
  if (/^cloudbuild.*\.ya?ml$/i.test(base)) return 'cloudbuild';
  return null;
}

const CATEGORY_RULES: readonly [ScriptCategory, RegExp][] = [
  ['extraction', /extract|parallel_feature|feature_testing/],
  ['merge', /merge/],
  ['remediation', /renam|remediat|migrat|consolidat|dedup|cleanup|delete_expired|drop_|restructure/],
  ['validation', /validat|verif|check|test|preflight|qa_/],
  ['generation', /generat|create_.*table|regenerat|build_.*feature|_generator|populate/],
  ['analysis', /audit|analy[sz]|assess|inspect|report|gap|inventor|catalog|monitor|estimate/],
  ['orchestration', /deploy|cloud_run|pipeline|orchestr|run_|schedul|batch|launch/],
];

export function categoryOf(path: string, kind: SourceKind): ScriptCategory {
  if (kind === 'dockerfile' || kind === 'cloudbuild') return 'build';
  const base = (path.split('/').pop() ?? path).toLowerCase();
  return CATEGORY_RULES.find(([, re]) => re.test(base))?.[0] ?? 'other';
}

interface Retired {
  readonly action: string;
  readonly target: string | null;
  readonly graceEnd: string | null;
}

interface Basis {
  readonly ns: NameSpace;
  readonly before: ReadonlySet<string>;
  readonly after: ReadonlySet<string>;
  readonly retired: ReadonlyMap<string, Retired>;
  readonly views: ReadonlyMap<string, string | null>;
  readonly basis: string;
}

function basisOf(input: ScanInput): Basis {
  const { policy, plan } = input;
  const before = new Set(plan ? plan.operations.flatMap((o) => o.sources) : input.catalogue);
  input.catalogue.forEach((n) => before.add(n));
  const retired = new Map<string, Retired>();
  const views = new Map<string, string | null>();
  let after: Set<string>;
  let basis: string;
  if (plan) {
    const graceOf = new Map(plan.views.map((v) => [v.name, v.graceEnd]));
    for (const op of plan.operations) {
      if (op.action !== 'RENAME' && op.action !== 'DEDUPE' && op.action !== 'CONSOLIDATE') continue;
      for (const s of op.sources) retired.set(s, { action: op.action, target: op.target, graceEnd: graceOf.get(s) ?? null });
    }
    plan.views.forEach((v) => views.set(v.name, v.graceEnd));
    after = new Set(namesAfterPlan(plan));
    basis = `plan ${plan.planHash.slice(0, 16)}… (${plan.dataset}, grace period ${plan.graceStart} + ${plan.graceDays} days)`;
  } else {
    for (const n of before) {
      const v = judgeName(policy, n);
      if (!v.compliant) {
        retired.set(n, { action: 'a plan fixes it', target: v.canonical, graceEnd: null });
        views.set(n, null);
      }
    }
    after = new Set([...before].filter((n) => !retired.has(n)));
    basis = 'no plan: every non-compliant catalogue name counted as retired, grace-period end unknown (give --plan)';
  }
  const types = [...new Set(policy.families.flatMap((f) => [...f.types, f.name]))];
  const known = [...new Set([...before, ...after, ...views.keys()])].sort();
  const ns: NameSpace = {
    known,
    tokens: { pair: policy.doc.tokens.pair, ccy: policy.doc.tokens.ccy, etf: policy.doc.tokens.etf, variant: policy.doc.variants, type: types },
  };
  return { ns, before, after, retired, views, basis };
}

/** Splits `{P}.{D}.table` / `p:d.table` into dataset and table templates (slots holding a dotted id are inlined). */
function splitRef(ref: string, b: Bindings): { dataset: string | null; table: string } {
  let r = ref;
  for (let i = 0; i < 3; i++) {
    const single = /\{([^{}]*)\}/g;
    let changed = false;
    r = r.replace(single, (m, slot: string) => {
      const vals = b.vars.get(slot);
      if (vals && vals.size === 1) {
        const v = [...vals][0];
        if (/[.:]/.test(v.replace(/\{[^{}]*\}/g, ''))) {
          changed = true;
          return v;
        }
      }
      return m;
    });
    if (!changed) break;
  }
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of r) {
    if (c === '{') depth++;
    if (c === '}') depth--;
    if ((c === '.' || c === ':') && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return { dataset: parts.length >= 2 ? parts[parts.length - 2] : null, table: parts[parts.length - 1] };
}

const FEATURE_PREFIX = (ns: NameSpace) => new RegExp(`^(?:${ns.tokens.type.join('|')})(?:_|\\{)`);

/** Whether the reference is in the feature dataset: its dataset says so, or (none named) its name looks like a feature table. */
function inFeatureDataset(dataset: string | null, table: string, input: ScanInput, b: Bindings, ns: NameSpace): boolean {
  if (dataset !== null) {
    const values = literalValues(dataset, b, ns);
    if (values) return values.some((v) => input.featureDatasets.includes(v));
    if (/feature/i.test(dataset)) return true;
  }
  return FEATURE_PREFIX(ns).test(table);
}

const n = (x: number) => x.toLocaleString('en-US');

function finding(code: ScanCode, name: string, detail: string): ScanFinding {
  return { code, severity: SEVERITY[code], name, detail };
}

function judge(input: ScanInput, cache: Map<string, ReturnType<typeof judgeName>>, name: string) {
  let v = cache.get(name);
  if (!v) {
    v = judgeName(input.policy, name);
    cache.set(name, v);
  }
  return v;
}

function findingsOf(raw: RawReference, names: readonly string[], template: string, basis: Basis, input: ScanInput, cache: Map<string, ReturnType<typeof judgeName>>): ScanFinding[] {
  const out: ScanFinding[] = [];
  if (raw.direction === 'write') {
    for (const name of names) {
      const r = basis.retired.get(name);
      if (r) {
        out.push(finding('WRITES_RETIRED_NAME', name, `${raw.via} writes ${name}, which the plan ${r.action === 'a plan fixes it' ? 'would retire' : `retires (${r.action}${r.target ? ` → ${r.target}` : ''})`}: after the apply it fights the compatibility view of that name, or recreates the violation${r.target ? `; write ${r.target} instead` : ''}`));
        continue;
      }
      const v = judge(input, cache, name);
      if (!v.compliant) out.push(finding('WRITES_NONCOMPLIANT', name, `${raw.via} writes ${name}: ${v.violations.join(', ')}${v.canonical ? `; the M008 name is ${v.canonical}` : v.canonicalTemplate ? `; the M008 name is ${v.canonicalTemplate}` : ''}`));
    }
  } else if (raw.direction === 'read') {
    for (const name of names) {
      const r = basis.retired.get(name);
      if (r) {
        const view = basis.views.has(name);
        out.push(
          finding(
            'READS_RETIRED_NAME',
            name,
            view
              ? `reads ${name} through its compatibility view until ${r.graceEnd ?? 'the grace period ends (date unknown without a plan)'}${r.graceEnd ? ' (grace-period end); it breaks when the view is dropped' : ''}${r.target ? `: read ${r.target}` : ''}`
              : `reads ${name}, which the plan removes (${r.action}) without a view: it breaks at the apply${r.target ? `; read ${r.target}` : ''}`,
          ),
        );
      } else if (!basis.before.has(name) && !basis.after.has(name)) {
        out.push(finding('READS_UNKNOWN_NAME', name, `reads ${name}, which exists neither before nor after the plan: already broken`));
      }
    }
  }
  if (raw.direction === 'discover' && !raw.baseTablesOnly) {
    const views = names.filter((x) => basis.views.has(x));
    if (views.length) {
      const grace = [...new Set(views.map((x) => basis.views.get(x)).filter(Boolean))].sort();
      out.push(
        finding(
          'DISCOVERY_READS_VIEWS',
          template,
          `${raw.via} lists views too: during the grace period${grace.length ? ` (until ${grace[0]})` : ''} its name filter also matches ${n(views.length)} compatibility view(s) (e.g. ${views.slice(0, 3).join(', ')}), so each renamed feature is read twice; filter table_type = 'BASE TABLE' or read the per-pair manifest`,
        ),
      );
    }
  }
  if (!out.length && names.length) out.push(finding('OK', template, `${n(names.length)} name(s), ${raw.direction === 'write' ? 'all M008-compliant and kept by the plan' : raw.direction === 'read' ? 'all existing after the plan' : 'base tables only or no view matched'}`));
  return out;
}

function discoveredNames(raw: RawReference, b: Bindings, basis: Basis): string[] {
  const regexes = (raw.patterns ?? []).map((p) => patternRegex(p, b, basis.ns));
  const pool = basis.ns.known;
  if (!regexes.length) return [...pool];
  return pool.filter((x) => regexes.some((re) => re.test(x)));
}

function scanFile(file: SourceFile, kind: SourceKind, basis: Basis, input: ScanInput, cache: Map<string, ReturnType<typeof judgeName>>): ScanReference[] {
  const b = bindingsOf(kind, file.text);
  const ctes = new Set([...file.text.matchAll(/\b(\w+)\s+AS\s*\(/gi)].map((m) => m[1]));
  const refs: ScanReference[] = [];
  for (const raw of findReferences(kind, file.text)) {
    const { dataset, table } = splitRef(raw.ref, b);
    if (raw.direction === 'discover') {
      // The last part of a discovery's reference is the dataset it lists: it must be the feature
      // dataset, or (unresolved) be named so or filter on feature names.
      const values = table ? literalValues(table, b, basis.ns) : null;
      if (values ? !values.some((v) => input.featureDatasets.includes(v)) && !/feature/i.test(table) : !/feature/i.test(table) && !raw.patterns?.length) continue;
      const names = discoveredNames(raw, b, basis);
      const template = raw.patterns?.length ? raw.patterns.join(' | ') : '*';
      refs.push({ line: raw.line, direction: 'discover', template, names, resolvedBy: 'catalogue', via: raw.via, findings: findingsOf(raw, names, template, basis, input, cache) });
      continue;
    }
    if (!table || !inFeatureDataset(dataset, table, input, b, basis.ns)) continue;
    // A bare name that is a CTE of the file (`WITH base AS (…) … FROM base`) is no table.
    if (dataset === null && ctes.has(table)) continue;
    const res = resolveTemplate(table, b, basis.ns);
    if (res.by === 'unresolved' && dataset === null) continue;
    if (res.names.length === 0 && res.by === 'catalogue' && dataset === null) continue;
    refs.push({ line: raw.line, direction: raw.direction, template: table, names: res.names, resolvedBy: res.by, via: raw.via, findings: findingsOf(raw, res.names, table, basis, input, cache) });
  }
  return refs;
}

const RANK: Record<ScanSeverity, number> = { P0: 0, P1: 1, P2: 2, P3: 3, none: 4 };

function statusOf(findings: readonly ScanFinding[]): ScriptStatus {
  const worst = findings.reduce((w, f) => Math.min(w, RANK[f.severity]), 4);
  return worst <= 1 ? 'BLOCKED' : worst <= 3 ? 'PARTIAL' : 'READY';
}

/** What a Dockerfile copies in (COPY/ADD sources), or the Dockerfiles a Cloud Build file builds. */
function shipsOf(file: SourceFile, kind: SourceKind, paths: readonly string[]): string[] {
  const dir = file.path.includes('/') ? file.path.slice(0, file.path.lastIndexOf('/') + 1) : '';
  const rel = (p: string) => (dir + p.replace(/^\.\//, '')).replace(/\/$/, '');
  if (kind === 'dockerfile') {
    const sources = [...file.text.matchAll(/^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*(.+)$/gim)].flatMap((m) => {
      const words = m[1].trim().split(/\s+/);
      return words.slice(0, -1).filter((w) => !w.startsWith('--'));
    });
    return paths.filter((p) => p !== file.path && sources.some((s) => s !== '.' && (p === rel(s) || p.startsWith(`${rel(s)}/`))));
  }
  if (kind === 'cloudbuild') {
    const docker = [...file.text.matchAll(/(?:-f|--file)['"]?\s*[,\n]?\s*-?\s*['"]?([\w./-]*Dockerfile[\w./-]*)/g)].map((m) => m[1]);
    const all = [...file.text.matchAll(/['"\s]([\w./-]*Dockerfile[\w.-]*)['"\s]/g)].map((m) => m[1]);
    const named = docker.length ? docker : all;
    return paths.filter((p) => named.some((d) => p === rel(d) || p === d.replace(/^\.\//, '')));
  }
  return [];
}

const REQUIRED: readonly { id: string; need: string; path: RegExp; content?: RegExp; bqx: string }[] = [
  { id: 'cov-renames', need: 'COV renames (1,596 tables)', path: /cov.*renam|renam.*cov/i, bqx: 'bqx apply (RENAME and DEDUPE of the plan)' },
  { id: 'lag-consolidation', need: 'LAG consolidation (224 → 56)', path: /lag.*consolidat|consolidat.*lag/i, bqx: 'bqx apply (CONSOLIDATE of the plan)' },
  { id: 'var-renames', need: 'VAR renames (7)', path: /var.*renam|renam.*var|var_rename/i, bqx: 'bqx apply (DEDUPE of the legacy var_corr twins)' },
  { id: 'primary-violations', need: 'primary violations (364: LAG 224 + REGIME 112 + TMP 28)', path: /primary_violation|table_remediation/i, bqx: 'bqx apply (RENAME / CONSOLIDATE of lag, regime, tmp)' },
  { id: 'view-creation', need: 'compatibility views for the 30-day grace period', path: /view|grace|expired/i, content: /CREATE\s+(?:OR\s+REPLACE\s+)?VIEW/i, bqx: 'bqx apply (a view after each operation) and the views stack' },
  { id: 'validation', need: 'validation of row counts and schemas before/after', path: /validat.*(renam|consolidat|row|count|m008|migrat|lag)|row_count/i, bqx: 'bqx apply (validation after every batch) and bqx verify' },
];

function requiredScripts(files: readonly SourceFile[]): RequiredScript[] {
  return REQUIRED.map((r) => {
    const evidence: string[] = [];
    for (const f of files) {
      if (sourceKind(f.path) !== 'python' && sourceKind(f.path) !== 'shell' && sourceKind(f.path) !== 'sql') continue;
      const base = f.path.split('/').pop() ?? f.path;
      const byContent = r.content ? r.content.exec(f.text) : null;
      if (r.content ? byContent && r.path.test(base) : r.path.test(base)) evidence.push(`${f.path}:${byContent ? f.text.slice(0, byContent.index).split('\n').length : 1}`);
    }
    return { id: r.id, need: r.need, status: evidence.length ? 'PRESENT' : 'MISSING', evidence, bqx: r.bqx };
  });
}

const isTestFile = (p: string) => /(^|\/)tests?\/|(^|\/)test_[^/]*$|_test\.[a-z]+$/.test(p);

export function scanCode(input: ScanInput): CodeScan {
  const basis = basisOf(input);
  const cache = new Map<string, ReturnType<typeof judgeName>>();
  const files = [...input.files].filter((f) => sourceKind(f.path)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const paths = files.map((f) => f.path);
  const tests = files.filter((f) => isTestFile(f.path));
  const first: ScannedScript[] = files.map((f) => {
    const kind = sourceKind(f.path) as SourceKind;
    const references = scanFile(f, kind, basis, input, cache);
    const all = references.flatMap((r) => r.findings.map((x) => ({ r, x })));
    const evidence = all.filter(({ x }) => x.code !== 'OK').map(({ r, x }) => `${f.path}:${r.line} ${x.code} ${x.name}`);
    const module = (f.path.split('/').pop() ?? '').replace(/\.\w+$/, '');
    const tested = !isTestFile(f.path) && module.length > 2 && tests.some((t) => t.text.includes(module));
    return { path: f.path, kind, category: categoryOf(f.path, kind), status: statusOf(all.map((a) => a.x)), references, evidence, tested, ships: shipsOf(f, kind, paths) };
  });
  // A build inherits the worst status of what it ships: the image must be rebuilt once they change.
  const byPath = new Map(first.map((s) => [s.path, s]));
  const worstShipped = (s: ScannedScript, depth = 0): ScriptStatus => {
    const own = s.status;
    if (depth > 3 || !s.ships.length) return own;
    const st = s.ships.map((p) => byPath.get(p)).filter((x): x is ScannedScript => Boolean(x)).map((x) => worstShipped(x, depth + 1));
    return [own, ...st].includes('BLOCKED') ? 'BLOCKED' : [own, ...st].includes('PARTIAL') ? 'PARTIAL' : own;
  };
  const scripts = first.map((s) => {
    if (!s.ships.length) return s;
    const status = worstShipped(s);
    const changed = s.ships.filter((p) => byPath.get(p)?.status === 'BLOCKED' || byPath.get(p)?.status === 'PARTIAL');
    return { ...s, status, evidence: [...s.evidence, ...changed.map((p) => `${s.path}: ships ${p} (${byPath.get(p)?.status}): rebuild and redeploy after it changes`)] };
  });

  const count = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  const findings = count(SCAN_CODES);
  const referencesByCode = count(SCAN_CODES);
  const references = count<Direction>(['write', 'read', 'discover']);
  const byStatus = count(SCRIPT_STATUSES);
  const byCategory = count(SCRIPT_CATEGORIES);
  let unresolved = 0;
  const breaks: string[] = [];
  for (const s of scripts) {
    byStatus[s.status]++;
    byCategory[s.category]++;
    for (const r of s.references) {
      references[r.direction]++;
      if (r.resolvedBy === 'unresolved') unresolved++;
      for (const code of new Set(r.findings.map((f) => f.code))) referencesByCode[code]++;
      for (const f of r.findings) {
        findings[f.code]++;
        if (f.code === 'READS_RETIRED_NAME') {
          const g = basis.retired.get(f.name)?.graceEnd;
          if (g) breaks.push(g);
        }
      }
    }
  }
  const required = requiredScripts(files);
  byStatus.MISSING += required.filter((r) => r.status === 'MISSING').length;
  const graceEnd = input.plan?.views[0]?.graceEnd ?? null;
  return {
    format: SCAN_FORMAT,
    root: input.root,
    featureDatasets: input.featureDatasets,
    plan: input.plan ? { planHash: input.plan.planHash, graceEnd } : null,
    scripts,
    summary: {
      scripts: scripts.length,
      withReferences: scripts.filter((s) => s.references.length).length,
      references,
      findings,
      referencesByCode,
      unresolved,
      byStatus,
      byCategory,
      earliestBreak: breaks.sort()[0] ?? null,
      required,
      basis: basis.basis,
    },
  };
}
