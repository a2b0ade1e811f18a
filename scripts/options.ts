/**
 * The option groups verbs share, each declared once, and their conversion to the plain data the
 * app layer takes. Defaults for project, location and datasets come from the environment config.
 */
import { Command, Option } from 'commander';
import { datasetByRole } from '../config/environment';
import { loadEnvironment } from '../config/environments';
import { environmentOfProject, googleCloudProject, namedEnvironment, targetProject } from '../config/environment-rule';
import { BqxError } from '../core/errors';
import type { DuckDbEngineOptions, EngineOptions, EngineTargetOptions } from '../core/ports/engine';
import { checkTestHooks } from '../core/test-hooks';
import { DEFAULT_METRICS_FILE, DEFAULT_REPORTS_DIR } from '../app/report/evidence';
import type { EvidenceOptions } from '../app/runs';

export const DEFAULT_DATABASE = '.bqx/warehouse.duckdb';
/**
 * The local warehouse reproduces production's catalogue, so the embedded engine takes prod's
 * names. Nothing defaults to production on BigQuery: there the environment (or the project) must
 * be named.
 */
export const LOCAL_ENVIRONMENT = 'prod';

/** Project, location and dataset names of an environment: what the engine options default to. */
export function environmentDefaults(name: string = LOCAL_ENVIRONMENT): Omit<EngineTargetOptions, 'readOnly'> {
  const env = loadEnvironment(name);
  return {
    project: env.project,
    location: env.bigqueryLocation,
    dataset: datasetByRole(env, 'features').id,
    runnerDataset: datasetByRole(env, 'ledger').id,
  };
}

/** The warehouse: which engine, where, and which datasets. */
export function withEngineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--engine <engine>', 'warehouse engine (default: bigquery when an environment or project is named by --env, BQX_ENV, --project or GOOGLE_CLOUD_PROJECT; else duckdb, the local warehouse)').choices(['duckdb', 'bigquery']))
    .option('--database <path>', 'DuckDB file of the local warehouse (duckdb engine)', DEFAULT_DATABASE)
    .addOption(new Option('--env <name>', 'environment: its project and dataset names, on BigQuery (else env BQX_ENV); nothing targets production by default').choices(['dev', 'prod']))
    .option('--project <id>', "Google Cloud project (default: the environment's, else env GOOGLE_CLOUD_PROJECT)")
    .option('--location <region>', "BigQuery location (default: the environment's)")
    .option('--dataset <name>', "dataset to audit and remediate (default: the environment's features dataset)")
    .option('--runner-dataset <name>', "dataset holding the ledger, lock and backups (default: the environment's ledger dataset)")
    .option('--api-endpoint <url>', 'BigQuery API endpoint (emulator or test double); env BQX_BIGQUERY_API_ENDPOINT');
}

export function withPolicyOption(cmd: Command): Command {
  return cmd.option('--policy <file>', 'policy YAML (default: policy/m008.policy.yaml)');
}

export function withJsonOption(cmd: Command, what: string): Command {
  return cmd.option('--json', `print ${what} as JSON`);
}

/** Where a run's evidence goes: its Markdown/JSON report and the Prometheus textfile. */
export function withEvidenceOptions(cmd: Command): Command {
  return cmd.option('--metrics-file <file>', 'Prometheus textfile to write', DEFAULT_METRICS_FILE).option('--reports-dir <dir>', 'directory for run-<mode>.md/json', DEFAULT_REPORTS_DIR);
}

/** The embedded warehouse at `database` with every other option at the environment's default. */
export function localEngineOptions(database: string = DEFAULT_DATABASE): DuckDbEngineOptions {
  return { engine: 'duckdb', database, ...environmentDefaults() };
}

/**
 * The engine options of a warehouse verb, by the one environment rule (config/environment-rule.ts):
 * `--env`, else BQX_ENV, names the environment, and a named environment (or project: `--project`,
 * else GOOGLE_CLOUD_PROJECT) means BigQuery unless `--engine duckdb` says otherwise. Nothing named:
 * the local warehouse, with production's names (it reproduces production's catalogue).
 */
