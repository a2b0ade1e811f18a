/**
 * The layer rules of .dependency-cruiser.cjs, checked over the whole tree: a change that crosses a
 * layer (core importing an engine, a construct importing a stack, an import cycle, the provider's
 * package root) fails here. The second test plants each kind of violation in a scratch tree and
 * expects the same rules to name it, so this suite can fail.
 */
import { spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const LAYERS = ['core', 'engines', 'app', 'scripts', 'warehouse', 'config', 'constructs', 'stacks', 'testing', 'bench', 'main.ts'];

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
}

function cruise(cwd: string, targets: readonly string[]): { violations: Violation[]; modules: number } {
  const r = spawnSync(process.execPath, [DEPCRUISE, '--config', CONFIG, '--output-type', 'json', ...targets], { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0 && !r.stdout) throw new Error(`depcruise failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: out.summary.violations, modules: out.summary.totalCruised };
}

test('the tree keeps every layer rule, with no import cycle', () => {
  const { violations, modules } = cruise(ROOT, LAYERS);
  expect(modules).toBeGreaterThan(100);
  expect(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)).toEqual([]);
});

/** Every rule of the config, by name: each must be named by a violation planted below. */
const RULES: string[] = (require(CONFIG) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name);

test('the rules name each kind of violation planted in a scratch tree, every rule at least once', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bqx-layers-'));
  const file = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  const imports = (rel: string, from: string) => file(rel, `import * as m from '${from}';\nexport const x = m;\n`);
  try {
    file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', strict: true } }));
    // Two npm packages, as installed: the CLI framework and the provider with its package root.
    file('package.json', JSON.stringify({ name: 'scratch', dependencies: { commander: '*', '@cdktf/provider-google': '*' } }));
    file('node_modules/commander/package.json', JSON.stringify({ name: 'commander', main: 'index.js' }));
    file('node_modules/commander/index.js', 'exports.Command = class {};\n');
    file('node_modules/@cdktf/provider-google/package.json', JSON.stringify({ name: '@cdktf/provider-google', main: 'lib/index.js' }));
    file('node_modules/@cdktf/provider-google/lib/index.js', 'exports.x = 1;\n');
    file('node_modules/@cdktf/provider-google/lib/bigquery-dataset/index.js', 'exports.BigqueryDataset = class {};\n');
    const leaf = (rel: string) => file(rel, 'export const x = 1;\n');
    for (const rel of ['engines/index.ts', 'engines/bigquery/engine.ts', 'scripts/cli.ts', 'stacks/data-stack.ts', 'app/main-job.ts', 'warehouse/catalogue.ts', 'testing/double.ts', 'bench/run.ts']) leaf(rel);
    imports('core/execute/apply.ts', '../../engines/index');
    imports('core/report/cli.ts', 'commander');
    imports('engines/duckdb/engine.ts', '../bigquery/engine');
    imports('engines/duckdb/options.ts', '../../scripts/cli');
    imports('app/run.ts', '../scripts/cli');
    imports('scripts/bench-verb.ts', '../bench/run');
    imports('constructs/dataset.ts', '../stacks/data-stack');
    imports('constructs/root-import.ts', '@cdktf/provider-google');
    imports('constructs/by-path.ts', '@cdktf/provider-google/lib/bigquery-dataset');
    imports('stacks/views-stack.ts', '../app/main-job');
    imports('config/environment.ts', '../warehouse/catalogue');
    imports('warehouse/seed.ts', '../testing/double');
    imports('testing/fixture.ts', '../app/main-job');
    imports('bench/verb.ts', '../scripts/cli');
    file('app/a.ts', "import { b } from './b';\nexport const a = b;\n");
    file('app/b.ts', "import { a } from './a';\nexport const b = a;\n");
    const { violations } = cruise(dir, ['core', 'engines', 'app', 'scripts', 'constructs', 'stacks', 'config', 'warehouse', 'testing', 'bench']);
    const found = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    for (const expected of [
      'core-imports-only-core: core/execute/apply.ts -> engines/index.ts',
      'core-knows-no-cloud-or-cli-library: core/report/cli.ts -> node_modules/commander/index.js',
      'engines-import-only-core: engines/duckdb/options.ts -> scripts/cli.ts',
      'engines-never-import-each-other: engines/duckdb/engine.ts -> engines/bigquery/engine.ts',
      'app-composes-below-it: app/run.ts -> scripts/cli.ts',
      'scripts-are-thin-verbs: scripts/bench-verb.ts -> bench/run.ts',
      'nothing-imports-bench: scripts/bench-verb.ts -> bench/run.ts',
      'constructs-never-import-stacks: constructs/dataset.ts -> stacks/data-stack.ts',
      'provider-by-module-path: constructs/root-import.ts -> node_modules/@cdktf/provider-google/lib/index.js',
      'stacks-compose-constructs: stacks/views-stack.ts -> app/main-job.ts',
      'config-is-data: config/environment.ts -> warehouse/catalogue.ts',
      'warehouse-is-the-local-fixture: warehouse/seed.ts -> testing/double.ts',
      'testing-doubles-stand-alone: testing/fixture.ts -> app/main-job.ts',
      'bench-measures-from-outside: bench/verb.ts -> scripts/cli.ts',
      'no-cycles: app/a.ts -> app/b.ts',
    ]) {
      expect(found).toContain(expected);
    }
    expect([...new Set(violations.map((v) => v.rule.name))].sort()).toEqual([...RULES].sort());
    // An import by module path is allowed: the provider rule names the package root only.
    expect(found.filter((f) => f.includes('constructs/by-path.ts'))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
