/**
 * The one GraphQL client: queries and mutations over HTTP POST, subscriptions over a
 * graphql-transport-ws WebSocket, both at same-origin /graphql.
 *
 * Authentication: HTTP requests carry `Authorization: Bearer <access token>` read when
 * each request is sent; the socket sends it in `connection_init`, read at each connect. A
 * request answered UNAUTHENTICATED is retried once after a refresh. The server closes a
 * socket with 4403 when its credential expires or is revoked (or refuses it at init): the
 * socket then reconnects at once with a fresh token — refreshing first unless the session
 * already renewed the refused one — and graphql-ws resubscribes every live subscription,
 * while the header stays `live` (a quiet renewal, see connection.ts). Only a refused
 * refresh signs the user out. A subscription answered UNAUTHENTICATED while signed in
 * (the server saying the socket's credential is dead) renews the socket the same way.
 * Otherwise the socket reconnects forever with backoff, and its events drive the
 * connection state in the header.
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

/** The close code of a socket whose credential was refused, expired or revoked (API.md). */
export const CREDENTIAL_CLOSE_CODE = 4403;

/** A socket is renewed for a dead credential at most this often (ms). */
export const MIN_RENEWAL_INTERVAL_MS = 5_000;

/** Whether a graphql-ws payload (`errors` of a `next`, or an `error` message) says UNAUTHENTICATED. */
function saysUnauthenticated(errors: unknown): boolean {
  return (
    Array.isArray(errors) &&
    errors.some(
      (e) => (e as { extensions?: { code?: unknown } })?.extensions?.code === 'UNAUTHENTICATED',
    )
  );
}

/**
 * The platform's WebSocket, with one terminal event per socket: `close`. graphql-ws keeps
 * one set of listeners for all its sockets and takes an `error` as the end of the socket
 * it is waiting on. WebKitGTK (the desktop app) fires `error` just before `close` when the
 * server closes with 4403, so graphql-ws ended the socket twice: it reconnected after a
 * backoff, then opened a second socket and lost track of it (seen in the desktop e2e).
 * Every `error` is followed by `close` (the WebSocket standard), so `error`s are dropped.
 */
export function closeOnlyWebSocket(Impl: typeof WebSocket): typeof WebSocket {
  return class CloseOnly extends Impl {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      // Not passed on: the `close` that follows ends the socket.
      Object.defineProperty(this, 'onerror', {
        configurable: true,
        get: () => null,
        set: () => {},
      });
    }
  };
}

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
  /** For tests: the wait before reconnect attempt `retries` (default {@link backoffMs}). */
  backoff?: (retries: number) => number;
  /** For tests: how long a quiet renewal may take before the header says so. */
  renewGraceMs?: number;
}

/** The client, its socket, and the live connection state. */
export function createApi(auth: ApiAuth, opts: ApiOptions = {}) {
  const urls =
    opts.http && opts.ws
      ? { http: opts.http, ws: opts.ws }
      : endpoints(globalThis.location ?? { protocol: 'http:', host: 'localhost' });
  const [connection, setConnection] = createSignal<ConnectionState>('connecting');
  const tracker = createConnectionTracker({
    onChange: setConnection,
    renewGraceMs: opts.renewGraceMs,
  });
  const reconnectListeners = new Set<() => void>();
  const backoff = opts.backoff ?? backoffMs;
  let connectedOnce = false;
  /** The token the socket sent in its last connection_init (null: anonymous). */
  let socketToken: string | null = null;
  /** A token the server refused: renew it before the next connection_init. */
  let refusedToken: string | null = null;
  /** The current socket was acknowledged (a renewal of it may be quiet). */
  let acked = false;
  /** We are closing the socket ourselves to renew its credential. */
  let renewingByUs = false;
  /** The next reconnect skips the backoff: the socket closed only to renew its credential. */
  let renewNow = false;
  let lastRenewalAt = -Infinity;
  const [renewals, setRenewals] = createSignal(0);

  /** The socket's credential is dead: reconnect with a fresh one, quietly if it was live. */
  function credentialClosed() {
    refusedToken = socketToken;
    if (acked && auth.token() !== null) {
      renewNow = true;
      setRenewals((n) => n + 1);
      tracker.renewing();
    } else {
      tracker.closed();
    }
  }

  /** The server said UNAUTHENTICATED over the socket while we are signed in. */
  function credentialDead() {
    if (auth.token() === null || socketToken === null) return;
    const now = Date.now();
    if (now - lastRenewalAt < MIN_RENEWAL_INTERVAL_MS) return;
    lastRenewalAt = now;
    renewingByUs = true;
    ws.terminate();
  }

  const platformSocket = (opts.webSocketImpl ?? globalThis.WebSocket) as
    typeof WebSocket | undefined;
  const ws: WsClient = createWsClient({
    url: urls.ws,
    webSocketImpl: platformSocket ? closeOnlyWebSocket(platformSocket) : undefined,
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const skip = renewNow && retries === 0;
      renewNow = false;
      if (!skip) await new Promise((r) => setTimeout(r, backoff(retries)));
    },
    keepAlive: 15_000,
    onNonLazyError: () => {},
    // Evaluated at every connect: always the session's current token.
    connectionParams: async () => {
      const current = auth.token();
      if (current !== null && (current === refusedToken || auth.isExpired())) {
        await auth.refresh();
      }
      refusedToken = null;
      socketToken = auth.token();
      return socketToken ? { authorization: `Bearer ${socketToken}` } : {};
    },
    on: {
      connecting: () => tracker.connecting(),
      connected: () => {
        acked = true;
        tracker.connected();
        if (connectedOnce) for (const l of reconnectListeners) l();
        connectedOnce = true;
      },
      closed: (event) => {
        const code = (event as { code?: number } | undefined)?.code;
        if (code === CREDENTIAL_CLOSE_CODE || renewingByUs) credentialClosed();
        else tracker.closed();
        renewingByUs = false;
        acked = false;
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
              const unsubscribe = ws.subscribe<Record<string, unknown>, Record<string, unknown>>(
                input,
                {
                  next(result) {
                    if (saysUnauthenticated(result.errors)) credentialDead();
                    sink.next(result);
                  },
                  error(error) {
                    if (saysUnauthenticated(error)) credentialDead();
                    sink.error(error);
                  },
                  complete: () => sink.complete(),
                },
              );
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
    /** How many times the socket was renewed for a dead credential (shown for diagnosis). */
    renewals,
    dispose() {
      void ws.dispose();
    },
  };
}

export type Api = ReturnType<typeof createApi>;
