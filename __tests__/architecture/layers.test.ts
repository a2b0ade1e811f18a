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

test('the rules name each kind of violation planted in a scratch tree', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bqx-layers-'));
  const file = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  try {
    file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', strict: true } }));
    file('core/execute/apply.ts', "import { openEngine } from '../../engines/index';\nexport const a = openEngine;\n");
    file('engines/index.ts', "import { main } from '../scripts/cli';\nexport const openEngine = main;\n");
    file('scripts/cli.ts', 'export const main = 1;\n');
    file('constructs/dataset.ts', "import { DataStack } from '../stacks/data-stack';\nexport const d = DataStack;\n");
    file('stacks/data-stack.ts', 'export const DataStack = 1;\n');
    file('app/a.ts', "import { b } from './b';\nexport const a = b;\n");
    file('app/b.ts', "import { a } from './a';\nexport const b = a;\n");
    const { violations } = cruise(dir, ['core', 'engines', 'scripts', 'constructs', 'stacks', 'app']);
    const found = new Set(violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`));
    for (const expected of [
      'core-imports-only-core: core/execute/apply.ts -> engines/index.ts',
      'engines-import-only-core: engines/index.ts -> scripts/cli.ts',
      'constructs-never-import-stacks: constructs/dataset.ts -> stacks/data-stack.ts',
      'no-cycles: app/a.ts -> app/b.ts',
    ]) {
      expect(found).toContain(expected);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
