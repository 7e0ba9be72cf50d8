/**
 * Every app-wide store, created once and provided through one context (STYLE.md §3).
 * Per-market stores (book, trades) belong to the trade page and are created there.
 */
import {
  type Accessor,
  type ParentProps,
  createContext,
  createEffect,
  createMemo,
  createSignal,
  on,
  onCleanup,
  useContext,
} from 'solid-js';
import type { Side } from '../graphql/gql/graphql';
import type { Desktop, DesktopAction, PlatformHooks } from '../platform/platform';
import { type AuthStore, type AuthStoreOptions, createAuthStore } from './auth';
import { type BalancesStore, createBalancesStore } from './balances';
import { type MarketsStore, createMarketsStore } from './markets';
import { type OrdersStore, createOrdersStore, fillMessage } from './orders';
import { type ThemeStore, createThemeStore } from './theme';
import { type ToastsStore, createToastsStore } from './toasts';

export interface Stores {
  auth: AuthStore;
  markets: MarketsStore;
  orders: OrdersStore;
  balances: BalancesStore;
  toasts: ToastsStore;
  theme: ThemeStore;
  /** A request to bring up the order form on a side (the desktop's Buy/Sell actions). */
  orderIntent: OrderIntent;
  /** The desktop app's connection and controls; null in the browser. */
  desktop: Desktop | null;
}

export interface OrderIntent {
  /** The pending request; `n` changes with every request, even for the same side. */
  pending: Accessor<{ side: Side; n: number } | null>;
  request(side: Side): void;
  /** The order form took it. */
  taken(): void;
}

export interface StoresOptions extends AuthStoreOptions {
  platform?: PlatformHooks;
}

export function createStores(opts: StoresOptions = {}): Stores {
  const platform = opts.platform ?? {};
  const auth = createAuthStore(opts);
  const toasts = createToastsStore();
  const markets = createMarketsStore(auth.api);
  const balances = createBalancesStore(auth.api);
  const orders = createOrdersStore(auth.api, {
    onFill: (o, before) => {
      toasts.push('fill', fillMessage(o));
      platform.onFill?.(o, before);
    },
    onHoldsChanged: () => void balances.refetch(),
  });
  const theme = createThemeStore();

  const [pending, setPending] = createSignal<{ side: Side; n: number } | null>(null);
  let requests = 0;
  const orderIntent: OrderIntent = {
    pending,
    request: (side) => setPending({ side, n: ++requests }),
    taken: () => setPending(null),
  };

  // The desktop's menu, shortcuts and tray do what the app's own controls do.
  async function cancelAll() {
    if (!auth.user()) {
      toasts.push('info', 'Log in to cancel your orders.');
      return;
    }
    const error = await orders.cancelAll();
    toasts.push(
      error ? 'error' : 'info',
      error ? `Cancel all failed: ${error}` : 'Cancelled all open orders.',
    );
  }
  platform.onAction?.((action: DesktopAction) => {
    if (action === 'cancel-all') void cancelAll();
    else orderIntent.request(action === 'buy' ? 'BUY' : 'SELL');
  });

  // The account streams follow whoever is signed in — not each renewal of their session,
  // which replaces the session object but not the user (a memo compares by value).
  const userId = createMemo(() => auth.user()?.id);
  createEffect(
    on(userId, (id) => {
      if (id) {
        orders.start();
        balances.start();
      } else {
        orders.clear();
        balances.clear();
      }
    }),
  );
  // Events missed while the socket was down: fetch the current state again.
  auth.api.onReconnect(() => {
    if (!auth.user()) return;
    void orders.refetch();
    void balances.refetch();
  });

  return {
    auth,
    markets,
    orders,
    balances,
    toasts,
    theme,
    orderIntent,
    desktop: platform.desktop ?? null,
  };
}

const StoresContext = createContext<Stores>();

export function StoresProvider(props: ParentProps<{ stores: Stores }>) {
  const stores = props.stores; // eslint-disable-line solid/reactivity -- created once, never replaced
  onCleanup(() => stores.auth.dispose());
  return <StoresContext.Provider value={stores}>{props.children}</StoresContext.Provider>;
}

export function useStores(): Stores {
  const s = useContext(StoresContext);
  if (!s) throw new Error('useStores outside <StoresProvider>');
  return s;
}
