/**
 * An in-memory stand-in for the server's transport, for tests of the client's reconnect
 * and resubscribe logic with real urql and graphql-ws: a `graphql-transport-ws` endpoint (a
 * WebSocket class to pass as `webSocketImpl`) and a `fetch` for queries and mutations.
 * It keeps to what API.md promises: the credential in `connection_init`, close 4403 when it
 * is refused or (with `closeAtExpiry`) when the access token's `exp` passes, `next`,
 * `error` and `complete` per subscription. The real server is exercised by the e2e stories.
 */

/** A JWT-shaped access token (unsigned: the client never verifies it). */
export function jwt(claims: object): string {
  const b64 = (o: object) =>
    btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64({ alg: 'EdDSA' })}.${b64(claims)}.sig`;
}

/** The `exp` claim (seconds) of a token made by {@link jwt}, or null. */
export function expOf(token: string): number | null {
  try {
    const claims = JSON.parse(
      atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')),
    ) as {
      exp?: number;
    };
    return typeof claims.exp === 'number' ? claims.exp : null;
  } catch {
    return null;
  }
}

interface Message {
  type: string;
  id?: string;
  payload?: { query?: string; operationName?: string; authorization?: string } & Record<
    string,
    unknown
  >;
}

/** One client socket as the server sees it. */
export interface ServerSocket {
  /** The token its connection_init carried (null: anonymous, undefined: no init yet). */
  token: string | null | undefined;
  /** Live subscriptions by id: the document's text. */
  subscriptions: Map<string, string>;
  /** Every subscribe message it received, in order: id and document. */
  subscribes: { id: string; query: string }[];
  open: boolean;
  /** Whether the server acknowledged its connection_init. */
  acked: boolean;
  /** How it closed (by either side), once it has. */
  closed?: { code: number; reason: string };
  /** Sends `next` to every subscription whose document contains `field`. */
  push(field: string, data: unknown): void;
  /** Ends the subscriptions whose document contains `field`, with `complete`. */
  complete(field: string): void;
  /** Ends them with an `error` message. */
  error(field: string, errors: object[]): void;
  /** Closes the socket from the server's side. */
  close(code: number, reason: string): void;
}

export interface FakeServerOptions {
  /** Close a socket with 4403 when its access token's `exp` passes (the server's promise). */
  closeAtExpiry?: boolean;
  /** Whether a connection_init's token is accepted (default: not expired by `exp`). */
  accepts?: (token: string | null) => boolean;
  /**
   * Fire `error` just before `close` when the server closes a socket, as WebKitGTK (the
   * desktop app's webview) does for a 4403.
   */
  errorBeforeClose?: boolean;
}

type Handler = (variables: Record<string, unknown>, token: string | null) => unknown;

export function fakeServer(opts: FakeServerOptions = {}) {
  const sockets: ServerSocket[] = [];
  const requests: { operation: string; token: string | null }[] = [];
  const handlers = new Map<string, Handler>();
  const expired = (token: string) => {
    const exp = expOf(token);
    return exp !== null && Date.now() >= exp * 1000;
  };
  const accepts = opts.accepts ?? ((t: string | null) => t === null || !expired(t));

  class FakeWebSocket {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSING = 2;
    static readonly CLOSED = 3;
    readyState = 0;
    protocol: string;
    onopen: ((e: unknown) => void) | null = null;
    onmessage: ((e: { data: string }) => void) | null = null;
    onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    private server: ServerSocket;
    private expiry: ReturnType<typeof setTimeout> | null = null;

    constructor(
      public url: string,
      protocol: string,
    ) {
      this.protocol = protocol;
      const subs = new Map<string, string>();
      const matching = (field: string) =>
        [...subs].filter(([, q]) => q.includes(field)).map(([id]) => id);
      const deliver = (m: Parameters<FakeWebSocket['deliver']>[0]) => this.deliver(m);
      const shut = (code: number, reason: string, errorFirst?: boolean) =>
        this.shut(code, reason, errorFirst);
      this.server = {
        token: undefined,
        subscriptions: subs,
        subscribes: [],
        open: true,
        acked: false,
        push(field, data) {
          for (const id of matching(field)) deliver({ id, type: 'next', payload: { data } });
        },
        complete(field) {
          for (const id of matching(field)) {
            subs.delete(id);
            deliver({ id, type: 'complete' });
          }
        },
        error(field, errors) {
          for (const id of matching(field)) {
            subs.delete(id);
            deliver({ id, type: 'error', payload: errors });
          }
        },
        close: (code, reason) => shut(code, reason, opts.errorBeforeClose),
      };
      sockets.push(this.server);
      setTimeout(() => {
        if (this.readyState !== 0) return;
        this.readyState = 1;
        this.onopen?.({});
      }, 0);
    }

    send(data: string) {
      if (this.readyState !== 1) return;
      const m = JSON.parse(data) as Message;
      const s = this.server;
      switch (m.type) {
        case 'connection_init': {
          const auth = m.payload?.authorization;
          const token = typeof auth === 'string' ? auth.replace(/^Bearer /, '') : null;
          s.token = token;
          setTimeout(() => {
            if (!accepts(token)) return this.shut(4403, 'Forbidden', opts.errorBeforeClose);
            this.server.acked = true;
            this.deliver({ type: 'connection_ack' });
            const exp = token ? expOf(token) : null;
            if (opts.closeAtExpiry && exp !== null) {
              this.expiry = setTimeout(
                () => this.shut(4403, 'credential expired', opts.errorBeforeClose),
                Math.max(0, exp * 1000 - Date.now()),
              );
            }
          }, 0);
          return;
        }
        case 'subscribe':
          s.subscriptions.set(m.id ?? '', String(m.payload?.query ?? ''));
          s.subscribes.push({ id: m.id ?? '', query: String(m.payload?.query ?? '') });
          return;
        case 'complete':
          s.subscriptions.delete(m.id ?? '');
          return;
        case 'ping':
          this.deliver({ type: 'pong' });
          return;
      }
    }

    close(code = 1000, reason = '') {
      this.shut(code, reason);
    }

    private deliver(m: Message | { type: string; id?: string; payload?: unknown }) {
      if (this.readyState !== 1) return;
      this.onmessage?.({ data: JSON.stringify(m) });
    }

    private shut(code: number, reason: string, errorFirst = false) {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      this.server.open = false;
      this.server.closed = { code, reason };
      if (this.expiry !== null) clearTimeout(this.expiry);
      // WebKitGTK's `error` comes a task (about 2 ms) before its `close`.
      if (errorFirst) setTimeout(() => this.onerror?.({ type: 'error', target: this }), 0);
      setTimeout(() => this.onclose?.({ code, reason, wasClean: true }), errorFirst ? 2 : 0);
    }
  }

  /** `fetch` for POST /graphql: answers by operation name from `handle`. */
  const fetch = async (_url: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const body = JSON.parse(String(init?.body)) as {
      operationName?: string;
      query: string;
      variables?: Record<string, unknown>;
    };
    const operation = body.operationName ?? /(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1];
    const header = new Headers(init?.headers).get('authorization');
    const token = header ? header.replace(/^Bearer /, '') : null;
    requests.push({ operation: operation ?? '?', token });
    const handler = handlers.get(operation ?? '');
    let answer: unknown;
    if (!handler) answer = { errors: [{ message: `no handler for ${operation}` }] };
    else if (token !== null && expired(token) && operation !== 'Refresh') {
      answer = { errors: [{ message: 'token expired', extensions: { code: 'UNAUTHENTICATED' } }] };
    } else answer = handler(body.variables ?? {}, token);
    return new Response(JSON.stringify(answer), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  };

  return {
    WebSocket: FakeWebSocket,
    fetch: fetch as typeof globalThis.fetch,
    sockets,
    requests,
    /** Answers operation `name` (a query or mutation) with what `handler` returns. */
    handle(name: string, handler: Handler) {
      handlers.set(name, handler);
    },
    /** The newest socket. */
    last: () => sockets.at(-1),
    /** How many HTTP requests of `operation` were made. */
    count: (operation: string) => requests.filter((r) => r.operation === operation).length,
  };
}

export type FakeServer = ReturnType<typeof fakeServer>;
