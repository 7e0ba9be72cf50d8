/**
 * The signed-in session and its renewal, free of Solid and the DOM so it is tested with
 * fake timers.
 *
 * Access tokens live five minutes (auth's `access_token_ttl_secs`); refresh tokens rotate
 * on every use and reusing a spent one ends the whole session. So:
 * - we refresh a little before the access token expires (`refreshDelayMs`: 30 s before, or
 *   at 80 % of the lifetime for tokens shorter than 150 s, and never more often than once a
 *   second), timed by the token's own lifetime (JWT `exp - iat`) from when we received it,
 *   so a wrong clock on this machine does not matter;
 * - refreshes are single-flight: concurrent callers (a timer, a request that got
 *   UNAUTHENTICATED, the socket reconnecting) share one call, and tabs share one through a
 *   lock plus the stored session (a tab adopts the pair another tab just rotated instead of
 *   spending the old refresh token a second time);
 * - a refresh the server refuses ends the session with a message for the login page;
 *   a refresh that cannot reach the server is retried, and gives up with a message too.
 */

export interface SessionUser {
  id: string;
  email: string;
  displayName: string;
  role: 'TRADER' | 'ADMIN';
}

/** What login, register and refresh return (AuthFields). */
export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  accessTokenExpiresAt: string;
  user: SessionUser;
}

/** A session as kept in memory and storage. */
export interface Session extends AuthPayload {
  /** When the access token expires, by this machine's clock (ms since the epoch). */
  expiresAtLocal: number;
  /** The access token's whole lifetime (ms), which sets how early we renew it. */
  lifetimeMs?: number;
}

/** Thrown by `refresh` when the server answered and refused the refresh token. */
export class RefreshRejected extends Error {
  constructor(message = 'refresh token refused') {
    super(message);
    this.name = 'RefreshRejected';
  }
}

/** Messages shown on the login page after a session ended by itself. */
export const ENDED_MESSAGES = {
  rejected: 'Your session has ended. Please log in again.',
  unreachable: 'Could not reach the server to renew your session. Please log in again.',
  otherTab: 'You were signed out in another tab.',
} as const;

/** Refresh this long before expiry, at most (see {@link refreshDelayMs}). */
export const REFRESH_LEAD_MS = 30_000;

/** ...but not before this share of the token's lifetime has passed (short-lived tokens). */
export const REFRESH_AT_LIFETIME_SHARE = 0.8;

/** The renewal timer never fires sooner than this after the previous refresh. */
export const MIN_REFRESH_INTERVAL_MS = 1_000;

/**
 * How long to wait before refreshing a token that expires at `expiresAt` (ms) and lives
 * `lifetimeMs` in all: `leadMs` (30 s) before expiry, or once 80 % of the lifetime has
 * passed if that is later — a 5-minute token is renewed at 4 min 30 s, a 5-second one at
 * 4 s, never in a loop. 0 when already due. Without a known lifetime, what is left counts
 * as the lifetime.
 */
export function refreshDelayMs(
  expiresAt: number,
  now: number,
  lifetimeMs: number = expiresAt - now,
  leadMs = REFRESH_LEAD_MS,
): number {
  const remaining = expiresAt - now;
  if (!Number.isFinite(remaining) || remaining <= 0) return 0;
  const lifetime = Number.isFinite(lifetimeMs) && lifetimeMs > 0 ? lifetimeMs : remaining;
  const lead = Math.min(leadMs, lifetime * (1 - REFRESH_AT_LIFETIME_SHARE));
  return Math.max(0, Math.round(remaining - lead));
}

/** The lifetime of a JWT (`exp - iat`, ms), or null if it is not a JWT with both claims. */
export function jwtLifetimeMs(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { exp?: unknown; iat?: unknown };
    if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return null;
    return (claims.exp - claims.iat) * 1000;
  } catch {
    return null;
  }
}

/** A session from an auth payload received at `receivedAt` (this machine's clock). */
export function toSession(p: AuthPayload, receivedAt: number): Session {
  let lifetime = jwtLifetimeMs(p.accessToken) ?? Date.parse(p.accessTokenExpiresAt) - receivedAt;
  // Unreadable expiry: assume a minute rather than refreshing in a tight loop.
  if (!Number.isFinite(lifetime)) lifetime = 60_000;
  return { ...p, expiresAtLocal: receivedAt + lifetime, lifetimeMs: lifetime };
}

/** Where the session is kept between reloads and shared between tabs. */
export interface SessionStorage {
  load(): Session | null;
  save(session: Session | null): void;
  /** Calls back when another tab changed the stored session. */
  subscribe?(onChange: (session: Session | null) => void): () => void;
}

