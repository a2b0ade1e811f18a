/**
 * The embedded warehouse's job history: a query log in the runner dataset that the rehearsal's
 * readers write through (`readAs`), and that `jobHistory` answers `bqx usage` from.
 *
 * What it captures, honestly: only reads made through `readAs` (`bqx warehouse read`). A process
 * that opens the DuckDB file itself and reads a view leaves no trace: DuckDB keeps no history of
 * the queries it ran. The log names what each query's parse tree names (DuckDB's
 * json_serialize_sql): dataset-qualified tables and views, the way BigQuery's
 * `referenced_tables` names what a job referenced. Unqualified names are not attributed.
 */
import { randomBytes } from 'crypto';
import { BqxError } from '../../core/errors';
import type { EngineLocation, JobHistory, JobRead, Reader } from '../../core/ports/engine';
import { bindsOrMissing, num, str, type Db } from './db';
import { ensureRunnerDataset } from './render';
import { ident, listLiteral, literal } from './sql';

export const QUERY_LOG_TABLE = 'job_log';

const logTable = (where: EngineLocation) => `${ident(where.runnerDataset)}.${ident(QUERY_LOG_TABLE)}`;

const createLogSql = (where: EngineLocation) =>
  `CREATE TABLE IF NOT EXISTS ${logTable(where)} (job_id VARCHAR NOT NULL, creation_time VARCHAR NOT NULL, user_email VARCHAR NOT NULL, labels VARCHAR NOT NULL, referenced_tables VARCHAR[] NOT NULL, query VARCHAR NOT NULL)`;

/** Every dataset-qualified table or view a parse tree names (DuckDB's json_serialize_sql output). */
export function referencedIn(tree: unknown, dataset: string): string[] {
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.type === 'BASE_TABLE' && o.schema_name === dataset && typeof o.table_name === 'string') out.add(o.table_name);
    Object.values(o).forEach(walk);
  };
  walk(tree);
  return [...out].sort();
}

/** Parses `sql`: exactly one SELECT, else a clear refusal naming the input. */
async function parseSelect(db: Db, sql: string): Promise<unknown> {
  const [r] = await db.all(`SELECT json_serialize_sql(${literal(sql)})::VARCHAR AS tree`);
  const tree = JSON.parse(String(r.tree)) as { error?: boolean; error_message?: string; statements?: unknown[] };
  if (tree.error || (tree.statements?.length ?? 0) !== 1) {
    throw new BqxError(
      'BAD_INPUT',
      `--sql is not one SELECT statement: ${tree.error_message ?? `${tree.statements?.length ?? 0} statements`}`,
      'a reader reads: pass one SELECT, naming tables and views with their dataset (dataset.view)',
      'BAD_INPUT',
    );
  }
  return tree.statements![0];
}

export async function readAs(db: Db, where: EngineLocation, sql: string, reader: Reader, now: Date = new Date()): Promise<{ jobId: string; rows: number }> {
  if (!reader.principal.trim()) throw new BqxError('BAD_INPUT', 'a reader needs a principal (who reads)', 'pass --as EMAIL', 'BAD_INPUT');
  const select = sql.trim().replace(/;\s*$/, '');
  const tree = await parseSelect(db, select);
  const tables = referencedIn(tree, where.dataset);
  const jobId = `duckdb_${now.getTime()}_${randomBytes(4).toString('hex')}`;
  return db.transaction(async (q) => {
    const [r] = await q.all(`SELECT count(*) AS n FROM (${select})`);
    for (const s of [...ensureRunnerDataset(where), createLogSql(where)]) await q.exec(s);
    await q.exec(
      `INSERT INTO ${logTable(where)} VALUES (${literal(jobId)}, ${literal(now.toISOString())}, ${literal(reader.principal)}, ${literal(JSON.stringify(reader.labels ?? {}))}, ${listLiteral(tables)}, ${literal(select)})`,
    );
    return { jobId, rows: num(r.n) };
  });
}

export async function jobHistory(db: Db, where: EngineLocation, since: Date, names: readonly string[]): Promise<JobHistory> {
  const source = `query log ${where.runnerDataset}.${QUERY_LOG_TABLE} (reads made through bqx warehouse read)`;
  if (!(await bindsOrMissing(db, `SELECT 1 FROM ${logTable(where)} LIMIT 0`))) return { jobs: [], source: `${source}: no read logged yet` };
  const rows = await db.all(
    `SELECT job_id, creation_time, user_email, labels, referenced_tables, query FROM ${logTable(where)}
     WHERE creation_time >= ${literal(since.toISOString())} AND (len(list_intersect(referenced_tables, ${listLiteral(names)})) > 0 OR strpos(query, ${literal(where.dataset)}) > 0)
     ORDER BY creation_time DESC`,
  );
  const jobs: JobRead[] = rows.map((r) => ({
    jobId: String(r.job_id),
    principal: String(r.user_email),
    at: String(r.creation_time),
    labels: JSON.parse(String(r.labels)) as Record<string, string>,
    tables: Array.isArray(r.referenced_tables) ? r.referenced_tables.map(String) : [],
    query: str(r.query),
  }));
  return { jobs, source };
}
