// A Rialto trading client in one file: docs/integrators.md's streaming example, runnable.
//
//   cd docs/examples/typescript && npm ci && RIALTO_URL=http://127.0.0.1:8080 npx tsx trade.ts
//
// Two accounts (the demo's alice and bob by default) each sign in once to make an API key;
// everything after that uses the keys. Alice's client subscribes over graphql-transport-ws
// to the market's trades, her own orders and balances, and the order book (a snapshot, then
// deltas, kept as a local replica and checked against the server's book). Alice then rests
// a post-only sell inside the spread and bob lifts it; the example waits until alice's own
// fill arrives on `myOrders` and the trade on `trades`. Errors are handled by their
// `extensions.code` as docs/integrators.md says, and a few are provoked on purpose.
//
// Settings (environment): RIALTO_URL (default http://127.0.0.1:8080), RIALTO_MARKET
// (ACME-USD), RIALTO_EMAIL / RIALTO_PASSWORD (alice), RIALTO_OTHER_EMAIL /
// RIALTO_OTHER_PASSWORD (bob). Both accounts need funds in the market's two assets, and the
// market a two-sided book with at least two ticks between best bid and best ask: what
// `rialto serve --demo` provides. Exits 0 after printing "trade example: OK"; 1 on any failure.

import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

const BASE = (process.env.RIALTO_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const HTTP_URL = `${BASE}/graphql`;
const WS_URL = HTTP_URL.replace(/^http/, 'ws');
const MARKET = process.env.RIALTO_MARKET ?? 'ACME-USD';
const ALICE = {
  email: process.env.RIALTO_EMAIL ?? 'alice@demo.rialto.dev',
  password: process.env.RIALTO_PASSWORD ?? 'alice trades tulips at dawn',
};
const BOB = {
  email: process.env.RIALTO_OTHER_EMAIL ?? 'bob@demo.rialto.dev',
  password: process.env.RIALTO_OTHER_PASSWORD ?? 'bob buys gold before breakfast',
};
const BOOK_DEPTH = 10;
const RUN = `${Date.now().toString(36)}-${process.pid}`;

// ---------------------------------------------------------------------------------------
// Logging and failing

const started = Date.now();
function log(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[${t}s] ${message}\n`);
}

/** Why the example stops; thrown, so that the keys are still revoked on the way out. */
class Failure extends Error {}

function fail(message: string): never {
  throw new Failure(message);
}

/** The first failure seen in a callback (a subscription's), where throwing reaches no one. */
let fatal: Failure | undefined;

/** Stops the example from a callback: every wait ends with this failure. */
function abort(message: string): void {
  fatal ??= new Failure(message);
  changed.notify();
}

/** Exits once stdout and stderr are flushed (they are asynchronous when piped). */
function exit(code: number, message?: string): void {
  const done = () => process.stdout.write('', () => process.exit(code));
  if (message) process.stderr.write(`trade example: FAILED: ${message}\n`, done);
  else done();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with jitter: 0.5 s, 1 s, 2 s, ... capped at 10 s. */
function backoff(attempt: number): number {
  const base = Math.min(10_000, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2);
}

// ---------------------------------------------------------------------------------------
// GraphQL over HTTP, errors by code

interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; retryAfter?: number; requestId?: string };
}

/** A refusal from the server, with its `extensions.code`. */
class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(`${code}: ${message}${requestId ? ` (request ${requestId})` : ''}`);
  }
}

interface CallOptions {
  /** `Authorization: Bearer <this>`: an access token or an API key. */
  bearer?: string;
  /**
   * Whether sending the operation twice is harmless (queries; `placeOrder` with a
   * `clientOrderId`): then transport failures and INTERNAL errors are retried too.
   */
  idempotent?: boolean;
}

/**
 * POSTs one operation. RATE_LIMITED is waited out (Retry-After) and retried; transport
 * failures and INTERNAL are retried with backoff only for idempotent operations; every
 * other error code is thrown as an ApiError for the caller to act on.
 */
async function gql<T>(query: string, variables: Record<string, unknown> = {}, opts: CallOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(HTTP_URL, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      if (opts.idempotent && attempt < 4) {
        log(`transport error (${(err as Error).message}); retrying`);
        await sleep(backoff(attempt));
        continue;
      }
      throw err;
    }
    const body = (await response.json().catch(() => null)) as { data?: T; errors?: GraphQLError[] } | null;
    if (body === null) throw new Error(`HTTP ${response.status} without a JSON body`);
    const error = body.errors?.[0];
    if (!error) return body.data as T;
    const code = error.extensions?.code ?? 'INTERNAL';
    if (code === 'RATE_LIMITED' && attempt < 5) {
      const wait = Number(response.headers.get('retry-after') ?? error.extensions?.retryAfter ?? 1);
      log(`RATE_LIMITED: waiting ${wait} s as the server asks`);
      await sleep(wait * 1000);
      continue;
    }
    if (code === 'INTERNAL' && opts.idempotent && attempt < 3) {
      log(`INTERNAL (request ${error.extensions?.requestId ?? '?'}); retrying`);
      await sleep(backoff(attempt));
      continue;
    }
    throw new ApiError(code, error.message, error.extensions?.requestId);
  }
}

/** Runs `call`, which must be refused with `code`; returns the error. */
async function expectRefusal(code: string, what: string, call: () => Promise<unknown>): Promise<ApiError> {
  try {
    await call();
  } catch (err) {
    if (err instanceof ApiError && err.code === code) {
      log(`${what}: refused as expected, ${err.message}`);
      return err;
    }
    throw err;
  }
  fail(`${what}: expected ${code}, but it succeeded`);
}

// ---------------------------------------------------------------------------------------
// Sessions and API keys

interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
  user: { id: string; email: string };
}
const AUTH_FIELDS = 'accessToken refreshToken accessTokenExpiresAt user { id email }';

/** A signed-in session: only needed to manage API keys. Refreshes itself when near expiry. */
class Session {
  private constructor(private payload: AuthPayload) {}

  static async login(who: { email: string; password: string }): Promise<Session> {
    const data = await gql<{ login: AuthPayload }>(
      `mutation Login($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`,
      { input: who },
    );
    return new Session(data.login);
  }

  get email(): string {
    return this.payload.user.email;
  }

  /** A valid access token: refreshed (rotating the refresh token) a minute before expiry. */
  async accessToken(): Promise<string> {
    if (Date.parse(this.payload.accessTokenExpiresAt) - Date.now() < 60_000) {
      const data = await gql<{ refresh: AuthPayload }>(
        `mutation Refresh($token: String!) { refresh(refreshToken: $token) { ${AUTH_FIELDS} } }`,
        { token: this.payload.refreshToken },
      );
      this.payload = data.refresh; // the old refresh token is spent: never reuse it
    }
    return this.payload.accessToken;
  }

  async createApiKey(name: string): Promise<{ id: string; secret: string; prefix: string }> {
    const data = await gql<{ createApiKey: { secret: string; apiKey: { id: string; prefix: string } } }>(
      'mutation Key($name: String!) { createApiKey(name: $name, scopes: [READ, TRADE]) { secret apiKey { id prefix } } }',
      { name },
      { bearer: await this.accessToken() },
    );
    return { ...data.createApiKey.apiKey, secret: data.createApiKey.secret };
  }

  async revokeApiKey(id: string): Promise<void> {
    await gql('mutation Revoke($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id }, {
      bearer: await this.accessToken(),
    });
  }

  async logout(): Promise<void> {
    await gql('mutation Logout($token: String!) { logout(refreshToken: $token) }', {
      token: this.payload.refreshToken,
    });
  }
}

// ---------------------------------------------------------------------------------------
// Decimals: money stays in strings and integers, never floats

function decimalsOf(s: string): number {
  const dot = s.indexOf('.');
  return dot === -1 ? 0 : s.length - dot - 1;
}
/** "24.95" at scale 2 -> 2495n. */
function toUnits(s: string, scale: number): bigint {
  const [whole, frac = ''] = s.split('.');
  return BigInt(whole + frac.padEnd(scale, '0').slice(0, scale));
}
/** 2495n at scale 2 -> "24.95". */
function fromUnits(n: bigint, scale: number): string {
  if (scale === 0) return n.toString();
  const digits = n.toString().padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
/** A canonical key for a decimal string ("25.00" and "25" are one price). */
function canonical(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}
function compareDecimals(a: string, b: string): number {
  const scale = Math.max(decimalsOf(a), decimalsOf(b));
  const d = toUnits(a, scale) - toUnits(b, scale);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// The order book replica: a snapshot, then deltas

interface BookLevel {
  price: string;
  quantity: string;
  orders: number;
}
interface OrderBookUpdate {
  market: string;
  sequence: string;
  snapshot: boolean;
  bids: BookLevel[];
  asks: BookLevel[];
}

class BookReplica {
  private bids = new Map<string, BookLevel>();
  private asks = new Map<string, BookLevel>();
  /** The market event sequence this replica includes; null before the first snapshot. */
  sequence: bigint | null = null;
  snapshots = 0;
  deltas = 0;

  /** Applies one update; false if it cannot follow what the replica holds (resubscribe). */
  apply(update: OrderBookUpdate): boolean {
    const sequence = BigInt(update.sequence);
    if (update.snapshot) {
      // The first message, or the server resynced a subscriber that fell behind: replace.
      this.bids = new Map(update.bids.map((l) => [canonical(l.price), l]));
      this.asks = new Map(update.asks.map((l) => [canonical(l.price), l]));
      this.sequence = sequence;
      this.snapshots++;
      return true;
    }
    // Sequences increase but skip numbers (trades, orders and balances have them too), so
    // only a delta that does not come after the replica is a break.
    if (this.sequence === null || sequence <= this.sequence) return false;
    for (const [side, levels] of [
      [this.bids, update.bids],
      [this.asks, update.asks],
    ] as const) {
      for (const level of levels) {
        if (compareDecimals(level.quantity, '0') === 0) side.delete(canonical(level.price));
        else side.set(canonical(level.price), level);
      }
    }
    this.sequence = sequence;
    this.deltas++;
    return true;
  }

  /** Forget everything (before resubscribing). */
  reset(): void {
    this.bids.clear();
    this.asks.clear();
    this.sequence = null;
  }

  top(side: 'bids' | 'asks', n: number): BookLevel[] {
    const levels = [...(side === 'bids' ? this.bids : this.asks).values()];
    levels.sort((a, b) => (side === 'bids' ? compareDecimals(b.price, a.price) : compareDecimals(a.price, b.price)));
    return levels.slice(0, n);
  }

  bestBid(): string | undefined {
    return this.top('bids', 1)[0]?.price;
  }
  bestAsk(): string | undefined {
    return this.top('asks', 1)[0]?.price;
  }
}

function sameLevels(a: BookLevel[], b: BookLevel[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (l, i) =>
        compareDecimals(l.price, b[i].price) === 0 &&
        compareDecimals(l.quantity, b[i].quantity) === 0 &&
        l.orders === b[i].orders,
    )
  );
}

// ---------------------------------------------------------------------------------------
// Subscriptions over graphql-transport-ws

/** A close event as graphql-ws reports it. */
function closeCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number'
    ? err.code
    : undefined;
}

function describe(err: unknown): string {
  const code = closeCode(err);
  if (code !== undefined) return `socket closed with ${code} ${(err as { reason?: string }).reason ?? ''}`.trim();
  if (Array.isArray(err)) return (err as GraphQLError[]).map((e) => `${e.extensions?.code}: ${e.message}`).join('; ');
  if (err instanceof Error) return err.message;
  return JSON.stringify(err);
}

/**
 * A WebSocket client authenticated with `key`. It reconnects with backoff when the socket
 * drops or the server restarts (1012) and then resubscribes every active subscription by
 * itself; 4403 (the credential was refused) is final.
 */
function connect(key: string, name: string, onReconnect?: () => void): Client {
  let connections = 0;
  return createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    lazy: true,
    retryAttempts: 10,
    retryWait: (retries) => sleep(backoff(retries)),
    shouldRetry: (event) => closeCode(event) !== 4403,
    on: {
      connected: () => {
        connections++;
        if (connections > 1) {
          log(`${name}: reconnected; subscriptions resume, state missed meanwhile is refetched`);
          onReconnect?.();
        }
      },
      closed: (event) => {
        const code = closeCode(event);
        if (code !== undefined && code !== 1000) log(`${name}: socket closed with ${code}`);
      },
    },
  });
}

interface Stream {
  stop(): void;
}

/**
 * Keeps one subscription alive: each `data` goes to `onData`; a subscription that ends with
 * an `error` message (its upstream dropped) or completes unexpectedly is started again after
 * a backoff. Errors in a `next` payload are handled by code: CONFLICT (this subscriber fell
 * behind) calls `onLag`, so the caller refetches; other codes are final.
 */
function keep<T>(
  client: Client,
  label: string,
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  hooks: { onRestart?: () => void; onLag?: () => void } = {},
): Stream {
  let stopped = false;
  let failures = 0;
  let dispose = () => {};
  const restart = (why: string) => {
    if (stopped) return;
    log(`${label}: ${why}; resubscribing`);
    hooks.onRestart?.();
    setTimeout(start, backoff(failures++));
  };
  const start = () => {
    if (stopped) return;
    let final = false;
    dispose = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          for (const error of result.errors ?? []) {
            const code = error.extensions?.code;
            if (code === 'CONFLICT') {
              log(`${label}: fell behind (${error.message}); refetching`);
              hooks.onLag?.();
            } else if (code === 'INTERNAL') {
              log(`${label}: INTERNAL (request ${String(error.extensions?.requestId ?? '?')})`);
            } else {
              final = true;
              abort(`${label}: ${code}: ${error.message}`);
            }
          }
          if (result.data) {
            failures = 0;
            onData(result.data);
          }
        },
        error: (err) => {
          if (closeCode(err) === 4403) return abort(`${label}: the server refused the credential (4403)`);
          restart(`ended with an error (${describe(err)})`);
        },
        complete: () => {
          if (!final) restart('completed by the server');
        },
      },
    );
  };
  start();
  return {
    stop() {
      stopped = true;
      dispose();
    },
  };
}

/** Something to wait for while the subscriptions fill in state. */
class Signal {
  private waiters = new Set<() => void>();
  notify(): void {
    for (const w of this.waiters) w();
  }
  async until(what: string, ms: number, done: () => boolean): Promise<void> {
    if (fatal) throw fatal;
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (fatal) {
          clearTimeout(timer);
          this.waiters.delete(check);
          reject(fatal);
        } else if (done()) {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Failure(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.add(check);
    });
  }
}

/** Notified whenever a subscription changes what the example knows. */
const changed = new Signal();

// ---------------------------------------------------------------------------------------
// Orders

interface Fill {
  tradeId: string;
  price: string;
  quantity: string;
  fee: string;
  feeAsset: string;
  liquidity: 'MAKER' | 'TAKER';
}
interface Order {
  id: string;
  clientOrderId: string | null;
  side: 'BUY' | 'SELL';
  status: 'ACCEPTED' | 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'REJECTED';
  reason: string | null;
  price: string | null;
  quantity: string;
  filledQuantity: string;
  fills: Fill[];
}
const ORDER = 'id clientOrderId side status reason price quantity filledQuantity fills { tradeId price quantity fee feeAsset liquidity }';
const LIVE = new Set(['ACCEPTED', 'OPEN', 'PARTIALLY_FILLED']);

interface NewOrder {
  side: 'BUY' | 'SELL';
  type: 'LIMIT' | 'MARKET';
  price?: string;
  quantity: string;
  timeInForce?: 'GTC' | 'IOC' | 'FOK';
  postOnly?: boolean;
  clientOrderId?: string;
}

/** Places an order. With a clientOrderId a retry is safe: the server answers it with the first order. */
async function placeOrder(key: string, order: NewOrder): Promise<Order> {
  const data = await gql<{ placeOrder: Order }>(
    `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { ${ORDER} } }`,
    { input: { market: MARKET, ...order } },
    { bearer: key, idempotent: order.clientOrderId !== undefined },
  );
  return data.placeOrder;
}

/** Cancels an order; one already done (filled meanwhile) is CONFLICT, which is an answer too. */
async function cancelOrder(key: string, id: string): Promise<Order | 'already done'> {
  try {
    const data = await gql<{ cancelOrder: Order }>(
      `mutation Cancel($id: ID!) { cancelOrder(id: $id) { ${ORDER} } }`,
      { id },
      { bearer: key },
    );
    return data.cancelOrder;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'CONFLICT') return 'already done';
    throw err;
  }
}

async function getOrder(key: string, id: string): Promise<Order | null> {
  const data = await gql<{ order: Order | null }>(`query One($id: ID!) { order(id: $id) { ${ORDER} } }`, { id }, {
    bearer: key,
    idempotent: true,
  });
  return data.order;
}

// ---------------------------------------------------------------------------------------
// The walk-through

interface MarketRules {
  symbol: string;
  status: 'OPEN' | 'HALTED';
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  makerFeeBps: number;
  takerFeeBps: number;
}

async function main(): Promise<void> {
  log(`server ${HTTP_URL}, market ${MARKET}`);

  // 1. Sign in once per account, only to make an API key each; bots then use the keys.
  const aliceSession = await Session.login(ALICE);
  const bobSession = await Session.login(BOB);
  const aliceKey = await aliceSession.createApiKey(`trade-example-${RUN}`);
  const bobKey = await bobSession.createApiKey(`trade-example-${RUN}`);
  log(`API keys ${aliceKey.prefix}… (${aliceSession.email}) and ${bobKey.prefix}… (${bobSession.email})`);

  const clients: Client[] = [];
  try {
    await trade(aliceKey.secret, bobKey.secret, clients);
  } finally {
    // Also after a failure: a user has at most 25 active keys.
    try {
      for (const c of clients) await c.dispose();
      await aliceSession.revokeApiKey(aliceKey.id);
      await bobSession.revokeApiKey(bobKey.id);
      await aliceSession.logout();
      await bobSession.logout();
      log('API keys revoked, sessions ended');
    } catch (err) {
      log(`cleaning up failed: ${describe(err)}`);
    }
  }
}

async function trade(alice: string, bob: string, clients: Client[]): Promise<void> {
  // 2. The market's rules.
  const { market } = await gql<{ market: MarketRules | null }>(
    'query Rules($m: String!) { market(symbol: $m) { symbol status tickSize lotSize minQuantity makerFeeBps takerFeeBps } }',
    { m: MARKET },
    { bearer: alice, idempotent: true },
  );
  if (!market) fail(`no market ${MARKET}`);
  if (market.status !== 'OPEN') fail(`${MARKET} is ${market.status}: orders would be refused with MARKET_HALTED`);
  log(
    `${market.symbol}: tick ${market.tickSize}, lot ${market.lotSize}, min ${market.minQuantity}, ` +
      `fees ${market.makerFeeBps}/${market.takerFeeBps} bps maker/taker`,
  );
  // The smallest order: the minimum quantity, rounded up to a whole number of lots.
  const qScale = Math.max(decimalsOf(market.lotSize), decimalsOf(market.minQuantity));
  const lot = toUnits(market.lotSize, qScale);
  const lots = (toUnits(market.minQuantity, qScale) + lot - 1n) / lot;
  const quantity = fromUnits((lots > 0n ? lots : 1n) * lot, qScale);

  // 3. A refused credential closes the socket with 4403, and a client must not retry it.
  const refused = await new Promise<number | undefined>((resolve) => {
    const bad = connect('rlt_not_a_real_key', 'bad key');
    bad.subscribe({ query: 'subscription { myOrders { id } }' }, {
      next: () => resolve(undefined),
      error: (err) => resolve(closeCode(err)),
      complete: () => resolve(undefined),
    });
    setTimeout(() => resolve(undefined), 10_000);
  });
  if (refused !== 4403) fail(`a bad key should close the socket with 4403, got ${refused}`);
  log('a bad key: socket closed with 4403 (Forbidden), not retried');

  // 4. Alice's subscriptions, all on one socket.
  const trades = new Map<string, { price: string; quantity: string; takerSide: string }>();
  const myOrders = new Map<string, Order>();
  let balanceEvents = 0;
  const book = new BookReplica();

  const refetchOpenOrders = async () => {
    const data = await gql<{ myOrders: { edges: { node: Order }[] } }>(
      `query Open($m: String) { myOrders(market: $m, status: [ACCEPTED, OPEN, PARTIALLY_FILLED], first: 100) { edges { node { ${ORDER} } } } }`,
      { m: MARKET },
      { bearer: alice, idempotent: true },
    );
    for (const { node } of data.myOrders.edges) myOrders.set(node.id, node);
    changed.notify();
  };
  const refetch = () => {
    refetchOpenOrders().catch((err) => abort(`refetching open orders: ${describe(err)}`));
  };
  const ws = connect(alice, 'alice', refetch);
  clients.push(ws);

  let lastTradeSequence: bigint | null = null;
  const fillTradeGap = async (after: bigint, before: bigint) => {
    const { market: m } = await gql<{ market: { trades: { id: string; sequence: string; price: string; quantity: string; takerSide: string }[] } }>(
      'query Recent($m: String!, $n: Int) { market(symbol: $m) { trades(limit: $n) { id sequence price quantity takerSide } } }',
      { m: MARKET, n: Number(before - after + 10n > 500n ? 500n : before - after + 10n) },
      { bearer: alice, idempotent: true },
    );
    for (const t of m.trades) if (BigInt(t.sequence) > after && BigInt(t.sequence) < before) trades.set(t.id, t);
    changed.notify();
  };

  const streams: Stream[] = [];
  streams.push(
    keep<{ trades: { id: string; sequence: string; price: string; quantity: string; takerSide: string } }>(
      ws,
      'trades',
      'subscription Trades($m: String!) { trades(market: $m) { id sequence price quantity takerSide } }',
      { m: MARKET },
      ({ trades: t }) => {
        // Trade sequences count a market's trades 1, 2, 3, ...: a jump is trades missed.
        const seq = BigInt(t.sequence);
        if (lastTradeSequence !== null && seq > lastTradeSequence + 1n) {
          log(`trades: ${seq - lastTradeSequence - 1n} missed before sequence ${seq}; fetching them`);
          fillTradeGap(lastTradeSequence, seq).catch((err) => abort(`fetching missed trades: ${describe(err)}`));
        }
        if (lastTradeSequence === null || seq > lastTradeSequence) lastTradeSequence = seq;
        trades.set(t.id, t);
        changed.notify();
      },
    ),
  );
  streams.push(
    keep<{ myOrders: Order }>(
      ws,
      'myOrders',
      `subscription Mine { myOrders { ${ORDER} } }`,
      {},
      ({ myOrders: o }) => {
        myOrders.set(o.id, o);
        log(`myOrders: ${o.id} ${o.side} ${o.quantity}@${o.price ?? 'market'} ${o.status}${o.reason ? ` (${o.reason})` : ''}`);
        changed.notify();
      },
      { onLag: refetch, onRestart: refetch },
    ),
  );
  streams.push(
    keep<{ myBalances: { asset: { symbol: string }; available: string; held: string } }>(
      ws,
      'myBalances',
      'subscription Balances { myBalances { asset { symbol } available held } }',
      {},
      ({ myBalances: b }) => {
        balanceEvents++;
        log(`myBalances: ${b.asset.symbol} ${b.available} available, ${b.held} held`);
        changed.notify();
      },
    ),
  );
  let bookStream: Stream;
  const subscribeBook = () =>
    keep<{ orderBook: OrderBookUpdate }>(
      ws,
      'orderBook',
      'subscription Book($m: String!, $d: Int) { orderBook(market: $m, depth: $d) { market sequence snapshot bids { price quantity orders } asks { price quantity orders } } }',
      { m: MARKET, d: BOOK_DEPTH },
      ({ orderBook: update }) => {
        if (update.snapshot) log(`orderBook: snapshot at sequence ${update.sequence}`);
        if (!book.apply(update)) {
          // Cannot follow (never expected from this server): start again from a snapshot.
          log(`orderBook: delta ${update.sequence} does not follow ${book.sequence}; resyncing`);
          book.reset();
          bookStream.stop();
          bookStream = subscribeBook();
        }
        changed.notify();
      },
      // A new subscription begins with a new snapshot: drop the old replica.
      { onRestart: () => book.reset() },
    );
  bookStream = subscribeBook();

  await changed.until('the first order book snapshot', 15_000, () => book.sequence !== null);
  const tick = market.tickSize;
  await changed.until(`a two-sided ${MARKET} book`, 30_000, () => !!book.bestBid() && !!book.bestAsk());

  // 5. Prove myOrders is live before relying on it, and show place / retry / cancel: a
  // post-only bid a few ticks under the best bid, placed twice with one clientOrderId.
  let scale = decimalsOf(tick);
  const price = (p: string) => toUnits(p, scale);
  const ticks = toUnits(tick, scale);
  let live = false;
  for (let attempt = 1; attempt <= 5 && !live; attempt++) {
    const bid = book.bestBid();
    if (!bid) {
      await sleep(500);
      continue;
    }
    scale = Math.max(scale, decimalsOf(bid));
    const input: NewOrder = {
      side: 'BUY',
      type: 'LIMIT',
      price: fromUnits(price(bid) - 3n * ticks, scale),
      quantity,
      postOnly: true,
      clientOrderId: `ex-${RUN}-warm-${attempt}`,
    };
    const first = await placeOrder(alice, input);
    const retry = await placeOrder(alice, input);
    if (retry.id !== first.id) fail(`a retry with one clientOrderId made two orders: ${first.id}, ${retry.id}`);
    log(`placed ${first.id} (${first.status}); the retry with the same clientOrderId answered ${retry.id} again`);
    const cancelled = await cancelOrder(alice, first.id);
    log(`cancelled ${first.id}: ${cancelled === 'already done' ? 'it was already done' : cancelled.status}`);
    try {
      await changed.until(`order ${first.id} on myOrders`, 3_000, () => myOrders.has(first.id));
      live = true;
    } catch {
      log('myOrders has not started yet; again');
    }
  }
  if (!live) fail('no event on myOrders for orders placed and cancelled five times');

  // 6. Errors by code, on purpose.
  await expectRefusal('BAD_USER_INPUT', 'a price off the tick', () =>
    placeOrder(alice, {
      side: 'BUY',
      type: 'LIMIT',
      price: fromUnits(price(book.bestBid() ?? tick) * 10n + 1n, scale + 1),
      quantity,
    }),
  );
  await expectRefusal('BAD_USER_INPUT', 'a post-only IOC', () =>
    placeOrder(alice, { side: 'BUY', type: 'LIMIT', price: book.bestBid(), quantity, timeInForce: 'IOC', postOnly: true }),
  );
  await expectRefusal('NOT_FOUND', 'cancelling an order that is not mine', () =>
    gql('mutation { cancelOrder(id: "0") { id } }', {}, { bearer: alice }),
  );

  // 7. The crossing pair: alice rests a post-only sell inside the spread, bob lifts it with
  // an IOC buy at that price. Bots trade here too, so an attempt whose sell someone else
  // took first (or whose buy met another seller) is cancelled and tried again.
  let crossed: { sell: Order; buy: Order; tradeId: string } | undefined;
  for (let attempt = 1; attempt <= 8 && !crossed; attempt++) {
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (!bid || !ask || price(ask) - price(bid) < 2n * ticks) {
      log(`spread ${bid ?? '-'} / ${ask ?? '-'} is too narrow to step inside; waiting`);
      await sleep(700);
      continue;
    }
    const at = fromUnits(price(bid) + ticks, scale);
    const sell = await placeOrder(alice, {
      side: 'SELL',
      type: 'LIMIT',
      price: at,
      quantity,
      postOnly: true,
      clientOrderId: `ex-${RUN}-sell-${attempt}`,
    });
    if (sell.status !== 'OPEN') {
      log(`alice's sell at ${at}: ${sell.status} ${sell.reason ?? ''}; again`);
      continue;
    }
    const buy = await placeOrder(bob, {
      side: 'BUY',
      type: 'LIMIT',
      price: at,
      quantity,
      timeInForce: 'IOC',
      clientOrderId: `ex-${RUN}-buy-${attempt}`,
    });
    const tradeId = buy.fills[0]?.tradeId;
    log(`bob's IOC buy at ${at}: ${buy.status}${tradeId ? `, trade ${tradeId}` : ''}`);
    // placeOrder answers after the matcher has processed the buy, so alice's order already
    // shows whether it was her sell that bob's buy met.
    const mine = (await getOrder(alice, sell.id)) ?? fail(`order ${sell.id} vanished`);
    if (tradeId && mine.fills.some((f) => f.tradeId === tradeId)) {
      crossed = { sell: mine, buy, tradeId };
      break;
    }
    if (LIVE.has(mine.status)) {
      const c = await cancelOrder(alice, sell.id);
      log(`bob met another seller; withdrew alice's sell ${sell.id}: ${c === 'already done' ? 'already done' : c.status}; again`);
    } else {
      log(`alice's sell ${sell.id} was taken by someone else first (${mine.status}); again`);
    }
    await sleep(300);
  }
  if (!crossed) fail('no crossing pair matched in 8 attempts');
  const { sell, tradeId } = crossed;
  const fill = sell.fills.find((f) => f.tradeId === tradeId) as Fill;
  log(`alice's own fill: ${fill.quantity}@${fill.price} as ${fill.liquidity}, fee ${fill.fee} ${fill.feeAsset}`);
  await changed.until(`alice's order ${sell.id} FILLED on myOrders`, 10_000, () => myOrders.get(sell.id)?.status === 'FILLED');
  await changed.until(`trade ${tradeId} on the trades subscription`, 10_000, () => trades.has(tradeId));
  log(`trades: ${tradeId} ${trades.get(tradeId)?.quantity}@${trades.get(tradeId)?.price} (taker ${trades.get(tradeId)?.takerSide})`);
  await changed.until('a myBalances event', 10_000, () => balanceEvents > 0);

  // 8. The replica against the server's own book: equal once the market is quiet for a moment.
  await checkBook(book, alice);

  // 9. Resync from a snapshot, as after a drop: a new subscription, a new snapshot.
  const before = book.snapshots;
  bookStream.stop();
  book.reset();
  bookStream = subscribeBook();
  await changed.until('a new snapshot', 15_000, () => book.snapshots > before && book.sequence !== null);
  await checkBook(book, alice);

  bookStream.stop();
  for (const s of streams) s.stop();
  if (fatal) throw fatal;
  log(
    `trade example: OK: crossed ${quantity} ${MARKET} at ${fill.price} (trade ${tradeId}), seen on myOrders and ` +
      `trades; book replica in sync at sequence ${book.sequence} after ${book.snapshots} snapshots and ${book.deltas} deltas`,
  );
}

