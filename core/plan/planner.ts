/**
 * The planner: reads facts (never writes), then decides every table's action as a pure function
 * of (catalogue snapshot, policy, facts, grace start). Same input, byte-identical plan.
 */
import type { CatalogueSnapshot, TableInfo } from '../catalogue';
import { bytesToUsd, usdToBytes } from '../cost';
import { tableStateHash } from '../catalogue';
import { isTableName } from '../identifiers';
import { canonicalWithVariant, judgeName, type NameVerdict } from '../naming/grammar';
import type { Policy } from '../policy';
import { errorText, type FactSource, type PlanningFacts, emptyFacts } from './facts';
import { decideVariant, levelColumn, sameColumns, usesTwinRule, variantFromLevel, type TwinSet, type VariantDecision } from './variant-evidence';
import { computePlanHash, operationId } from './hash';
import { countOperations } from './counts';
import {
  isActionable,
  PLAN_FORMAT,
  type Action,
  type CompatibilityView,
  type ConsolidatedColumn,
  type ConsolidationSpec,
  type FingerprintEvidence,
  type Plan,
  type PlanOperation,
  type PlanReason,
  type VariantEvidence,
} from './types';

export interface PlanInput {
  readonly snapshot: CatalogueSnapshot;
  readonly policy: Policy;
  /** First day of the compatibility views' grace period (YYYY-MM-DD). */
  readonly graceStart: string;
}

export interface PlanProgress {
  (stage: string, done: number, total: number): void;
}

// ---------------------------------------------------------------------------------------------
// Classification (pure)

type Candidate =
  | { readonly kind: 'keep'; readonly table: TableInfo; readonly verdict: NameVerdict; readonly reason: PlanReason }
  | { readonly kind: 'review'; readonly table: TableInfo; readonly verdict: NameVerdict; readonly reason: PlanReason; readonly detail: string }
  | { readonly kind: 'single'; readonly table: TableInfo; readonly verdict: NameVerdict }
  | { readonly kind: 'window'; readonly table: TableInfo; readonly verdict: NameVerdict; readonly window: number };

function classify(policy: Policy, table: TableInfo): Candidate {
  const verdict = judgeName(policy, table.name);
  // BigQuery allows dashes, spaces and Unicode in table names; the runner puts only plain
  // identifiers into SQL. Such a table is left for a person, and the rest of the plan goes on.
  if (!isTableName(table.name)) {
    return { kind: 'review', table, verdict, reason: 'UNSUPPORTED_NAME', detail: 'not a plain identifier (letters, digits and "_"): the runner never puts it into SQL; rename it by hand, then re-plan' };
  }
  if (verdict.bookkeeping) return { kind: 'keep', table, verdict, reason: 'BOOKKEEPING' };
  if (verdict.compliant) return { kind: 'keep', table, verdict, reason: 'COMPLIANT' };
  if (verdict.violations.includes('UNKNOWN_FAMILY')) return { kind: 'review', table, verdict, reason: 'UNKNOWN_FAMILY', detail: verdict.notes.join('; ') };
  if (table.kind !== 'TABLE') return { kind: 'review', table, verdict, reason: 'NOT_A_TABLE', detail: `${table.kind} tables cannot be renamed` };
  if (!verdict.canonicalTemplate) return { kind: 'review', table, verdict, reason: 'NO_CANONICAL_FORM', detail: verdict.notes.join('; ') };
  const consolidates = verdict.type !== null && policy.doc.consolidation.types.includes(verdict.type);
  if (verdict.windows.length === 1 && consolidates) return { kind: 'window', table, verdict, window: verdict.windows[0] };
  return { kind: 'single', table, verdict };
}

// ---------------------------------------------------------------------------------------------
// Variant evidence (pure)

/** Window tables named with a variant, by `{canonical target}|{window}`: the same-window twins of an un-suffixed one. */
type WindowIndex = Map<string, string[]>;

function windowIndex(candidates: readonly Candidate[]): WindowIndex {
  const index: WindowIndex = new Map();
  for (const c of candidates) {
    if (c.kind !== 'window' || !c.verdict.variant) continue;
    const key = `${canonicalWithVariant(c.verdict, c.verdict.variant)}|${c.window}`;
    index.set(key, [...(index.get(key) ?? []), c.table.name]);
  }
  return index;
}