export interface SessionDeps {
  /** Exchanges a refresh token; throws RefreshRejected if the server refuses it. */
  refresh(refreshToken: string): Promise<AuthPayload>;
  storage: SessionStorage;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Runs `fn` holding a lock shared by every tab (navigator.locks in the browser). */
  withLock?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Waits between refresh attempts that could not reach the server; then give up. */
  retryDelaysMs?: readonly number[];
}

export type SessionListener = (session: Session | null) => void;

export function createSessionManager(deps: SessionDeps) {
  const now = deps.now ?? Date.now;
  const setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  const withLock = deps.withLock ?? ((fn) => fn());
  const retryDelays = deps.retryDelaysMs ?? [1_000, 2_000, 5_000, 10_000, 30_000];

  let session: Session | null = deps.storage.load();
  let endedMessage: string | null = null;
  let timer: unknown = null;
  let inflight: Promise<boolean> | null = null;
  let failures = 0;
  /** When the last refresh started (this machine's clock), for the once-a-second floor. */
  let lastRefreshAt = -Infinity;
  const listeners = new Set<SessionListener>();

  function emit() {
    for (const l of listeners) l(session);
  }

  function schedule(ms: number) {
    if (timer !== null) clearTimer(timer);
    timer = setTimer(() => {
      timer = null;
      void refresh();
    }, ms);
  }

  /** Renews `s` when due, but never sooner than a second after the last refresh. */
  function scheduleRenewal(s: Session) {
    const lifetime = s.lifetimeMs ?? jwtLifetimeMs(s.accessToken) ?? undefined;
    const due = refreshDelayMs(s.expiresAtLocal, now(), lifetime);
    schedule(Math.max(due, lastRefreshAt + MIN_REFRESH_INTERVAL_MS - now()));
  }

  function adopt(next: Session | null, persist: boolean) {
    session = next;
    failures = 0;
    if (persist) deps.storage.save(next);
    if (timer !== null) clearTimer(timer);
    timer = null;
    if (next) {
      endedMessage = null;
      scheduleRenewal(next);
    }
    emit();
  }

  function end(message: string | null) {
    endedMessage = message;
    adopt(null, true);
  }

  /** Refreshes now (single-flight); resolves whether we hold a fresh session after. */
  function refresh(): Promise<boolean> {
    if (inflight) return inflight;
    const mine = session;
    if (!mine) return Promise.resolve(false);
    lastRefreshAt = now();
    inflight = withLock(async () => {
      // Another tab may have rotated the pair while we waited for the lock: use theirs.
      const stored = deps.storage.load();
      if (stored && stored.refreshToken !== mine.refreshToken) {
        adopt(stored, false);
        return true;
      }
      if (!stored) {
        end(ENDED_MESSAGES.otherTab);
        return false;
      }
      try {
        const payload = await deps.refresh(mine.refreshToken);
        adopt(toSession(payload, now()), true);
        return true;
      } catch (e) {
        if (session?.refreshToken !== mine.refreshToken) return session !== null;
        if (e instanceof RefreshRejected) {
          end(ENDED_MESSAGES.rejected);
          return false;
        }
        const wait = retryDelays[failures];
        failures++;
        if (wait === undefined) {
          end(ENDED_MESSAGES.unreachable);
          return false;
        }
        schedule(wait);
        return false;
      }
    }).finally(() => {
      inflight = null;
    });
    return inflight;
  }

  const unsubscribeStorage = deps.storage.subscribe?.((stored) => {
    if (stored === null && session !== null) end(ENDED_MESSAGES.otherTab);
    else if (stored && stored.refreshToken !== session?.refreshToken) adopt(stored, false);
  });

  // A stored session from an earlier visit: renew it when due (maybe at once).
  if (session) scheduleRenewal(session);

  return {
    /** The current session, or null when signed out. */
    get: () => session,
    /** The access token to send, or null. */
    accessToken: () => session?.accessToken ?? null,
    /** Whether the access token has expired (by this machine's clock). */
    isExpired: () => session !== null && now() >= session.expiresAtLocal,
    /** Why the last session ended on its own (for the login page), or null. */
    endedMessage: () => endedMessage,
    /** Starts a session from login or register. */
    signIn(payload: AuthPayload) {
      adopt(toSession(payload, now()), true);
    },
    /** Ends the session (the caller revokes the refresh token on the server). */
    signOut(message: string | null = null) {
      end(message);
    },
    refresh,
    subscribe(listener: SessionListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      if (timer !== null) clearTimer(timer);
      timer = null;
      unsubscribeStorage?.();
      listeners.clear();
    },
  };
}

export type SessionManager = ReturnType<typeof createSessionManager>;
