/**
 * Who is signed in. Wraps the session manager (graphql/auth.ts) in signals, owns the API
 * client (whose requests it authenticates), and reconnects the socket when the user changes.
 */
import { createSignal } from 'solid-js';
import {
  type AuthPayload,
  RefreshRejected,
  type SessionStorage,
  createSessionManager,
} from '../graphql/auth';
import { type Api, type ApiOptions, createApi } from '../graphql/client';
import { mutate } from '../graphql/live';
import {
  LoginMutation,
  LogoutMutation,
  RefreshMutation,
  RegisterMutation,
} from '../graphql/operations';
import { browserSessionStorage, crossTabLock } from '../platform/web';

export interface AuthStoreOptions {
  storage?: SessionStorage;
  api?: ApiOptions;
}

/** No credential: these mutations are how one gets a credential. */
const ANONYMOUS = { noAuth: true, fetchOptions: {} } as const;

export function createAuthStore(opts: AuthStoreOptions = {}) {
  // The refresh call needs the client and the client needs the session: `refresh` (below)
  // is a hoisted function that only runs later, once `api` exists.
  const manager = createSessionManager({
    storage: opts.storage ?? browserSessionStorage(),
    withLock: crossTabLock,
    refresh,
  });
  const api: Api = createApi(
    { token: manager.accessToken, isExpired: manager.isExpired, refresh: manager.refresh },
    opts.api,
  );

  async function refresh(refreshToken: string): Promise<AuthPayload> {
    const r = await api.client.mutation(RefreshMutation, { refreshToken }, ANONYMOUS).toPromise();
    if (r.data) return r.data.refresh;
    // The server answered and said no (a spent or revoked token): the session is over.
    if (r.error?.graphQLErrors.length) throw new RefreshRejected(r.error.message);
    throw new Error(r.error?.message ?? 'no answer to refresh');
  }

  const [session, setSession] = createSignal(manager.get());
  const [ended, setEnded] = createSignal(manager.endedMessage());
  manager.subscribe((s) => {
    const before = session()?.user.id;
    setSession(s);
    setEnded(manager.endedMessage());
    // The socket authenticated as whoever was signed in when it connected.
    if (before !== s?.user.id) api.reauthenticate();
  });

  async function signInWith(
    p: Promise<{ data: AuthPayload | null; error: string | null }>,
  ): Promise<string | null> {
    const r = await p;
    if (r.error !== null || !r.data) return r.error ?? 'No answer';
    manager.signIn(r.data);
    return null;
  }

  return {
    api,
    /** The signed-in user, or null. */
    user: () => session()?.user ?? null,
    isAdmin: () => session()?.user.role === 'ADMIN',
    /** Why the last session ended by itself ("Your session has ended..."), or null. */
    endedMessage: ended,
    /** Resolves an error message, or null on success. */
    login: (email: string, password: string) =>
      signInWith(
        mutate(api.client, LoginMutation, { input: { email, password } }, ANONYMOUS).then((r) => ({
          data: r.data?.login ?? null,
          error: r.error,
        })),
      ),
    register: (email: string, password: string, displayName: string) =>
      signInWith(
        mutate(
          api.client,
          RegisterMutation,
          { input: { email, password, displayName } },
          ANONYMOUS,
        ).then((r) => ({ data: r.data?.register ?? null, error: r.error })),
      ),
    /** Revokes the refresh token (best effort) and forgets the session. */
    async logout() {
      const s = manager.get();
      manager.signOut(null);
      if (s) await mutate(api.client, LogoutMutation, { refreshToken: s.refreshToken }, ANONYMOUS);
    },
    /**
     * Signs in with a refresh token kept elsewhere (the desktop app's keychain). Rejects
     * RefreshRejected when the server refuses it, another error when it cannot be asked.
     */
    async resume(refreshToken: string) {
      manager.signIn(await refresh(refreshToken));
    },
    /** Ends the session locally with a message (e.g. after a password change). */
    endSession: (message: string) => manager.signOut(message),
    dispose() {
      manager.dispose();
      api.dispose();
    },
  };
}

export type AuthStore = ReturnType<typeof createAuthStore>;
