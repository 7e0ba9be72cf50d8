import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthPayload,
  ENDED_MESSAGES,
  RefreshRejected,
  type Session,
  type SessionStorage,
  createSessionManager,
  jwtLifetimeMs,
  refreshDelayMs,
  toSession,
} from './auth';

/** A JWT-shaped token with the given claims (unsigned: the client never verifies). */
function jwt(claims: object): string {
  const b64 = (o: object) =>
    btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return `${b64({ alg: 'EdDSA' })}.${b64(claims)}.sig`;
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
let n = 0;
/** A login/refresh answer: a 300 s access token issued at `issuedAt` (server clock, s). */
function payload(issuedAt = T0 / 1000): AuthPayload {
  n++;
  return {
    accessToken: jwt({ sub: 'u1', iat: issuedAt, exp: issuedAt + 300, n }),
    refreshToken: `refresh-${n}`,
    accessTokenExpiresAt: new Date((issuedAt + 300) * 1000).toISOString(),
    user: { id: 'u1', email: 'a@x', displayName: 'A', role: 'TRADER' },
  };
}

function memoryStorage(initial: Session | null = null) {
  let value = initial;
  let listener: ((s: Session | null) => void) | null = null;
  const storage: SessionStorage & { set(s: Session | null): void } = {
    load: () => value,
    save: (s) => (value = s),
    subscribe: (cb) => {
      listener = cb;
      return () => (listener = null);
    },
    /** Another tab writes. */
    set(s) {
      value = s;
      listener?.(s);
    },
  };
  return storage;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => vi.useRealTimers());

describe('refreshDelayMs', () => {
  it('refreshes 30 s before expiry', () => {
    expect(refreshDelayMs(T0 + 300_000, T0)).toBe(270_000);
  });
  it('at 80 % of the lifetime for short-lived tokens', () => {
    expect(refreshDelayMs(T0 + 20_000, T0)).toBe(16_000);
    expect(refreshDelayMs(T0 + 5_000, T0, 5_000)).toBe(4_000);
    // Two seconds into a 5 s token: 2 s to go until the 80 % mark.
    expect(refreshDelayMs(T0 + 3_000, T0, 5_000)).toBe(2_000);
    // 30 s before expiry still wins for long ones, whatever is left.
    expect(refreshDelayMs(T0 + 100_000, T0, 300_000)).toBe(70_000);
  });
  it('at once when due or unreadable', () => {
    expect(refreshDelayMs(T0 - 1, T0)).toBe(0);
    expect(refreshDelayMs(T0, T0)).toBe(0);
    expect(refreshDelayMs(NaN, T0)).toBe(0);
  });
});

describe('token lifetime', () => {
  it('reads exp - iat from the JWT', () => {
    expect(jwtLifetimeMs(jwt({ iat: 100, exp: 400 }))).toBe(300_000);
    expect(jwtLifetimeMs('rialto_abc123')).toBeNull();
    expect(jwtLifetimeMs('a.%%%.c')).toBeNull();
    expect(jwtLifetimeMs(jwt({ exp: 400 }))).toBeNull();
  });

  it('times expiry by this machine clock, not the server one', () => {
    // The server clock is 10 minutes ahead: its expiry is in the future for us by 15 min.
    const p = payload(T0 / 1000 + 600);
    const s = toSession(p, T0);
    expect(s.expiresAtLocal).toBe(T0 + 300_000);
  });

  it('falls back to accessTokenExpiresAt for non-JWT tokens', () => {
    const p = { ...payload(), accessToken: 'opaque' };
    expect(toSession(p, T0).expiresAtLocal).toBe(T0 + 300_000);
    const bad = { ...p, accessTokenExpiresAt: 'soon' };
    expect(toSession(bad, T0).expiresAtLocal).toBe(T0 + 60_000);
  });
});

describe('session manager', () => {
  it('refreshes 30 s before the access token expires, then again for the new one', async () => {
    const refresh = vi.fn(async () => payload(Date.now() / 1000));
    const m = createSessionManager({ refresh, storage: memoryStorage() });
    const first = payload();
    m.signIn(first);
    await vi.advanceTimersByTimeAsync(269_999);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh).toHaveBeenCalledWith(first.refreshToken);
    const second = m.get()?.refreshToken;
    expect(second).not.toBe(first.refreshToken);
    await vi.advanceTimersByTimeAsync(270_000);
    expect(refresh).toHaveBeenCalledTimes(2);
    expect(refresh).toHaveBeenLastCalledWith(second);
    m.dispose();
  });

  it('renews a 5-second token every 4 s, never in a loop', async () => {
    const short = (issuedAt: number): AuthPayload => {
      const p = payload(issuedAt);
      return {
        ...p,
        accessToken: jwt({ sub: 'u1', iat: issuedAt, exp: issuedAt + 5, n }),
        accessTokenExpiresAt: new Date((issuedAt + 5) * 1000).toISOString(),
      };
    };
    const refresh = vi.fn(async () => short(Math.floor(Date.now() / 1000)));
    const m = createSessionManager({ refresh, storage: memoryStorage() });
    m.signIn(short(T0 / 1000));
    await vi.advanceTimersByTimeAsync(3_999);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(refresh).toHaveBeenCalledTimes(1);
    // A minute on: every 4 s, and the token held never expired.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(refresh).toHaveBeenCalledTimes(16);
    expect(m.isExpired()).toBe(false);
    m.dispose();
  });

  it('never renews on its timer more often than once a second', async () => {
    // A server handing out tokens that live 200 ms (or a clock gone wrong).
    const tiny = (issuedAt: number): AuthPayload => ({
      ...payload(issuedAt),
      accessToken: jwt({ sub: 'u1', iat: issuedAt, exp: issuedAt + 0.2, n }),
    });
    const refresh = vi.fn(async () => tiny(Date.now() / 1000));
    const m = createSessionManager({ refresh, storage: memoryStorage() });
    m.signIn(tiny(T0 / 1000));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(refresh.mock.calls.length).toBeGreaterThanOrEqual(9);
    expect(refresh.mock.calls.length).toBeLessThanOrEqual(11);
    m.dispose();
  });

  it('is single-flight: concurrent callers share one refresh', async () => {
    let resolve!: (p: AuthPayload) => void;
    const refresh = vi.fn(() => new Promise<AuthPayload>((r) => (resolve = r)));
    const m = createSessionManager({ refresh, storage: memoryStorage() });
    m.signIn(payload());
    const a = m.refresh();
    const b = m.refresh();
    const c = m.refresh();
    expect(a).toBe(b);
    expect(b).toBe(c);
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(1);
    resolve(payload());
    await expect(Promise.all([a, b, c])).resolves.toEqual([true, true, true]);
    // a later refresh is a new call
    void m.refresh();
    await vi.advanceTimersByTimeAsync(0);
    expect(refresh).toHaveBeenCalledTimes(2);
    m.dispose();
  });

  it('a refused refresh signs out with a message', async () => {
    const refresh = vi.fn(async () => {
      throw new RefreshRejected();
    });
    const storage = memoryStorage();
    const m = createSessionManager({ refresh, storage });
    const seen: (Session | null)[] = [];
    m.subscribe((s) => seen.push(s));
    m.signIn(payload());
    await expect(m.refresh()).resolves.toBe(false);
    expect(m.get()).toBeNull();
    expect(storage.load()).toBeNull();
    expect(m.endedMessage()).toBe(ENDED_MESSAGES.rejected);
    expect(seen.at(-1)).toBeNull();
    m.dispose();
  });

  it('an unreachable server is retried with backoff, then signs out with a message', async () => {
    const refresh = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    const m = createSessionManager({
      refresh,
      storage: memoryStorage(),
      retryDelaysMs: [1000, 5000],
    });
    m.signIn(payload());
    await vi.advanceTimersByTimeAsync(270_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(m.get()).not.toBeNull();
    await vi.advanceTimersByTimeAsync(1000);
    expect(refresh).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(refresh).toHaveBeenCalledTimes(3);
    expect(m.get()).toBeNull();
    expect(m.endedMessage()).toBe(ENDED_MESSAGES.unreachable);
    m.dispose();
  });

  it('recovers when a retry succeeds', async () => {
    let fail = true;
    const refresh = vi.fn(async () => {
      if (fail) throw new TypeError('Failed to fetch');
      return payload(Date.now() / 1000);
    });
    const m = createSessionManager({ refresh, storage: memoryStorage(), retryDelaysMs: [1000] });
    m.signIn(payload());
    await vi.advanceTimersByTimeAsync(270_000);
    fail = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(m.get()?.refreshToken).toMatch(/refresh-/);
    expect(m.endedMessage()).toBeNull();
    m.dispose();
  });

  it('a stored session is renewed when due, even at once', async () => {
    const old = toSession(payload(), T0 - 290_000); // 10 s left
    const refresh = vi.fn(async () => payload(Date.now() / 1000));
    const m = createSessionManager({ refresh, storage: memoryStorage(old) });
    expect(m.get()).not.toBeNull();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(refresh).toHaveBeenCalledTimes(1);
    m.dispose();
  });

  it('isExpired follows the local deadline', () => {
    const m = createSessionManager({ refresh: vi.fn(), storage: memoryStorage() });
    m.signIn(payload());
    expect(m.isExpired()).toBe(false);
    vi.setSystemTime(T0 + 300_000);
    expect(m.isExpired()).toBe(true);
    m.dispose();
  });

  it('adopts the pair another tab rotated instead of spending the old refresh token', async () => {
    const storage = memoryStorage();
    const refresh = vi.fn(async () => payload());
    const m = createSessionManager({ refresh, storage });
    m.signIn(payload());
    // another tab refreshed first: the stored pair is newer than ours
    const theirs = toSession(payload(), Date.now());
    storage.save(theirs); // (written without an event reaching us yet)
    await expect(m.refresh()).resolves.toBe(true);
    expect(refresh).not.toHaveBeenCalled();
    expect(m.get()?.refreshToken).toBe(theirs.refreshToken);
    m.dispose();
  });

  it('follows other tabs: their refresh and their sign-out', () => {
    const storage = memoryStorage();
    const m = createSessionManager({ refresh: vi.fn(), storage });
    m.signIn(payload());
    const theirs = toSession(payload(), Date.now());
    storage.set(theirs);
    expect(m.get()?.refreshToken).toBe(theirs.refreshToken);
    storage.set(null);
    expect(m.get()).toBeNull();
    expect(m.endedMessage()).toBe(ENDED_MESSAGES.otherTab);
    m.dispose();
  });

  it('runs the refresh inside the cross-tab lock', async () => {
    const order: string[] = [];
    const m = createSessionManager({
      refresh: async () => {
        order.push('refresh');
        return payload();
      },
      storage: memoryStorage(),
      withLock: async (fn) => {
        order.push('lock');
        const r = await fn();
        order.push('unlock');
        return r;
      },
    });
    m.signIn(payload());
    await m.refresh();
    expect(order).toEqual(['lock', 'refresh', 'unlock']);
    m.dispose();
  });

  it('signing in clears the last message; signing out stops the timer', async () => {
    const refresh = vi.fn(async () => payload());
    const m = createSessionManager({ refresh, storage: memoryStorage() });
    m.signOut('bye');
    expect(m.endedMessage()).toBe('bye');
    m.signIn(payload());
    expect(m.endedMessage()).toBeNull();
    m.signOut();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(refresh).not.toHaveBeenCalled();
    await expect(m.refresh()).resolves.toBe(false);
    m.dispose();
  });
});
