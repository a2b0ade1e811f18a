/** `npm run test:sweeps`: the crash sweeps that `npm test` leaves out (jest.config.js says why). */
const config = require('./jest.config.js');

const { testMatch, ...base } = config;

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testPathIgnorePatterns: ['/node_modules/'],
  testRegex: config.SWEEPS,
  testTimeout: 900000,
};
