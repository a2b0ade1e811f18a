/**
 * The plan as a person reviews it: one line per operation that changes something or needs a
 * decision, next to the JSON the tools read (`bqx plan --out plan.json` writes `plan.json.txt`).
 * The JSON holds everything a run needs (sources' state hashes, consolidation column maps, every
 * view's columns: 7.3 MB and 323k lines for the full catalogue); this file holds what a reviewer
 * decides on, diffable line by line between two plans.
 *
 *   header   plan hash, catalogue fingerprint, policy hash, counts per action and reason, views,
 *            and how many tables the plan drops
 *   REVIEW   first: what a person must decide before anything happens to those tables
 *   changes  `marker seq id batch ACTION REASON sources -> target  evidence`, in plan order, marked
 *            as `terraform plan` marks its actions: `~` renamed in place, `-` DROP (a DEDUPE drops
 *            its table after a backup), `-/+` REPLACE (a CONSOLIDATE drops its sources after a
 *            backup and creates one new table); every DROP is spelled out, so `grep -i drop`
 *            finds each table the plan removes
 *   KEEP     one line per (family, reason) with its count: a KEEP does nothing, and the question
 *            it raises ("is this name really compliant?") is answered per family by the audit; the
 *            3,332 KEEP names of the full catalogue listed one by one would be 57% of the file and
 *            bury the 2,485 changes. Every KEEP is in the JSON.
 *
 * Pure: the same plan gives the same text.
 */
import { consolidatedTables } from '../core/execute/steps';
import type { Action, Plan, PlanAction, PlanOperation, VariantEvidence } from '../core/plan/types';

export const REVIEW_FORMAT = 'bqx-plan-review/v2';

/** How each action is marked, right-aligned as `terraform plan` marks create/update/destroy/replace. */
export const ACTION_MARKERS: Readonly<Record<PlanAction, string>> = { REVIEW: '  ?', RENAME: '  ~', DEDUPE: '  -', CONSOLIDATE: '-/+', KEEP: '   ', RETIRE_VIEW: '  -' };

/** The tables an operation drops (each after a backup; its old name then serves a view). */
export function droppedTables(op: PlanOperation): string[] {
  if (op.action === 'DEDUPE') return [op.sources[0]];
  if (op.action === 'CONSOLIDATE') return consolidatedTables(op);
  return [];
}

/** The review file written beside a plan file. */
export const reviewFileFor = (planFile: string): string => `${planFile}.txt`;

function variantToken(v: VariantEvidence | undefined, variant: string | null): string {
  if (!v) return variant ? `variant ${variant}` : '';
  switch (v.decidedBy) {
    case 'sample':
      return `variant ${variant ?? v.verdict} (sample: median |${v.column}| ${v.medianAbs} over ${v.sampled} rows)`;
    case 'identical-twin':
      return `variant ${variant ?? '?'} (identical twin)`;
    case 'name':
      return `variant ${variant ?? v.verdict} (name)`;
    case 'policy-default':
      return `variant ${variant ?? v.verdict} (policy default)`;
    case 'none':
      return v.medianAbs !== null ? `sample ${v.verdict}: median |${v.column}| ${v.medianAbs} over ${v.sampled} rows` : `sample ${v.verdict}`;
  }
}

const shortHash = (h: string) => h.replace(/^sha256:/, '').slice(0, 12);

/** The short evidence token of one operation: why this action is safe (or what a person must decide). */
export function evidenceToken(op: PlanOperation, viewsMissing: readonly string[]): string {
  const parts: string[] = [];
  const dropped = droppedTables(op);
  if (dropped.length) parts.push(`DROP ${dropped.join(', ')}${op.action === 'CONSOLIDATE' ? `; CREATE ${op.target}` : ''}`);
  switch (op.action) {
    case 'RENAME':
      parts.push(variantToken(op.evidence?.variant, op.variant));
      break;
    case 'DEDUPE': {
      const own = op.evidence?.fingerprints?.find((f) => f.table === op.sources[0]);
      parts.push(op.twin ? `content ${own && own.hash === op.twin.hash ? '=' : '!='} twin (${op.twin.rows} rows, fp ${shortHash(op.twin.hash)})` : 'no twin fingerprint');
      const v = variantToken(op.evidence?.variant, op.variant);
      if (v) parts.push(v);
      break;
    }
    case 'CONSOLIDATE': {
      const c = op.consolidation;
      if (c) {
        const copies = c.windows.reduce((n, w) => n + w.copies.length, 0);
        parts.push(`windows ${c.windows.map((w) => w.window).join(',')}${copies ? ` (+${copies} identical ${copies === 1 ? 'copy' : 'copies'})` : ''}, ${c.columns.length} columns on ${c.key}`);
      }
      const v = variantToken(op.evidence?.variant, op.variant);
      if (v) parts.push(v);
      break;
    }
    case 'REVIEW':
      parts.push(op.detail ? op.detail.replace(/\s+/g, ' ') : '');
      break;
    case 'KEEP':
      break;
  }
  if (op.after?.length) parts.push(`after ${op.after.join(',')}`);
  if (viewsMissing.length) parts.push(`NO VIEW for ${viewsMissing.join(',')}`);
  return parts.filter(Boolean).join('; ');
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);

