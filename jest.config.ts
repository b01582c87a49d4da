import type { Config } from 'jest';

export const moduleNameMapper = {
  '^@app/(ai|config|database|common|messages|memory-jobs)(|/.*)$': '<rootDir>/libs/$1/src$2',
};

export const transform: Config['transform'] = {
  // Type-checking is `npm run typecheck`'s job; jest only transpiles.
  '^.+\\.ts$': ['ts-jest', {}],
  // @nestjs/passport 12 ships ES modules only. Node 20 loads them with require(esm), but jest's
  // module system does not (before Node 24.9), so jest compiles that package to CommonJS.
  '/node_modules/@nestjs/passport/.+\\.js$': [
    'ts-jest',
    { tsconfig: { allowJs: true, module: 'commonjs', esModuleInterop: true } },
  ],
};

/** Every package under node_modules is run as it is, except the ES-module-only ones above. */
export const transformIgnorePatterns = ['/node_modules/(?!@nestjs/passport/)'];

const config: Config = {
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs'],
  testRegex: '\\.spec\\.ts$',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns,
  moduleNameMapper,
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
};

export default config;
