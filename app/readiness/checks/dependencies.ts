import { readFileSync } from 'fs';
import * as path from 'path';
import { repoRoot } from '../../../core/paths';
import type { Findings } from '../findings';
import type { Priority } from '../types';

/** `^1.2.3`, `~1.2.3`, `>=1.2`, `1.2.3` (exact, pre-release tags compared as text) — all this project uses. */
export function satisfies(version: string, range: string): boolean {
  const parse = (v: string) => {
    const [core, pre = ''] = v.trim().replace(/^v/, '').split('-', 2);
    const [a = 0, b = 0, c = 0] = core.split('.').map((x) => Number(x) || 0);
    return { n: [a, b, c] as const, pre };
  };
  const cmp = (x: ReturnType<typeof parse>, y: ReturnType<typeof parse>) => {
    for (let i = 0; i < 3; i++) if (x.n[i] !== y.n[i]) return x.n[i] - y.n[i];
    return x.pre === y.pre ? 0 : x.pre === '' ? 1 : y.pre === '' ? -1 : x.pre < y.pre ? -1 : 1;
  };
  const v = parse(version);
  const r = range.trim();
  if (r.startsWith('>=')) return cmp(v, parse(r.slice(2))) >= 0;
  if (r.startsWith('^')) {
    const m = parse(r.slice(1));
    if (cmp(v, m) < 0) return false;
    return m.n[0] > 0 ? v.n[0] === m.n[0] : m.n[1] > 0 ? v.n[0] === 0 && v.n[1] === m.n[1] : v.n[0] === 0 && v.n[1] === 0 && v.n[2] === m.n[2];
  }
  if (r.startsWith('~')) {
    const m = parse(r.slice(1));
    return cmp(v, m) >= 0 && v.n[0] === m.n[0] && v.n[1] === m.n[1];
  }
  return cmp(v, parse(r)) === 0;
}

interface PackageJson {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export function installedVersion(pkg: string, root: string = repoRoot()): string | null {
  // Read the manifest directly: packages with an `exports` map may not export ./package.json.
  for (let dir = root; ; dir = path.dirname(dir)) {
    try {
      return readJson<{ version: string }>(path.join(dir, 'node_modules', pkg, 'package.json')).version;
    } catch {
      if (path.dirname(dir) === dir) return null;
    }
  }
}

export async function checkDependencies(findings: Findings, engineKind: 'duckdb' | 'bigquery', nodeVersion: string = process.versions.node): Promise<void> {
  const root = repoRoot();
  const manifest = readJson<PackageJson>(path.join(root, 'package.json'));
  await findings.run({ id: 'dependencies.node', section: 'dependencies', title: 'Node.js version' }, (scope) => {
    const wanted = manifest.engines?.node ?? '>=20.10';
    if (!satisfies(nodeVersion, wanted)) {
      scope.block({
        code: 'NODE_VERSION',
        priority: 'P0',
        title: `Node.js ${nodeVersion} does not satisfy ${wanted}`,
        impact: 'the CLI and its engine libraries are not supported on it',
        mitigation: `install Node.js ${wanted.replace('>=', '')} or later (20.x LTS)`,
      });
    }
    return `node ${nodeVersion} (package.json wants ${wanted})`;
  });

  const needed: { pkg: string; missing: Priority; why: string }[] = [
    { pkg: '@duckdb/node-api', missing: engineKind === 'duckdb' ? 'P0' : 'P3', why: 'local engine' },
    { pkg: '@google-cloud/bigquery', missing: engineKind === 'bigquery' ? 'P0' : 'P3', why: 'BigQuery engine' },
    { pkg: 'google-auth-library', missing: engineKind === 'bigquery' ? 'P0' : 'P3', why: 'Google Cloud credentials' },
    { pkg: 'cdktf', missing: 'P2', why: 'stack synthesis' },
    { pkg: '@cdktf/provider-google', missing: 'P2', why: 'stack synthesis' },
    { pkg: 'commander', missing: 'P0', why: 'the CLI' },
  ];
  await findings.run({ id: 'dependencies.packages', section: 'dependencies', title: 'packages installed at the declared versions' }, (scope) => {
    const facts: string[] = [];
    for (const n of needed) {
      const declared = manifest.dependencies?.[n.pkg] ?? manifest.devDependencies?.[n.pkg] ?? null;
      const installed = installedVersion(n.pkg, root);
      facts.push(`${n.pkg} ${installed ?? 'missing'}${declared ? ` (declared ${declared})` : ''}`);
      if (!installed) {
        scope.block({
          code: 'PACKAGE_MISSING',
          priority: n.missing,
          title: `${n.pkg} is not installed`,
          impact: `the ${n.why} cannot load`,
          mitigation: 'npm install --no-audit --no-fund',
        });
      } else if (declared && !satisfies(installed, declared)) {
        scope.block({
          code: 'PACKAGE_VERSION',
          priority: n.missing === 'P0' ? 'P1' : 'P3',
          title: `${n.pkg} ${installed} does not satisfy the declared ${declared}`,
          impact: `the ${n.why} runs on a version the project was not tested with`,
          mitigation: 'npm install --no-audit --no-fund (reinstall from package-lock.json)',
        });
      }
    }
    return facts.join('; ');
  });
}

interface PackageLock {
  packages?: Record<string, { version?: string }>;
}

/**
 * The installed version of every direct dependency equals the one package-lock.json pins: a CI
 * image or laptop that installed with `npm install` against a moved registry (or an edited
 * node_modules) runs code the suite never ran.
 */
export async function checkLockfile(findings: Findings, root: string = repoRoot()): Promise<void> {
  await findings.run({ id: 'dependencies.lockfile', section: 'dependencies', title: 'installed packages match package-lock.json' }, (scope) => {
    const manifest = readJson<PackageJson>(path.join(root, 'package.json'));
    let lock: PackageLock;
    try {
      lock = readJson<PackageLock>(path.join(root, 'package-lock.json'));
    } catch (e) {
      scope.block({
        code: 'LOCKFILE_MISSING',
        priority: 'P2',
        title: 'package-lock.json cannot be read',
        impact: 'the installed versions cannot be tied to what the suite ran',
        mitigation: `restore package-lock.json from the repository and reinstall with npm ci (${(e as Error).message.slice(0, 120)})`,
      });
      return 'no lockfile';
    }
    const direct = [...Object.keys(manifest.dependencies ?? {}).map((p) => ({ p, runtime: true })), ...Object.keys(manifest.devDependencies ?? {}).map((p) => ({ p, runtime: false }))];
    const drift: string[] = [];
    for (const { p, runtime } of direct) {
      const pinned = lock.packages?.[`node_modules/${p}`]?.version ?? null;
      const installed = installedVersion(p, root);
      if (pinned === null || installed === null || pinned === installed) continue;
      drift.push(`${p} ${installed} (lockfile ${pinned})`);
      scope.block({
        code: 'LOCKFILE_DRIFT',
        priority: runtime ? 'P1' : 'P3',
        title: `${p} ${installed} is installed, package-lock.json pins ${pinned}`,
        impact: runtime ? 'the runner would run a library version the test suite did not run' : 'tests and tooling run on a version CI does not use',
        mitigation: 'npm ci (installs exactly what package-lock.json pins)',
      });
    }
    return drift.length ? `differ: ${drift.join('; ')}` : `${direct.length} direct dependencies installed at the versions package-lock.json pins`;
  });
}
