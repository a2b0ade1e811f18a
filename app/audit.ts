import { readFileSync } from 'fs';
import { auditCatalogue, auditNames, type AuditResult } from '../core/audit';
import { BqxError } from '../core/errors';
import { loadPolicy } from '../core/policy';
import type { EngineOptions } from '../core/ports/engine';
import { describeWarehouse, withEngine } from './engine';
import { auditListedColumns, auditWarehouseColumns, formatColumnAudit, type ColumnAuditResult } from './columns';
import type { Plan } from '../core/plan/types';
import { knownTables, logViolations, violationEvents } from './report/compliance-log';

/** Names from a file (one per line, `#` comments) or standard input (`-`). */
export function readNameList(file: string): string[] {
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

export interface AuditOutcome {
  readonly result: AuditResult;
  /** What was audited, for the heading. */
  readonly source: string;
}

export interface ColumnAuditOutcome {
  readonly result: ColumnAuditResult;
  readonly source: string;
}

export interface AuditInput {
  readonly engine: EngineOptions;
  readonly policyFile?: string;
  /** A list of names instead of the warehouse (`-`: standard input). */
  readonly namesFile?: string;
  /** Judge column names (M008 §1.5–1.6) instead of table names. */
  readonly columns?: boolean;
  /**
   * Log every violation of the warehouse, table names and columns, as structured lines for Cloud
   * Monitoring (app/report/compliance-log.ts), judged against this plan (null: every one is new).
   * The scheduled audit of the runner's job does this.
   */
  readonly complianceLog?: { readonly plan: Plan | null };
}

/** What `bqx audit` prints and how it ends: tables or columns, JSON or text. */
export interface AuditVerbOutcome {
  readonly json: unknown;
  readonly text: () => string;
  readonly violations: number;
  /** One line per offending name (`name: violations; M008 name: canonical`), for stderr on failure. */
  readonly offenders: readonly string[];
}

/** The M008 audit of a warehouse (every table of its listing) or of a list of names (`namesFile`). */
export async function runAudit(input: { engine: EngineOptions; policyFile?: string; namesFile?: string }): Promise<AuditOutcome> {
  const policy = loadPolicy(input.policyFile);
  if (input.namesFile !== undefined) {
    const names = readNameList(input.namesFile);
    const source = sourceOf(input.namesFile);
    if (names.length === 0) {
      throw new BqxError('NAMES_EMPTY', `--names ${source} holds no table name`, 'pass a file with one table name per line (blank lines and # comments are ignored)');
    }
    return { result: auditNames(policy, names), source };
  }
  const result = await withEngine({ ...input.engine, readOnly: true }, async (engine) => auditCatalogue(policy, await engine.listTables()));
  return { result, source: describeWarehouse(input.engine) };
}

const sourceOf = (namesFile: string) => (namesFile === '-' ? 'standard input' : namesFile);

/** The column audit of a warehouse (every base table's columns) or of a list of column names. */
export async function runColumnAudit(input: { engine: EngineOptions; policyFile?: string; namesFile?: string }): Promise<ColumnAuditOutcome> {
  const policy = loadPolicy(input.policyFile);
  if (input.namesFile !== undefined) {
    const names = readNameList(input.namesFile);
    // An empty list passing the lint would hide a broken generator or hook.
    if (names.length === 0) throw new BqxError('NAMES_EMPTY', `--names ${sourceOf(input.namesFile)} holds no column name`, 'pass a file with one column name per line (blank lines and # comments are ignored)');
    return { result: auditListedColumns(policy, names), source: sourceOf(input.namesFile) };
  }
  const result = await withEngine({ ...input.engine, readOnly: true }, async (engine) => auditWarehouseColumns(policy, await engine.listTables()));
  return { result, source: describeWarehouse(input.engine) };
}

/** `bqx audit [--columns] [--names FILE]`: one function for the verb, whichever audit it asks for. */
export async function runAuditVerb(input: AuditInput): Promise<AuditVerbOutcome> {
  if (input.complianceLog && input.namesFile === undefined) {
    // One listing (metadata only), both audits, one line per violation; the output asked for is unchanged.
    const policy = loadPolicy(input.policyFile);
    const listing = await withEngine({ ...input.engine, readOnly: true }, (engine) => engine.listTables());
    const tables = auditCatalogue(policy, listing);
    const columns = auditWarehouseColumns(policy, listing);
    logViolations(violationEvents(tables, columns, input.complianceLog.plan ? knownTables(input.complianceLog.plan) : null));
    const source = describeWarehouse(input.engine);
    return input.columns ? columnOutcome(columns, source) : tableOutcome(tables, source);
  }
  if (input.columns) {
    const { result, source } = await runColumnAudit(input);
    return columnOutcome(result, source);
  }
  const { result, source } = await runAudit(input);
  return tableOutcome(result, source);
}

function columnOutcome(result: ColumnAuditResult, source: string): AuditVerbOutcome {
  const offenders = result.names.filter((x) => !x.compliant).map((x) => `${x.name}: ${x.violation}${x.note ? ` (${x.note})` : ''}`);
  return { json: result, text: () => formatColumnAudit(result, source), violations: result.summary.columns.nonCompliant, offenders };
}

function tableOutcome(result: AuditResult, source: string): AuditVerbOutcome {
  const offenders = result.tables.filter((t) => !t.compliant).map((t) => `${t.name}: ${t.violations.join(', ')}${t.canonical ? `; M008 name: ${t.canonical}` : ''}`);
  return { json: result, text: () => formatAudit(result, source), violations: result.summary.nonCompliant, offenders };
}

/** What `--fail-on-violation` prints on stderr: the offending names (all of a --names list; the first `limit` of a warehouse). */
export function formatOffenders(offenders: readonly string[], limit: number = Infinity): string {
  const shown = offenders.slice(0, limit);
  const more = offenders.length - shown.length;
  return [`${offenders.length} ${offenders.length === 1 ? 'name violates' : 'names violate'} M008:`, ...shown.map((l) => `  ${l}`), ...(more > 0 ? [`  … ${more} more (see --json)`] : [])].join('\n');
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