/**
 * The twins of a table without a variant, per variant: a single table's canonical name with each
 * variant; a window table's same-window tables named with each variant (`regime_eurusd_45` →
 * `regime_bqx_eurusd_45`).
 */
function twinSets(policy: Policy, c: { table: TableInfo; verdict: NameVerdict; window?: number }, index: WindowIndex): TwinSet[] {
  return policy.doc.variants.map((variant) => {
    const target = canonicalWithVariant(c.verdict, variant) as string;
    const names = c.window === undefined ? [target] : (index.get(`${target}|${c.window}`) ?? []);
    return { variant, names: names.filter((n) => n !== c.table.name) };
  });
}

function variantOf(policy: Policy, facts: PlanningFacts, byName: ReadonlyMap<string, TableInfo>, c: Candidate & { kind: 'single' | 'window' }, index: WindowIndex): VariantDecision {
  return decideVariant(policy, facts, byName, c.table, c.verdict, twinSets(policy, { ...c, window: c.kind === 'window' ? c.window : undefined }, index));
}

// ---------------------------------------------------------------------------------------------
// Fact gathering (reads only)

interface Read {
  readonly key: string;
  readonly costBytes: number;
  readonly run: () => Promise<void>;
  /** A content fingerprint of this table: read with the others at once where the source can. */
  readonly fingerprintOf?: string;
}

async function runReads(source: FactSource, facts: PlanningFacts, policy: Policy, reads: Read[], stage: string, progress?: PlanProgress): Promise<void> {
  const budgetBytes = usdToBytes(policy.doc.execution.planningBudgetUsd, policy.doc.execution.pricePerTiBUsd);
  const allowed: Read[] = [];
  for (const r of [...reads].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    if (facts.bytesRead + r.costBytes > budgetBytes) {
      facts.overBudget.add(r.key.split('|')[1] ?? r.key);
      continue;
    }
    facts.bytesRead += r.costBytes;
    allowed.push(r);
  }
  let done = 0;
  const bulk = new Set(source.readMany ? allowed.filter((r) => r.fingerprintOf !== undefined) : []);
  if (bulk.size) {
    const read = await source.readMany!({ rowCounts: [], fingerprints: [...bulk].map((r) => r.fingerprintOf!), probes: [] });
    for (const r of bulk) {
      const name = r.fingerprintOf!;
      const v = read.fingerprints.get(name);
      facts.fingerprints.set(name, v === undefined ? { error: `no answer for ${name}` } : v instanceof Error ? { error: errorText(v) } : v);
      progress?.(stage, ++done, allowed.length);
    }
  }
  const rest = allowed.filter((r) => !bulk.has(r));
  // A fixed pool of workers taking the reads in order, as many at once as the source allows. Not
  // p-queue: it queued every read up front and took each from the head of one array
  // (Array.prototype.shift), quadratic in the reads: 3 ms of the plan at 5,817 tables, 440 ms at
  // 58,170 (bench/scale.ts, node --cpu-prof). Same order of starts, same concurrency.
  const workers = Math.min(rest.length, Math.max(1, source.maxParallelOperations));
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < rest.length) {
        const r = rest[next++];
        await r.run();
        progress?.(stage, ++done, allowed.length);
      }
    }),
  );
}

function columnCost(t: TableInfo): number {
  return Math.ceil(t.bytes / Math.max(1, t.columns.length));
}

function fingerprintRead(source: FactSource, facts: PlanningFacts, byName: ReadonlyMap<string, TableInfo>, name: string): Read {
  return {
    key: `fingerprint|${name}`,
    costBytes: byName.get(name)?.bytes ?? 0,
    fingerprintOf: name,
    run: async () => {
      try {
        facts.fingerprints.set(name, await source.contentFingerprint(name));
      } catch (e) {
        facts.fingerprints.set(name, { error: errorText(e) });
      }
    },
  };
}

