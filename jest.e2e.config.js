// End-to-end tests: real Kafka and S3 started once for the whole run by the local launcher.
const preset = require('./jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/{apps,libs,infra,reliability,bench}/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/infra/local/src/jest-global-setup.ts',
  globalTeardown: '<rootDir>/infra/local/src/jest-global-teardown.ts',
  testTimeout: 300000,
  maxWorkers: 1,
};
