/**
 * The code scan on a team repository of our own making (fixtures/team-repo: generators with
 * f-strings and loops, bq shell scripts, SQL, a Dockerfile and a Cloud Build file), judged against
 * the committed Phase 4C plan; and the template layer on its own.
 */
import * as path from 'path';
import { runScan } from '../../app/scan';
import { loadPlanFile } from '../../core/plan/load';
import { loadPolicy } from '../../core/policy';
import { resolveTemplate, type NameSpace } from '../../core/scan/resolve';
import { pythonBindings, pythonTemplate, shellBindings, shellTemplate } from '../../core/scan/templates';
import type { CodeScan, ScannedScript, ScanReference } from '../../core/scan/types';
import { EXIT } from '../../scripts/exit-codes';
import { bqx } from '../extraction/support';

const FIXTURES = path.join(__dirname, 'fixtures', 'team-repo');
const PLAN = path.join(__dirname, '..', '..', 'plans', 'phase-4c.plan.json');

let scan: CodeScan;
const script = (p: string): ScannedScript => {
  const s = scan.scripts.find((x) => x.path === p);
  if (!s) throw new Error(`${p} not scanned`);
  return s;
};
const ref = (p: string, line: number, direction: string): ScanReference => {
  const r = script(p).references.find((x) => x.line === line && x.direction === direction);
  if (!r) throw new Error(`${p}:${line} ${direction} not found`);
  return r;
};
const codes = (r: ScanReference) => [...new Set(r.findings.map((f) => f.code))];

beforeAll(() => {
  scan = runScan({ dir: FIXTURES, plan: loadPlanFile(PLAN) });
});

describe('templates', () => {
  it('reads f-strings, .format, % and concatenation as templates', () => {
    expect(pythonTemplate('f"cov_{variant}_{pair1.lower()}_{pair2}"')).toBe('cov_{variant}_{pair1|lower}_{pair2}');
    expect(pythonTemplate('"{}.{}.lag_{}_{}".format(PROJECT, DATASET, pair, window)')).toBe('{PROJECT}.{DATASET}.lag_{pair}_{window}');
    expect(pythonTemplate('"%s.%s.lag_bqx_%s_45" % (PROJECT, DATASET, pair)')).toBe('{PROJECT}.{DATASET}.lag_bqx_{pair}_45');
    expect(pythonTemplate('PROJECT + "." + DATASET + ".var_lag_bqx_" + ccy')).toBe('{PROJECT}.{DATASET}.var_lag_bqx_{ccy}');
    expect(pythonTemplate('table_name_for(a, b)')).toBeNull();
    expect(shellTemplate('"${PROJECT}:$DATASET.lag_${pair}_${w}"')).toBe('{PROJECT}:{DATASET}.lag_{pair}_{w}');
  });

  it('binds loop variables to the lists they iterate, combinations as rows', () => {
    const b = pythonBindings("PAIRS = ['audusd', 'eurusd', 'gbpusd']\nfor p1, p2 in itertools.combinations(PAIRS, 2):\n    pass\n");
    const ns: NameSpace = { known: [], tokens: { pair: [], ccy: [], etf: [], variant: [], type: [] } };
    const r = resolveTemplate('cov_agg_{p1}_{p2}', b, ns);
    // 3 pairs give 3 combinations, not the 9 of a cross product.
    expect(r.names).toEqual(['cov_agg_audusd_eurusd', 'cov_agg_audusd_gbpusd', 'cov_agg_eurusd_gbpusd']);
    expect(r.by).toBe('code');
    // A case change in the code applies to the values it takes.
    const upper = pythonBindings("CURRENCIES = ['AUD', 'CAD']\nfor currency in CURRENCIES:\n    t = f'var_lag_bqx_{currency.lower()}'\n");
    expect(resolveTemplate('{t}', upper, ns).names).toEqual(['var_lag_bqx_aud', 'var_lag_bqx_cad']);
    const sh = shellBindings('PAIRS=(eurusd gbpusd)\nfor pair in "${PAIRS[@]}"; do\n  echo\ndone\n');
    expect([...(sh.vars.get('pair') ?? [])]).toEqual(['eurusd', 'gbpusd']);
  });

  it('falls back to the catalogue token sets and known names when the code does not say', () => {
    const ns: NameSpace = { known: ['var_lag_bqx_aud', 'var_lag_bqx_cad', 'var_lag_idx_aud'], tokens: { pair: [], ccy: ['aud', 'cad', 'usd'], etf: [], variant: [], type: [] } };
    const r = resolveTemplate('var_lag_bqx_{ccy}', pythonBindings(''), ns);
    expect(r.by).toBe('catalogue');
    expect(r.names).toEqual(['var_lag_bqx_aud', 'var_lag_bqx_cad']);
    expect(resolveTemplate('{table}', pythonBindings(''), ns).by).toBe('unresolved');
  });
});

