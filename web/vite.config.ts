/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

/** Where `npm run dev` and `npm run preview` send /graphql: a local `rialto serve`. */
const api = process.env.RIALTO_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  plugins: [solid()],
  server: {
    proxy: { '/graphql': { target: api, ws: true, changeOrigin: true } },
  },
  preview: {
    proxy: { '/graphql': { target: api, ws: true, changeOrigin: true } },
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    // The chart library is split out and loaded with the trade page (see pages/Trade.tsx).
    chunkSizeWarningLimit: 250,
  },
  test: {
    // Pure modules run in Node; component tests opt into jsdom with a docblock
    // (`@vitest-environment jsdom`), which keeps the suite fast.
    environment: 'node',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
