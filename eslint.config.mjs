// Lint rules follow the Temporal samples: workflow code is sandboxed and deterministic, so it may not
// import Node built-ins, and every promise must be awaited or explicitly voided.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const noWorkflows = { group: ['**/workflows', '**/workflows/*'], message: 'only workflows/ (and the controller) import workflows/: move what both sides need into contracts/' };

export default tseslint.config(
  { ignores: ['node_modules/**', 'generated/**', '.tools/**', '.data/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: nodeBuiltins, patterns: ['node:*'] }],
    },
  },
  {
    // No import loop between the two layers: what both need lives in contracts/ (the plan, workflow
    // ids, signals and request shapes), and workflows import activities only as types.
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [noWorkflows] }],
    },
  },
  {
    // contracts/ is bundled into the workflow sandbox too, and sits below both layers.
    files: ['contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: nodeBuiltins, patterns: [{ group: ['node:*'] }, noWorkflows] }],
    },
  },
  { files: ['**/*.mjs', '**/*.js', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
);
