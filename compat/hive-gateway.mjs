#!/usr/bin/env node
// Serves Hive Gateway (@graphql-hive/gateway-runtime) for a supergraph over
// plain Node http on 127.0.0.1.
//
//   node hive-gateway.mjs --supergraph FILE --port PORT     (PORT 0 = random)
//
// - GraphQL at /graphql (HTTP; SSE for subscriptions over HTTP), and WebSocket
//   (graphql-transport-ws protocol, graphql-ws) at the same path.
// - The client's Authorization header (or, on a WebSocket, the `authorization`
//   connection param) is forwarded to every subgraph: as an HTTP header on
//   queries and mutations, as the `authorization` connection param on the
//   WebSocket the gateway opens to a subgraph for subscriptions (subgraphs
//   speak graphql-transport-ws at the same URL as their HTTP endpoint).
// - Logs warnings and errors only (stderr); no landing page, no GraphiQL.
// - Prints exactly one line `LISTENING <port>` on stdout once the supergraph is
//   loaded and the server accepts connections. Exits 0 on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import {
  ConsoleLogWriter,
  createGatewayRuntime,
  getGraphQLWSOptions,
  Logger,
} from '@graphql-hive/gateway-runtime';
import httpTransport from '@graphql-mesh/transport-http';
import wsTransport from '@graphql-mesh/transport-ws';
import { parse } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';

const HOST = '127.0.0.1';
const GRAPHQL_PATH = '/graphql';
const USAGE = 'usage: node hive-gateway.mjs --supergraph FILE --port PORT';

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) fail(`${flag} needs a value\n${USAGE}`, 2);
      return argv[++i];
    };
    if (flag === '--supergraph') opts.supergraph = value();
    else if (flag === '--port') opts.port = value();
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`, 2);
  }
  if (!opts.supergraph || opts.port === undefined) fail(USAGE, 2);
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${opts.port}`, 2);
  return { supergraph: opts.supergraph, port };
}

const { supergraph: supergraphFile, port } = parseArgs(process.argv.slice(2));

let supergraph;
try {
  supergraph = parse(readFileSync(supergraphFile, 'utf8'));
} catch (err) {
  fail(`cannot load supergraph ${supergraphFile}: ${err.message}`);
}

// The client's credential: the HTTP Authorization header, or for a WebSocket
// client its `authorization` connection param (Hive merges connection params
// into context.headers; the upgrade request's headers are also looked at).
function clientAuthorization(request, context) {
  const fromRequest = request?.headers?.get?.('authorization');
  if (fromRequest) return fromRequest;
  const headers = context?.headers;
  if (headers && typeof headers === 'object') {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === 'authorization' && headers[key]) return String(headers[key]);
    }
  }
  return undefined;
}

const gateway = createGatewayRuntime({
  supergraph,
  // Warnings and errors only, to stderr (console.warn/console.error); no colour
  // codes unless stderr is a terminal.
  logging: new Logger({
    level: 'warn',
    writers: [new ConsoleLogWriter({ noColor: !process.stderr.isTTY || Boolean(process.env.NO_COLOR) })],
  }),
  landingPage: false,
  graphiql: false,
  // Subgraph errors pass through as they are (Hive masks unexpected ones by default), so
  // a differential test compares what the subgraphs said.
  maskedErrors: false,
  graphqlEndpoint: GRAPHQL_PATH,
  // Transports given as modules rather than resolved by name at run time.
  transports: { http: httpTransport, ws: wsTransport },
  propagateHeaders: {
    fromClientToSubgraphs({ request, context }) {
      const authorization = clientAuthorization(request, context);
      return authorization ? { authorization } : {};
    },
  },
  transportEntries: {
    // Every subgraph of the supergraph uses the http transport; its
    // subscriptions go over a WebSocket to the same URL instead.
    '*.http': {
      options: {
        subscriptions: {
          kind: 'ws',
          options: {
            // A distinct upstream WebSocket per credential; omitted when empty.
            connectionParams: { authorization: '{context.headers.authorization}' },
          },
        },
      },
    },
  },
});

// Load the supergraph now, so that a bad one fails here rather than on the
// first request, and LISTENING means ready.
const readiness = await gateway.fetch(`http://${HOST}/readiness`);
if (readiness.status !== 200) {
  await gateway[Symbol.asyncDispose]?.();
  fail(`Hive Gateway is not ready: the supergraph did not load (readiness ${readiness.status})`);
}

const server = createServer(gateway);
const wsServer = new WebSocketServer({ server, path: gateway.graphqlEndpoint });
const wsOptions = getGraphQLWSOptions(gateway, (ctx) => ({
  req: ctx.extra.request,
  socket: ctx.extra.socket,
  // Same shape the Hive Gateway CLI gives a WebSocket operation's context.
  request: new gateway.fetchAPI.Request(`http://${HOST}${ctx.extra.request.url ?? GRAPHQL_PATH}`, {
    headers: Object.entries(ctx.extra.request.headers).flatMap(([k, v]) =>
      v === undefined ? [] : Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]),
  }),
}));
const wsDisposable = useServer(
  {
    ...wsOptions,
    // Accept `Authorization` in any case in the connection params: the
    // upstream WebSocket's params read `context.headers.authorization`.
    onConnect(ctx) {
      const params = ctx.connectionParams;
      if (params && typeof params === 'object' && params.authorization == null) {
        const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
        if (key) params.authorization = params[key];
      }
      return true;
    },
  },
  wsServer,
);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  const fuse = setTimeout(() => {
    process.stderr.write(`hive-gateway: forced exit after ${signal}\n`);
    process.exit(0);
  }, 5000);
  fuse.unref();
  try {
    for (const client of wsServer.clients) client.terminate();
    await wsDisposable.dispose();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve()));
    await gateway[Symbol.asyncDispose]?.();
  } catch (err) {
    process.stderr.write(`hive-gateway: error while stopping: ${err?.stack ?? err}\n`);
  }
  process.exit(0);
}
// Registered after the runtime's own (whatwg-node's disposeOnProcessTerminate):
// we own the exit.
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

server.on('error', (err) => fail(`hive-gateway: ${err.message}`));
server.listen(port, HOST, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
