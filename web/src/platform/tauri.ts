/**
 * The desktop build's platform (Tauri 2): what desktop/README.md, "For the web app",
 * specifies. Loaded only inside the app (index.tsx checks `'__TAURI_INTERNALS__' in
 * window` and imports platform/desktop.tsx, which imports this), so the browser build
 * never downloads it.
 *
 * - **Where to connect**: the server in the app's settings, else the local demo it starts
 *   on request; every API URL is absolute (the page is served from `tauri://localhost`).
 * - **The refresh token** lives in the OS keychain (`token_save`/`token_load`/
 *   `token_clear`, keyed by the server's origin), never in localStorage; the access token
 *   only in memory. Without a keychain (`KEYCHAIN_UNAVAILABLE`) the session is kept in
 *   memory and forgotten when the app quits.
 * - **Fills** become native notifications (`notify_fill`); the menu, its shortcuts and the
 *   tray send `rialto:action` events, which the stores turn into the app's own controls.
 */
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { RefreshRejected, type Session, type SessionStorage } from '../graphql/auth';
import { canonical, compareDecimal, fractionDigits, toUnits } from '../lib/decimal';
import type { Order } from '../stores/orders';
import type { DemoLogin, Desktop, DesktopAction, PlatformHooks } from './platform';

/** The app's settings (`settings_get`, `settings_set_*`). */
export interface Settings {
  serverUrl: string | null;
  graphqlUrl: string | null;
  graphqlWsUrl: string | null;
  trayMarket: string | null;
  /** `serverUrl` is not yet allowed by the running app's content security policy. */
  restartRequired: boolean;
}

/** The running local demo (`demo_start`, `demo_status`). */
export interface Demo {
  serverUrl: string;
  graphqlUrl: string;
  graphqlWsUrl: string;
}

/** What `notify_fill` shows. */
export interface Fill {
  market: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  price: string;
  partial?: boolean;
}

/** Where the app talks to: a server's origin and its absolute GraphQL URLs. */
export interface Connection {
  server: string;
  http: string;
  ws: string;
  demo: boolean;
}

