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
import { modeLine, verdictHeadline } from './production';
import { projectionLine } from './projection';
import type { Blocker, CheckResult, CheckStatus, Priority, ReadinessReport, Section } from './types';

export const AUDIT_FORMAT = 'bqx-readiness-audit/v1';

/** The directive's own file names, dated by the report (`<date>` = YYYYMMDD of generatedAt, UTC). */
export function documentNames(generatedAt: string) {
  const d = generatedAt.slice(0, 10).replace(/-/g, '');
  return {
    summary: `BA_AUDIT_SUMMARY_${d}.md`,
    inventory: `IMPLEMENTATION_SCRIPT_INVENTORY_${d}.md`,
    phase: `M008_PHASE4C_READINESS_REPORT_${d}.md`,
    infrastructure: `INFRASTRUCTURE_READINESS_REPORT_${d}.md`,
    dependencies: `DEPENDENCY_ANALYSIS_${d}.md`,
    blockers: `EXECUTION_BLOCKER_ANALYSIS_${d}.md`,
    json: `BA_AUDIT_SUMMARY_${d}.json`,
  } as const;
}

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
const top = (list: readonly string[], max = 5, where = 'the execution-blocker analysis') => (list.length > max ? [...list.slice(0, max), `… ${list.length - max} more in ${where}`] : [...list]);

const missingScripts = (r: ReadinessReport) => r.code?.summary.required.filter((x) => x.status === 'MISSING') ?? [];
const rehearsalNote = (r: ReadinessReport) =>
  r.mode === 'rehearsal' ? ` The rehearsal on the synthetic copy is ${r.verdict}: it proved the plan and the tool, not the cloud (${r.notChecked.length} check(s) NOT CHECKED).` : '';

