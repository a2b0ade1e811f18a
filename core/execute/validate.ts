import { valueOrError } from '../errors';
import { tableStateHash, type TableInfo } from '../catalogue';
import type { CompatibilityView, PlanOperation } from '../plan/types';
import type { Engine, ReadRequest, ReadResults } from '../ports/engine';
import { consolidatedTables, sameColumns } from './steps';

/** One scored check. `kind` decides whether a failure halts on its own. */
export interface ValidationCheck {
  readonly operationId: string;
  readonly check: string;
  readonly ok: boolean;
  readonly kind: 'rows' | 'schema' | 'content' | 'view' | 'coverage';
  readonly detail: string;
}

const check = (operationId: string, name: string, kind: ValidationCheck['kind'], ok: boolean, detail: string): ValidationCheck => ({
  operationId,
  check: name,
  ok,
  kind,
  detail,
});


/**
 * A consolidation before its sources are dropped: coverage of the join key, per-column equality
 * of every mapped column (restricted to the window's rows), and per-column null counts.
 */
export async function validateConsolidation(engine: Engine, op: PlanOperation): Promise<ValidationCheck[]> {
  const spec = op.consolidation!;
  const target = op.target as string;
  const all = consolidatedTables(op);
  // The reads are independent: an engine that runs many at once (BigQuery) gets them together, so
  // the operation waits for the slowest read instead of their sum; a serial one reads them in turn.
  // The checks come out in the same order either way.
  const together = engine.maxParallelOperations > 1;
  const gather = async <T>(fs: (() => Promise<T>)[]): Promise<T[]> => {
    if (together) return Promise.all(fs.map((f) => f()));
    const out: T[] = [];
    for (const f of fs) out.push(await f());
    return out;
  };
  const coverage = async (): Promise<ValidationCheck[]> => {
    const cov = await valueOrError(() => engine.coverage(target, all, spec.key));
    return [
      cov instanceof Error
        ? check(op.id, 'coverage', 'coverage', false, cov.message)
        : check(op.id, 'coverage', 'coverage', cov.missing === 0 && cov.extra === 0 && cov.targetKeys === cov.unionKeys, `target keys ${cov.targetKeys}, union ${cov.unionKeys}, missing ${cov.missing}, extra ${cov.extra}`),
    ];
  };
  const perTable = spec.windows.flatMap((w) => {
    const mapping = spec.columns.flatMap((c) => c.from.filter((f) => f.window === w.window).map((f) => ({ targetColumn: c.name, sourceColumn: f.column })));
    // The target's null counts within the window are the same read for the source and its copies: read once.
    let targetCounts: Promise<Record<string, number>> | null = null;
    const targetNullCounts = () => (targetCounts ??= engine.nullCounts(target, mapping.map((m) => m.targetColumn), w.presenceColumn));
    return [w.source, ...w.copies].map((table) => async (): Promise<ValidationCheck[]> => {
      const [mism, counts] = await gather<unknown>([
        () => valueOrError(() => engine.mismatchedRows(target, table, spec.key, mapping, w.presenceColumn)),
        () => valueOrError(() => gather([targetNullCounts, () => engine.nullCounts(table, mapping.map((m) => m.sourceColumn))])),
      ]);
      const out: ValidationCheck[] = [];
      out.push(
        mism instanceof Error
          ? check(op.id, `equality ${table}`, 'content', false, mism.message)
          : check(op.id, `equality ${table}`, 'content', mism === 0, `${mism} rows of ${table} differ from ${target} on ${mapping.length} columns`),
      );
      if (counts instanceof Error) {
        out.push(check(op.id, `null counts ${table}`, 'content', false, counts.message));
      } else {
        const [t, s] = counts as Record<string, number>[];
        const diff = mapping.filter((m) => t[m.targetColumn] !== s[m.sourceColumn]).map((m) => `${m.sourceColumn} ${s[m.sourceColumn]}≠${t[m.targetColumn]}`);
        out.push(check(op.id, `null counts ${table}`, 'content', diff.length === 0, diff.length ? diff.slice(0, 5).join(', ') : `${mapping.length} columns equal`));
      }
      return out;
    });
  });
  return (await gather([coverage, ...perTable])).flat();
}