export async function gatherFacts(source: FactSource, input: PlanInput, progress?: PlanProgress): Promise<PlanningFacts> {
  const { snapshot, policy } = input;
  const facts = emptyFacts();
  const byName = new Map(snapshot.tables.map((t) => [t.name, t]));
  const candidates = snapshot.tables.filter((t) => t.kind !== 'VIEW').map((t) => classify(policy, t));
  const sampleRows = policy.doc.variantDetection.sampleRows;

  // Stage 1: samples for every name whose variant must come from its data.
  const index = windowIndex(candidates);
  const fromData = candidates.filter((c): c is Candidate & { kind: 'single' | 'window' } => (c.kind === 'single' || c.kind === 'window') && c.verdict.variantSource === 'needs-data');
  const needsSample = fromData.filter((c) => levelColumn(policy, c.table, c.verdict) !== null);
  await runReads(
    source,
    facts,
    policy,
    needsSample.map((c) => ({
      key: `sample|${c.table.name}`,
      costBytes: columnCost(c.table),
      run: async () => {
        const column = levelColumn(policy, c.table, c.verdict) as string;
        try {
          const values = c.table.rowCount > 0 ? await source.sampleNumeric(c.table.name, column, sampleRows) : [];
          facts.samples.set(c.table.name, { column, values });
        } catch (e) {
          facts.samples.set(c.table.name, { error: errorText(e) });
        }
      },
    })),
    'sample',
    progress,
  );

  // Stage 2: fingerprints of sources and the twins they may duplicate, and of every table whose
  // variant the twin rule decides (with its twins).
  const fingerprintWanted = new Set<string>();
  for (const c of candidates) {
    if (c.kind !== 'single') continue;
    const twins = twinCandidates(policy, facts, c.table, c.verdict).filter((n) => byName.get(n)?.kind === 'TABLE');
    if (twins.length) [c.table.name, ...twins].forEach((n) => fingerprintWanted.add(n));
  }
  for (const c of fromData) {
    if (!usesTwinRule(policy, c.table, c.verdict) || c.table.rowCount === 0) continue;
    const twins = twinSets(policy, { ...c, window: c.kind === 'window' ? c.window : undefined }, index).flatMap((t) => t.names).filter((n) => byName.get(n)?.kind === 'TABLE');
    if (twins.length) [c.table.name, ...twins].forEach((n) => fingerprintWanted.add(n));
  }
  await runReads(source, facts, policy, [...fingerprintWanted].map((name) => fingerprintRead(source, facts, byName, name)), 'fingerprint', progress);

  // Stage 3: the consolidation groups (every window table's variant is known now); fingerprints of
  // same-window copies not read yet, key statistics of window sources.
  const copiesWanted = new Set<string>();
  const keyStatsWanted = new Set<string>();
  const groups = new Map<string, { window: number; table: TableInfo }[]>();
  for (const c of candidates) {
    if (c.kind !== 'window') continue;
    const variant = c.verdict.variant ?? variantOf(policy, facts, byName, c, index).variant;
    if (!variant) continue;
    const target = canonicalWithVariant(c.verdict, variant) as string;
    const list = groups.get(target) ?? [];
    list.push({ window: c.window, table: c.table });
    groups.set(target, list);
  }
  for (const members of groups.values()) {
    for (const w of new Set(members.map((m) => m.window))) {
      const same = members.filter((m) => m.window === w).map((m) => m.table.name).sort();
      if (same.length > 1) same.filter((n) => !facts.fingerprints.has(n)).forEach((n) => copiesWanted.add(n));
      keyStatsWanted.add(same[0]);
    }
  }
  const key = policy.doc.consolidation.joinKey;
  await runReads(
    source,
    facts,
    policy,
    [
      ...[...copiesWanted].map((name) => fingerprintRead(source, facts, byName, name)),
      ...[...keyStatsWanted].map((name) => ({
        key: `keystats|${name}`,
        costBytes: columnCost(byName.get(name) as TableInfo),
        run: async () => {
          try {
            facts.keyStats.set(name, await source.keyStats(name, key));
          } catch (e) {
            facts.keyStats.set(name, { error: errorText(e) });
          }
        },
      })),
    ],
    'fingerprint',
    progress,
  );

  // Stage 4: do un-windowed columns agree across the windows of one consolidation?
  const agreementReads: Read[] = [];
  for (const members of groups.values()) {
    const windows = windowSources(members);
    if (windows.length < 2) continue;
    const [first, ...others] = windows;
    for (const other of others) {
      const shared = unwindowedColumns(first.table, first.window, key).filter((c) =>
        unwindowedColumns(other.table, other.window, key).includes(c),
      );
      if (!shared.length) continue;
      agreementReads.push({
        key: `agree|${first.table.name}|${other.table.name}`,
        costBytes: columnCost(first.table) * (shared.length + 1) + columnCost(other.table) * (shared.length + 1),
        run: async () => {
          try {
            facts.agreement.set(`${first.table.name}|${other.table.name}`, await source.columnsAgreeOnKey(first.table.name, other.table.name, key, shared));
          } catch (e) {
            facts.agreement.set(`${first.table.name}|${other.table.name}`, { error: errorText(e) });
          }
        },
      });
    }
  }
  await runReads(source, facts, policy, agreementReads, 'agreement', progress);
  return facts;
}