/** The six answers, for production, each from the report's checks and blockers (and what a rehearsal could not prove). */
export function answersOf(r: ReadinessReport): ReadinessAnswers {
  const verdict = r.production.verdict;
  const p = (x: Priority) => r.blockers.filter((b) => b.priority === x);
  const risk = riskOf(r.blockers);
  const delaying = r.blockers.filter((b) => b.priority === 'P0' || b.priority === 'P1');
  const canStartNow = verdict === 'GO';
  // A tool failed when a check that runs it found a blocker of the tool itself (not one of production's, such as the extract job's discovery).
  const toolFailures = new Set(r.blockers.filter((b) => (b.priority === 'P0' || b.priority === 'P1') && !(r.mode === 'rehearsal' && b.scope === 'production') && b.check !== 'dependencies.extract-job').map((b) => b.check));
  const missing = r.inventory.filter((t) => t.present === false || (t.ready === 'fail' && t.checks.some((c) => toolFailures.has(c))));
  const scripts = missingScripts(r);
  const infra = inSection(r, 'infrastructure');
  const deps = inSection(r, 'dependencies');
  const phaseBlockers = inSection(r, 'phases');
  const x = r.extraction;
  const budgetShare = r.cost && r.cost.budgetUsd > 0 ? (100 * r.cost.estimatedCostUsd) / r.cost.budgetUsd : null;
  const notChecked = r.notChecked.map((c) => `NOT CHECKED: ${c.what} — \`${c.command}\``);
  const nothingMissing = !missing.length && !scripts.length && !r.notChecked.length && !delaying.length;

  const answers: Answer[] = [
    {
      question: QUESTIONS[0],
      answer:
        (verdict === 'GO'
          ? `Yes: production readiness is GO, no P0 or P1 blocker${r.blockers.length ? `; ${r.blockers.length} P2/P3 finding(s) do not delay the start` : ''}.`
          : verdict === 'CONDITIONAL GO'
            ? `Not with zero delays: production is CONDITIONAL GO, ${p('P1').length} condition(s) must hold before the first apply.`
            : `No: NO-GO, ${p('P0').length} P0 blocker(s) prevent execution.`) + rehearsalNote(r),
      points: top(delaying.map(line)),
    },
    {
      question: QUESTIONS[1],
      answer: nothingMissing
        ? `Nothing is missing: all ${r.inventory.length} tools of the inventory are in the CLI${r.inventory.some((t) => t.present === null) ? ' (the CLI was not asked: presence not checked)' : ''}, none failed its check${r.code ? ', the team’s code has every required Phase 4C script' : ''}.`
        : [
            missing.length ? `${missing.length} tool(s) of the inventory are missing or failed their check.` : '',
            scripts.length ? `${scripts.length} Phase 4C script(s) the directive requires are not in the team’s code (bqx does each instead: 0 h to create).` : '',
            r.notChecked.length ? `${r.notChecked.length} production check(s) were NOT CHECKED here.` : '',
            delaying.length ? `${delaying.length} P0/P1 blocker(s) must be fixed first; their delays are below.` : '',
          ]
            .filter(Boolean)
            .join(' '),
      points: top([
        ...missing.map((t) => `${t.need}: ${t.verb} ${t.present === false ? 'is not in the CLI' : `failed (${t.detail})`}`),
        ...scripts.map((s) => `MISSING in the team’s code: ${s.need}; bqx does it: ${s.bqx}`),
        ...delaying.map((b) => `${b.title}: ${b.delay ?? 'delay unknown'}`),
        ...notChecked,
      ], 12),
    },
    {
      question: QUESTIONS[2],
      answer:
        (infra.length
          ? `${infra.filter((b) => b.priority === 'P0' || b.priority === 'P1').length} blocking and ${infra.filter((b) => b.priority === 'P2' || b.priority === 'P3').length} non-blocking infrastructure finding(s).`
          : `None found: ${r.checks.filter((c) => c.section === 'infrastructure').length} infrastructure checks found nothing.`) +
        (r.notChecked.length ? ` Not known: ${r.notChecked.map((c) => c.id).join(', ')} were NOT CHECKED.` : ''),
      points: top([...infra.map(line), ...notChecked], 12),
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
        ...(r.code?.summary.earliestBreak ? [`the first consumer of an old name breaks on ${r.code.summary.earliestBreak} (grace-period end)`] : []),
      ]),
    },
    {
      question: QUESTIONS[4],
      answer: `${risk}: ${risk === 'HIGH' ? 'a P0 or P1 blocker stands' : risk === 'MEDIUM' ? 'only P2 findings (slower or dearer, not blocked)' : 'no P0, P1 or P2 finding'}${r.mode === 'rehearsal' ? ' (severities as in production)' : ''}.`,
      points: [`P0 ${r.counts.P0}, P1 ${r.counts.P1}, P2 ${r.counts.P2}, P3 ${r.counts.P3}; ${r.counts.checks} checks, ${r.counts.failed} failed`, 'rule: HIGH on any P0 or P1, MEDIUM on any P2, LOW otherwise'],
    },
    {
      question: QUESTIONS[5],
      answer: phaseBlockers.length || delaying.length ? `${phaseBlockers.length + delaying.filter((b) => !phaseBlockers.includes(b)).length} finding(s) would stop or endanger the run.` : `None found: every operation class of the plan rendered and was rehearsed by the engine${r.mode === 'rehearsal' ? ' (on the synthetic copy)' : ''}.`,
      points: top([
        ...[...phaseBlockers, ...delaying.filter((b) => !phaseBlockers.includes(b))].map(line),
        ...(budgetShare !== null ? [`budget: the plan reads ${formatBytes(r.cost!.estimatedBytes)} (${formatUsd(r.cost!.estimatedCostUsd)})${r.mode === 'rehearsal' ? ' on the SYNTHETIC copy' : ''}, ${budgetShare < 0.01 ? '< 0.01' : budgetShare.toFixed(2)}% of ${formatUsd(r.cost!.budgetUsd)}`] : []),
        ...(r.projection ? [projectionLine(r.projection)] : []),
        'at run time: a lost row, a changed schema or 10% of a batch failing halts the run (exit 4); a catalogue changed since the plan is refused (exit 3)',
      ]),
    },
  ];
  return { verdict, canStartNow, risk, answers };
}

