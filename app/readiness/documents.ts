/**
 * The six documents the original readiness directive asked for, written from one ReadinessReport
 * (no second source of truth): a tool inventory, a Phase 4C readiness report per operation class, an
 * infrastructure readiness report, a dependency analysis, an execution-blocker analysis (P0–P3 with
 * impact, delay, mitigation, workaround) and an executive summary of at most three pages that
 * answers the directive's six questions. Plus one JSON holding the report and the answers.
 */
import { mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { OPERATION_CLASSES } from './checks/phases';
import { formatBytes, formatUsd } from './format';
import type { Blocker, CheckResult, CheckStatus, Priority, ReadinessReport, Section } from './types';

export const AUDIT_FORMAT = 'bqx-readiness-audit/v1';

export const DOCUMENTS = {
  summary: 'EXECUTIVE_SUMMARY.md',
  inventory: 'TOOL_INVENTORY.md',
  phase: 'PHASE_4C_READINESS.md',
  infrastructure: 'INFRASTRUCTURE_READINESS.md',
  dependencies: 'DEPENDENCY_ANALYSIS.md',
  blockers: 'EXECUTION_BLOCKERS.md',
  json: 'readiness-audit.json',
} as const;

export type RiskLevel = 'LOW' | 'MEDIUM' | 'HIGH';

/** The directive's six critical questions, in its order. */
export const QUESTIONS = [
  'Can we start now, with zero delays?',
  'What is missing, and how long will it take to create it?',
  'Are there infrastructure blockers?',
  'Are there dependency issues?',
  'What is the risk level (LOW / MEDIUM / HIGH)?',
  'What are the likely execution blockers?',
] as const;

export interface Answer {
  readonly question: (typeof QUESTIONS)[number];
  /** One sentence that answers it. */
  readonly answer: string;
  /** The findings behind the answer. */
  readonly points: readonly string[];
}

export interface ReadinessAnswers {
  readonly verdict: ReadinessReport['verdict'];
  readonly canStartNow: boolean;
  readonly risk: RiskLevel;
  readonly answers: readonly Answer[];
}

const n = (x: number) => x.toLocaleString('en-US');
const cell = (s: string, max = 220) => (s.length > max ? `${s.slice(0, max - 1)}…` : s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const STATUS: Record<CheckStatus | 'not checked', string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP', 'not checked': 'not checked' };

/** HIGH: a P0 or P1 (execution prevented or at high risk); MEDIUM: a P2; LOW: P3 or nothing. */
export function riskOf(blockers: readonly Pick<Blocker, 'priority'>[]): RiskLevel {
  if (blockers.some((b) => b.priority === 'P0' || b.priority === 'P1')) return 'HIGH';
  if (blockers.some((b) => b.priority === 'P2')) return 'MEDIUM';
  return 'LOW';
}

const inSection = (r: ReadinessReport, section: Section) => {
  const ids = new Set(r.checks.filter((c) => c.section === section).map((c) => c.id));
  return r.blockers.filter((b) => ids.has(b.check));
};
const line = (b: Blocker) => `${b.priority} ${b.title} — ${b.mitigation}${b.delay ? ` (delay: ${b.delay})` : ''}`;
const top = (list: readonly string[], max = 5) => (list.length > max ? [...list.slice(0, max), `… ${list.length - max} more in ${DOCUMENTS.blockers}`] : [...list]);

/** The six answers, each from the report's checks and blockers. */
export function answersOf(r: ReadinessReport): ReadinessAnswers {
  const p = (x: Priority) => r.blockers.filter((b) => b.priority === x);
  const risk = riskOf(r.blockers);
  const delaying = r.blockers.filter((b) => b.priority === 'P0' || b.priority === 'P1');
  const canStartNow = r.verdict === 'GO';
  const missing = r.inventory.filter((t) => t.present === false || t.ready === 'fail');
  const infra = inSection(r, 'infrastructure');
  const deps = inSection(r, 'dependencies');
  const phaseBlockers = inSection(r, 'phases');
  const x = r.extraction;
  const budgetShare = r.cost && r.cost.budgetUsd > 0 ? (100 * r.cost.estimatedCostUsd) / r.cost.budgetUsd : null;

  const answers: Answer[] = [
    {
      question: QUESTIONS[0],
      answer:
        r.verdict === 'GO'
          ? `Yes: readiness is GO, no P0 or P1 blocker${r.blockers.length ? `; ${r.blockers.length} P2/P3 finding(s) do not delay the start` : ''}.`
          : r.verdict === 'CONDITIONAL GO'
            ? `Not with zero delays: CONDITIONAL GO, ${p('P1').length} condition(s) must hold before the start.`
            : `No: NO-GO, ${p('P0').length} P0 blocker(s) prevent execution.`,
      points: top(delaying.map(line)),
    },
    {
      question: QUESTIONS[1],
      answer: missing.length
        ? `${missing.length} tool(s) of the inventory are missing or failed their check; the P0/P1 blockers say how long each fix takes.`
        : `Nothing is missing: all ${r.inventory.length} tools of the inventory are in the CLI${r.inventory.some((t) => t.present === null) ? ' (the CLI was not asked: presence not checked)' : ''} and none failed its check.`,
      points: top([
        ...missing.map((t) => `${t.need}: ${t.verb} ${t.present === false ? 'is not in the CLI' : `failed (${t.detail})`}`),
        ...delaying.map((b) => `${b.title}: ${b.delay ?? 'delay unknown'}`),
      ]),
    },
    {
      question: QUESTIONS[2],
      answer: infra.length
        ? `${infra.filter((b) => b.priority === 'P0' || b.priority === 'P1').length} blocking and ${infra.filter((b) => b.priority === 'P2' || b.priority === 'P3').length} non-blocking infrastructure finding(s).`
        : `None: ${r.checks.filter((c) => c.section === 'infrastructure').length} infrastructure checks found nothing.`,
      points: top(infra.map(line)),
    },
    {
      question: QUESTIONS[3],
      answer: deps.length ? `${deps.length} dependency finding(s); the worst is ${deps[0].priority}.` : `None: ${r.checks.filter((c) => c.section === 'dependencies').length} dependency checks found nothing.`,
      points: top([
        ...deps.map(line),
        ...(x
          ? [
              `the extract job discovers tables ${x.jobDiscovery.mode === 'name-only' ? 'by name' : `with ${x.jobDiscovery.mode}`} (${x.jobDiscovery.source}): ${n(x.duplicatesDuringGrace)} duplicate feature table(s) across ${x.pairs.length} pair(s) during the grace period${x.jobDiscovery.fixed ? ', but it reads each feature once' : ''}`,
            ]
          : []),
      ]),
    },
    {
      question: QUESTIONS[4],
      answer: `${risk}: ${risk === 'HIGH' ? 'a P0 or P1 blocker stands' : risk === 'MEDIUM' ? 'only P2 findings (slower or dearer, not blocked)' : 'no P0, P1 or P2 finding'}.`,
      points: [`P0 ${r.counts.P0}, P1 ${r.counts.P1}, P2 ${r.counts.P2}, P3 ${r.counts.P3}; ${r.counts.checks} checks, ${r.counts.failed} failed`, 'rule: HIGH on any P0 or P1, MEDIUM on any P2, LOW otherwise'],
    },
    {
      question: QUESTIONS[5],
      answer: phaseBlockers.length || delaying.length ? `${phaseBlockers.length + delaying.filter((b) => !phaseBlockers.includes(b)).length} finding(s) would stop or endanger the run.` : 'None found: every operation class of the plan rendered and was rehearsed by the engine.',
      points: top([
        ...[...phaseBlockers, ...delaying.filter((b) => !phaseBlockers.includes(b))].map(line),
        ...(budgetShare !== null ? [`budget: the plan reads ${formatBytes(r.cost!.estimatedBytes)} (${formatUsd(r.cost!.estimatedCostUsd)}), ${budgetShare < 0.01 ? '< 0.01' : budgetShare.toFixed(2)}% of ${formatUsd(r.cost!.budgetUsd)}`] : []),
        'at run time: a lost row, a changed schema or 10% of a batch failing halts the run (exit 4); a catalogue changed since the plan is refused (exit 3)',
      ]),
    },
  ];
  return { verdict: r.verdict, canStartNow, risk, answers };
}

function header(title: string, r: ReadinessReport): string[] {
  return [`# ${title}`, '', `Readiness **${r.verdict}** · ${r.engine.kind}:${r.engine.kind === 'bigquery' ? `${r.engine.project}.` : ''}${r.engine.dataset} · ${r.generatedAt}${r.plan ? ` · plan \`${r.plan.planHash.slice(0, 16)}…\`` : ''}`, ''];
}

function checksTable(checks: readonly CheckResult[]): string[] {
  if (!checks.length) return ['No check of this part ran.', ''];
  return ['| status | check | what was tried and what came back |', '|---|---|---|', ...checks.map((c) => `| ${STATUS[c.status]} | ${cell(c.title, 90)} | ${cell(c.detail, 300)} |`), ''];
}

function blockersTable(list: readonly Blocker[]): string[] {
  if (!list.length) return ['None.', ''];
  return [
    '| P | blocker | impact | delay | mitigation | workaround | found by |',
    '|---|---|---|---|---|---|---|',
    ...list.map((b) => `| ${b.priority} | ${cell(b.title, 160)} | ${cell(b.impact, 160)} | ${cell(b.delay ?? '', 90)} | ${cell(b.mitigation, 200)} | ${cell(b.workaround ?? '', 120)} | \`${b.check}\` |`),
    '',
  ];
}

