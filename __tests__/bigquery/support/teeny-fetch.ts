/**
 * Jest runs CommonJS in a VM without `--experimental-vm-modules`, where teeny-request's
 * `import('node-fetch')` (node-fetch 3 is ESM-only) cannot run. Tests load teeny-request's own
 * code with that one line pointed at Node's built-in fetch instead. Everything above it (the
 * official BigQuery client, @google-cloud/common, retry-request, teeny-request's request/response
 * mapping) is the shipped code; outside Jest (the bench, the CLI) nothing is replaced.
 */
export function teenyWithGlobalFetch(): unknown {
  const fs = jest.requireActual('fs') as typeof import('fs');
  const path = jest.requireActual('path') as typeof import('path');
  const { createRequire } = jest.requireActual('module') as typeof import('module');
  const file = require.resolve('teeny-request');
  const original = fs.readFileSync(file, 'utf8');
  const needle = "import('node-fetch').then(({ default: fetch }) => fetch(...args))";
  if (!original.includes(needle)) throw new Error(`teeny-request changed: ${file} no longer contains ${needle}`);
  const source = original.replace(needle, 'globalThis.fetch(...args)');
  const mod = { exports: {} as Record<string, unknown> };
  new Function('exports', 'require', 'module', '__filename', '__dirname', source)(mod.exports, createRequire(file), mod, file, path.dirname(file));
  return mod.exports;
}
