import type { Plan } from '../../../core/plan/types';
import type { Engine } from '../../../core/ports/engine';
import { DEFAULT_USAGE_DAYS, measureUsage, stillReadNearGraceEnd } from '../../retirement';
import type { Findings } from '../findings';

/** A view this close to the end of its grace period (or past it) that is still read is a P1. */
export const NEAR_GRACE_END_DAYS = 7;

/**
 * Who still reads the plan's compatibility views (`bqx usage`): a view near the end of its grace
 * period that is still read would break its reader when it is retired or drops out of the stacks.
 */
export async function checkViewReaders(findings: Findings, engine: Engine, plan: Plan | null, now: Date): Promise<void> {
  await findings.run({ id: 'phases.view-readers', section: 'phases', title: 'compatibility views near the end of their grace period that are still read' }, async (scope) => {
    if (!plan || plan.retirement || plan.views.length === 0 || !engine.jobHistory) {
      scope.skip();
      return `not run: ${!plan ? 'no plan' : !engine.jobHistory ? `the ${engine.kind} engine keeps no job history` : 'the plan has no compatibility views'}`;
    }
    const usage = await measureUsage(engine, plan, DEFAULT_USAGE_DAYS, now);
    const near = stillReadNearGraceEnd(usage, now, NEAR_GRACE_END_DAYS);
    if (near.length) {
      const shown = near.slice(0, 5).map((v) => `${v.view} (grace ends ${v.graceEnd}; read by ${v.readers.map((r) => r.principal).join(', ')}; new name ${v.newName})`);
      scope.block({
        code: 'VIEWS_STILL_READ',
        priority: 'P1',
        title: `${near.length} compatibility view(s) within ${NEAR_GRACE_END_DAYS} days of the end of their grace period are still read`,
        impact: `their readers break when the views are retired: ${shown.join('; ')}${near.length > 5 ? `; … ${near.length - 5} more` : ''}`,
        mitigation: 'tell each reader the new name (bqx usage --plan PLAN lists them); retire only unread views (bqx retire), which keeps these',
      });
    }
    return `${usage.read} of ${usage.views.length} views read in the last ${usage.days} days (${usage.source}); ${near.length} still read within ${NEAR_GRACE_END_DAYS} days of their grace end`;
  });
}
