/** @jest-config-loader ts-node */
// Node >= 22.18 strips TypeScript itself, so without the docblock Jest loads this file as ESM and
// the extensionless `../jest.config` import fails; ts-node loads it as CommonJS on every Node.
import type { Config } from 'jest';

import { moduleNameMapper, transform } from '../jest.config';

const config: Config = {
  rootDir: '..',
  roots: ['<rootDir>/test'],
  testRegex: '\\.e2e-spec\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  transform,
  moduleNameMapper,
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  testTimeout: 60_000,
};

export default config;
