/**
 * The one GraphQL client: queries and mutations over HTTP POST, subscriptions over a
 * graphql-transport-ws WebSocket, both at same-origin /graphql.
 *
 * Authentication: HTTP requests carry `Authorization: Bearer <access token>` read when
 * each request is sent; the socket sends it in `connection_init`. A request answered
 * UNAUTHENTICATED is retried once after a refresh; a socket refused at init (close 4403)
 * refreshes before its next attempt. The socket reconnects forever with backoff, and its
 * events drive the connection state in the header.
 */
import {
  Client,
  type Exchange,
  type Operation,
  type OperationResult,
  fetchExchange,
  makeOperation,
  subscriptionExchange,
} from '@urql/core';
import { type Client as WsClient, createClient as createWsClient } from 'graphql-ws';
import { createSignal } from 'solid-js';
import {
  empty,
  filter,
  fromPromise,
  fromValue,
  makeSubject,
  map,
  merge,
  mergeMap,
  pipe,
  share,
  takeUntil,
} from 'wonka';
import { type ConnectionState, backoffMs, createConnectionTracker } from './connection';
import { isUnauthenticated } from './errors';

/** What the client needs from the session (see auth.ts). */
export interface ApiAuth {
  /** The current access token, or null when signed out. */
  token(): string | null;
  /** Whether the access token is past its expiry. */
  isExpired(): boolean;
  /** Refreshes the session (single-flight); resolves whether it worked. */
  refresh(): Promise<boolean>;
}

/** Per-operation context flags. */
declare module '@urql/core' {
  interface OperationContext {
    /** Send no credential (login, register, refresh). */
    noAuth?: boolean;
    /** Already retried once after a refresh. */
    authRetried?: boolean;
  }
}

/** The HTTP and WebSocket URLs of same-origin /graphql for a page at `location`. */
export function endpoints(location: Pick<Location, 'protocol' | 'host'>) {
  const ws = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { http: '/graphql', ws: `${ws}//${location.host}/graphql` };
}

/**
 * Refreshes before sending when the token is known to be expired (a laptop waking up),
 * and retries once after a refresh when the server answers UNAUTHENTICATED anyway.
 */
export function authExchange(auth: ApiAuth): Exchange {
  return ({ forward }) =>
    (ops$) => {
      const shared$ = pipe(ops$, share);
      // Retried operations go straight back down this exchange's stream: re-executing
      // through the client would be dropped as a duplicate of the one still in flight.
      const retry = makeSubject<Operation>();
      const teardown$ = pipe(
        shared$,
        filter((op) => op.kind === 'teardown'),
      );
      const needsAuth = (op: Operation) =>
        op.kind !== 'teardown' && op.kind !== 'subscription' && !op.context.noAuth;

      const ready$ = merge([
        pipe(
          shared$,
          filter((op) => !(needsAuth(op) && auth.token() !== null && auth.isExpired())),
        ),
        pipe(
          shared$,
          filter((op) => needsAuth(op) && auth.token() !== null && auth.isExpired()),
          mergeMap((op) =>
            pipe(
              fromPromise(auth.refresh()),
              map(() => op),
              takeUntil(
                pipe(
                  teardown$,
                  filter((t) => t.key === op.key),
                ),
              ),
            ),
          ),
        ),
      ]);

      return pipe(
        forward(merge([ready$, retry.source])),
        mergeMap((result: OperationResult) => {
          const op = result.operation;
          if (
            !needsAuth(op) ||
            op.context.authRetried ||
            auth.token() === null ||
            !isUnauthenticated(result.error)
          ) {
            return fromValue(result);
          }
          return pipe(
            fromPromise(auth.refresh()),
            mergeMap((ok) => {
              if (!ok) return fromValue(result);
              retry.next(makeOperation(op.kind, op, { ...op.context, authRetried: true }));
              return empty;
            }),
          );
        }),
      );
    };
}

export interface ApiOptions {
  http?: string;
  ws?: string;
  /** For tests: a WebSocket implementation and fetch. */
  webSocketImpl?: unknown;
  fetch?: typeof fetch;
}

/** The client, its socket, and the live connection state. */
export function createApi(auth: ApiAuth, opts: ApiOptions = {}) {
  const urls =
    opts.http && opts.ws
      ? { http: opts.http, ws: opts.ws }
      : endpoints(globalThis.location ?? { protocol: 'http:', host: 'localhost' });
  const [connection, setConnection] = createSignal<ConnectionState>('connecting');
  const tracker = createConnectionTracker({ onChange: setConnection });
  const reconnectListeners = new Set<() => void>();
  let refused = false;
  let connectedOnce = false;

  const ws: WsClient = createWsClient({
    url: urls.ws,
    webSocketImpl: opts.webSocketImpl,
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((r) => setTimeout(r, backoffMs(retries))),
    keepAlive: 15_000,
    onNonLazyError: () => {},
    connectionParams: async () => {
      if (auth.token() !== null && (refused || auth.isExpired())) await auth.refresh();
      refused = false;
      const token = auth.token();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    on: {
      connecting: () => tracker.connecting(),
      connected: () => {
        tracker.connected();
        if (connectedOnce) for (const l of reconnectListeners) l();
        connectedOnce = true;
      },
      closed: (event) => {
        const code = (event as { code?: number } | undefined)?.code;
        if (code === 4403) refused = true;
        tracker.closed();
      },
    },
  });

  if (typeof window !== 'undefined') {
    window.addEventListener('online', () => tracker.network(true));
    window.addEventListener('offline', () => tracker.network(false));
  }

  const client = new Client({
    url: urls.http,
    fetch: opts.fetch,
    preferGetMethod: false,
    requestPolicy: 'network-only',
    fetchOptions: () => {
      const token = auth.token();
      return token ? { headers: { authorization: `Bearer ${token}` } } : {};
    },
    exchanges: [
      authExchange(auth),
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
      fetchExchange,
    ],
  });

  return {
    client,
    ws,
    /** live / connecting / reconnecting / offline. */
    connection,
    /** Calls back after the socket reconnected (not the first time): refetch what may have been missed. */
    onReconnect(listener: () => void) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    /** Reconnects the socket with the current credential (after sign-in or sign-out). */
    reauthenticate() {
      ws.terminate();
    },
    dispose() {
      void ws.dispose();
    },
  };
}

export type Api = ReturnType<typeof createApi>;
