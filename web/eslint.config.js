// Lint rules: typescript-eslint's recommended set, plus eslint-plugin-solid for components,
// which catches the Solid mistakes that break reactivity (destructured props, early reads).
import js from '@eslint/js';
import solid from 'eslint-plugin-solid/configs/typescript';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'src/graphql/gql/', 'e2e/artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['src/**/*.{ts,tsx}', 'public/**/*.js'], languageOptions: { globals: globals.browser } },
  // Solid's rules are about components: stores use signals outside JSX on purpose.
  { files: ['src/**/*.tsx'], ...solid },
  {
    files: ['scripts/**/*.mjs', 'e2e/**/*.{ts,mjs}', '*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
);
