// Lint: ESLint's and typescript-eslint's recommended rules. Formatting is Prettier's (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'runtime/models/', '.scratch/', '**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One owner per mutable record: only the owner imports the writer of the record's private fields.
    files: ['**/*.ts'],
    ignores: ['runtime/engine/scheduler/scheduler.ts', 'gateway/instances/instance-table.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/sequence.ts'],
              importNames: ['sequenceProgress'],
              message: "A sequence's progress is the Scheduler's to change: ask it.",
            },
            {
              group: ['**/upstream-instance.ts'],
              importNames: ['instanceState'],
              message: "An instance's state is the InstanceTable's to change: ask it.",
            },
          ],
        },
      ],
    },
  },
);
