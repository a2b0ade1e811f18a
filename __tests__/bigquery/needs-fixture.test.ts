/**
 * The needs fixture (testing/bigquery/double/needs-fixture.ts: what Google's pages say each request
 * needs, which the doubles enforce) against the project's permission table
 * (config/runner-permissions.ts): the table grants every row the runner's requests reach, on the
 * scope where that request's resource lives. The runs prove the same at request level
 * (iam-double.test.ts: every row's request accepted with the table and refused without each
 * permission of the row; iam-e2e.test.ts: every verb as the runner asks exactly the table).
 */
import { cloudPermissionsFor, permissionsFor, type CloudScope, type PermissionScope } from '../../config/runner-permissions';
import { NEEDS_FIXTURE, needsRow, type NeedKind, type NeedOn } from '../../testing/bigquery/double';

const F: PermissionScope = 'featureDataset';
const R: PermissionScope = 'runnerDataset';
const P: PermissionScope = 'project';

/**
 * Where each resource of a row lives when the runner makes the request (as the engine emits it:
 * a rename, drop or view in the feature dataset, a backup from it into the runner dataset, a restore
 * back, the ledger in the runner dataset). A row reached on two datasets is listed twice.
 */
const REACHED: readonly { kind: NeedKind; on: Partial<Record<NeedOn, PermissionScope | CloudScope>>; what: string }[] = [
  { kind: 'QUERY_JOB', on: { project: P }, what: 'every statement' },
  { kind: 'DRY_RUN', on: { project: P }, what: 'estimates, the paper run, readiness' },
  { kind: 'JOB_READ_OWN', on: { project: P }, what: 'polling its own jobs' },
  { kind: 'CREATE_TABLE_AS_SELECT', on: { targetDataset: F, source: F }, what: 'CONSOLIDATE' },
  { kind: 'ALTER_TABLE_RENAME', on: { target: F }, what: 'RENAME_TABLE' },
  { kind: 'DROP_TABLE', on: { target: F }, what: 'DROP_TABLE' },
  { kind: 'CREATE_SNAPSHOT_TABLE', on: { source: F, targetDataset: R }, what: 'BACKUP_TABLE' },
  { kind: 'CREATE_TABLE_CLONE_OF_SNAPSHOT', on: { source: R, targetDataset: F }, what: 'RESTORE_TABLE' },
  { kind: 'CREATE_OR_REPLACE_VIEW', on: { targetDataset: F, target: F }, what: 'CREATE_VIEW (a re-run replaces its view)' },
  { kind: 'DROP_VIEW', on: { target: F }, what: 'DROP_VIEW' },
  { kind: 'CREATE_TABLE_IF_NOT_EXISTS', on: { targetDataset: R }, what: 'ledger init' },
  { kind: 'INSERT_FROM_PARAMETER', on: { target: R }, what: 'ledger and runs appends' },
  { kind: 'INSERT_GUARDED', on: { target: R, source: R }, what: 'lock events' },
  { kind: 'SELECT', on: { source: F }, what: 'validation reads' },
  { kind: 'SELECT', on: { source: R }, what: 'ledger reads' },
  { kind: 'INFORMATION_SCHEMA_COLUMNS', on: { targetDataset: F }, what: 'catalogue' },
  { kind: 'INFORMATION_SCHEMA_VIEWS', on: { targetDataset: F }, what: 'catalogue' },
  { kind: 'INFORMATION_SCHEMA_SEARCH_INDEXES', on: { targetDataset: F }, what: 'rename-loss gate' },
  { kind: 'INFORMATION_SCHEMA_PARTITIONS', on: { targetDataset: F }, what: 'row counts and sizes' },
  { kind: 'INFORMATION_SCHEMA_JOBS_BY_PROJECT', on: { project: P }, what: 'bqx usage and retire: who still reads a compatibility view' },
  { kind: 'DATASETS_GET', on: { targetDataset: F }, what: 'catalogue' },
  { kind: 'DATASETS_GET', on: { targetDataset: R }, what: 'the runner dataset looked up (instead of CREATE SCHEMA)' },
  { kind: 'TABLES_LIST', on: { targetDataset: F }, what: 'catalogue' },
  { kind: 'TABLES_LIST', on: { targetDataset: R }, what: 'rollback lists its backups' },
  { kind: 'TABLES_GET', on: { target: F }, what: 'metadata, streaming buffers' },
  { kind: 'TABLES_GET', on: { target: R }, what: 'ledger tables present, the lock epoch' },
  { kind: 'STORAGE_OBJECTS_INSERT', on: { object: 'stagingManifests' }, what: 'extraction manifests (and over one: delete)' },
  { kind: 'STORAGE_OBJECTS_DELETE', on: { object: 'stagingManifests' }, what: 'readiness probe' },
  { kind: 'RUN_JOBS_GET', on: { job: 'extractJob' }, what: 'readiness reads the extract job' },
];