/** Names of existing-or-not twins a single candidate may duplicate, in the order they are tried. */
function twinCandidates(policy: Policy, facts: PlanningFacts, table: TableInfo, verdict: NameVerdict): string[] {
  if (verdict.canonical) return [verdict.canonical];
  const sampled = levelColumn(policy, table, verdict) !== null ? variantFromLevel(policy, facts, table).variant : null;
  const order = sampled ? [sampled, ...policy.doc.variants.filter((v) => v !== sampled)] : [...policy.doc.variants];
  return order.map((v) => canonicalWithVariant(verdict, v) as string);
}

function windowSources(members: readonly { window: number; table: TableInfo }[]): { window: number; table: TableInfo; copies: TableInfo[] }[] {
  const windows = [...new Set(members.map((m) => m.window))].sort((a, b) => a - b);
  return windows.map((w) => {
    const same = members.filter((m) => m.window === w).map((m) => m.table).sort((a, b) => (a.name < b.name ? -1 : 1));
    return { window: w, table: same[0], copies: same.slice(1) };
  });
}

function isWindowed(column: string, window: number): boolean {
  return column.endsWith(`_${window}`);
}

function unwindowedColumns(table: TableInfo, window: number, key: string): string[] {
  return table.columns.map((c) => c.name).filter((n) => n !== key && !isWindowed(n, window));
}

// ---------------------------------------------------------------------------------------------
// Decision (pure)

/** An operation as the planner decides it, before ordering, batches and ids (exported for tests). */
export interface Draft {
  action: Action;
  reason: PlanReason;
  family: string;
  sources: string[];
  target: string | null;
  variant: string | null;
  twin?: FingerprintEvidence;
  evidence?: PlanOperation['evidence'];
  consolidation?: ConsolidationSpec;
  detail?: string;
  /** For views: per source, the output columns. */
  viewColumns?: Map<string, { name: string; column: string }[]>;
  viewFilter?: Map<string, string | null>;
}

function fp(facts: PlanningFacts, name: string): { rows: number; hash: string } | null {
  const f = facts.fingerprints.get(name);
  return f && !('error' in f) ? f : null;
}

function review(c: { table: TableInfo; verdict: NameVerdict }, reason: PlanReason, detail?: string, evidence?: PlanOperation['evidence']): Draft {
  return { action: 'REVIEW', reason, family: c.verdict.family, sources: [c.table.name], target: null, variant: null, detail, evidence };
}

function identity(table: TableInfo): { name: string; column: string }[] {
  return table.columns.map((c) => ({ name: c.name, column: c.name }));
}

