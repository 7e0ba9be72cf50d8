/**
 * The signed-in user's balances (available and held), live from `myBalances`.
 *
 * The server publishes balance events from settlement (trades, releases) but not for the
 * hold brain takes when an order is placed, nor for an admin's credit. So we also refetch
 * after our own placements and cancels, after a reconnect, after the subscription was
 * resubscribed (the server ended it: `error`, `complete`, CONFLICT for a subscriber that
 * fell behind; resubscribed with a backoff), and every 30 s as a safety net.
 */
import { createStore, reconcile } from 'solid-js/store';
import type { Api } from '../graphql/client';
import type { BalanceFieldsFragment } from '../graphql/gql/graphql';
import { type FollowOptions, type Follower, follow, query } from '../graphql/live';
import { MyBalancesQuery, MyBalancesSubscription } from '../graphql/operations';

export type Balance = BalanceFieldsFragment;

export function createBalancesStore(api: Api, opts?: FollowOptions) {
  const [state, setState] = createStore<{ bySymbol: Record<string, Balance>; loaded: boolean }>({
    bySymbol: {},
    loaded: false,
  });
  let live: Follower | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;

  async function refetch() {
    const r = await query(api.client, MyBalancesQuery, {});
    if (r.data) {
      const next: Record<string, Balance> = {};
      for (const b of r.data.myBalances) next[b.asset.symbol] = b;
      setState('bySymbol', reconcile(next));
      setState('loaded', true);
    }
  }

  return {
    state,
    /** Available balance of an asset as a decimal string (null when never held). */
    available: (symbol: string) => state.bySymbol[symbol]?.available ?? null,
    list: () =>
      Object.values(state.bySymbol).sort((a, b) => a.asset.symbol.localeCompare(b.asset.symbol)),
    refetch,
    /** Starts following the signed-in user's balances. */
    start() {
      this.stop();
      live = follow(
        api.client,
        MyBalancesSubscription,
        {},
        {
          onData: (d) => setState('bySymbol', d.myBalances.asset.symbol, reconcile(d.myBalances)),
          // Events between the end and the resubscribe are gone: read the balances again.
          onResubscribed: () => void refetch(),
        },
        opts,
      );
      void refetch();
      poll = setInterval(() => void refetch(), 30_000);
    },
    stop() {
      live?.stop();
      live = null;
      if (poll !== null) clearInterval(poll);
      poll = null;
    },
    clear() {
      this.stop();
      setState({ bySymbol: {}, loaded: false });
    },
  };
}

export type BalancesStore = ReturnType<typeof createBalancesStore>;