/** Rows the runner never reaches, with why. */
const NOT_REACHED: Partial<Record<NeedKind, string>> = {
  JOB_READ_OTHER: 'the runner reads only the jobs it created',
  CREATE_SCHEMA: 'avoided: the stacks declare the runner dataset and the engine only looks it up (datasets.get)',
};

const BIGQUERY_SCOPES: readonly string[] = ['project', 'featureDataset', 'runnerDataset'];
const granted = (scope: PermissionScope | CloudScope): string[] => (BIGQUERY_SCOPES.includes(scope) ? permissionsFor(scope as PermissionScope) : cloudPermissionsFor(scope as CloudScope));

describe('the needs fixture: rows from Google\'s pages, and the table covers every row the runner reaches', () => {
  test('every row: a unique kind, a Google page, what it says, and permissions named service.resource.verb', () => {
    expect(new Set(NEEDS_FIXTURE.map((r) => r.kind)).size).toBe(NEEDS_FIXTURE.length);
    for (const row of NEEDS_FIXTURE) {
      expect({ kind: row.kind, doc: row.doc }).toEqual({ kind: row.kind, doc: expect.stringMatching(/^https:\/\/cloud\.google\.com\/(bigquery|storage|run)\/docs\//) });
      expect(row.says.length).toBeGreaterThan(20);
      expect(row.needs.length).toBeGreaterThan(0);
      for (const n of row.needs) for (const p of n.permissions) expect(p).toMatch(/^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$/);
    }
  });

  test('every row is reached by the runner or says why not', () => {
    const reached = new Set(REACHED.map((r) => r.kind));
    expect(NEEDS_FIXTURE.map((r) => r.kind).filter((k) => !reached.has(k) && !NOT_REACHED[k])).toEqual([]);
    expect(Object.keys(NOT_REACHED).filter((k) => reached.has(k as NeedKind))).toEqual([]);
  });

  test.each(REACHED.map((r) => [r.kind, r.what, r] as const))('%s (%s): the table grants each need on the scope where its resource lives', (_kind, _what, r) => {
    for (const n of needsRow(r.kind).needs) {
      const scope = r.on[n.on];
      expect({ on: n.on, scope }).toEqual({ on: n.on, scope: expect.any(String) });
      expect({ on: n.on, scope, missing: n.permissions.filter((p) => !granted(scope!).includes(p)) }).toEqual({ on: n.on, scope, missing: [] });
    }
  });

  test('and the table grants nothing on a scope that no reached row needs there (each extra permission is unproven)', () => {
    const needed = new Map<string, Set<string>>();
    for (const r of REACHED) for (const n of needsRow(r.kind).needs) for (const p of n.permissions) needed.set(r.on[n.on]!, (needed.get(r.on[n.on]!) ?? new Set()).add(p));
    const extra = [...BIGQUERY_SCOPES, 'stagingManifests', 'extractJob'].flatMap((scope) => granted(scope as PermissionScope).filter((p) => !needed.get(scope)?.has(p)).map((p) => `${p} on ${scope}`));
    expect(extra).toEqual([]);
  });
});
