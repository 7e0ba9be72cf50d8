#!/usr/bin/env node
// Audits a server for GraphQL over HTTP conformance with graphql-http's
// auditServer.
//
//   node audit.mjs URL
//
// Prints one line per audit: `<status> <id> <name>`, followed for a failed one
// by an indented `reason:` line and the response's status, content type and
// body (truncated). Then a summary line.
//
// Status, as graphql-http sets it: a failed MUST audit is `error`, a failed
// SHOULD audit is `warn`, a failed MAY audit is `notice`.
// Exit 0 when every audit is `ok`; 1 when any is not (error, warn or notice);
// 2 on bad arguments or when the audit itself could not run (e.g. nothing
// listens at URL).
import { auditServer } from 'graphql-http';

const USAGE = 'usage: node audit.mjs URL';
const args = process.argv.slice(2);
if (args.length !== 1 || args[0].startsWith('-')) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(args[0] === '--help' || args[0] === '-h' ? 0 : 2);
}
const url = args[0];

// Fail fast with a clear message if nothing answers at URL (auditServer would
// otherwise throw a bare "fetch failed").
try {
  await fetch(url, { method: 'GET', signal: AbortSignal.timeout(10_000) });
} catch (err) {
  process.stderr.write(`audit: cannot reach ${url}: ${err.cause?.message ?? err.message}\n`);
  process.exit(2);
}

let results;
try {
  results = await auditServer({ url });
} catch (err) {
  process.stderr.write(`audit: fatal error while auditing ${url}: ${err?.stack ?? err}\n`);
  process.exit(2);
}

async function describeResponse(response) {
  if (!response) return undefined;
  let body = '';
  try {
    body = await response.clone().text();
  } catch {
    try {
      body = await response.text();
    } catch {
      body = '<body already read>';
    }
  }
  body = body.replace(/\s+/g, ' ').trim();
  if (body.length > 300) body = `${body.slice(0, 300)}...`;
  const type = response.headers?.get?.('content-type') ?? '';
  return `response: ${response.status} ${type} ${body}`.trimEnd();
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  process.stdout.write(`${result.status.padEnd(6)} ${result.id} ${result.name}\n`);
  if (result.status !== 'ok') {
    process.stdout.write(`       reason: ${result.reason}\n`);
    const response = await describeResponse(result.response);
    if (response) process.stdout.write(`       ${response}\n`);
  }
}
const summary = Object.entries(counts).map(([status, n]) => `${n} ${status}`).join(', ');
process.stdout.write(`audit of ${url}: ${results.length} audits: ${summary}\n`);
process.exit(results.every((r) => r.status === 'ok') ? 0 : 1);