/** A compatibility view resolves, with exactly the old table's columns, rows and schema. */
export async function validateView(engine: Engine, op: PlanOperation, v: CompatibilityView, before: TableInfo | undefined): Promise<ValidationCheck[]> {
  const p = await valueOrError(() => engine.probe(v.name));
  if (p instanceof Error) return [check(op.id, `view ${v.name} resolves`, 'view', false, p.message)];
  const names = p.columns.map((c) => c.name);
  const want = v.columns.map((c) => c.name);
  const out = [
    check(op.id, `view ${v.name} columns`, 'schema', names.join(',') === want.join(','), names.join(',') === want.join(',') ? `${names.length} columns` : `has ${names.join(',')}; expected ${want.join(',')}`),
  ];
  out.push(...parity(op, v.name, `view ${v.name}`, { columns: p.columns, rowCount: p.rows }, before));
  return out;
}

/**
 * Row-count and schema parity of what now answers under (or for) `oldName` against the source as
 * planned. With the pre-apply table at hand each is checked on its own; otherwise against the
 * plan's recorded state hash, which covers both.
 */
function parity(op: PlanOperation, oldName: string, label: string, now: Pick<TableInfo, 'columns' | 'rowCount'>, before: TableInfo | undefined): ValidationCheck[] {
  if (before) {
    return [
      check(op.id, `${label} row count`, 'rows', now.rowCount === before.rowCount, `${now.rowCount} rows, was ${before.rowCount}`),
      check(op.id, `${label} schema`, 'schema', sameColumns(now.columns, before.columns), sameColumns(now.columns, before.columns) ? 'unchanged' : `now ${now.columns.map((c) => `${c.name}:${c.type}`).join(',')}`),
    ];
  }
  const planned = op.sourceState[oldName];
  if (!planned) return [];
  const ok = tableStateHash({ name: oldName, kind: 'TABLE', columns: now.columns, rowCount: now.rowCount }) === planned;
  return [check(op.id, `${label} rows+schema`, 'rows', ok, ok ? `${now.rowCount} rows, ${now.columns.length} columns as planned` : `${now.rowCount} rows, ${now.columns.length} columns differ from the planned state`)];
}

/** The checks of one applied operation; `before` holds sources as this run found them (if it did). */
export async function validateOperation(
  engine: Engine,
  op: PlanOperation,
  views: readonly CompatibilityView[],
  before: ReadonlyMap<string, TableInfo>,
): Promise<ValidationCheck[]> {
  const out: ValidationCheck[] = [];
  const target = op.target as string;
  const t = await valueOrError(() => engine.getTable(target));
  if (t instanceof Error || !t || t.kind !== 'TABLE') {
    return [check(op.id, `target ${target} exists`, 'rows', false, t instanceof Error ? t.message : `${target} is ${t ? `a ${t.kind}` : 'missing'}`)];
  }
  if (op.action === 'RETIRE_VIEW') {
    const view = op.sources[0];
    const now = await valueOrError(() => engine.getTable(view));
    const gone = !(now instanceof Error) && !now;
    return [check(op.id, `view ${view} dropped`, 'schema', gone, now instanceof Error ? now.message : gone ? `gone; readers use ${target}` : `still a ${now?.kind}`)];
  }
  if (op.action === 'RENAME') {
    const rows = await valueOrError(() => engine.rowCount(target));
    if (rows instanceof Error) out.push(check(op.id, `${target} row count`, 'rows', false, rows.message));
    else out.push(...parity(op, op.sources[0], target, { columns: t.columns, rowCount: rows }, before.get(op.sources[0])));
  } else if (op.action === 'DEDUPE') {
    const fp = await valueOrError(() => engine.contentFingerprint(target));
    const ok = !(fp instanceof Error) && fp.hash === op.twin?.hash;
    out.push(check(op.id, `twin ${target} content`, 'content', ok, fp instanceof Error ? fp.message : `${fp.rows} rows, ${ok ? 'fingerprint as planned' : 'fingerprint changed'}`));
  } else if (op.action === 'CONSOLIDATE') {
    const names = new Set(t.columns.map((c) => c.name));
    const missing = op.consolidation!.columns.filter((c) => !names.has(c.name)).map((c) => c.name);
    out.push(check(op.id, `${target} columns`, 'schema', missing.length === 0, missing.length ? `missing ${missing.slice(0, 5).join(', ')}` : `${names.size} columns`));
  }
  for (const table of op.action === 'CONSOLIDATE' ? consolidatedTables(op) : op.sources) {
    const now = await valueOrError(() => engine.getTable(table));
    const gone = !(now instanceof Error) && (!now || now.kind !== 'TABLE');
    out.push(check(op.id, `${table} replaced`, 'schema', gone, gone ? 'no longer a table' : 'still a table'));
  }
  for (const v of views) out.push(...(await validateView(engine, op, v, before.get(v.name))));
  return out;
}