export function executiveSummary(r: ReadinessReport, a: ReadinessAnswers = answersOf(r)): string {
  const L = header('Executive summary: M008 Phase 4C readiness', r);
  L.push(`**Verdict: ${r.verdict}. Risk: ${a.risk}.** ${a.canStartNow ? 'The plan can start now.' : 'The plan cannot start now without the steps below.'}`, '');
  if (r.plan) {
    const byAction = Object.entries(r.plan.byAction).map(([k, v]) => `${k} ${n(v)}`).join(', ');
    L.push(`The plan covers ${n(r.plan.tables)} tables (${byAction}) and ${n(r.plan.views)} compatibility views.` + (r.compliance?.after ? ` M008 compliance goes from ${n(r.compliance.before.compliant)}/${n(r.compliance.before.tables)} to ${n(r.compliance.after.compliant)}/${n(r.compliance.after.tables)} tables.` : ''), '');
  }
  a.answers.forEach((x, i) => {
    L.push(`## ${i + 1}. ${x.question}`, '', `**${x.answer}**`, '');
    for (const p of x.points) L.push(`- ${cell(p, 300)}`);
    if (x.points.length) L.push('');
  });
  L.push(`Details: ${DOCUMENTS.inventory}, ${DOCUMENTS.phase}, ${DOCUMENTS.infrastructure}, ${DOCUMENTS.dependencies}, ${DOCUMENTS.blockers}; everything as JSON in ${DOCUMENTS.json}.`);
  return `${L.join('\n')}\n`;
}

