/**
 * `bqx usage` on BigQuery: who read the plan's compatibility views, from the region's
 * INFORMATION_SCHEMA.JOBS_BY_PROJECT (needs bigquery.jobs.listAll on the project; the view keeps
 * 180 days of jobs). Metadata only: the view is not billed by the bytes of the tables the jobs read.
 *
 * A job counts for a view when its `referenced_tables` lists the view, or its SQL names the view
 * (Google documents referenced_tables as the tables a job referenced without saying whether a
 * view or its underlying table is listed; the SQL text settles it). The runner's own jobs (every
 * one is labelled `bqx_kind`) are left out.
 */
import type { JobHistory, JobRead } from '../../core/ports/engine';
import { RUNNER_JOB_LABEL } from '../../core/usage';
import { assertProjectId } from '../../core/identifiers';
import { regionQualifier } from './catalog';
import { scalarParam, stringsParam, type QueryParameter, type Row } from './rows';

export function jobsSql(project: string, location: string): string {
  const region = regionQualifier(location);
  assertProjectId(project, 'project');
  const referenced = 'SELECT t.table_id FROM UNNEST(j.referenced_tables) AS t WHERE t.project_id = @project AND t.dataset_id = @dataset';
  const named = "STRPOS(j.query, @dataset) > 0 AND REGEXP_CONTAINS(j.query, CONCAT('(^|[^A-Za-z0-9_])', v, '($|[^A-Za-z0-9_])'))";
  return [
    'SELECT * FROM (',
    "  SELECT j.job_id, j.user_email, FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', j.creation_time, 'UTC') AS created_at, TO_JSON_STRING(j.labels) AS labels_json,",
    `    TO_JSON_STRING(ARRAY(SELECT v FROM UNNEST(@names) AS v WHERE v IN (${referenced}) OR (${named}) ORDER BY v)) AS views_json`,
    `  FROM \`${project}.${region}\`.INFORMATION_SCHEMA.JOBS_BY_PROJECT AS j`,
    "  WHERE j.creation_time >= @since AND j.job_type = 'QUERY'",
    '    AND NOT EXISTS (SELECT 1 FROM UNNEST(j.labels) AS l WHERE l.key = @runner_label)',
    ')',
    "WHERE views_json != '[]'",
    'ORDER BY created_at DESC',
  ].join('\n');
}

export function jobsParams(project: string, dataset: string, since: Date, names: readonly string[]): QueryParameter[] {
  return [
    scalarParam('since', 'TIMESTAMP', since.toISOString().replace('T', ' ').replace('Z', '+00')),
    scalarParam('project', 'STRING', project),
    scalarParam('dataset', 'STRING', dataset),
    stringsParam('names', names),
    scalarParam('runner_label', 'STRING', RUNNER_JOB_LABEL),
  ];
}

/** The rows of `jobsSql` as the engine port's job reads; jobs that named none of the views are dropped. */
export function jobReads(rows: readonly Row[]): JobRead[] {
  return rows
    .map((r) => ({
      jobId: String(r.job_id),
      principal: String(r.user_email ?? ''),
      at: String(r.created_at),
      labels: Object.fromEntries((JSON.parse(String(r.labels_json ?? '[]')) as { key: string; value: string }[]).map((l) => [l.key, l.value])),
      tables: JSON.parse(String(r.views_json ?? '[]')) as string[],
      query: null,
    }))
    .filter((j) => j.tables.length > 0);
}

export function jobHistorySource(project: string, location: string): Pick<JobHistory, 'source'> {
  return { source: `${project}.${regionQualifier(location)}.INFORMATION_SCHEMA.JOBS_BY_PROJECT` };
}
