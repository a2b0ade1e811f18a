/**
 * The layer rules, enforced by the test suite (__tests__/architecture/layers.test.ts) and by
 * `npx depcruise --config .dependency-cruiser.cjs core engines app scripts warehouse config constructs stacks testing bench main.ts`.
 * One sentence per layer is in ARCHITECTURE.md.
 */
const OWN = '^(core|engines|app|scripts|warehouse|config|constructs|stacks|testing|bench|main[.]ts)';
const layer = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: OWN, pathNot: allowed },
});

module.exports = {
  forbidden: [
    layer('core-imports-only-core', '^core/', '^core/', 'core/ (naming, plan, ledger, execute, ports) knows no engine, no CLI, no cloud API, no stack'),
    layer('engines-import-only-core', '^engines/', '^(core|engines)/', 'engines/ implement the ports of core/ and import nothing else of the project'),
    layer('app-composes-below-it', '^app/', '^(app|core|engines|config|stacks|warehouse)/', 'app/ composes core, engines and the stacks; it never reaches up into the CLI'),
    layer('scripts-are-thin-verbs', '^scripts/', '^(scripts|app|core|config|warehouse)/', 'scripts/ parse options, call one app function, map its outcome to an exit code'),
    layer('constructs-never-import-stacks', '^constructs/', '^(constructs|core)/', 'constructs/ are L2s: (scope, id, props), grants; they know no stack, no environment'),
    layer('stacks-compose-constructs', '^stacks/', '^(stacks|constructs|config|core)/', 'stacks/ are thin compositions of constructs per environment'),
    layer('config-is-data', '^config/', '^(config|core)/', 'config/ holds the environments as validated data'),
    layer('warehouse-is-the-local-fixture', '^warehouse/', '^(warehouse|core|config|engines/duckdb)/', 'warehouse/ reproduces the catalogue and seeds the local DuckDB file'),
    layer('testing-doubles-stand-alone', '^testing/', '^(testing|core|engines|config|warehouse)/', 'testing/ holds doubles of Google APIs for tests and benches'),
    layer('bench-measures-from-outside', '^bench/', '^((bench|app|core|engines|config|stacks|testing|warehouse)/|scripts/options[.]ts$)', 'bench/ drives the layers below the CLI (and its engine options) to measure them; it never reaches into the verbs'),
    {
      name: 'nothing-imports-bench',
      comment: 'benches measure the product; no product code depends on them',
      severity: 'error',
      from: { path: OWN, pathNot: '^bench/' },
      to: { path: '^bench/' },
    },
    {
      name: 'engines-never-import-each-other',
      comment: 'each engine implements the ports on its own: DuckDB knows nothing of BigQuery and the reverse (engines/index.ts alone chooses between them)',
      severity: 'error',
      from: { path: '^engines/([^/]+)/' },
      to: { path: '^engines/', pathNot: '^engines/$1/' },
    },
    {
      name: 'no-cycles',
      comment: 'no import cycle among the project modules',
      severity: 'error',
      from: { path: OWN },
      to: { circular: true },
    },
    {
      name: 'core-knows-no-cloud-or-cli-library',
      comment: 'cloud clients, the DuckDB driver, CDKTF and the CLI framework stay out of core/',
      severity: 'error',
      from: { path: '^core/' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], path: '(@google-cloud|google-auth-library|@duckdb|cdktf|@cdktf|commander|pino|prom-client)' },
    },
    {
      name: 'provider-by-module-path',
      comment: 'import provider resources by module path (@cdktf/provider-google/lib/...), never the package root: it loads 1,470 modules',
      severity: 'error',
      from: {},
      to: { path: '@cdktf/provider-google/(index|lib/index)[.]js$' },
    },
  ],
  options: {
    // npm packages are seen (the library rules need them) but not followed into.
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '(^|/)(dist|cdktf[.]out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
};
