/**
 * The permission preflight every verb that touches the warehouse makes before its first change:
 * what the runner must hold (app/ passes the verb's share of config/runner-permissions.ts), asked
 * read-only of the engine (`testPermissions`); engines that cannot ask (DuckDB) are not asked.
 */
import { BqxError } from '../errors';
import { isActionable, type Plan } from '../plan/types';
import { PERMISSION_SCOPES, type Engine, type RequiredPermission } from '../ports/engine';

export const PERMISSION_HINT =
  'grant exactly the permissions of config/runner-permissions.ts (the stacks grant them: deploy the foundation and data stacks), then run again; `bqx readiness --engine bigquery` names every missing one';

/** The table permissions are asked on: the first source of the plan's first actionable operation. */
export function firstActionableSource(plan: Plan): string | undefined {
  return [...plan.operations].sort((a, b) => a.seq - b.seq).find((o) => isActionable(o.action))?.sources[0];
}

/**
 * The permissions the engine's identity lacks (asked read-only, scope by scope), and those it could
 * not ask; null when nothing is required or the engine cannot ask.
 */
export async function permissionGaps(engine: Engine, required: readonly RequiredPermission[] | undefined, table: string | undefined): Promise<{ missing: string[]; untested: string[] } | null> {
  if (!required?.length || !engine.testPermissions) return null;
  const missing: string[] = [];
  const untested: string[] = [];
  for (const scope of PERMISSION_SCOPES) {
    const wanted = required.filter((r) => r.scope === scope);
    if (!wanted.length) continue;
    const t = await engine.testPermissions(scope, wanted.map((r) => r.permission), { table });
    for (const r of wanted) {
      if (t.untested.includes(r.permission)) untested.push(`${r.permission} on ${t.resource}`);
      else if (!t.granted.includes(r.permission)) missing.push(`${r.permission} on ${t.resource} (${scope}; needed by ${r.neededBy.join(', ')})`);
    }
    if (t.untested.length) untested.push(`(${t.resource}: ${t.how})`);
  }
  return { missing, untested };
}


/** Refuses (PERMISSION_MISSING, nothing changed) when the identity lacks one of `required`; returns what could not be asked. */
export async function requirePermissions(engine: Engine, required: readonly RequiredPermission[] | undefined, verb: string, table?: string): Promise<string[]> {
  const gaps = await permissionGaps(engine, required, table);
  if (gaps?.missing.length) throw new BqxError('PERMISSION_MISSING', `the runner lacks ${gaps.missing.length} permission(s) ${verb} needs: ${gaps.missing.join('; ')}`, PERMISSION_HINT, 'REFUSED');
  return gaps?.untested ?? [];
}