export function toolInventoryDoc(r: ReadinessReport): string {
  const L = header('Script and tool inventory', r);
  L.push('Each tool Phase 4C needs, the `bqx` verb that is that tool, whether the CLI has it, and the readiness check that ran it.', '');
  L.push('| need | tool | present | ready | proven by |', '|---|---|---|---|---|');
  for (const t of r.inventory) L.push(`| ${cell(t.need, 120)} | \`${t.verb}\` | ${t.present === null ? 'not asked' : t.present ? 'yes' : '**no**'} | ${STATUS[t.ready]} | ${cell(t.detail, 160)} |`);
  L.push('', `${r.inventory.filter((t) => t.present !== false && (t.ready === 'pass' || t.ready === 'warn')).length} of ${r.inventory.length} present and ready.`);
  return `${L.join('\n')}\n`;
}

export function phaseReadinessDoc(r: ReadinessReport): string {
  const L = header('Phase 4C readiness by operation class', r);
  L.push('For each operation class of the plan: how many operations, the tool that executes it, whether the engine rendered and rehearsed a real one, and the risk (HIGH on a P0/P1 of its check, MEDIUM on a P2, LOW otherwise).', '');
  L.push('| class | in the plan | tool | ready | risk | what the check did |', '|---|---:|---|---|---|---|');
  for (const cls of OPERATION_CLASSES) {
    const id = `phases.${cls.toLowerCase()}`;
    const c = r.checks.find((x) => x.id === id) ?? r.checks.find((x) => x.id === 'phases');
    const count = !r.plan ? '–' : cls === 'VIEWS' ? n(r.plan.views) : cls === 'VALIDATION' ? n(r.plan.byAction.RENAME + r.plan.byAction.DEDUPE + r.plan.byAction.CONSOLIDATE) : n(r.plan.byAction[cls]);
    const tool = cls === 'VALIDATION' ? '`bqx apply` (per batch), `bqx verify`' : cls === 'VIEWS' ? '`bqx apply` (after each operation), views stacks' : '`bqx apply`';
    const risk = c ? riskOf(r.blockers.filter((b) => b.check === c.id)) : 'HIGH';
    L.push(`| ${cls} | ${count} | ${tool} | ${c ? STATUS[c.status] : 'not checked'} | ${c ? risk : 'HIGH (not assessed)'} | ${cell(c?.detail ?? 'no check ran', 260)} |`);
  }
  L.push('');
  if (r.plan) {
    L.push(`Reasons: ${Object.entries(r.plan.byReason).map(([k, v]) => `${k} ${n(v)}`).join(' · ')}.`, '');
    L.push(`REVIEW (${n(r.plan.byAction.REVIEW)}): left untouched; each needs a person's decision.`, '');
  }
  if (r.columns) {
    const s = r.columns;
    L.push(
      '## Columns (not part of Phase 4C)',
      '',
      `The column audit reports and renames nothing: ${n(s.names.total)} distinct column names in ${n(s.tables ?? 0)} tables, ${n(s.names.nonCompliant)} non-compliant (WINDOW_VIOLATION ${s.names.byViolation.WINDOW_VIOLATION}, PATTERN_VIOLATION ${s.names.byViolation.PATTERN_VIOLATION}), ${n(s.names.exceptions)} documented window-less exceptions. Consolidation suffixes the window-less columns it joins, which removes some WINDOW_VIOLATIONs as a side effect.`,
      '',
    );
  }
  L.push('## Blockers of the phases', '', ...blockersTable(inSection(r, 'phases')), '## Tools', '', ...checksTable(r.checks.filter((c) => c.section === 'tools')));
  return `${L.join('\n')}\n`;
}