function decideSingle(policy: Policy, facts: PlanningFacts, byName: Map<string, TableInfo>, c: Candidate & { kind: 'single' }, index: WindowIndex): Draft {
  const { table, verdict } = c;
  const fromData = verdict.variantSource === 'needs-data';
  const decision = fromData ? variantOf(policy, facts, byName, c, index) : null;
  const variantEvidence: VariantEvidence = decision
    ? decision.evidence
    : { column: null, sampled: 0, medianAbs: null, verdict: verdict.variant === 'bqx' ? 'bqx' : 'idx', decidedBy: verdict.variantSource === 'policy-default' ? 'policy-default' : 'name' };
  if (decision?.reason === 'PLANNING_BUDGET_EXCEEDED') return review(c, 'PLANNING_BUDGET_EXCEEDED', decision.detail, { variant: variantEvidence });

  const dedupe = (twinName: string, decidedBy: VariantEvidence['decidedBy']): Draft => {
    const twin = byName.get(twinName) as TableInfo;
    const twinFp = fp(facts, twinName) as { rows: number; hash: string };
    const variant = judgeName(policy, twinName).variant;
    return {
      action: 'DEDUPE',
      reason: 'IDENTICAL_TWIN',
      family: verdict.family,
      sources: [table.name],
      target: twinName,
      variant,
      twin: { table: twinName, rows: twinFp.rows, hash: twinFp.hash },
      evidence: {
        variant: { ...variantEvidence, decidedBy },
        fingerprints: [
          { table: table.name, ...(fp(facts, table.name) as { rows: number; hash: string }) },
          { table: twinName, ...twinFp },
        ],
      },
      viewColumns: new Map([[table.name, identity(twin)]]),
    };
  };
  const identicalTo = (name: string): boolean => {
    const t = byName.get(name);
    const a = fp(facts, table.name);
    const b = fp(facts, name);
    return !!t && t.kind === 'TABLE' && !!a && !!b && a.hash === b.hash && a.rows === b.rows && sameColumns(table, t);
  };

  if (decision?.identicalTwin) return dedupe(decision.identicalTwin, 'identical-twin');
  const primary = verdict.canonical ?? (decision?.variant ? canonicalWithVariant(verdict, decision.variant) : null);
  if (primary) {
    const existing = byName.get(primary);
    if (!existing) {
      return {
        action: 'RENAME',
        reason: 'CANONICAL_FREE',
        family: verdict.family,
        sources: [table.name],
        target: primary,
        variant: verdict.variant ?? decision?.variant ?? policy.doc.defaultVariant,
        evidence: { variant: variantEvidence },
        viewColumns: new Map([[table.name, identity(table)]]),
      };
    }
    if (existing.kind !== 'TABLE') return review(c, 'COLLISION', `${primary} exists as a ${existing.kind}`, { variant: variantEvidence });
    if (!fp(facts, table.name) || !fp(facts, primary)) {
      const why = facts.overBudget.has(table.name) || facts.overBudget.has(primary) ? 'PLANNING_BUDGET_EXCEEDED' : 'READ_ERROR';
      return review(c, why, `content of ${table.name} and ${primary} could not be compared`, { variant: variantEvidence });
    }
    if (identicalTo(primary)) return dedupe(primary, variantEvidence.decidedBy);
  }
  // The sampled (or named) target differs or no variant could be read: an identical twin of
  // another variant still proves which table this is a copy of.
  if (fromData) {
    for (const name of twinCandidates(policy, facts, table, verdict)) {
      if (name !== primary && identicalTo(name)) return dedupe(name, 'identical-twin');
    }
  }
  if (primary) {
    return review(c, 'TARGET_EXISTS_DIFFERENT', `${primary} exists and its content differs from ${table.name}`, { variant: variantEvidence });
  }
  return review(c, decision?.reason ?? 'NO_VARIANT_EVIDENCE', decision?.detail, { variant: variantEvidence });
}

/** A windowed table of a consolidation group, with the variant it was decided to have. */
interface GroupMember {
  readonly window: number;
  readonly table: TableInfo;
  readonly verdict: NameVerdict;
  readonly variant: string;
  readonly evidence: VariantEvidence;
}

