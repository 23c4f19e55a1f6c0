// Shared by the unit and e2e configurations: SWC keeps decorator metadata, which Nest's injection needs.
const path = require('node:path');

const root = __dirname;

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^@weblog/kafka-common$': path.join(root, 'libs/kafka-common/src/index.ts'),
    '^@weblog/kafka-common/testing$': path.join(root, 'libs/kafka-common/src/testing.ts'),
    '^@weblog/s3-archive$': path.join(root, 'libs/s3-archive/src/index.ts'),
    '^@weblog/local-infra$': path.join(root, 'infra/local/src/index.ts'),
  },
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
