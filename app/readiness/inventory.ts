/**
 * The directive's script and tool inventory: every tool Phase 4C needs, the `bqx` verb that is that
 * tool, whether the CLI has it (the CLI passes its own verb list) and whether the readiness check
 * that exercises it passed. Readiness proves tools by running them, not by listing files.
 */
import type { CheckResult, CheckStatus, ToolEntry } from './types';

interface Need {
  readonly need: string;
  readonly verb: string;
  /** Check ids (a trailing `*` matches a prefix) that exercise the tool. */
  readonly checks: readonly string[];
}

/** What the original directive's inventory asked for, mapped to the verbs and checks of this project. */
export const PHASE_4C_TOOLS: readonly Need[] = [
  { need: 'table audit of the whole catalogue (read to its last page)', verb: 'audit', checks: ['tools.catalogue'] },
  { need: 'column audit ({feature_type}_{metric}_{window}, targets, exceptions)', verb: 'audit', checks: ['tools.column-audit'] },
  { need: 'plan: one action per table, variant from data, twins proven by fingerprint', verb: 'plan', checks: ['tools.policy', 'tools.plan'] },
  { need: 'COV / TMP / CSI / MKT renames', verb: 'apply', checks: ['phases.rename'] },
  { need: 'dedupe of legacy twins (COV, VAR corr, CORR spellings)', verb: 'apply', checks: ['phases.dedupe'] },
  { need: 'LAG and REGIME consolidation (224 + 112 → 112)', verb: 'apply', checks: ['phases.consolidate'] },
  { need: 'compatibility views for the grace period', verb: 'synth', checks: ['phases.views', 'infrastructure.stacks'] },
  { need: 'paper mode: every statement, gate, byte and dollar, nothing changed', verb: 'apply', checks: ['phases.rename', 'phases.dedupe', 'phases.consolidate', 'infrastructure.budget'] },
  { need: 'validation after every batch (row counts, schemas, coverage, fingerprints)', verb: 'verify', checks: ['phases.validation'] },
  { need: 'content fingerprint of every old name before and after', verb: 'warehouse fingerprint', checks: ['phases.validation'] },
  { need: 'reconciliation of the plan with the warehouse', verb: 'reconcile', checks: ['tools.plan'] },
  { need: 'rollback from the ledger (backups in the runner dataset)', verb: 'rollback', checks: ['infrastructure.runner-dataset'] },
  { need: 'emergency stop: stale lock and freeze release', verb: 'unlock', checks: ['infrastructure.runner-dataset'] },
  { need: 'readiness audit (GO / NO-GO)', verb: 'readiness', checks: ['dependencies.node', 'dependencies.packages', 'dependencies.lockfile'] },
  { need: 'what the extract job reads before and after; per-pair manifest', verb: 'extraction', checks: ['dependencies.extract-job'] },
  { need: 'training-column remap of feature-selection lists', verb: 'remap', checks: ['dependencies.extract-job'] },
];

const RANK: Record<CheckStatus, number> = { fail: 3, warn: 2, pass: 1, skip: 0 };

function matches(id: string, pattern: string): boolean {
  return pattern.endsWith('*') ? id.startsWith(pattern.slice(0, -1)) : id === pattern;
}

/** The inventory from the checks that ran; `verbs` is the CLI's own list (null: not asked). */
export function toolInventory(checks: readonly CheckResult[], verbs: readonly string[] | null): ToolEntry[] {
  return PHASE_4C_TOOLS.map((t) => {
    const ran = checks.filter((c) => t.checks.some((p) => matches(c.id, p)));
    const worst = ran.reduce<CheckStatus | null>((w, c) => (w === null || RANK[c.status] > RANK[w] ? c.status : w), null);
    const present = verbs ? verbs.includes(t.verb) : null;
    const detail = ran.length ? ran.map((c) => `${c.id} ${c.status.toUpperCase()}`).join(', ') : 'no check of it ran';
    return { need: t.need, verb: `bqx ${t.verb}`, present, checks: ran.map((c) => c.id), ready: worst ?? 'not checked', detail };
  });
}
