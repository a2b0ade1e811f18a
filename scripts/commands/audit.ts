import { readFileSync } from 'fs';
import type { Command } from 'commander';
import { auditCatalogue, auditNames, type AuditResult } from '../../core/audit';
import { BqxError, EXIT } from '../../core/errors';
import { loadPolicy } from '../../core/policy';
import { openEngine } from '../../engines';
import { emit, engineOptions, withEngineOptions } from '../options';

function readNames(file: string): string[] {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new BqxError('NAMES_UNREADABLE', `cannot read --names ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'pass a file with one table name per line, or - for standard input');
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

export function formatAudit(result: AuditResult, source: string): string {
  const s = result.summary;
  const lines = [
    `M008 audit of ${source}`,
    `  tables: ${s.tables}   compliant: ${s.compliant}   non-compliant: ${s.nonCompliant}` +
      (s.views ? `   views (not judged): ${s.views}` : '') +
      (s.bookkeeping ? `   bookkeeping: ${s.bookkeeping}` : ''),
    '',
    '  family        tables  non-compliant',
    ...Object.entries(s.byFamily).map(([f, c]) => `  ${f.padEnd(12)} ${String(c.total).padStart(7)}  ${String(c.nonCompliant).padStart(13)}`),
    '',
    '  violation class         tables',
    ...Object.entries(s.byViolation)
      .filter(([, n]) => n > 0)
      .map(([v, n]) => `  ${v.padEnd(22)} ${String(n).padStart(7)}`),
  ];
  return lines.join('\n');
}

export function registerAudit(program: Command): void {
  withEngineOptions(
    program
      .command('audit')
      .description('Audit table names against M008: the warehouse catalogue (every page), or a list of names (--names).')
      .option('--names <file>', 'audit the names in FILE (one per line, - for stdin) instead of a warehouse; a pre-commit lint')
      .option('--policy <file>', 'policy YAML (default: policy/m008.policy.yaml)')
      .option('--json', 'print {summary, tables} as JSON')
      .option('--fail-on-violation', `exit ${EXIT.VIOLATIONS} when any name violates M008`),
  ).action(async (opts) => {
    const policy = loadPolicy(opts.policy);
    let result: AuditResult;
    let source: string;
    if (opts.names !== undefined) {
      result = auditNames(policy, readNames(opts.names));
      source = opts.names === '-' ? 'standard input' : opts.names;
    } else {
      const eo = engineOptions(opts);
      const engine = await openEngine(eo);
      try {
        result = auditCatalogue(policy, await engine.listTables());
        source = `${eo.engine}:${eo.engine === 'duckdb' ? eo.database : eo.project}/${eo.dataset}`;
      } finally {
        await engine.close();
      }
    }
    emit(Boolean(opts.json), result, () => formatAudit(result, source));
    if (opts.failOnViolation && result.summary.nonCompliant > 0) process.exitCode = EXIT.VIOLATIONS;
  });
}
