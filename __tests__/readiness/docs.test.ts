/**
 * The operating documents are kept true by these tests: every `bqx <verb>` they show exists in the
 * CLI and accepts every option shown, every alert policy the stacks declare has a RUNBOOK section,
 * and the RUNBOOK's exit codes are those of scripts/exit-codes.ts.
 */
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';
import { EXIT, EXIT_MEANINGS } from '../../scripts/exit-codes';
import { buildProgram } from '../../scripts/cli';
import { headingAnchor } from '../../stacks/pipeline-stack';
import { bqxCommands } from './support/markdown-commands';
import { synthesizedStacks } from './support/stacks';

const root = path.join(__dirname, '..', '..');
const DOCS = ['RUNBOOK.md', 'docs/DEPLOYMENT_CHECKLIST.md', 'docs/ROLLBACK.md', 'docs/KNOWN_LIMITATIONS.md'];
const read = (f: string) => readFileSync(path.join(root, f), 'utf8');

describe('operating documents', () => {
  const program = buildProgram();

  test.each(DOCS)('%s: every bqx command shown exists and every option shown is accepted by its --help', (doc) => {
    const commands = bqxCommands(read(doc));
    expect(commands.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const c of commands) {
      let cmd = program.commands.find((x) => x.name() === c.verb);
      if (!cmd) {
        problems.push(`${c.text}: no verb ${c.verb}`);
        continue;
      }
      if (cmd.commands.length > 0) {
        // A command group (`bqx warehouse seed`): the options belong to the subcommand.
        cmd = cmd.commands.find((x) => x.name() === c.sub);
        if (!cmd) {
          problems.push(`${c.text}: ${c.verb} has no subcommand ${c.sub}`);
          continue;
        }
      }
      const help = cmd.helpInformation();
      const accepted = new Set([...cmd.options.map((o) => o.long), '--help']);
      for (const o of c.options) if (!accepted.has(o) || !help.includes(o)) problems.push(`${c.text}: ${c.verb} does not accept ${o}`);
    }
    expect(problems).toEqual([]);
  });

  test('the command parser finds what it must (and so can fail)', () => {
    const found = bqxCommands('x `bqx apply p.json --dry-run` y\n```sh\nbqx nosuchverb --frobnicate\n```\n`bqx_ml_v3` `bq ls -j`');
    expect(found.map((f) => [f.verb, f.options])).toEqual([
      ['nosuchverb', ['--frobnicate']],
      ['apply', ['--dry-run']],
    ]);
    expect(bqxCommands('`bqx warehouse seed --scale small`')).toEqual([{ verb: 'warehouse', sub: 'seed', options: ['--scale'], text: 'bqx warehouse seed --scale small' }]);
  });

  test('the RUNBOOK shows plan, paper run, apply, verify, reconcile, rollback and emergency stop', () => {
    const runbook = read('RUNBOOK.md');
    const verbs = new Set(bqxCommands(runbook).map((c) => c.verb));
    for (const v of ['plan', 'apply', 'verify', 'reconcile', 'rollback', 'unlock', 'readiness']) expect(verbs).toContain(v);
    expect(bqxCommands(runbook).some((c) => c.verb === 'apply' && c.options.includes('--dry-run'))).toBe(true);
    for (const h of ['Plan', 'Paper run', 'Apply', 'Verify', 'Reconcile', 'Rollback', 'Emergency stop']) expect(runbook).toMatch(new RegExp(`^## \\d+\\. ${h}$`, 'm'));
  });

  test('every alert policy the synthesized stacks declare has a RUNBOOK section', () => {
    const { stacks } = synthesizedStacks();
    const names = stacks.alertPolicies.map((a) => a.displayName);
    expect(names.length).toBeGreaterThanOrEqual(3);
    const headings = new Set([...read('RUNBOOK.md').matchAll(/^### Alert: (.+)$/gm)].map((m) => m[1].trim()));
    expect(names.filter((n) => !headings.has(n))).toEqual([]);
    // And no section for an alert that no longer exists.
    expect([...headings].filter((h) => !names.includes(h))).toEqual([]);
    // Each incident's text links its section, by the anchor GitHub gives that heading.
    const anchors = new Set([...read('RUNBOOK.md').matchAll(/^#+ (.+)$/gm)].map((m) => headingAnchor(m[1])));
    for (const a of stacks.alertPolicies) {
      const link = /\(https:\/\/github\.com\/bqx-ml\/bqx-platform\/blob\/main\/RUNBOOK\.md#([a-z0-9-]+)\)/.exec(a.documentation);
      expect({ alert: a.displayName, anchor: link?.[1] }).toEqual({ alert: a.displayName, anchor: headingAnchor(`Alert: ${a.displayName}`) });
      expect(anchors.has(link![1])).toBe(true);
    }
    expect(headingAnchor('10. Identities: who can do what')).toBe('10-identities-who-can-do-what');
  });

  test('the RUNBOOK reads top to bottom: one numbering, each section and alert starting with the one command to run', () => {
    const runbook = read('RUNBOOK.md');
    const numbers = [...runbook.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1]));
    expect(numbers).toEqual(numbers.map((_, i) => i));
    const sections = runbook.split(/^(?=##+ )/m).filter((x) => /^## \d+\. |^### Alert: /.test(x));
    const firstLines = sections.map((x) => ({ heading: x.split('\n')[0], first: x.split('\n').slice(1).find((l) => l.trim() !== '') }));
    expect(firstLines.filter((x) => !x.first?.startsWith('**Run:** '))).toEqual([]);
  });

  test('every link to a RUNBOOK section lands on a heading, and every "RUNBOOK N" names a section that exists', () => {
    const runbook = read('RUNBOOK.md');
    const anchors = new Set([...runbook.matchAll(/^#+ (.+)$/gm)].map((m) => headingAnchor(m[1])));
    const last = Math.max(...[...runbook.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])));
    const files = [...DOCS, 'README.md', 'stacks/README.md'];
    const broken: string[] = [];
    for (const f of files) {
      const text = read(f);
      const links = f === 'RUNBOOK.md' ? [...text.matchAll(/\]\(#([^)]+)\)/g)] : [...text.matchAll(/RUNBOOK\.md#([^)\s]+)\)/g)];
      for (const m of links) if (!anchors.has(m[1])) broken.push(`${f}: #${m[1]}`);
      for (const m of text.matchAll(/RUNBOOK (?:sections? )?(\d+)(?:[–-](\d+))?/g)) {
        for (const n of [m[1], m[2]].filter(Boolean).map(Number)) if (n > last) broken.push(`${f}: ${m[0]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('the RUNBOOK exit codes are those of scripts/exit-codes.ts', () => {
    const section = read('RUNBOOK.md').split(/^## Exit codes, and what to do after each$/m)[1].split(/^## /m)[0];
    const rows = [...section.matchAll(/^\|\s*(\d+)\s*\|/gm)].map((m) => Number(m[1]));
    expect(rows.sort((a, b) => a - b)).toEqual([...new Set(Object.values(EXIT))].sort((a, b) => a - b));
    const text = (code: number) => section.split('\n').find((l) => new RegExp(`^\\|\\s*${code}\\s*\\|`).test(l)) ?? '';
    expect(text(EXIT.NO_GO)).toMatch(/NO-GO/);
    expect(text(EXIT.CONDITIONAL_GO)).toMatch(/CONDITIONAL GO/);
    expect(text(EXIT.HALTED)).toMatch(/halted/);
    expect(text(EXIT.REFUSED)).toMatch(/refused/);
    expect(text(EXIT.INCOMPLETE)).toMatch(/partial progress/);
    expect(text(EXIT.INTERRUPTED)).toMatch(/signal/);
    expect(text(EXIT.DRIFT)).toMatch(/does not match the plan/);
    expect(text(EXIT.UNAVAILABLE)).toMatch(/disk full/);
    // Every row says what a person does next (a third column that is not empty).
    for (const code of new Set(Object.values(EXIT))) expect(text(code).split('|').filter((c) => c.trim()).length).toBeGreaterThanOrEqual(3);
    // The cases each verb returns: a plan never applied here is refused; apply, reconcile and rollback end 8 on drift; main resumes.
    expect(text(EXIT.REFUSED)).toMatch(/never applied here/);
    expect(text(EXIT.DRIFT)).toMatch(/verify, reconcile, rollback, and an apply/);
    expect(text(EXIT.INTERRUPTED)).toMatch(/`bqx main`.*resumes the plan in progress/);
  });

  test('bqx --help prints the exit-code table, and each read verb\'s help names the codes it returns', () => {
    const help = spawnSync(process.execPath, [path.join(root, 'bin', 'bqx.js'), '--help'], { encoding: 'utf8' }).stdout;
    for (const [kind, code] of Object.entries(EXIT)) expect(help).toContain(`${String(code).padEnd(3)} ${EXIT_MEANINGS[kind as keyof typeof EXIT_MEANINGS]}`);
    const verbHelp = (verb: string) => program.commands.find((c) => c.name() === verb)!.description();
    for (const verb of ['verify', 'reconcile']) {
      expect(verbHelp(verb)).toContain(`exit ${EXIT.DRIFT}`);
      expect(verbHelp(verb)).toContain(`${EXIT.REFUSED} for a plan never applied here`);
      expect(verbHelp(verb)).not.toContain(`exit ${EXIT.HALTED}`);
      expect(verbHelp(verb)).not.toContain(`exit ${EXIT.FAILURE}`);
    }
    for (const verb of ['verify', 'reconcile', 'readiness']) expect(verbHelp(verb)).toContain('writes nothing to it');
    expect(verbHelp('main')).toContain('exit 7');
  });
});