export function engineOptions(opts: Record<string, unknown>, vars: Readonly<Record<string, string | undefined>> = process.env): EngineOptions {
  const envName = namedEnvironment({ flag: opts.env as string | undefined, vars });
  const explicitProject = opts.project as string | undefined;
  const engine = (opts.engine as EngineOptions['engine'] | undefined) ?? (envName !== undefined || explicitProject !== undefined || googleCloudProject(vars) !== undefined ? 'bigquery' : 'duckdb');
  if (engine !== 'duckdb' && engine !== 'bigquery') {
    throw new BqxError('BAD_OPTION', `--engine ${String(engine)} is not supported`, 'use --engine duckdb or --engine bigquery');
  }
  const apiEndpoint = engine === 'bigquery' ? ((opts.apiEndpoint as string | undefined) ?? vars.BQX_BIGQUERY_API_ENDPOINT ?? undefined) : undefined;
  checkTestHooks(vars, { engine, apiEndpoint });
  const project = engine === 'duckdb' ? explicitProject : targetProject({ project: explicitProject, environment: envName }, vars);
  if (engine === 'bigquery' && project === undefined) {
    throw new BqxError('ENVIRONMENT_REQUIRED', '--engine bigquery needs an environment: nothing targets production by default', 'pass --env dev or --env prod (or set BQX_ENV), or a project (--project or GOOGLE_CLOUD_PROJECT)');
  }
  const d = environmentDefaults(envName ?? (engine === 'duckdb' ? LOCAL_ENVIRONMENT : (environmentOfProject(project!) ?? 'dev')));
  const target: EngineTargetOptions = {
    project: String(project ?? d.project),
    location: String(opts.location ?? d.location),
    dataset: String(opts.dataset ?? d.dataset),
    runnerDataset: String(opts.runnerDataset ?? d.runnerDataset),
  };
  return engine === 'duckdb' ? { engine, database: String(opts.database ?? DEFAULT_DATABASE), ...target } : { engine, ...target, apiEndpoint };
}

export function evidenceOptions(opts: Record<string, unknown>): EvidenceOptions {
  return { reportsDir: String(opts.reportsDir ?? DEFAULT_REPORTS_DIR), metricsFile: String(opts.metricsFile ?? DEFAULT_METRICS_FILE) };
}

export function parseNonNegative(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new BqxError('BAD_OPTION', `${flag} ${JSON.stringify(value)} is not a non-negative ${integer ? 'integer' : 'number'}`, `pass e.g. ${flag} ${integer ? '10' : '15'}`);
  }
  return n;
}

/** A count that must be at least 1 (`--max-operations 0` would run nothing and report OK). */
export function parsePositiveInteger(value: string | undefined, flag: string): number | undefined {
  const n = parseNonNegative(value, flag, true);
  if (n === 0) throw new BqxError('BAD_OPTION', `${flag} 0 would run nothing`, `pass ${flag} 1 or more, or --dry-run to see the plan's operations without running them`);
  return n;
}

/** Writes machine output: JSON when asked, text otherwise. */
export function emit(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

const ENGINE_FLAGS = ['--engine', '--database', '--env', '--project', '--location', '--dataset', '--runner-dataset', '--api-endpoint'];

/** The engine flags of this command line (`--database w.duckdb`, …), quoted: what a printed command must carry to act on the same warehouse. */
export function engineFlags(argv: readonly string[] = process.argv.slice(2)): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (!ENGINE_FLAGS.includes(flag)) continue;
    const value = inline ?? argv[++i];
    if (value !== undefined) out.push(flag, quoteArg(value));
  }
  return out;
}

/**
 * A hint's `bqx <verb>` commands with the engine flags the user passed, so that copying the hint
 * acts on the same warehouse (not the default one). Flags the hint already names are left as they are.
 */
export function withEngineFlags(hint: string, flags: readonly string[]): string {
  const missing: string[] = [];
  for (let i = 0; i < flags.length; i += 2) if (!hint.includes(`${flags[i]} `)) missing.push(flags[i], flags[i + 1]);
  if (!missing.length) return hint;
  return hint.replace(/\bbqx (apply|rollback|verify|reconcile|unlock|readiness|plan|audit)\b/g, (m) => `${m} ${missing.join(' ')}`);
}

function quoteArg(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** This command line, quoted for a POSIX shell: what a person re-runs to resume. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ['bqx', ...argv.map(quoteArg)].join(' ');
}
