#!/usr/bin/env node
// Runs one GraphQL operation (normally a subscription) over WebSocket with the
// graphql-ws client (graphql-transport-ws protocol).
//
//   node ws-subscribe.mjs URL QUERY [--variables JSON] [--authorization "Bearer ..."]
//                         [--max N] [--timeout MS]
//
// URL may be http(s):// (switched to ws(s)://) or ws(s)://. The authorization
// is sent as the `authorization` connection param (ConnectionInit payload).
//
// stdout: every `next` payload ({"data":...,"errors":...}) as one JSON line.
// stderr: `CONNECTED` once the server acknowledged the connection (the
//         subscribe message is sent right after), and any error.
// Exit 0: the server completed the operation, or --max N events arrived (the
//         client then disposes the subscription and the socket).
// Exit 1: the server sent `error` (the errors are printed as JSON on stderr),
//         the socket closed or failed, or --timeout MS passed first.
// Exit 2: bad arguments.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const USAGE =
  'usage: node ws-subscribe.mjs URL QUERY [--variables JSON] [--authorization "Bearer ..."] [--max N] [--timeout MS]';

function usage(message) {
  process.stderr.write(`${message ? `${message}\n` : ''}${USAGE}\n`);
  process.exit(2);
}

const positional = [];
const opts = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (!arg.startsWith('--')) {
    positional.push(arg);
    continue;
  }
  const eq = arg.indexOf('=');
  const flag = eq === -1 ? arg : arg.slice(0, eq);
  if (flag === '--help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!['--variables', '--authorization', '--max', '--timeout'].includes(flag)) {
    usage(`unknown option ${flag}`);
  }
  let value;
  if (eq !== -1) value = arg.slice(eq + 1);
  else if (i + 1 < argv.length) value = argv[++i];
  else usage(`${flag} needs a value`);
  opts[flag.slice(2)] = value;
}
if (positional.length !== 2) usage();
const [rawUrl, query] = positional;

let variables;
if (opts.variables !== undefined) {
  try {
    variables = JSON.parse(opts.variables);
  } catch (err) {
    usage(`--variables is not JSON: ${err.message}`);
  }
  if (variables === null || typeof variables !== 'object' || Array.isArray(variables)) {
    usage('--variables must be a JSON object');
  }
}
function positiveInt(name) {
  if (opts[name] === undefined) return undefined;
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n <= 0) usage(`--${name} must be a positive integer`);
  return n;
}
const max = positiveInt('max');
const timeout = positiveInt('timeout');
const url = rawUrl.replace(/^http(s?):\/\//, 'ws$1://');

let finished = false;
// Flush stdout/stderr before exiting.
function finish(code, message) {
  if (finished) return;
  finished = true;
  const exit = () => process.stdout.write('', () => process.exit(code));
  if (message) process.stderr.write(`${message}\n`, exit);
  else exit();
}

function describeError(err) {
  if (Array.isArray(err)) return `error: ${JSON.stringify(err)}`; // GraphQL errors
  if (err instanceof Error) return `error: ${err.message}`;
  if (err && typeof err === 'object' && (err.error instanceof Error || typeof err.message === 'string')) {
    // a WebSocket ErrorEvent (e.g. connection refused)
    return `error: ${err.error?.message || err.message}`;
  }
  if (err && typeof err === 'object' && 'code' in err) {
    // a CloseEvent
    return `error: socket closed: code ${err.code}${err.reason ? ` reason ${err.reason}` : ''}`;
  }
  return `error: ${typeof err === 'string' ? err : JSON.stringify(err)}`;
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: opts.authorization !== undefined ? { authorization: opts.authorization } : {},
  retryAttempts: 0,
  lazy: true,
  on: {
    connected: () => process.stderr.write('CONNECTED\n'),
    closed: (event) => {
      if (!finished) finish(1, describeError(event));
    },
    error: (err) => {
      if (!finished) finish(1, describeError(err));
    },
  },
});

let received = 0;
let unsubscribe = () => {};
unsubscribe = client.subscribe(
  { query, ...(variables ? { variables } : {}) },
  {
    next(payload) {
      if (finished) return;
      process.stdout.write(`${JSON.stringify(payload)}\n`);
      received += 1;
      if (max !== undefined && received >= max) {
        finished = true;
        unsubscribe();
        Promise.resolve(client.dispose()).finally(() => {
          process.stdout.write('', () => process.exit(0));
        });
      }
    },
    error(err) {
      finish(1, describeError(err));
    },
    complete() {
      finish(0);
    },
  },
);

if (timeout !== undefined) {
  setTimeout(() => finish(1, `error: timed out after ${timeout} ms (${received} events)`), timeout).unref();
}
