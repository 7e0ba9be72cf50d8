#!/usr/bin/env node
// Generates the typed documents in src/graphql/gql/ from schema.graphql and the graphql()
// documents in src/ with @graphql-codegen/client-preset.
//
// Why not @graphql-codegen/cli: its loaders (url, git, github, apollo-engine) pull
// @whatwg-node/* releases that require Node 22, and we build on Node 20. This runs the same
// preset through @graphql-codegen/core, reading documents the way the CLI's code-file loader
// does (the template literal's text, verbatim, is the key graphql() looks documents up by).
// Every document is validated against the schema, so a contract change fails the build.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codegen } from '@graphql-codegen/core';
import { preset } from '@graphql-codegen/client-preset';
import { getCachedDocumentNodeFromSchema } from '@graphql-codegen/plugin-helpers';
import {
  GraphQLError,
  Kind,
  NoUnusedFragmentsRule,
  Source,
  buildSchema,
  parse,
  specifiedRules,
  validate,
} from 'graphql';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'src/graphql/gql');

/** Every .ts/.tsx file under `dir`, except the generated output. */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return p === outDir ? [] : sourceFiles(p);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** The documents of one file: each graphql(`...`) call's template text. */
export function pluck(code) {
  const found = [];
  const re = /\bgraphql\(\s*`([^`]*)`\s*\)/g;
  for (let m; (m = re.exec(code));) {
    if (m[1].includes('${'))
      throw new Error('graphql() documents cannot interpolate: use fragments');
    found.push(m[1]);
  }
  return found;
}

async function main() {
  const schemaAst = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));
  const documents = [];
  const errors = [];
  for (const file of sourceFiles(join(root, 'src')).sort()) {
    const location = relative(root, file);
    for (const rawSDL of pluck(readFileSync(file, 'utf8'))) {
      documents.push({ location, rawSDL, document: parse(new Source(rawSDL, location)) });
    }
  }
  // Validate all documents as one, as the CLI does: fragments live in their own graphql()
  // calls and are spread elsewhere.
  const all = {
    kind: Kind.DOCUMENT,
    definitions: documents.flatMap((d) => d.document.definitions),
  };
  const rules = specifiedRules.filter((r) => r !== NoUnusedFragmentsRule);
  for (const e of validate(schemaAst, all, rules)) {
    const where = e.locations?.[0];
    errors.push(`${e.source?.name ?? '?'}${where ? `:${where.line}` : ''}: ${e.message}`);
  }
  if (errors.length) {
    console.error(`GraphQL documents do not match schema.graphql:\n  ${errors.join('\n  ')}`);
    process.exit(1);
  }
  const config = {
    // The API's scalars are strings on the wire (ADR 0005: decimals never become floats).
    scalars: { Decimal: 'string', DateTime: 'string' },
    strictScalars: true,
    enumsAsTypes: true,
    useTypeImports: true,
    avoidOptionals: false,
    skipTypename: false,
  };
  const outputs = await preset.buildGeneratesSection({
    baseOutputDir: outDir + '/',
    presetConfig: { fragmentMasking: false },
    plugins: [],
    pluginMap: {},
    schema: getCachedDocumentNodeFromSchema(schemaAst),
    schemaAst,
    documents,
    config,
  });
  rmSync(outDir, { recursive: true, force: true });
  for (const out of outputs) {
    const content = await codegen({ ...out, emitLegacyCommonJSImports: false });
    mkdirSync(dirname(out.filename), { recursive: true });
    writeFileSync(out.filename, content);
  }
  console.log(`codegen: ${documents.length} documents → ${relative(root, outDir)}/`);
}

main().catch((e) => {
  console.error(e instanceof GraphQLError ? e.toString() : e);
  process.exit(1);
});