/** Compares the replica's top levels with `market.orderBook` over HTTP, when no delta moves it. */
async function checkBook(book: BookReplica, key: string): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    const seen = book.sequence;
    await sleep(250);
    const { market } = await gql<{ market: { orderBook: { sequence: string; bids: BookLevel[]; asks: BookLevel[] } } }>(
      'query Book($m: String!, $d: Int) { market(symbol: $m) { orderBook(depth: $d) { sequence bids { price quantity orders } asks { price quantity orders } } } }',
      { m: MARKET, d: BOOK_DEPTH },
      { bearer: key, idempotent: true },
    );
    await sleep(250);
    if (book.sequence !== seen) continue; // the book moved meanwhile: try again
    const server = market.orderBook;
    if (sameLevels(book.top('bids', BOOK_DEPTH), server.bids) && sameLevels(book.top('asks', BOOK_DEPTH), server.asks)) {
      log(`book replica matches the server's ${BOOK_DEPTH} levels a side (server sequence ${server.sequence}, replica ${book.sequence})`);
      return;
    }
    last = `replica bids ${JSON.stringify(book.top('bids', 3))} asks ${JSON.stringify(book.top('asks', 3))}; server bids ${JSON.stringify(server.bids.slice(0, 3))} asks ${JSON.stringify(server.asks.slice(0, 3))}`;
  }
  fail(`the book replica never matched the server's book: ${last}`);
}

const deadline = setTimeout(() => exit(1, 'took longer than 240 s'), 240_000);
main()
  .then(() => {
    clearTimeout(deadline);
    exit(0);
  })
  .catch((err: unknown) => exit(1, describe(err)));
