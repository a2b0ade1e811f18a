import type { OutcomeKind } from '../../core/errors';
import { PRIORITIES, type Blocker, type Priority, type Verdict } from './types';

/** GO: no P0/P1. CONDITIONAL GO: P1s only (each is a condition). NO-GO: any P0. */
export function verdictOf(blockers: readonly Blocker[]): Verdict {
  if (blockers.some((b) => b.priority === 'P0')) return 'NO-GO';
  if (blockers.some((b) => b.priority === 'P1')) return 'CONDITIONAL GO';
  return 'GO';
}

/** What a verdict means as a command's outcome (the CLI maps it to 0, 10 or 11). */
export function outcomeOfVerdict(verdict: Verdict): OutcomeKind {
  return verdict === 'GO' ? 'OK' : verdict === 'NO-GO' ? 'NO_GO' : 'CONDITIONAL_GO';
}

export function conditionsOf(blockers: readonly Blocker[]): string[] {
  return blockers.filter((b) => b.priority === 'P1').map((b) => `${b.title} — ${b.mitigation}`);
}

export function sortBlockers(blockers: readonly Blocker[]): Blocker[] {
  const rank = (p: Priority) => PRIORITIES.indexOf(p);
  return [...blockers].sort((a, b) => rank(a.priority) - rank(b.priority) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

export function countByPriority(blockers: readonly Blocker[]): Record<Priority, number> {
  const out = { P0: 0, P1: 0, P2: 0, P3: 0 };
  for (const b of blockers) out[b.priority]++;
  return out;
}
