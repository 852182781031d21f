// @ts-check
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', 'dist/', 'imports/', 'coverage/', '.bench/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      'prefer-const': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // CommonJS scripts (the build's asset step, the lease-protocol test worker) load with require().
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The CLI loads each subcommand on demand with require(), so `status` does not load `enqueue`.
    files: ['queue/cli.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests and their fixtures handle plain manifests, which are untyped by nature, and load
    // modules dynamically (jest.isolateModules, schema models by apiVersion).
    files: ['test/**', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-require-imports': 'off' },
  },
);