describe('bqx scan on the fixture repository', () => {
  it('a generator writing names the plan retires: WRITES_RETIRED_NAME, P1, the script BLOCKED', () => {
    const r = ref('scripts/generate_cov_tables.py', 31, 'write');
    expect(r.template).toBe('{table_name}');
    // 2 types x 3 combinations x (old name + idx name) = 12; the 6 old names are retired by the plan.
    expect(r.names).toHaveLength(12);
    const retired = r.findings.filter((f) => f.code === 'WRITES_RETIRED_NAME');
    expect(retired.map((f) => f.name).sort()).toEqual(['cov_agg_audusd_eurusd', 'cov_agg_audusd_gbpusd', 'cov_agg_eurusd_gbpusd', 'cov_align_audusd_eurusd', 'cov_align_audusd_gbpusd', 'cov_align_eurusd_gbpusd']);
    expect(retired[0].severity).toBe('P1');
    expect(retired.find((f) => f.name === 'cov_agg_audusd_eurusd')?.detail).toMatch(/DEDUPE → cov_agg_bqx_audusd_eurusd/);
    expect(script('scripts/generate_cov_tables.py').status).toBe('BLOCKED');
    expect(script('scripts/generate_cov_tables.py').tested).toBe(true);
    expect(codes(ref('scripts/generate_cov_tables.py', 34, 'read'))).toEqual(['OK']);
  });

  it('a consumer of an old name: READS_RETIRED_NAME with the grace-period end', () => {
    const r = ref('scripts/generate_var_lag.py', 16, 'read');
    expect(r.names).toEqual(['lag_bqx_eurusd_45', 'lag_bqx_gbpusd_45']);
    expect(codes(r)).toEqual(['READS_RETIRED_NAME']);
    expect(r.findings[0].detail).toContain('2026-12-21');
    expect(scan.summary.earliestBreak).toBe('2026-12-21');
    expect(script('scripts/generate_var_lag.py').status).toBe('PARTIAL');
  });

  it('shell: bq cp over arrays and a word list, bq ls | grep, bq show', () => {
    const read = ref('scripts/copy_lag_windows.sh', 10, 'read');
    expect(read.names).toEqual(['lag_eurusd_45', 'lag_eurusd_90', 'lag_gbpusd_45', 'lag_gbpusd_90']);
    expect(codes(read)).toEqual(['READS_RETIRED_NAME']);
    const write = ref('scripts/copy_lag_windows.sh', 10, 'write');
    expect(codes(write)).toEqual(['WRITES_NONCOMPLIANT']);
    expect(write.findings[0].detail).toMatch(/WINDOW_IN_TABLE_NAME/);
    expect(codes(ref('scripts/copy_lag_windows.sh', 16, 'discover'))).toEqual(['DISCOVERY_READS_VIEWS']);
    expect(ref('scripts/copy_lag_windows.sh', 17, 'read').names).toEqual(['tmp_eurusd']);
  });

  it('the extract job discovers by name (views too); the base-table discovery is OK; the image and its build inherit BLOCKED', () => {
    const d = ref('pipelines/training/parallel_feature_testing.py', 14, 'discover');
    expect(codes(d)).toEqual(['DISCOVERY_READS_VIEWS']);
    expect(d.findings[0].severity).toBe('P1');
    expect(codes(ref('pipelines/training/discover_base_tables.py', 10, 'discover'))).toEqual(['OK']);
    expect(script('Dockerfile.extract').ships).toEqual(expect.arrayContaining(['pipelines/training/parallel_feature_testing.py', 'scripts/extract_only.sh']));
    expect(script('Dockerfile.extract').status).toBe('BLOCKED');
    expect(script('cloudbuild-extract.yaml').ships).toEqual(['Dockerfile.extract']);
    expect(script('cloudbuild-extract.yaml').status).toBe('BLOCKED');
  });

  it('unsorted TRI names from a list of tuples: WRITES_NONCOMPLIANT; a deleted legacy name: READS_UNKNOWN_NAME; SQL files', () => {
    const tri = ref('scripts/generate_tri_tables.py', 13, 'write');
    expect(tri.names).toEqual(['tri_agg_bqx_aud_usd_jpy', 'tri_agg_bqx_eur_usd_gbp', 'tri_mom_bqx_aud_usd_jpy', 'tri_mom_bqx_eur_usd_gbp']);
    expect(tri.findings.every((f) => f.code === 'WRITES_NONCOMPLIANT' && /UNSORTED_ENTITIES/.test(f.detail))).toBe(true);
    expect(codes(ref('scripts/generate_mkt_tables.py', 8, 'read'))).toEqual(['READS_UNKNOWN_NAME']);
    expect(codes(ref('scripts/generate_mkt_tables.py', 10, 'write'))).toEqual(['OK']);
    expect(codes(ref('sql/mkt_regime.sql', 2, 'write'))).toEqual(['WRITES_RETIRED_NAME']);
    expect(codes(ref('sql/mkt_regime.sql', 4, 'read'))).toEqual(['READS_RETIRED_NAME']);
  });

  it('summary: counts per code and the directive’s required scripts', () => {
    const s = scan.summary;
    expect(s.referencesByCode).toEqual({ WRITES_RETIRED_NAME: 2, WRITES_NONCOMPLIANT: 2, READS_RETIRED_NAME: 4, DISCOVERY_READS_VIEWS: 2, READS_UNKNOWN_NAME: 1, OK: 6 });
    expect(s.required.find((r) => r.id === 'validation')).toMatchObject({ status: 'PRESENT', evidence: ['scripts/validate_m008_renames.py:1'] });
    expect(s.required.find((r) => r.id === 'lag-consolidation')?.status).toBe('MISSING');
    expect(s.byStatus.MISSING).toBe(s.required.filter((r) => r.status === 'MISSING').length);
  });

  it('without a plan: every non-compliant catalogue name counts as retired, no date', () => {
    const noPlan = runScan({ dir: FIXTURES, plan: null, policy: loadPolicy() });
    const r = noPlan.scripts.find((x) => x.path === 'scripts/generate_var_lag.py')?.references.find((x) => x.line === 16);
    expect(r?.findings[0].code).toBe('READS_RETIRED_NAME');
    expect(r?.findings[0].detail).toMatch(/date unknown/);
    expect(noPlan.summary.basis).toMatch(/no plan/);
  });
});

describe('bqx scan (CLI)', () => {
  it('prints the JSON shape', async () => {
    const run = await bqx(['scan', FIXTURES, '--plan', PLAN, '--json']);
    expect(run.code).toBe(EXIT.OK);
    const json = JSON.parse(run.out) as CodeScan;
    const s = json.scripts[0];
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['path', 'kind', 'category', 'status', 'references']));
    const r = json.scripts.flatMap((x) => x.references)[0];
    expect(Object.keys(r)).toEqual(expect.arrayContaining(['line', 'direction', 'template', 'names', 'findings']));
    expect(Object.keys(r.findings[0]).sort()).toEqual(['code', 'detail', 'name', 'severity']);
  });

  it('refuses a directory that does not exist, exit 2', async () => {
    const run = await bqx(['scan', path.join(FIXTURES, 'nope')]);
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.err).toMatch(/does not exist/);
  });
});