export function infrastructureDoc(r: ReadinessReport): string {
  const L = header('Infrastructure readiness', r);
  L.push(...checksTable(r.checks.filter((c) => c.section === 'infrastructure')));
  if (r.cost) {
    const c = r.cost;
    L.push('## Cost', '', `Operations read ${formatBytes(c.estimatedBytes)} (${formatUsd(c.estimatedCostUsd)}), of which consolidations ${formatBytes(c.consolidationBytes)} (${formatUsd(c.consolidationCostUsd)}); budget ${formatUsd(c.budgetUsd)} at $${c.pricePerTiBUsd}/TiB. Renames, drops and views are free.`, '');
  }
  L.push('## Blockers', '', ...blockersTable(inSection(r, 'infrastructure')));
  return `${L.join('\n')}\n`;
}

export function dependencyDoc(r: ReadinessReport): string {
  const L = header('Dependency analysis', r);
  L.push('## Runtime: packages, credentials, APIs', '', ...checksTable(r.checks.filter((c) => c.section === 'dependencies' && c.id !== 'dependencies.extract-job')));
  const x = r.extraction;
  L.push('## Downstream: the extract job', '');
  if (!x) L.push('Not assessed (the catalogue or the policy could not be read).', '');
  else {
    L.push(
      `The extract job (Job 1) discovers each pair's tables by name from INFORMATION_SCHEMA.TABLES, which lists views too. During the grace period every compatibility view keeps an old name that matches the same discovery group, so a name-only discovery extracts each renamed feature twice. Discovery now: **${x.jobDiscovery.mode}** (${x.jobDiscovery.source}).`,
      '',
      `Across ${x.pairs.length} pair(s): ${n(x.duplicatesDuringGrace)} duplicate feature tables during the grace period; ${n(x.duplicatesBefore)} legacy copies were already read twice before the plan (the plan folds them in).`,
      '',
      'What fixes it, in the job, before the first apply:',
      '',
      ...x.fixes.map((f) => `- ${f}`),
      '',
      'Right after the apply, feature-selection lists and ledgers keyed on training-column names must be rewritten: `bqx remap --plan PLAN --pair PAIR --features FILE`.',
      '',
      '| pair | read before | after | name-only, grace period | duplicates (grace) | legacy copies (before) | RENAMED | MERGED | UNCHANGED |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...x.pairs.map((p) => `| ${p.pair.toUpperCase()} | ${n(p.before)} | ${n(p.after)} | ${n(p.nameOnlyGrace)} | ${n(p.duplicatesDuringGrace)} | ${n(p.duplicatesBefore)} | ${p.remap ? n(p.remap.RENAMED) : '–'} | ${p.remap ? n(p.remap.MERGED) : '–'} | ${p.remap ? n(p.remap.UNCHANGED) : '–'} |`),
      '',
    );
  }
  L.push('## Blockers', '', ...blockersTable(inSection(r, 'dependencies')));
  return `${L.join('\n')}\n`;
}

