import { readFileSync } from 'fs';
import { BqxError } from '../errors';
import { isBigQueryTableName, isColumnName, isProjectId, isTableName } from '../identifiers';
import { computePlanHash } from './hash';
import { isActionable, PLAN_FORMAT, planSchema, type Plan } from './schema';

function bad(source: string, message: string, hint = 'regenerate the plan with `bqx plan --out FILE` and review it again'): BqxError {
  return new BqxError('PLAN_INVALID', `plan ${source}: ${message}`, hint);
}

/**
 * Every identifier that can reach SQL must be a plain identifier: the names an operation changes,
 * its views, consolidation columns, partitioning and clustering, the project and dataset. Names
 * the plan only keeps or leaves for review never reach SQL and need only be names BigQuery accepts.
 */
function checkIdentifiers(plan: Plan, source: string): void {
  const hostile = 'the plan was edited or generated from a hostile catalogue: regenerate it and review';
  if (!isProjectId(plan.project)) throw bad(source, `project ${JSON.stringify(plan.project)} is not a valid project id`, hostile);
  const tables = new Set<string>([plan.dataset]);
  const untouched = new Set<string>();
  for (const op of plan.operations) {
    if (!isActionable(op.action)) {
      op.sources.forEach((s) => untouched.add(s));
      continue;
    }
    op.sources.forEach((s) => tables.add(s));
    if (op.target) tables.add(op.target);
    op.consolidation?.windows.forEach((w) => [w.source, ...w.copies].forEach((s) => tables.add(s)));
  }
  const views = [...plan.views, ...plan.operations.flatMap((o) => (o.view && isActionable(o.action) ? [o.view] : []))];
  views.forEach((v) => (tables.add(v.name), tables.add(v.target)));
  for (const t of tables) {
    if (!isTableName(t)) throw bad(source, `${JSON.stringify(t)} is not a valid identifier (letters, digits and "_" only)`, hostile);
  }
  for (const t of untouched) {
    if (!isBigQueryTableName(t)) throw bad(source, `${JSON.stringify(String(t).slice(0, 80))} is not a table name BigQuery accepts`, hostile);
  }
  const columns = new Set<string>();
  for (const op of plan.operations) {
    const c = op.consolidation;
    if (!c) continue;
    columns.add(c.key);
    if (c.partitionBy !== null) columns.add(c.partitionBy);
    c.clusterBy.forEach((x) => columns.add(x));
    c.windows.forEach((w) => columns.add(w.presenceColumn));
    c.columns.forEach((col) => (columns.add(col.name), col.from.forEach((f) => columns.add(f.column))));
  }
  views.forEach((v) => {
    v.columns.forEach((c) => (columns.add(c.name), columns.add(c.column)));
    if (v.filter !== null) columns.add(v.filter);
  });
  for (const c of columns) {
    if (!isColumnName(c)) throw bad(source, `${JSON.stringify(c)} is not a valid column name`, 'the plan was edited: regenerate it and review');
  }
}

