/**
 * `node -r __tests__/cdktf/support/swc-register.js main.ts`: runs the TypeScript cdktf app without a
 * build, transpiled by @swc/core (a dev dependency), so a test can drive it through the real cdktf
 * CLI synthesis code (@cdktf/cli-core SynthStack.synth) the way `npx cdktf synth` does.
 */
const fs = require('fs');
const swc = require('@swc/core');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
