import { phase4cJobLabels } from '../config/job-labels';
import { actionsNeeding, grantedActions, PERMISSION_SCOPES, permissionsFor, verbActions, type PermissionScope, type RunnerActionKey, type RunnerVerb } from '../config/runner-permissions';
import { openEngine } from '../engines';
import type { BigQueryEngineOptions, Engine, EngineOptions, RequiredPermission } from '../core/ports/engine';

/**
 * The engine options as the app opens them: every BigQuery job the engine submits carries the
 * Phase 4C label (config/job-labels.ts), which the pipeline stack's budget filters on. This is the
 * one place the app opens an engine (withEngine and readiness).
 */
export function appEngineOptions(options: BigQueryEngineOptions): BigQueryEngineOptions;
export function appEngineOptions(options: EngineOptions): EngineOptions;
export function appEngineOptions(options: EngineOptions): EngineOptions {
  if (options.engine !== 'bigquery') return options;
  return { ...options, jobLabels: { ...phase4cJobLabels(), ...options.jobLabels } };
}

/** Opens the engine the options name, with the app's job labels. */
export function openAppEngine(options: EngineOptions): Promise<Engine> {
  return openEngine(appEngineOptions(options));
}

/**
 * Opens the engine the options name, runs `f` with it and closes it, whatever happens. `meanwhile`
 * runs while the engine opens (DuckDB reads its file on a thread of its own, ~1 s at 7,000 tables):
 * work that needs no engine, its result handed to `f`.
 */
export async function withEngine<T, M = undefined>(options: EngineOptions, f: (engine: Engine, prepared: M) => Promise<T>, meanwhile?: () => M): Promise<T> {
  const opening = openAppEngine(options);
  let prepared: M;
  try {
    prepared = meanwhile ? meanwhile() : (undefined as M);
  } catch (e) {
    await opening.then((engine) => engine.close()).catch(() => undefined);
    throw e;
  }
  const engine = await opening;
  let result: T;
  try {
    result = await f(engine, prepared);
  } catch (e) {
    // The verb's own error says what happened; closing (a last ledger flush) may fail for the same
    // cause (a full disk) and must not replace it.
    await engine.close().catch(() => undefined);
    throw e;
  }
  await engine.close();
  return result;
}

/** `engine:where` as reports and messages name a warehouse. */
export function describeWarehouse(o: EngineOptions): string {
  return `${o.engine}:${o.engine === 'duckdb' ? o.database : o.project}/${o.dataset}`;
}

/** The granted steps and actions of the runner's table that need `permission` on `scope` (for messages). */
export function stepsNeeding(permission: string, scope: PermissionScope): RunnerActionKey[] {
  const granted = new Set(grantedActions());
  return actionsNeeding(permission, scope).filter((a) => granted.has(a));
}

/**
 * The permissions of the runner's table (config/runner-permissions.ts) a verb needs, scope by
 * scope, with the steps and actions needing each: what the verb asks before its first change
 * (apply: the whole table, which readiness asks of the runner identity too). Core stays
 * config-free: it gets this as data.
 */
export function runnerRequiredPermissions(verb: RunnerVerb = 'apply'): RequiredPermission[] {
  const actions = verbActions(verb);
  return PERMISSION_SCOPES.flatMap((scope) =>
    permissionsFor(scope, actions).map((permission) => ({ scope, permission, neededBy: stepsNeeding(permission, scope).filter((a) => actions.includes(a)) })),
  );
}