export interface BatchScore {
  readonly batch: number;
  readonly checks: number;
  readonly passed: number;
  readonly score: number;
  readonly lostRows: boolean;
  readonly schemaChanged: boolean;
}

export function scoreChecks(batch: number, checks: readonly ValidationCheck[], lostRows: (c: ValidationCheck) => boolean): BatchScore {
  const passed = checks.filter((c) => c.ok).length;
  return {
    batch,
    checks: checks.length,
    passed,
    score: checks.length ? passed / checks.length : 1,
    lostRows: checks.some((c) => !c.ok && lostRows(c)),
    schemaChanged: checks.some((c) => !c.ok && c.kind === 'schema'),
  };
}

/** The reads `validateOperation` makes that an engine can answer in bulk (tables, row counts, fingerprints, view probes). */
export function validationReads(op: PlanOperation, views: readonly CompatibilityView[]): ReadRequest {
  const target = op.target as string;
  return {
    rowCounts: op.action === 'RENAME' ? [target] : [],
    fingerprints: op.action === 'DEDUPE' ? [target] : [],
    probes: views.map((v) => v.name),
    tables: [target, ...(op.action === 'CONSOLIDATE' ? consolidatedTables(op) : op.sources)],
  };
}

export function mergeReads(reads: readonly ReadRequest[]): ReadRequest {
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    rowCounts: uniq(reads.flatMap((r) => r.rowCounts)),
    fingerprints: uniq(reads.flatMap((r) => r.fingerprints)),
    probes: uniq(reads.flatMap((r) => r.probes)),
    tables: uniq(reads.flatMap((r) => r.tables ?? [])),
  };
}

/**
 * The engine with some reads already answered (by `readMany`): a validation that asks for one of
 * them gets that answer (or its error); anything else goes to the engine as before. The checks
 * are the same; only the number of statements that feed them changes.
 */
export function withReads(engine: Engine, results: ReadResults): Engine {
  const answer = <T>(m: ReadonlyMap<string, T | Error>, name: string, read: () => Promise<T>): Promise<T> => {
    const r = m.get(name);
    if (r === undefined) return read();
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  };
  return new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop === 'rowCount') return (n: string) => answer(results.rowCounts, n, () => target.rowCount(n));
      if (prop === 'contentFingerprint') return (n: string) => answer(results.fingerprints, n, () => target.contentFingerprint(n));
      if (prop === 'probe') return (n: string) => answer(results.probes, n, () => target.probe(n));
      if (prop === 'getTable' && results.tables) return (n: string) => answer(results.tables!, n, () => target.getTable(n));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The engine to validate these operations with: prefetched in bulk where it can, itself otherwise. */
export async function prefetched(engine: Engine, reads: readonly ReadRequest[]): Promise<Engine> {
  if (!engine.readMany) return engine;
  const req = mergeReads(reads);
  if (!req.rowCounts.length && !req.fingerprints.length && !req.probes.length && !req.tables?.length) return engine;
  return withReads(engine, await engine.readMany(req));
}