function decideGroup(policy: Policy, facts: PlanningFacts, byName: Map<string, TableInfo>, target: string, members: readonly GroupMember[]): Draft[] {
  const key = policy.doc.consolidation.joinKey;
  const family = members[0].verdict.family;
  const type = members[0].verdict.type as string;
  const reviewAll = (reason: PlanReason, detail: string) => members.map((m) => review(m, reason, detail, { variant: m.evidence }));
  const existing = byName.get(target);
  if (existing) return reviewAll('COLLISION', `consolidation target ${target} already exists (${existing.kind})`);

  const windows = windowSources(members);
  for (const w of windows) {
    if (!w.table.columns.some((c) => c.name === key)) return reviewAll('SCHEMA_CONFLICT', `${w.table.name} has no join key ${key}`);
    for (const copy of w.copies) {
      const a = fp(facts, w.table.name);
      const b = fp(facts, copy.name);
      if (!a || !b) {
        // Over budget only when one of these two was left unread for the budget; any other miss is a read error.
        const why = facts.overBudget.has(w.table.name) || facts.overBudget.has(copy.name) ? 'PLANNING_BUDGET_EXCEEDED' : 'READ_ERROR';
        return reviewAll(why, `could not compare ${copy.name} with ${w.table.name}`);
      }
      if (a.hash !== b.hash || a.rows !== b.rows || !sameColumns(w.table, copy)) {
        return reviewAll('COPIES_DIFFER', `${copy.name} is not an identical copy of ${w.table.name}`);
      }
    }
    const ks = facts.keyStats.get(w.table.name);
    if (!ks || 'error' in ks) return reviewAll('READ_ERROR', `key statistics of ${w.table.name} could not be read`);
    if (ks.distinctKeys !== ks.rows || ks.nullKeys > 0) {
      return reviewAll('JOIN_KEY_NOT_UNIQUE', `${w.table.name}: ${ks.rows} rows, ${ks.distinctKeys} distinct and ${ks.nullKeys} null ${key}`);
    }
  }
  const allMembers = members.map((m) => m.table.name).sort();
  // The evidence shown for a group: that of a member whose variant came from data (a level column,
  // the twin rule) when there is one, so a reviewer sees what decided the un-suffixed sources.
  const fromData = [...members].sort((a, b) => (a.table.name < b.table.name ? -1 : 1)).find((m) => m.evidence.decidedBy !== 'name');
  const variantEvidence = (fromData ?? members[0]).evidence;
  const evidence = { variant: variantEvidence, fingerprints: allMembers.filter((n) => fp(facts, n)).map((n) => ({ table: n, ...(fp(facts, n) as { rows: number; hash: string }) })) };

  if (windows.length === 1 && windows[0].copies.length === 0) {
    const only = windows[0].table;
    return [
      {
        action: 'RENAME',
        reason: 'CANONICAL_FREE',
        family,
        sources: [only.name],
        target,
        variant: members[0].variant,
        evidence: { variant: variantEvidence },
        viewColumns: new Map([[only.name, identity(only)]]),
      },
    ];
  }

  // Which un-windowed columns are equal across every window (kept once) and which are suffixed.
  const unwindowed = new Map<string, number[]>();
  for (const w of windows) for (const c of unwindowedColumns(w.table, w.window, key)) unwindowed.set(c, [...(unwindowed.get(c) ?? []), w.window]);
  const keptOnce = new Set<string>();
  for (const [col, ws] of unwindowed) {
    if (ws.length === 1) {
      keptOnce.add(col);
      continue;
    }
    const types = new Set(ws.map((w) => windows.find((x) => x.window === w)?.table.columns.find((c) => c.name === col)?.type));
    if (types.size !== 1) continue;
    const first = windows[0];
    const agree = windows.slice(1).every((other) => {
      if (!ws.includes(other.window) || !ws.includes(first.window)) return false;
      const a = facts.agreement.get(`${first.table.name}|${other.table.name}`);
      return !!a && !('error' in a) && a[col] === true;
    });
    if (agree) keptOnce.add(col);
  }

  const columns: ConsolidatedColumn[] = [];
  const used = new Map<string, ConsolidatedColumn>();
  const viewColumns = new Map<string, { name: string; column: string }[]>();
  const viewFilter = new Map<string, string | null>();
  const keyType = windows[0].table.columns.find((c) => c.name === key)?.type ?? 'TIMESTAMP';
  const keyCol: ConsolidatedColumn = { name: key, type: keyType, from: windows.map((w) => ({ window: w.window, column: key })) };
  columns.push(keyCol);
  used.set(key, keyCol);
  for (const w of windows) {
    const mapping: { name: string; column: string }[] = [];
    for (const c of w.table.columns) {
      if (c.name === key) {
        mapping.push({ name: key, column: key });
        continue;
      }
      let targetName: string;
      if (isWindowed(c.name, w.window) || keptOnce.has(c.name)) targetName = c.name;
      else targetName = `${c.name}_${w.window}`;
      const prior = used.get(targetName);
      if (keptOnce.has(c.name) && prior) {
        (prior.from as { window: number; column: string }[]).push({ window: w.window, column: c.name });
      } else if (prior) {
        return reviewAll('SCHEMA_CONFLICT', `column ${targetName} would come from two windows`);
      } else {
        const col: ConsolidatedColumn = { name: targetName, type: c.type, from: [{ window: w.window, column: c.name }] };
        columns.push(col);
        used.set(targetName, col);
      }
      mapping.push({ name: c.name, column: targetName });
    }
    const presence = `${type}_present_${w.window}`;
    for (const t of [w.table, ...w.copies]) {
      viewColumns.set(t.name, mapping);
      viewFilter.set(t.name, presence);
    }
  }
  const windowsSpec = windows.map((w) => ({ window: w.window, source: w.table.name, copies: w.copies.map((t) => t.name), presenceColumn: `${type}_present_${w.window}` }));
  for (const w of windowsSpec) {
    if (used.has(w.presenceColumn)) return reviewAll('SCHEMA_CONFLICT', `presence column ${w.presenceColumn} collides with a source column`);
  }
  const first = windows[0].table;
  return [
    {
      action: 'CONSOLIDATE',
      reason: 'WINDOW_TABLES',
      family,
      sources: allMembers,
      target,
      variant: members[0].variant,
      evidence,
      consolidation: {
        key,
        windows: windowsSpec,
        columns,
        partitionBy: first.partitionBy ?? policy.doc.consolidation.partitionBy,
        clusterBy: first.clusterBy.length ? [...first.clusterBy] : [...policy.doc.consolidation.clusterBy],
      },
      viewColumns,
      viewFilter,
    },
  ];
}

