/** One market's recent trades (the tape), newest first, live from the `trades` subscription. */
import { createStore, produce } from 'solid-js/store';
import type { Api } from '../graphql/client';
import type { TradeFieldsFragment } from '../graphql/gql/graphql';
import { listen } from '../graphql/live';
import { TradesSubscription } from '../graphql/operations';

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

export function createTradesStore(api: Api, market: string, initial: Trade[] = []) {
  const [state, setState] = createStore<{ list: Trade[] }>({ list: mergeTrades([], initial) });
  const listeners = new Set<(t: Trade) => void>();
  const stop = listen(api.client, TradesSubscription, { market }, (d) => {
    setState(produce((s) => void (s.list = mergeTrades(s.list, [d.trades]))));
    for (const l of listeners) l(d.trades);
  });
  return {
    state,
    /** Adds trades fetched by a query (after a reconnect). */
    add: (trades: Trade[]) => setState('list', (l) => mergeTrades(l, trades)),
    /** Calls back for each live trade (the chart). */
    onTrade(listener: (t: Trade) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: () => {
      stop();
      listeners.clear();
    },
  };
}

export type TradesStore = ReturnType<typeof createTradesStore>;
