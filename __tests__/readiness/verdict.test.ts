import { EXIT, exitCodeOf } from '../../scripts/exit-codes';
import { satisfies } from '../../app/readiness/checks/dependencies';
import { Findings } from '../../app/readiness/findings';
import { readinessMarkdown } from '../../app/readiness/markdown';
import type { Blocker, ReadinessReport } from '../../app/readiness/types';
import { conditionsOf, outcomeOfVerdict, sortBlockers, verdictOf } from '../../app/readiness/verdict';

const exitCodeFor = (v: Parameters<typeof outcomeOfVerdict>[0]) => exitCodeOf(outcomeOfVerdict(v));
import { renderReadinessHtml } from '../../app/report/html/readiness-page';

const b = (priority: Blocker['priority'], code = 'X'): Blocker => ({ code, priority, title: `${code} title`, impact: 'i', mitigation: `do ${code}`, check: 'c' });

describe('verdict', () => {
  test('GO without P0/P1, CONDITIONAL GO with P1 only, NO-GO with any P0; exit codes from scripts/exit-codes', () => {
    expect(verdictOf([])).toBe('GO');
    expect(verdictOf([b('P2'), b('P3')])).toBe('GO');
    expect(verdictOf([b('P1'), b('P3')])).toBe('CONDITIONAL GO');
    expect(verdictOf([b('P1'), b('P0')])).toBe('NO-GO');
    expect(exitCodeFor('GO')).toBe(0);
    expect(exitCodeFor('NO-GO')).toBe(EXIT.NO_GO);
    expect(exitCodeFor('CONDITIONAL GO')).toBe(EXIT.CONDITIONAL_GO);
    expect(conditionsOf([b('P1', 'BUDGET'), b('P2', 'Y')])).toEqual(['BUDGET title — do BUDGET']);
    expect(sortBlockers([b('P3', 'a'), b('P0', 'z'), b('P1', 'm'), b('P0', 'b')]).map((x) => `${x.priority}${x.code}`)).toEqual(['P0b', 'P0z', 'P1m', 'P3a']);
  });

  test('a check that throws fails with a blocker instead of passing', async () => {
    const f = new Findings();
    await f.run({ id: 'x', section: 'tools', title: 'x' }, () => {
      throw new Error('boom');
    });
    await f.run({ id: 'y', section: 'tools', title: 'y', onError: () => ({ code: 'Y', priority: 'P0', title: 't', impact: 'i', mitigation: 'm' }) }, async () => {
      throw new Error('bang');
    });
    await f.run({ id: 'z', section: 'tools', title: 'z' }, (s) => (s.block({ code: 'Z', priority: 'P3', title: 't', impact: 'i', mitigation: 'm' }), 'ok'));
    expect(f.checks.map((c) => c.status)).toEqual(['fail', 'fail', 'warn']);
    expect(f.blockers.map((x) => `${x.check}:${x.priority}`)).toEqual(['x:P1', 'y:P0', 'z:P3']);
    expect(f.checks[0].detail).toContain('boom');
  });

  test('version ranges as package.json writes them', () => {
    expect(satisfies('20.20.2', '>=20.10')).toBe(true);
    expect(satisfies('18.19.0', '>=20.10')).toBe(false);
    expect(satisfies('8.3.1', '^8.3.1')).toBe(true);
    expect(satisfies('9.0.0', '^8.3.1')).toBe(false);
    expect(satisfies('8.3.0', '^8.3.1')).toBe(false);
    expect(satisfies('0.21.0', '0.21.0')).toBe(true);
    expect(satisfies('0.21.1', '0.21.0')).toBe(false);
    expect(satisfies('1.5.6-r.1', '1.5.6-r.1')).toBe(true);
    expect(satisfies('5.9.3', '~5.9.3')).toBe(true);
    expect(satisfies('5.10.0', '~5.9.3')).toBe(false);
  });
});

describe('reports', () => {
  const report = (blockers: Blocker[]): ReadinessReport => ({
    format: 'bqx-readiness/v1',
    generatedAt: '2026-11-21T00:00:00.000Z',
    mode: 'rehearsal',
    verdict: verdictOf(blockers),
    conditions: conditionsOf(blockers),
    production: { verdict: verdictOf(blockers), conditions: conditionsOf(blockers) },
    rehearsal: { verdict: verdictOf(blockers), conditions: conditionsOf(blockers) },
    notChecked: [],
    projection: null,
    code: null,
    engine: { kind: 'duckdb', project: 'p', dataset: 'd', runnerDataset: 'r', location: 'l' },
    currentFingerprint: null,
    plan: null,
    cost: null,
    compliance: null,
    columns: null,
    extraction: null,
    inventory: [],
    checks: blockers.map((x, i) => ({ id: `c${i}`, section: 'tools', title: `check <${i}>`, status: 'fail', detail: 'x'.repeat(400), durationMs: 1 })),
    blockers: sortBlockers(blockers),
    counts: { P0: blockers.filter((x) => x.priority === 'P0').length, P1: blockers.filter((x) => x.priority === 'P1').length, P2: 0, P3: 0, checks: blockers.length, failed: blockers.length },
    durationMs: 1,
  });

  test('the Markdown summary stays within ~150 lines however many blockers there are', () => {
    const many = Array.from({ length: 60 }, (_, i) => b(i % 2 ? 'P0' : 'P1', `B${i}`));
    const md = readinessMarkdown({ ...report(many), checks: report(many).checks.slice(0, 40) });
    expect(md.split('\n').length).toBeLessThanOrEqual(150);
    expect(md).toMatch(/^# Readiness: REHEARSAL NO-GO \(this local run may not proceed\) · PRODUCTION NO-GO$/m);
    expect(md).toContain('more in readiness.json');
  });

  test('the HTML escapes what it shows', () => {
    const html = renderReadinessHtml(report([{ ...b('P0'), title: '<script>alert(1)</script>' }]));
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('data-verdict="NO-GO"');
  });
});
