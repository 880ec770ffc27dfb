// ESLint: typescript-eslint's recommended rules for TS, eslint-plugin-svelte's for components.
// Formatting is Prettier's job (npm run format), not ESLint's.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default ts.config(
  { ignores: ['out/', 'native/', 'dist/', 'types/', 'node_modules/', 'src-main/engine/simd/kernels-wasm.ts'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      // `_`-prefixed names are deliberately unused (positional parameters, destructuring).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Comma sequences as compact statements (`if (x) (a = 1), (b = 2);`) are this codebase's idiom
      // in numeric loops; tsc already reports expressions that have no effect at all.
      '@typescript-eslint/no-unused-expressions': 'off',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'] } },
    rules: {
      // Maps and Sets here are temporaries inside computations, not state (state is $state / $derived).
      'svelte/prefer-svelte-reactivity': 'off',
      // Lists are replaced whole from the main process, never reordered in place: index keys would add nothing.
      'svelte/require-each-key': 'off',
    },
  },
);
