/**
 * Who still reads a compatibility view: the plan's views matched against the engine's job history.
 * Pure: the engine reads the history (core/ports/engine.ts `jobHistory`), this decides what counts.
 */
import type { CompatibilityView } from './plan/types';
import type { JobRead } from './ports/engine';

/** One principal's reads of a view in the window. */
export interface ViewReaderUsage {
  readonly principal: string;
  readonly jobs: number;
  readonly lastRead: string;
  /** Job labels seen on this principal's reads of the view, `key=value`, sorted. */
  readonly labels: string[];
}

export interface ViewUsage {
  readonly view: string;
  /** The name readers must use instead (the view's target). */
  readonly newName: string;
  readonly graceEnd: string;
  readonly jobs: number;
  readonly lastRead: string | null;
  readonly readers: ViewReaderUsage[];
}

export interface UsageReport {
  readonly planHash: string;
  readonly dataset: string;
  readonly since: string;
  readonly until: string;
  readonly days: number;
  readonly source: string;
  /** Jobs of the history in the window (the runner's own excluded). */
  readonly jobsSeen: number;
  readonly views: ViewUsage[];
  readonly read: number;
  readonly unread: number;
}

/**
 * Every job the BigQuery engine submits is labelled `bqx_kind` (its validation probes read the
 * views): the runner's own reads are not readers.
 */
export const RUNNER_JOB_LABEL = 'bqx_kind';

export function isRunnerJob(job: JobRead): boolean {
  return Object.prototype.hasOwnProperty.call(job.labels, RUNNER_JOB_LABEL);
}

/** `name` as an identifier of the SQL text: not part of a longer name. */
function mentions(query: string, name: string): boolean {
  let from = 0;
  for (;;) {
    const i = query.indexOf(name, from);
    if (i < 0) return false;
    const before = query[i - 1];
    const after = query[i + name.length];
    const part = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);
    if (!part(before) && !part(after)) return true;
    from = i + 1;
  }
}

/**
 * The views a job read: those its referenced tables name, or its SQL names (the history may list a
 * view's underlying table rather than the view). A job that names only a view's new name (its
 * target) reads no view.
 */
export function viewsReadBy(job: JobRead, views: ReadonlySet<string>): string[] {
  const out = new Set(job.tables.filter((t) => views.has(t)));
  if (job.query) for (const v of views) if (!out.has(v) && mentions(job.query, v)) out.add(v);
  return [...out].sort();
}

const later = (a: string | null, b: string): string => (a === null || b > a ? b : a);

/** The usage of each view of the plan in [since, until]: jobs, principals with their labels, last read. */
export function viewUsage(
  plan: { readonly planHash: string; readonly dataset: string; readonly views: readonly CompatibilityView[] },
  history: { readonly jobs: readonly JobRead[]; readonly source: string },
  window: { readonly since: Date; readonly until: Date; readonly days: number },
): UsageReport {
  const names = new Set(plan.views.map((v) => v.name));
  const since = window.since.toISOString();
  const until = window.until.toISOString();
  const jobs = history.jobs.filter((j) => !isRunnerJob(j) && j.at >= since && j.at <= until);
  const perView = new Map<string, Map<string, { jobs: number; lastRead: string; labels: Set<string> }>>();
  for (const job of jobs) {
    for (const v of viewsReadBy(job, names)) {
      const readers = perView.get(v) ?? new Map();
      perView.set(v, readers);
      const r = readers.get(job.principal) ?? { jobs: 0, lastRead: job.at, labels: new Set<string>() };
      r.jobs += 1;
      r.lastRead = later(r.lastRead, job.at);
      Object.entries(job.labels).forEach(([k, val]) => r.labels.add(`${k}=${val}`));
      readers.set(job.principal, r);
    }
  }
  const views: ViewUsage[] = [...plan.views]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((v) => {
      const readers = [...(perView.get(v.name) ?? new Map()).entries()]
        .map(([principal, r]) => ({ principal, jobs: r.jobs, lastRead: r.lastRead, labels: [...r.labels].sort() }))
        .sort((a, b) => b.jobs - a.jobs || (a.principal < b.principal ? -1 : 1));
      const lastRead = readers.reduce<string | null>((acc, r) => later(acc, r.lastRead), null);
      return { view: v.name, newName: v.target, graceEnd: v.graceEnd, jobs: readers.reduce((n, r) => n + r.jobs, 0), lastRead, readers };
    });
  const read = views.filter((v) => v.jobs > 0).length;
  return { planHash: plan.planHash, dataset: plan.dataset, since, until, days: window.days, source: history.source, jobsSeen: jobs.length, views, read, unread: views.length - read };
}