/** A failed command's rejection, `{ code, message }`, whatever was thrown. */
export function commandError(e: unknown): { code: string; message: string } {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') {
    const message = 'message' in e && typeof e.message === 'string' ? e.message : e.code;
    return { code: e.code, message };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** A command's failure in plain words, for the screen. */
export function describeCommandError(e: unknown): string {
  const { code, message } = commandError(e);
  switch (code) {
    case 'INVALID_SERVER_URL':
      return `Not a server address Rialto can use: ${message}`;
    case 'SERVER_UNREACHABLE':
      return `Could not reach the server: ${message}`;
    case 'DEMO_UNAVAILABLE':
    case 'DEMO_FAILED':
      return `The local demo could not start: ${message}`;
    default:
      return message;
  }
}

export function fromSettings(s: Settings): Connection | null {
  if (!s.serverUrl || !s.graphqlUrl || !s.graphqlWsUrl || s.restartRequired) return null;
  return { server: s.serverUrl, http: s.graphqlUrl, ws: s.graphqlWsUrl, demo: false };
}

export function fromDemo(d: Demo): Connection {
  return { server: d.serverUrl, http: d.graphqlUrl, ws: d.graphqlWsUrl, demo: true };
}

/**
 * Where to connect at start: the server in the settings (once the running app allows it),
 * else a local demo that already runs (the page was reloaded); null: ask the user. Also
 * returns the settings, for the first-run screen (a server waiting for a restart).
 */
export async function initialConnection(): Promise<{
  connection: Connection | null;
  settings: Settings | null;
}> {
  const settings = await invoke<Settings>('settings_get');
  const saved = fromSettings(settings);
  if (saved) return { connection: saved, settings };
  const demo = await invoke<Demo | null>('demo_status');
  return { connection: demo ? fromDemo(demo) : null, settings };
}

/** Starts the local demo (seconds on a first start) and connects to it. */
export async function startDemo(): Promise<Connection> {
  return fromDemo(await invoke<Demo>('demo_start'));
}

/**
 * Sets the server; resolves the connection, or `restart` when the app must restart first
 * (its content security policy is fixed at start). Rejects `{ code, message }`.
 */
export async function setServer(
  url: string,
): Promise<{ connection: Connection } | { restart: Settings }> {
  const settings = await invoke<Settings>('settings_set_server', { url });
  const connection = fromSettings(settings);
  return connection ? { connection } : { restart: settings };
}

export const restartApp = () => invoke<void>('app_restart');

/** The session kept in memory, its refresh token in the keychain. */
export interface KeychainStorage extends SessionStorage {
  /** The refresh token kept for this server, or null (none, or no keychain). */
  loadToken(): Promise<string | null>;
  /** Whether the keychain works (false after KEYCHAIN_UNAVAILABLE). */
  available(): boolean;
  /** Resolves when every keychain write so far is done (tests, quitting). */
  settled(): Promise<void>;
}

/**
 * Session storage for `server`: the session in memory; every new refresh token (sign-in,
 * each rotation) saved to the keychain, in order, and cleared on sign-out or a refused
 * refresh. On KEYCHAIN_UNAVAILABLE it stops trying and carries on in memory.
 */
export function keychainStorage(server: string): KeychainStorage {
  let memory: Session | null = null;
  let available = true;
  /** The token the keychain holds (as far as we know), so unchanged tokens are not rewritten. */
  let kept: string | null = null;
  let queue: Promise<void> = Promise.resolve();

  async function call<T>(cmd: string, args: Record<string, unknown>): Promise<T | null> {
    if (!available) return null;
    try {
      return await invoke<T>(cmd, args);
    } catch (e) {
      const { code, message } = commandError(e);
      if (code === 'KEYCHAIN_UNAVAILABLE') available = false;
      else console.warn(`${cmd}: ${message}`);
      return null;
    }
  }

  return {
    load: () => memory,
    save(session) {
      memory = session;
      const token = session?.refreshToken ?? null;
      if (token === kept) return;
      kept = token;
      queue = queue.then(async () => {
        await (token ? call('token_save', { server, token }) : call('token_clear', { server }));
      });
    },
    async loadToken() {
      const token = await call<string | null>('token_load', { server });
      kept = typeof token === 'string' && token ? token : null;
      return kept;
    },
    available: () => available,
    settled: () => queue,
  };
}

/**
 * At start: the refresh token kept for this server, exchanged through `resume` (the auth
 * store's, which signs in and so saves the rotated token). A refused token is cleared; an
 * unreachable server leaves it for next time.
 */
export async function resumeSession(
  storage: KeychainStorage,
  resume: (refreshToken: string) => Promise<void>,
): Promise<'resumed' | 'none' | 'refused' | 'unreachable'> {
  const token = await storage.loadToken();
  if (!token) return 'none';
  try {
    await resume(token);
    return 'resumed';
  } catch (e) {
    if (e instanceof RefreshRejected) {
      storage.save(null);
      return 'refused';
    }
    return 'unreachable';
  }
}

/**
 * The fill to notify: what `order` filled beyond `previouslyFilled`, at the order's
 * average price (the API's decimal strings); null if nothing more filled.
 */
export function fillOf(order: Order, previouslyFilled: string): Fill | null {
  const price = order.averagePrice ?? order.price;
  if (!price) return null;
  const scale = Math.max(fractionDigits(order.filledQuantity), fractionDigits(previouslyFilled));
  const more = toUnits(order.filledQuantity, scale) - toUnits(previouslyFilled, scale);
  if (more <= 0n) return null;
  return {
    market: order.market.symbol,
    side: order.side,
    quantity: canonical(more, scale),
    price,
    partial: compareDecimal(order.filledQuantity, order.quantity) < 0,
  };
}

/** Asks the app for a native notification; best effort (no daemon: nothing shows). */
export function notifyFill(order: Order, previouslyFilled: string): void {
  const fill = fillOf(order, previouslyFilled);
  if (!fill) return;
  invoke('notify_fill', { fill }).catch((e: unknown) =>
    console.warn(`notify_fill: ${commandError(e).message}`),
  );
}

const ACTIONS: readonly DesktopAction[] = ['buy', 'sell', 'cancel-all'];

/** The action in a `rialto:action` payload (`{ action }`), or null. */
export function parseAction(payload: unknown): DesktopAction | null {
  if (!payload || typeof payload !== 'object' || !('action' in payload)) return null;
  const a = payload.action;
  return ACTIONS.find((x) => x === a) ?? null;
}

/** Listens for `rialto:action`; returns how to stop (also before listening began). */
export function listenActions(listener: (action: DesktopAction) => void): () => void {
  let stop: (() => void) | null = null;
  let stopped = false;
  listen<unknown>('rialto:action', (e) => {
    const action = parseAction(e.payload);
    if (action) listener(action);
  }).then(
    (unlisten) => {
      if (stopped) unlisten();
      else stop = unlisten;
    },
    (e: unknown) => console.warn(`rialto:action: ${commandError(e).message}`),
  );
  return () => {
    stopped = true;
    stop?.();
  };
}

/** The demo's logins, from its `/demo.json`; empty if it cannot be read. */
export async function demoLogins(server: string, fetchImpl = fetch): Promise<DemoLogin[]> {
  try {
    const r = await fetchImpl(`${server}/demo.json`);
    if (!r.ok) return [];
    const body = (await r.json()) as { accounts?: unknown };
    if (!Array.isArray(body.accounts)) return [];
    return body.accounts.filter(
      (a): a is DemoLogin =>
        !!a &&
        typeof (a as DemoLogin).email === 'string' &&
        typeof (a as DemoLogin).password === 'string',
    );
  } catch {
    return [];
  }
}

/** The hooks the stores get in the desktop app, for `connection`. */
export function desktopHooks(
  connection: Connection,
  storage: KeychainStorage,
  reload: () => void = () => window.location.reload(),
): PlatformHooks & { desktop: Desktop } {
  let logins: Promise<DemoLogin[]> | null = null;
  return {
    onFill: notifyFill,
    onAction: listenActions,
    desktop: {
      server: connection.server,
      demo: connection.demo,
      remembersSignIn: storage.available,
      demoLogins() {
        if (!connection.demo) return Promise.resolve([]);
        logins ??= demoLogins(connection.server);
        return logins;
      },
      async setTrayMarket(market) {
        try {
          await invoke('settings_set_tray_market', { market });
          return null;
        } catch (e) {
          return describeCommandError(e);
        }
      },
      async disconnect() {
        try {
          if (connection.demo) await invoke('demo_stop');
          else await invoke('settings_set_server', { url: null });
        } finally {
          reload();
        }
      },
    },
  };
}
