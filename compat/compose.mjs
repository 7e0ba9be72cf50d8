#!/usr/bin/env node
// Composes Federation v2 subgraph SDLs into a supergraph with
// @theguild/federation-composition.
//
//   node compose.mjs [--public] name=path/to/sdl.graphql[=http://url] ...
//   node compose.mjs --public-of supergraph.graphql
//
// Success: the supergraph SDL on stdout (exit 0); with --public, the public API
// schema instead (federation internals removed), sorted lexicographically and
// printed with graphql's printSchema, so two runs can be compared textually.
// Composition errors: each one on stderr, exit 1. Bad arguments: exit 2.
// --public-of reads a supergraph made elsewhere (Rialto's `rialto supergraph`) and prints
// its public schema the same way, so the two composers' results can be compared.
import { readFileSync } from 'node:fs';
import {
  composeServices,
  transformSupergraphToPublicSchema,
} from '@theguild/federation-composition';
import { buildASTSchema, lexicographicSortSchema, parse, printSchema } from 'graphql';

const USAGE =
  'usage: node compose.mjs [--public] name=path/to/sdl.graphql[=http://url] ...';

function fail(message, code) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function printPublic(documentNode) {
  const schema = buildASTSchema(documentNode, { assumeValidSDL: true });
  process.stdout.write(`${printSchema(lexicographicSortSchema(schema))}\n`);
}

if (process.argv[2] === '--public-of') {
  const path = process.argv[3];
  if (!path) fail(USAGE, 2);
  let doc;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`cannot read supergraph ${path}: ${err.message}`, 1);
  }
  printPublic(transformSupergraphToPublicSchema(doc));
  process.exit(0);
}

let publicSchema = false;
const services = [];
for (const arg of process.argv.slice(2)) {
  if (arg === '--public') {
    publicSchema = true;
    continue;
  }
  if (arg === '--help' || arg === '-h') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  // name=path[=url]: the name ends at the first '=', the path at the next one;
  // the url is everything after that (it may itself contain '=').
  const first = arg.indexOf('=');
  if (first <= 0) fail(`bad argument ${JSON.stringify(arg)}\n${USAGE}`, 2);
  const name = arg.slice(0, first);
  const rest = arg.slice(first + 1);
  const second = rest.indexOf('=');
  const path = second === -1 ? rest : rest.slice(0, second);
  const url = second === -1 ? undefined : rest.slice(second + 1);
  if (!path) fail(`missing SDL path in ${JSON.stringify(arg)}\n${USAGE}`, 2);

  let sdl;
  try {
    sdl = readFileSync(path, 'utf8');
  } catch (err) {
    fail(`${name}: cannot read ${path}: ${err.message}`, 2);
  }
  let typeDefs;
  try {
    typeDefs = parse(sdl);
  } catch (err) {
    // A subgraph SDL that does not parse is a composition error of that subgraph.
    fail(`[${name}] ${err.message}`, 1);
  }
  services.push(url ? { name, typeDefs, url } : { name, typeDefs });
}
if (services.length === 0) fail(USAGE, 2);

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) {
    const code = error.extensions?.code ? `${error.extensions.code}: ` : '';
    process.stderr.write(`${code}${error.message}\n`);
  }
  process.exit(1);
}

if (publicSchema) {
  // publicSdl is transformSupergraphToPublicSchema(supergraph): no join__/link__
  // types, no _entities/_service, no @inaccessible elements.
  printPublic(result.publicDocumentNode);
} else {
  process.stdout.write(result.supergraphSdl.endsWith('\n')
    ? result.supergraphSdl
    : `${result.supergraphSdl}\n`);
}
