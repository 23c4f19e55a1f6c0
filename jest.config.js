// Unit tests: pure logic and Nest testing modules, no servers.
const preset = require('./jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'unit',
  rootDir: __dirname,
  testMatch: ['<rootDir>/{apps,libs,infra,reliability,bench}/**/src/**/*.spec.ts'],
};