/** Refuses rename chains, cycles and collisions in the resulting namespace (exported so tests reach chains and cycles directly). */
export function resolveNamespace(drafts: Draft[]): void {
  const moving = new Map<string, Draft>();
  for (const d of drafts) if (isActionable(d.action)) d.sources.forEach((s) => moving.set(s, d));
  const toReview = (d: Draft, reason: PlanReason, detail: string) => {
    d.action = 'REVIEW';
    d.reason = reason;
    d.detail = detail;
    d.target = null;
    d.twin = undefined;
    d.consolidation = undefined;
    d.viewColumns = undefined;
  };
  // Chains and cycles: a target (or twin) that is itself going away.
  for (const d of drafts) {
    if (d.action === 'KEEP' || d.action === 'REVIEW' || !d.target) continue;
    const next = moving.get(d.target);
    if (!next || next === d) continue;
    const seen = [d.sources[0]];
    let cur: Draft | undefined = d;
    let cycle = false;
    while (cur && cur.target) {
      if (seen.includes(cur.target)) {
        cycle = true;
        break;
      }
      seen.push(cur.target);
      cur = moving.get(cur.target);
    }
    if (cycle) toReview(d, 'CYCLE', `rename cycle ${seen.join(' -> ')}`);
    else toReview(d, 'CHAIN', `rename chain ${seen.join(' -> ')}: ${d.target} is itself going away and would be both a table and a view`);
  }
  // Two operations producing the same table.
  const producers = new Map<string, Draft[]>();
  for (const d of drafts) {
    if ((d.action === 'RENAME' || d.action === 'CONSOLIDATE') && d.target) producers.set(d.target, [...(producers.get(d.target) ?? []), d]);
  }
  for (const [target, list] of producers) {
    if (list.length < 2) continue;
    const who = list.map((d) => d.sources.join('+')).join(', ');
    for (const d of list) toReview(d, 'COLLISION', `${target} would be produced by ${who}`);
  }
}

