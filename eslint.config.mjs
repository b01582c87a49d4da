// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const PROCESS_ENV = {
  selector: "MemberExpression[object.name='process'][property.name='env']",
  message: 'Read configuration through @app/config (AppConfig), not process.env.',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'data/**',
      'bench/out/**',
      'eval/out/**',
      'eslint.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', PROCESS_ENV],
    },
  },
  {
    // Writes go through Transactions (retries, and one write at a time on SQLite): a repository
    // never writes through an injected TypeORM repository or opens a transaction of its own.
    files: ['apps/**/*.repository.ts', 'libs/**/*.repository.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        PROCESS_ENV,
        {
          selector:
            "CallExpression[callee.object.type='MemberExpression'][callee.object.object.type='ThisExpression'][callee.property.name=/^(save|insert|update|upsert|delete|remove|transaction|query)$/]",
          message:
            'Write through Transactions (tx.run / tx.write with its manager); see docs/architecture.md.',
        },
      ],
    },
  },
  {
    files: [
      'libs/config/src/**/*.ts',
      'apps/*/src/main.ts',
      'test/**/*.ts',
      'bench/**/*.ts',
      'eval/**/*.ts',
      '**/*.spec.ts',
      '*.config.ts',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
