/** One market's recent trades (the tape), newest first, live from the `trades` subscription. */
import { createStore, produce } from 'solid-js/store';
import type { Api } from '../graphql/client';
import type { TradeFieldsFragment } from '../graphql/gql/graphql';
import { type FollowOptions, follow, query } from '../graphql/live';
import { RecentTradesQuery, TradesSubscription } from '../graphql/operations';

export type Trade = TradeFieldsFragment;

/** Merges trades into a newest-first list by sequence, without duplicates, capped. */
export function mergeTrades(list: Trade[], incoming: Trade[], cap = 100): Trade[] {
  const byId = new Map(list.map((t) => [t.id, t]));
  for (const t of incoming) byId.set(t.id, t);
  return [...byId.values()]
    .sort((a, b) => {
      const x = BigInt(a.sequence);
      const y = BigInt(b.sequence);
      return x < y ? 1 : x > y ? -1 : 0;
    })
    .slice(0, cap);
}

/**
 * The tape of one market. Trades missed while the stream was interrupted — the socket
 * reconnected (e.g. to renew an expired token), or the server ended the subscription and it
 * was resubscribed after a backoff — are read again (`market { trades }`) and merged in.
 */
export function createTradesStore(
  api: Api,
  market: string,
  initial: Trade[] = [],
  opts?: FollowOptions,
) {
  const [state, setState] = createStore<{ list: Trade[] }>({ list: mergeTrades([], initial) });
  const listeners = new Set<(t: Trade) => void>();
  const add = (trades: Trade[]) => setState('list', (l) => mergeTrades(l, trades));

  async function reload() {
    const r = await query(api.client, RecentTradesQuery, { symbol: market });
    if (r.data?.market) add(r.data.market.trades);
  }

  const live = follow(
    api.client,
    TradesSubscription,
    { market },
    {
      onData: (d) => {
        setState(produce((s) => void (s.list = mergeTrades(s.list, [d.trades]))));
        for (const l of listeners) l(d.trades);
      },
      onResubscribed: () => void reload(),
    },
    opts,
  );
  const stopReconnect = api.onReconnect(() => void reload());
  return {
    state,
    /** Adds trades fetched by a query. */
    add,
    /** Reads the recent trades again and merges them in. */
    reload,
    /** Calls back for each live trade (the chart). */
    onTrade(listener: (t: Trade) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: () => {
      live.stop();
      stopReconnect();
      listeners.clear();
    },
  };
}

export type TradesStore = ReturnType<typeof createTradesStore>;
