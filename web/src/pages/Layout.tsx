/** The frame around every page: header (navigation, connection, theme, account) and toasts. */
import { A, type RouteSectionProps, useLocation, useNavigate } from '@solidjs/router';
import { Show, createEffect, lazy, on } from 'solid-js';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { Toasts } from '../components/Toasts';
import { useStores } from '../stores';

/** In-app navigation for links under `tauri://` (loaded in the desktop app only). */
const DesktopLinks = lazy(() => import('../platform/DesktopLinks'));

export function Layout(props: RouteSectionProps) {
  const { auth, theme, toasts, markets, orderIntent, desktop } = useStores();
  const navigate = useNavigate();
  const location = useLocation();
  // A session that ended by itself (refresh refused, server unreachable, another tab) goes
  // to the login page, which says why; never a half-signed-in screen.
  createEffect(
    on(auth.endedMessage, (message) => {
      if (message && !auth.user() && location.pathname !== '/login') {
        navigate(`/login?next=${encodeURIComponent(location.pathname)}`);
      }
    }),
  );
  // The desktop's Buy/Sell actions away from a trading screen: open the first market's.
  createEffect(
    on(orderIntent.pending, async (intent) => {
      if (!intent || location.pathname.startsWith('/trade/')) return;
      if (!markets.state.loaded) await markets.load();
      const first = markets.state.list[0]?.symbol;
      if (first) navigate(`/trade/${first}`);
      else orderIntent.taken();
    }),
  );
  return (
    <>
      <header class="header">
        <A href="/markets" class="brand">
          Rialto
        </A>
        <nav class="nav" aria-label="Main">
          <A href="/markets">Markets</A>
          <Show when={auth.user()}>
            <A href="/account">Account</A>
          </Show>
          <Show when={auth.isAdmin()}>
            <A href="/admin">Admin</A>
          </Show>
        </nav>
        <span class="spacer" />
        <ConnectionBadge state={auth.api.connection()} renewals={auth.api.renewals()} />
        <button
          type="button"
          onClick={() => theme.toggle()}
          aria-pressed={theme.theme() === 'light'}
          aria-label="Light theme"
          title="Switch between dark and light"
        >
          {theme.theme() === 'dark' ? '☾ Dark' : '☀ Light'}
        </button>
        <Show
          when={auth.user()}
          fallback={
            <>
              <A href="/login">Log in</A>
              <A href="/signup">Sign up</A>
            </>
          }
        >
          {(user) => (
            <>
              <span class="muted" data-testid="user-name">
                {user().displayName}
              </span>
              <button
                type="button"
                onClick={async () => {
                  await auth.logout();
                  navigate('/login');
                }}
              >
                Log out
              </button>
            </>
          )}
        </Show>
      </header>
      <main>{props.children}</main>
      <Toasts toasts={toasts.toasts} onDismiss={toasts.dismiss} />
      <Show when={desktop}>
        <DesktopLinks />
      </Show>
    </>
  );
}
