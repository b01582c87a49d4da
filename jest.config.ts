import type { Config } from 'jest';

export const moduleNameMapper = {
  '^@app/(ai|config|database|common|messages|memory-jobs)(|/.*)$': '<rootDir>/libs/$1/src$2',
};

export const transform: Config['transform'] = {
  // Type-checking is `npm run typecheck`'s job; jest only transpiles.
  '^.+\\.ts$': ['ts-jest', {}],
};

const config: Config = {
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testRegex: '\\.spec\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  transform,
  moduleNameMapper,
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
};

export default config;