function header(title: string, r: ReadinessReport): string[] {
  return [
    `# ${title}`,
    '',
    `**${modeLine(r.mode, r.engine)}**`,
    '',
    `${verdictHeadline(r)} · ${r.engine.kind}:${r.engine.kind === 'bigquery' ? `${r.engine.project}.` : ''}${r.engine.dataset} · ${r.generatedAt}${r.plan ? ` · plan \`${r.plan.planHash.slice(0, 16)}…\`` : ''}`,
    '',
  ];
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
  const L = header('BA audit summary: M008 Phase 4C readiness', r);
  L.push(`**Production verdict: ${r.production.verdict}. Risk: ${a.risk}.** ${a.canStartNow ? 'The plan can start now on the feature store.' : 'The plan cannot start on the feature store without the steps below.'}`, '');
  if (r.rehearsal) L.push(`**Rehearsal verdict: ${r.rehearsal.verdict}** (this local run on the synthetic copy ${r.rehearsal.verdict === 'GO' ? 'may proceed; `npm start` acts on it' : 'may not proceed'}).`, '');
  if (r.plan) {
    const byAction = Object.entries(r.plan.byAction).map(([k, v]) => `${k} ${n(v)}`).join(', ');
    L.push(`The plan covers ${n(r.plan.tables)} tables (${byAction}) and ${n(r.plan.views)} compatibility views.` + (r.compliance?.after ? ` M008 compliance goes from ${n(r.compliance.before.compliant)}/${n(r.compliance.before.tables)} to ${n(r.compliance.after.compliant)}/${n(r.compliance.after.tables)} tables.` : ''), '');
  }
  a.answers.forEach((x, i) => {
    L.push(`## ${i + 1}. ${x.question}`, '', `**${x.answer}**`, '');
    for (const p of x.points) L.push(`- ${cell(p, 300)}`);
    if (x.points.length) L.push('');
  });
  const d = documentNames(r.generatedAt);
  L.push(`Details: ${d.inventory}, ${d.phase}, ${d.infrastructure}, ${d.dependencies}, ${d.blockers}; everything as JSON in ${d.json}.`);
  return `${L.join('\n')}\n`;
}

export function toolInventoryDoc(r: ReadinessReport): string {
  const L = header('Implementation script inventory', r);
  const c = r.code;
  if (c) {
    const st = c.summary.byStatus;
    L.push(
      `## The team’s scripts (${c.root})`,
      '',
      `Every Python and shell script, SQL file, Dockerfile and Cloud Build file: READY (no finding), PARTIAL (needs M008 updates), BLOCKED (a P0/P1 finding: must change before the first apply), MISSING (required by the directive, absent). READY ${st.READY} · PARTIAL ${st.PARTIAL} · BLOCKED ${st.BLOCKED} · MISSING ${st.MISSING}. Judged against ${c.summary.basis}. Evidence is \`file:line\`; “tested” means a test file of the repository names the script.`,
      '',
      '| status | script | kind | category | tested | evidence |',
      '|---|---|---|---|---|---|',
    );
    const order = { BLOCKED: 0, PARTIAL: 1, MISSING: 2, READY: 3 } as const;
    const sorted = [...c.scripts].sort((a, b) => order[a.status] - order[b.status] || (a.path < b.path ? -1 : 1));
    for (const s of sorted) {
      const touches = s.references.length ? `${s.references.length} reference(s)` : 'no feature-dataset reference';
      L.push(`| ${s.status} | \`${s.path}\` | ${s.kind} | ${s.category} | ${s.tested ? 'yes' : 'no'} | ${cell(s.evidence.length ? `${s.evidence.slice(0, 4).join('; ')}${s.evidence.length > 4 ? `; … ${s.evidence.length - 4} more` : ''}` : touches, 400)} |`);
    }
    for (const m of c.summary.required.filter((x) => x.status === 'MISSING')) L.push(`| MISSING | ${cell(m.need, 100)} | – | remediation | – | not in the team’s code; ${cell(m.bqx, 120)} |`);
    L.push('');
  } else {
    L.push('NOT CHECKED: the team’s code was not scanned (give `bqx readiness --code DIR`, a checkout of the team’s repository).', '');
  }
  L.push('## This tool’s commands', '', 'Each tool Phase 4C needs, the `bqx` verb that is that tool, whether the CLI has it, and the readiness check that ran it.', '');
  L.push('| need | tool | present | ready | proven by |', '|---|---|---|---|---|');
  for (const t of r.inventory) L.push(`| ${cell(t.need, 120)} | \`${t.verb}\` | ${t.present === null ? 'not asked' : t.present ? 'yes' : '**no**'} | ${STATUS[t.ready]} | ${cell(t.detail, 160)} |`);
  L.push('', `${r.inventory.filter((t) => t.present !== false && (t.ready === 'pass' || t.ready === 'warn')).length} of ${r.inventory.length} present and ready.`);
  return `${L.join('\n')}\n`;
}

