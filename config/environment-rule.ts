/**
 * One environment rule for every entry point (`bqx` verbs, `bqx synth` / `npm run synth`, the cdktf
 * app): the `--env` flag, else BQX_ENV, else refuse where a cloud target is implied (no implicit
 * prod, no implicit dev). GOOGLE_CLOUD_PROJECT is honoured the way Google's client libraries and
 * gcloud honour their environment variables: it names the project when nothing more explicit
 * does, and it must not contradict the named environment.
 */
import { BqxError } from '../core/errors';
import { ENVIRONMENT_NAMES, loadEnvironment } from './environments';

export interface EnvironmentSources {
  /** The `--env` flag, when the entry point has one. */
  readonly flag?: string;
  /** The process environment (BQX_ENV, GOOGLE_CLOUD_PROJECT). */
  readonly vars?: Readonly<Record<string, string | undefined>>;
}

const set = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** The environment named by the flag or BQX_ENV (validated); undefined when neither names one. */
export function namedEnvironment(s: EnvironmentSources): string | undefined {
  const name = set(s.flag) ?? set((s.vars ?? process.env).BQX_ENV);
  if (name !== undefined) loadEnvironment(name); // unknown names are refused here, naming the choices
  return name;
}

/** The environment, or ENVIRONMENT_REQUIRED naming both ways to give it (`what` runs against a cloud target). */
export function requireEnvironment(s: EnvironmentSources, what: string): string {
  const name = namedEnvironment(s);
  if (name === undefined) {
    throw new BqxError('ENVIRONMENT_REQUIRED', `${what} needs an environment: nothing defaults to one`, `pass --env ${ENVIRONMENT_NAMES.join('|')} or set BQX_ENV=${ENVIRONMENT_NAMES.join('|')}`);
  }
  return name;
}

/** GOOGLE_CLOUD_PROJECT, when set. */
export function googleCloudProject(vars: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  return set(vars.GOOGLE_CLOUD_PROJECT);
}

/** The environment whose project is `project`, if any. */
export function environmentOfProject(project: string): string | undefined {
  return ENVIRONMENT_NAMES.find((n) => loadEnvironment(n).project === project);
}

/**
 * The cloud project a warehouse verb targets: `--project`, else the named environment's, else
 * GOOGLE_CLOUD_PROJECT. A GOOGLE_CLOUD_PROJECT that contradicts the named environment is refused
 * (the shell points at one project, the command at another).
 */
export function targetProject(opts: { project?: string; environment?: string }, vars: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const gcp = googleCloudProject(vars);
  if (opts.project !== undefined) return opts.project;
  if (opts.environment !== undefined) {
    const project = loadEnvironment(opts.environment).project;
    if (gcp !== undefined && gcp !== project) {
      throw new BqxError(
        'ENVIRONMENT_MISMATCH',
        `environment ${opts.environment} is project ${project} but GOOGLE_CLOUD_PROJECT is ${gcp}`,
        `unset GOOGLE_CLOUD_PROJECT, set it to ${project}, or pass --project explicitly`,
      );
    }
    return project;
  }
  return gcp;
}
