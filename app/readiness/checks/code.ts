/**
 * The team's code against the plan (`bqx readiness --code DIR`): the code scan's findings become
 * blockers at production's severity, one per finding code, naming every script and line. They block
 * production only: the local rehearsal runs no team script.
 */
import { runScan } from '../../scan';
import type { Plan } from '../../../core/plan/types';
import type { Policy } from '../../../core/policy';
import type { CodeScan, ScanCode, ScannedScript } from '../../../core/scan/types';
import type { Findings } from '../findings';
import type { Priority } from '../types';

const n = (x: number) => x.toLocaleString('en-US');

interface Hit {
  readonly where: string;
  readonly names: number;
  readonly example: string;
}

/** Per finding code: `file:line` and the names there. */
export function hitsByCode(scripts: readonly ScannedScript[]): Map<ScanCode, Hit[]> {
  const out = new Map<ScanCode, Hit[]>();
  for (const s of scripts) {
    for (const r of s.references) {
      for (const code of new Set(r.findings.map((f) => f.code))) {
        if (code === 'OK') continue;
        const fs = r.findings.filter((f) => f.code === code);
        out.set(code, [...(out.get(code) ?? []), { where: `${s.path}:${r.line}`, names: fs.length, example: fs[0].name }]);
      }
    }
  }
  return out;
}

const list = (hits: readonly Hit[], max = 8) => `${hits.slice(0, max).map((h) => `${h.where} (${h.names > 1 ? `${n(h.names)} names, e.g. ` : ''}${h.example})`).join('; ')}${hits.length > max ? `; … ${hits.length - max} more in the inventory` : ''}`;

const TEXT: Partial<Record<ScanCode, (hits: readonly Hit[], scan: CodeScan) => { title: string; impact: string; mitigation: string }>> = {
  WRITES_RETIRED_NAME: (h) => ({
    title: `${h.length} place(s) in the team’s code write ${n(h.reduce((a, x) => a + x.names, 0))} table name(s) the plan retires`,
    impact: 'run after the first apply, these generators fight the compatibility views of the old names or recreate the violations the plan removed',
    mitigation: `write the plan’s target names (each finding names it) in: ${list(h)}`,
  }),
  DISCOVERY_READS_VIEWS: (h, scan) => ({
    title: `${h.length} discovery(ies) in the team’s code list tables by name, compatibility views included`,
    impact: `during the grace period${scan.plan?.graceEnd ? ` (until ${scan.plan.graceEnd})` : ''} each renamed feature is read twice, under its old and its new name`,
    mitigation: `filter table_type = 'BASE TABLE' (or read the per-pair manifest) in: ${list(h)}; rebuild and redeploy the images that ship them`,
  }),
  READS_RETIRED_NAME: (h, scan) => ({
    title: `${h.length} place(s) in the team’s code read old names; they break ${scan.summary.earliestBreak ? `on ${scan.summary.earliestBreak}` : 'when the grace period ends'}`,
    impact: 'they work through the compatibility views until the grace period ends, then fail',
    mitigation: `read the new names before ${scan.summary.earliestBreak ?? 'the grace-period end'} in: ${list(h)}`,
  }),
  WRITES_NONCOMPLIANT: (h) => ({
    title: `${h.length} place(s) in the team’s code write names that violate M008 (not in the plan)`,
    impact: 'each regeneration adds violations the plan does not fix',
    mitigation: `write M008 names in: ${list(h)}`,
  }),
  READS_UNKNOWN_NAME: (h) => ({
    title: `${h.length} place(s) in the team’s code read names that exist neither before nor after the plan`,
    impact: 'already broken (tables dropped earlier, e.g. the legacy {type}_{pair} copies of Phase 4A); not caused by the plan',
    mitigation: `fix or retire: ${list(h)}`,
  }),
};

export async function checkTeamCode(findings: Findings, input: { dir: string; plan: Plan | null; policy: Policy | null }): Promise<CodeScan | null> {
  let scan: CodeScan | null = null;
  await findings.run({ id: 'dependencies.team-code', section: 'dependencies', title: 'the team’s code against M008 and the plan' }, (scope) => {
    const s = runScan({ dir: input.dir, plan: input.plan, ...(input.policy ? { policy: input.policy } : {}) });
    scan = s;
    for (const [code, hits] of hitsByCode(s.scripts)) {
      const text = TEXT[code]?.(hits, s);
      const severity = s.scripts.flatMap((x) => x.references).flatMap((r) => r.findings).find((f) => f.code === code)?.severity;
      if (!text || !severity || severity === 'none') continue;
      scope.block({ code: `CODE_${code}`, priority: severity as Priority, scope: 'production', ...text });
    }
    const st = s.summary.byStatus;
    return `${n(s.summary.scripts)} files scanned (${n(s.summary.withReferences)} touch the feature dataset): READY ${st.READY}, PARTIAL ${st.PARTIAL}, BLOCKED ${st.BLOCKED}, MISSING ${st.MISSING}; ${s.summary.basis}`;
  });
  return scan;
}