export function blockersDoc(r: ReadinessReport): string {
  const L = header('Execution blockers', r);
  L.push('P0 prevents execution, P1 is a high risk (a condition of the start), P2 slows the run or raises its cost, P3 is minor.', '');
  for (const p of ['P0', 'P1', 'P2', 'P3'] as const) {
    const list = r.blockers.filter((b) => b.priority === p);
    L.push(`## ${p} (${list.length})`, '', ...blockersTable(list));
  }
  return `${L.join('\n')}\n`;
}

/** Writes the six documents and the JSON to `dir`; returns their paths in the order of DOCUMENTS. */
export function writeReadinessDocuments(dir: string, r: ReadinessReport): string[] {
  const out = path.resolve(dir);
  mkdirSync(out, { recursive: true });
  const answers = answersOf(r);
  const files: [string, string][] = [
    [DOCUMENTS.summary, executiveSummary(r, answers)],
    [DOCUMENTS.inventory, toolInventoryDoc(r)],
    [DOCUMENTS.phase, phaseReadinessDoc(r)],
    [DOCUMENTS.infrastructure, infrastructureDoc(r)],
    [DOCUMENTS.dependencies, dependencyDoc(r)],
    [DOCUMENTS.blockers, blockersDoc(r)],
    [DOCUMENTS.json, `${JSON.stringify({ format: AUDIT_FORMAT, answers, report: r }, null, 2)}\n`],
  ];
  return files.map(([name, text]) => {
    const file = path.join(out, name);
    writeFileSync(file, text);
    return file;
  });
}