function checkStructure(plan: Plan, source: string): void {
  const ids = new Set<string>();
  const byId = new Map(plan.operations.map((o) => [o.id, o]));
  const seqs = new Set<number>();
  const sourceOwner = new Map<string, string>();
  for (const op of plan.operations) {
    if (ids.has(op.id)) throw bad(source, `operation id ${op.id} appears twice`);
    ids.add(op.id);
    if (seqs.has(op.seq)) throw bad(source, `seq ${op.seq} appears twice`);
    seqs.add(op.seq);
    for (const s of op.sources) {
      const other = sourceOwner.get(s);
      if (other) throw bad(source, `table ${s} is a source of two operations (${other}, ${op.id}); every table gets exactly one action`);
      sourceOwner.set(s, op.id);
    }
    const needsTarget = isActionable(op.action);
    if (needsTarget && !op.target) throw bad(source, `${op.action} ${op.id} has no target`);
    if (!needsTarget && op.target) throw bad(source, `${op.action} ${op.id} must not have a target`);
    if ((op.action === 'RENAME' || op.action === 'DEDUPE' || op.action === 'RETIRE_VIEW') && op.sources.length !== 1) throw bad(source, `${op.action} ${op.id} must have exactly one source`);
    if (op.action === 'RETIRE_VIEW' && (op.view?.name !== op.sources[0] || op.view.target !== op.target)) {
      throw bad(source, `RETIRE_VIEW ${op.id} does not carry the definition of view ${op.sources[0]} (rollback recreates the view from it)`);
    }
    if (op.action === 'DEDUPE' && !op.twin) throw bad(source, `DEDUPE ${op.id} carries no twin fingerprint`);
    if (op.action === 'CONSOLIDATE' && !op.consolidation) throw bad(source, `CONSOLIDATE ${op.id} carries no consolidation spec`);
    for (const s of op.sources) if (!op.sourceState[s]) throw bad(source, `${op.id} has no recorded state for source ${s}`);
  }
  for (const op of plan.operations) for (const a of op.after ?? []) if (!ids.has(a)) throw bad(source, `${op.id} waits for unknown operation ${a}`);
  if (sourceOwner.size !== plan.tableCount) {
    throw bad(source, `covers ${sourceOwner.size} tables but records a catalogue of ${plan.tableCount}: truncated or edited`);
  }

  // The resulting namespace: no duplicate table names, no name that is both a table and a view.
  const tables = new Map<string, string>();
  const claim = (n: string, by: string) => {
    const prior = tables.get(n);
    if (prior && prior !== by) throw bad(source, `collision: ${n} would be produced by ${prior} and ${by}`);
    tables.set(n, by);
  };
  for (const op of plan.operations) {
    if (op.action === 'KEEP' || op.action === 'REVIEW') op.sources.forEach((s) => claim(s, op.id));
    // A retired view's target is the table readers use instead; the retirement produces no name.
    else if (op.action !== 'DEDUPE' && op.action !== 'RETIRE_VIEW') claim(op.target as string, op.id);
  }
  const views = new Set<string>();
  for (const v of plan.views) {
    if (views.has(v.name)) throw bad(source, `two compatibility views named ${v.name}`);
    views.add(v.name);
    if (tables.has(v.name)) throw bad(source, `${v.name} would be both a table and a view`);
    const owner = byId.get(v.operationId);
    if (!owner) throw bad(source, `view ${v.name} belongs to unknown operation ${v.operationId}`);
    if (v.target !== owner.target) throw bad(source, `view ${v.name} points at ${v.target}, but its operation ${owner.id} produces ${owner.target ?? 'nothing'}`);
  }

  // Rename chains and cycles are refused by the planner; a plan that still has one was edited.
  const renameTargets = new Map(plan.operations.filter((o) => o.action === 'RENAME').map((o) => [o.sources[0], o.target as string]));
  for (const start of renameTargets.keys()) {
    const seen = new Set<string>([start]);
    let cur = renameTargets.get(start);
    while (cur && renameTargets.has(cur)) {
      if (seen.has(cur)) throw bad(source, `rename cycle through ${[...seen].join(' -> ')}`);
      seen.add(cur);
      cur = renameTargets.get(cur);
    }
    if (seen.size > 1) throw bad(source, `rename chain ${[...seen, cur].join(' -> ')} (a name would be both renamed and reused)`);
  }
}

/** Plans frozen whole by `freezePlan`: their content cannot change, so one validation of each holds for good. */
const frozenPlans = new WeakSet<object>();
/** A frozen plan's validated (and frozen) form. */
const validatedForms = new WeakMap<object, Plan>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/**
 * Freezes a plan whole (every nested object and array): a process that hands the same plan to
 * several steps (the main job: readiness, paper run, apply, verify, reconcile) then validates it
 * once, not once per step (a full-catalogue plan's schema check and hash cost ~0.3 s each).
 */
export function freezePlan<T extends object>(plan: T): T {
  deepFreeze(plan);
  frozenPlans.add(plan);
  return plan;
}

/**
 * Validates an already-parsed plan: schema, integrity (plan hash), identifiers and structure. A
 * plan frozen by `freezePlan` is validated once: later calls return the same (frozen) result.
 */
export function validatePlan(value: unknown, source: string): Plan {
  const known = value !== null && typeof value === 'object' ? validatedForms.get(value) : undefined;
  if (known) return known;
  const plan = validateOnce(value, source);
  if (value !== null && typeof value === 'object' && frozenPlans.has(value)) {
    validatedForms.set(value, freezePlan(plan));
    validatedForms.set(plan, plan);
  }
  return plan;
}

function validateOnce(value: unknown, source: string): Plan {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(source, 'is not a JSON object');
  const format = (value as Record<string, unknown>).format;
  if (format !== PLAN_FORMAT) throw bad(source, `has format ${JSON.stringify(format)}, expected ${PLAN_FORMAT}`);
  const parsed = planSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
    throw bad(source, `does not match the plan schema (${first.join('; ')})`);
  }
  const plan: Plan = parsed.data;
  const expected = computePlanHash(plan);
  if (expected !== plan.planHash) {
    throw bad(source, `integrity check failed: content hash ${expected.slice(0, 12)}… ≠ recorded planHash ${plan.planHash.slice(0, 12)}… (the file was edited or truncated)`);
  }
  checkIdentifiers(plan, source);
  checkStructure(plan, source);
  return plan;
}

export function loadPlanFile(file: string): Plan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BqxError('PLAN_UNREADABLE', `cannot read plan ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'pass the path of a plan written by `bqx plan --out FILE`');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw bad(file, `is not valid JSON (${(e as Error).message}); a truncated file looks like this`);
  }
  return validatePlan(value, file);
}
