#!/usr/bin/env node
// The initial-JavaScript budget (issue #7: at most 150 KB gzip). Reads dist/index.html,
// takes the entry script and every <link rel="modulepreload"> (what the browser fetches
// before the first screen), gzips each as a server would, and fails above the budget.
//
//   npm run build && npm run size            # prints e.g. "initial JS: 61.2 KB gzip"
//   SIZE_BUDGET_KB=100 npm run size          # a stricter budget
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const budgetKb = Number(process.env.SIZE_BUDGET_KB ?? 150);

/** The initial JS files referenced by an index.html, as paths relative to dist. */
export function initialScripts(html) {
  const files = new Set();
  for (const m of html.matchAll(/<script\b[^>]*\btype="module"[^>]*\bsrc="([^"]+)"/g))
    files.add(m[1]);
  for (const m of html.matchAll(/<link\b[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"/g))
    files.add(m[1]);
  return [...files].map((f) => f.replace(/^\//, ''));
}

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const files = initialScripts(html);
if (files.length === 0) {
  console.error('size: no module scripts found in dist/index.html');
  process.exit(1);
}
let total = 0;
for (const f of files) {
  const bytes = gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  total += bytes;
  console.log(`  ${f}: ${(bytes / 1024).toFixed(1)} KB gzip`);
}
const kb = total / 1024;
console.log(`initial JS: ${kb.toFixed(1)} KB gzip (budget ${budgetKb} KB)`);
if (kb > budgetKb) {
  console.error(`size: initial JS is over budget by ${(kb - budgetKb).toFixed(1)} KB`);
  process.exit(1);
}
