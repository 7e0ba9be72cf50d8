/**
 * Browser specifics behind small interfaces, so the rest of the app (and a future Tauri
 * build, see STYLE.md §4) does not touch localStorage or navigator directly.
 */
import type { Session, SessionStorage } from '../graphql/auth';

const SESSION_KEY = 'rialto.session';

function readSession(raw: string | null): Session | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    return typeof s.refreshToken === 'string' &&
      typeof s.accessToken === 'string' &&
      typeof s.expiresAtLocal === 'number' &&
      s.user
      ? (s as Session)
      : null;
  } catch {
    return null;
  }
}

/**
 * The session in localStorage: it survives a reload and is shared by the tabs of this
 * origin (each tab hears the others' changes through the `storage` event). Falls back to
 * memory where storage is unavailable.
 */
export function browserSessionStorage(): SessionStorage {
  let memory: Session | null = null;
  const ls = (() => {
    try {
      return globalThis.localStorage ?? null;
    } catch {
      return null;
    }
  })();
  return {
    load: () => (ls ? readSession(ls.getItem(SESSION_KEY)) : memory),
    save(session) {
      memory = session;
      try {
        if (session) ls?.setItem(SESSION_KEY, JSON.stringify(session));
        else ls?.removeItem(SESSION_KEY);
      } catch {
        // quota or privacy mode: memory only
      }
    },
    subscribe(onChange) {
      const listener = (e: StorageEvent) => {
        if (e.key === SESSION_KEY) onChange(readSession(e.newValue));
      };
      window.addEventListener('storage', listener);
      return () => window.removeEventListener('storage', listener);
    },
  };
}

/** One lock for every tab of the origin (Web Locks); without it, just runs `fn`. */
export function crossTabLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? (locks.request('rialto.session.refresh', fn) as Promise<T>) : fn();
}

/** A small remembered preference (theme). */
export function preference(key: string) {
  const full = `rialto.${key}`;
  return {
    get(): string | null {
      try {
        return globalThis.localStorage?.getItem(full) ?? null;
      } catch {
        return null;
      }
    },
    set(value: string) {
      try {
        globalThis.localStorage?.setItem(full, value);
      } catch {
        // not remembered; fine
      }
    },
  };
}

/** Copies text to the clipboard; resolves whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