/** `ACTION REASON sources -> target   evidence` of one operation: what the review file and the plan diff print after their own columns. */
export function operationText(op: PlanOperation, viewsMissing: readonly string[] = []): string {
  const move = `${op.sources.join(' + ')}${op.target ? ` -> ${op.target}` : ''}`;
  const evidence = evidenceToken(op, viewsMissing);
  return `${pad(op.action, 11)} ${pad(op.reason, 23)} ${move}${evidence ? `   ${evidence}` : ''}`.trimEnd();
}
const num = (n: number) => n.toLocaleString('en-US');

/** The review text of a plan. */
export function planReview(plan: Plan): string {
  const s = plan.summary;
  const viewsOf = new Map<string, Set<string>>();
  for (const v of plan.views) {
    const set = viewsOf.get(v.operationId) ?? new Set<string>();
    set.add(v.name);
    viewsOf.set(v.operationId, set);
  }
  const ops = [...plan.operations].sort((a, b) => a.seq - b.seq);
  const review = ops.filter((o) => o.action === 'REVIEW');
  const changes = ops.filter((o) => o.action !== 'KEEP' && o.action !== 'REVIEW');
  const keeps = ops.filter((o) => o.action === 'KEEP');
  const actionableSources = changes.reduce((n, o) => n + o.sources.length, 0);
  const seqWidth = String(ops.length).length;
  const missingViews = changes.reduce((n, o) => n + o.sources.filter((src) => !viewsOf.get(o.id)?.has(src)).length, 0);
  const drops = (action: Action) => changes.filter((o) => o.action === action).reduce((n, o) => n + droppedTables(o).length, 0);
  const consolidations = changes.filter((o) => o.action === 'CONSOLIDATE').length;

  const lines = [
    `# ${REVIEW_FORMAT}: the plan as a person reviews it; the plan file (JSON) is what the tools read`,
    `# plan       ${plan.planHash}   (approve with --approve ${plan.planHash})`,
    `# catalogue  ${plan.catalogueFingerprint}   ${plan.engine}:${plan.project}.${plan.dataset}, ${num(plan.tableCount)} tables`,
    `# policy     ${plan.policyHash}   grace period ${plan.graceStart} + ${plan.graceDays} days`,
    `# actions    ${Object.entries(s.byAction).map(([a, n]) => `${a} ${num(n)}`).join('  ')}   (tables: ${Object.entries(s.sourcesByAction).map(([a, n]) => `${a} ${num(n)}`).join('  ')})`,
    `# reasons    ${Object.entries(s.byReason).map(([r, n]) => `${r} ${num(n)}`).join('  ')}`,
    `# destroy    ${num(drops('DEDUPE') + drops('CONSOLIDATE'))} tables DROPPED, each after a backup: ${num(drops('DEDUPE'))} by DEDUPE (a twin keeps the data), ${num(drops('CONSOLIDATE'))} replaced by ${num(consolidations)} CONSOLIDATE tables`,
    `# views      ${num(plan.views.length)} compatibility views${plan.views.length === actionableSources && missingViews === 0 ? ': one under every old name of a RENAME, DEDUPE or CONSOLIDATE' : ` for ${num(actionableSources)} sources of RENAME, DEDUPE and CONSOLIDATE (lines say NO VIEW where one is missing)`}`,
    `# bytes      operations read ${num(s.estimatedBytes)} ($${s.estimatedCostUsd}); planning read ${num(s.planningBytes)}`,
    `# markers    ? REVIEW (a person decides)   ~ RENAME in place   - DROP (DEDUPE)   -/+ REPLACE (CONSOLIDATE: sources dropped, one table created)`,
    `# lines      ${num(review.length)} REVIEW first, then ${num(changes.length)} changes in plan order (marker seq id batch ACTION REASON sources -> target  evidence), then KEEP as ${num(keeps.length)} tables counted per family`,
    '',
  ];
  const line = (op: PlanOperation) => {
    const views = viewsOf.get(op.id) ?? new Set<string>();
    const missing = op.action === 'REVIEW' ? [] : op.sources.filter((src) => !views.has(src));
    return `${ACTION_MARKERS[op.action]} ${String(op.seq).padStart(seqWidth)} ${op.id} b${pad(op.batch, 3)} ${operationText(op, missing)}`;
  };
  lines.push(`# REVIEW: ${num(review.length)} ${review.length === 1 ? 'operation needs' : 'operations need'} a person's decision; nothing happens to ${review.length === 1 ? 'its tables' : 'their tables'} until the plan changes`);
  lines.push(...review.map(line), '');
  lines.push(`# changes: ${num(changes.length)} operations in plan order`);
  lines.push(...changes.map(line));

  const keepCounts = new Map<string, number>();
  for (const op of keeps) {
    const key = `${op.family}\u0000${op.reason}`;
    keepCounts.set(key, (keepCounts.get(key) ?? 0) + op.sources.length);
  }
  lines.push('', `# KEEP: ${num(keeps.length)} tables, unchanged (names in the plan file), per family and reason`);
  for (const [key, n] of [...keepCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const [family, reason] = key.split('\u0000');
    lines.push(`KEEP ${pad(family, 12)} ${pad(reason, 12)} ${String(n).padStart(7)}`);
  }
  return `${lines.join('\n')}\n`;
}