export function phaseReadinessDoc(r: ReadinessReport): string {
  const L = header('M008 Phase 4C readiness report', r);
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
  if (r.code) {
    L.push('## The directive’s required scripts', '', '| capability | team script | evidence | what bqx does instead |', '|---|---|---|---|');
    for (const q of r.code.summary.required) L.push(`| ${cell(q.need, 90)} | ${q.status} | ${cell(q.evidence.join(', ') || '–', 200)} | ${cell(q.bqx, 120)} |`);
    L.push('', 'A MISSING team script costs no time to create: the `bqx` verb beside it does the work, rehearsed above.', '');
  } else L.push('## The directive’s required scripts', '', 'NOT CHECKED: the team’s code was not scanned (`bqx readiness --code DIR`).', '');
  L.push('## Blockers of the phases', '', ...blockersTable(inSection(r, 'phases')), '## Tools', '', ...checksTable(r.checks.filter((c) => c.section === 'tools')));
  return `${L.join('\n')}\n`;
}

export function infrastructureDoc(r: ReadinessReport): string {
  const L = header('Infrastructure readiness report', r);
  L.push(...checksTable(r.checks.filter((c) => c.section === 'infrastructure')));
  if (r.notChecked.length) {
    L.push('## NOT CHECKED', '', `${r.mode === 'rehearsal' ? 'A rehearsal on the synthetic copy cannot reach Google Cloud' : 'Readiness has no check of these'}; each command checks it.`, '', '| resource | command |', '|---|---|');
    for (const x of r.notChecked) L.push(`| ${cell(x.what, 160)} | \`${cell(x.command, 260)}\` |`);
    L.push('');
  }
  if (r.cost) {
    const c = r.cost;
    L.push('## Cost', '', `${r.mode === 'rehearsal' ? 'SYNTHETIC copy: o' : 'O'}perations read ${formatBytes(c.estimatedBytes)} (${formatUsd(c.estimatedCostUsd)}), of which consolidations ${formatBytes(c.consolidationBytes)} (${formatUsd(c.consolidationCostUsd)}); budget ${formatUsd(c.budgetUsd)} at $${c.pricePerTiBUsd}/TiB. Renames, drops and views are free.`, '');
    if (r.projection) L.push(`${projectionLine(r.projection)}. Basis: ${r.projection.basis}. The team’s own estimate for Phase 4C was $5–15 (facts §5.6).`, '');
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
  L.push('## Data dependencies in the team’s code', '');
  if (!r.code) L.push('NOT CHECKED: the team’s code was not scanned (`bqx readiness --code DIR`).', '');
  else {
    const rows: string[] = [];
    for (const sc of r.code.scripts) {
      for (const ref of sc.references) {
        for (const code of new Set(ref.findings.map((f) => f.code))) {
          if (code === 'OK') continue;
          const fs = ref.findings.filter((f) => f.code === code);
          const role = code.startsWith('WRITES') ? 'generator' : code === 'DISCOVERY_READS_VIEWS' ? 'discovery' : 'consumer';
          const breaks = code === 'READS_RETIRED_NAME' ? (/until (\d{4}-\d{2}-\d{2})/.exec(fs[0].detail)?.[1] ?? 'at the apply') : code === 'READS_UNKNOWN_NAME' ? 'already broken' : code === 'WRITES_RETIRED_NAME' || code === 'DISCOVERY_READS_VIEWS' ? 'from the first apply' : '–';
          rows.push(`| \`${sc.path}:${ref.line}\` | ${role} | ${code} | ${n(fs.length)} | ${cell(fs[0].name, 60)} | ${breaks} | ${cell(fs[0].detail, 200)} |`);
        }
      }
    }
    L.push(`Which script writes or reads which feature tables, and when it breaks (${r.code.summary.basis}).`, '');
    if (rows.length) L.push('| where | role | finding | names | e.g. | breaks | detail |', '|---|---|---|---:|---|---|---|', ...rows, '');
    else L.push('No generator recreates an old name and no consumer reads one.', '');
  }
  L.push('## Blockers', '', ...blockersTable(inSection(r, 'dependencies')));
  return `${L.join('\n')}\n`;
}

const SECTION_PHASE: Record<Section, string> = { tools: 'planning', phases: 'apply', infrastructure: 'apply (all phases)', dependencies: 'apply and the grace period' };

/** The directive's per-item format: Status, Impact, Estimated delay, Mitigation, Workaround, Recommended action. */
export function blockersDoc(r: ReadinessReport): string {
  const L = header('Execution blocker analysis', r);
  L.push('P0 prevents execution, P1 prevents part of it or is a high risk (a condition of the start), P2 slows it or raises its cost, P3 is minor. Severities are production’s on every engine.', '');
  const sectionOf = new Map(r.checks.map((c) => [c.id, c.section]));
  for (const p of ['P0', 'P1', 'P2', 'P3'] as const) {
    const list = r.blockers.filter((b) => b.priority === p);
    L.push(`## ${p} (${list.length})`, '');
    if (!list.length) L.push('None.', '');
    list.forEach((b, i) => {
      const section = sectionOf.get(b.check);
      const status = b.scope === 'production' && r.mode === 'rehearsal' ? 'OPEN: blocks production (this rehearsal may proceed)' : p === 'P0' || p === 'P1' ? 'OPEN: blocks this run' : 'OPEN: does not delay the start';
      L.push(
        `### ${p}.${i + 1} ${b.title}`,
        '',
        `- **Status:** ${status}`,
        `- **Type:** ${b.code} (${section ?? 'readiness'})`,
        `- **Impact:** ${b.impact}`,
        `- **Affected phase:** ${section ? SECTION_PHASE[section] : 'all'}`,
        `- **Estimated delay:** ${b.delay ?? 'unknown'}`,
        `- **Mitigation:** ${b.mitigation}`,
        `- **Workaround:** ${b.workaround ?? 'none'}`,
        `- **Recommended action:** ${p === 'P0' ? 'fix before any start' : p === 'P1' ? 'fix, or accept the risk in writing, before the first apply' : p === 'P2' ? 'schedule the fix; the start need not wait' : 'note it'}: ${b.mitigation.split(';')[0]}`,
        `- **Found by:** \`${b.check}\``,
        '',
      );
    });
  }
  if (r.notChecked.length) {
    L.push('## NOT CHECKED', '', 'Checks that need Google Cloud and did not run here; each command checks it.', '');
    for (const x of r.notChecked) L.push(`- ${x.what}: \`${x.command}\``);
    L.push('');
  }
  return `${L.join('\n')}\n`;
}

/** Writes the six documents and the JSON to `dir`; returns their paths in the order of documentNames. */
export function writeReadinessDocuments(dir: string, r: ReadinessReport): string[] {
  const out = path.resolve(dir);
  mkdirSync(out, { recursive: true });
  const answers = answersOf(r);
  const DOCUMENTS = documentNames(r.generatedAt);
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
