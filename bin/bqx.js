#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (npm install builds it through the `prepare` script).
const path = require('path');
const fs = require('fs');
// `bqx audit | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(process.exitCode || 0);
    throw err;
  });
}
const entry = path.join(__dirname, '..', 'dist', 'scripts', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('bqx: the CLI is not built yet (dist/scripts/cli.js missing). Run `npm run build` first.\n');
  process.exit(2);
}
require(entry).main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`bqx: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 1; },
);