function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) throw new Error(`invalid date ${date}`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const ACTION_ORDER: Record<Action, number> = { RENAME: 0, DEDUPE: 1, CONSOLIDATE: 2, KEEP: 3, REVIEW: 4 };

export function decidePlan(input: PlanInput, facts: PlanningFacts): Plan {
  const { snapshot, policy } = input;
  const byName = new Map(snapshot.tables.map((t) => [t.name, t]));
  const tables = snapshot.tables.filter((t) => t.kind !== 'VIEW');
  const candidates = tables.map((t) => classify(policy, t));
  const index = windowIndex(candidates);
  const drafts: Draft[] = [];
  const groups = new Map<string, GroupMember[]>();

  for (const c of candidates) {
    switch (c.kind) {
      case 'keep':
        drafts.push({ action: 'KEEP', reason: c.reason, family: c.verdict.family, sources: [c.table.name], target: null, variant: c.verdict.variant });
        break;
      case 'review':
        drafts.push(review(c, c.reason, c.detail));
        break;
      case 'single':
        drafts.push(decideSingle(policy, facts, byName, c, index));
        break;
      case 'window': {
        let variant = c.verdict.variant;
        let evidence: VariantEvidence = { column: null, sampled: 0, medianAbs: null, verdict: variant === 'bqx' ? 'bqx' : 'idx', decidedBy: 'name' };
        if (!variant) {
          const d = variantOf(policy, facts, byName, c, index);
          evidence = d.evidence;
          if (!d.variant) {
            drafts.push(review(c, d.reason ?? 'NO_VARIANT_EVIDENCE', `variant of ${c.table.name} not decided: ${d.detail ?? d.evidence.verdict}`, { variant: evidence }));
            break;
          }
          variant = d.variant;
        }
        const target = canonicalWithVariant(c.verdict, variant) as string;
        groups.set(target, [...(groups.get(target) ?? []), { window: c.window, table: c.table, verdict: c.verdict, variant, evidence }]);
        break;
      }
    }
  }
  for (const [target, members] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) drafts.push(...decideGroup(policy, facts, byName, target, members));
  resolveNamespace(drafts);

  drafts.sort((a, b) => ACTION_ORDER[a.action] - ACTION_ORDER[b.action] || (a.family < b.family ? -1 : a.family > b.family ? 1 : 0) || (a.sources[0] < b.sources[0] ? -1 : 1));
  const batchSize = policy.doc.execution.batchSize;
  const graceEnd = addDays(input.graceStart, policy.doc.compatibilityViews.graceDays);
  const operations: PlanOperation[] = [];
  const views: CompatibilityView[] = [];
  let actionable = 0;
  drafts.forEach((d, i) => {
    const acts = isActionable(d.action);
    const batch = acts ? Math.floor(actionable++ / batchSize) + 1 : 0;
    const id = operationId(d.action, d.sources, d.target);
    const sourceState = Object.fromEntries(d.sources.map((s) => [s, tableStateHash(byName.get(s) as TableInfo)]));
    const bytes = d.action === 'CONSOLIDATE' && d.consolidation ? d.consolidation.windows.reduce((sum, w) => sum + (byName.get(w.source)?.bytes ?? 0), 0) : 0;
    operations.push({
      id,
      seq: i + 1,
      batch,
      action: d.action,
      reason: d.reason,
      family: d.family,
      sources: d.sources,
      target: d.target,
      variant: d.variant,
      destructive: d.action === 'DEDUPE' || d.action === 'CONSOLIDATE',
      sourceState,
      ...(d.twin ? { twin: d.twin } : {}),
      ...(d.evidence ? { evidence: d.evidence } : {}),
      ...(d.consolidation ? { consolidation: d.consolidation } : {}),
      estimatedBytes: bytes,
      ...(d.detail ? { detail: d.detail } : {}),
    });
    if (acts && d.viewColumns && d.target) {
      for (const source of d.sources) {
        const columns = d.viewColumns.get(source);
        if (!columns) continue;
        views.push({ name: source, target: d.target, operationId: id, columns, filter: d.viewFilter?.get(source) ?? null, graceEnd });
      }
    }
  });
  views.sort((a, b) => (a.name < b.name ? -1 : 1));

  const counts = countOperations(operations);
  const estimatedBytes = operations.reduce((s, o) => s + o.estimatedBytes, 0);
  const plan: Omit<Plan, 'planHash'> = {
    format: PLAN_FORMAT,
    engine: snapshot.engine,
    project: snapshot.project,
    dataset: snapshot.dataset,
    catalogueFingerprint: snapshot.fingerprint,
    tableCount: tables.length,
    policyHash: policy.hash,
    graceStart: input.graceStart,
    graceDays: policy.doc.compatibilityViews.graceDays,
    summary: {
      tables: tables.length,
      byAction: counts.byAction,
      byReason: counts.byReason,
      sourcesByAction: counts.sourcesByAction,
      views: views.length,
      estimatedBytes,
      estimatedCostUsd: Math.round(bytesToUsd(estimatedBytes, policy.doc.execution.pricePerTiBUsd) * 1e6) / 1e6,
      planningBytes: facts.bytesRead,
    },
    operations,
    views,
  };
  return { ...plan, planHash: computePlanHash(plan) };
}

export async function buildPlan(source: FactSource, input: PlanInput, progress?: PlanProgress): Promise<Plan> {
  const facts = await gatherFacts(source, input, progress);
  return decidePlan(input, facts);
}
