/** `npm run test:long`: the crash sweeps and the full-scale run that `npm test` leaves out (jest.config.js says why). */
const config = require('./jest.config.js');

const { testMatch, ...base } = config;

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testRegex: config.LONG,
  testTimeout: 900000,
};
