/** The listed markets and their live tickers. */
import { createStore, reconcile } from 'solid-js/store';
import type { Api } from '../graphql/client';
import type { MarketFieldsFragment, TickerFieldsFragment } from '../graphql/gql/graphql';
import { follow, query } from '../graphql/live';
import { MarketsQuery, TickerSubscription } from '../graphql/operations';

export type Market = MarketFieldsFragment;
export type Ticker = TickerFieldsFragment;

interface MarketsState {
  list: Market[];
  tickers: Record<string, Ticker>;
  loaded: boolean;
  error: string | null;
}

export function createMarketsStore(api: Api) {
  const [state, setState] = createStore<MarketsState>({
    list: [],
    tickers: {},
    loaded: false,
    error: null,
  });
  const watchers = new Map<string, { count: number; stop: () => void }>();

  async function load() {
    const r = await query(api.client, MarketsQuery, {});
    if (r.error !== null) {
      setState({ error: r.error });
      return;
    }
    const list = r.data.markets.map(({ ticker: _t, ...m }) => m);
    setState('list', reconcile(list, { key: 'symbol' }));
    for (const m of r.data.markets) setState('tickers', m.symbol, reconcile(m.ticker));
    setState({ loaded: true, error: null });
  }

  // After a reconnect, tickers may have moved while we were away.
  api.onReconnect(() => void load());

  return {
    state,
    load,
    bySymbol: (symbol: string) => state.list.find((m) => m.symbol === symbol),
    ticker: (symbol: string) => state.tickers[symbol],
    /** Replaces one market (after an admin changed it, or a page loaded it). */
    upsert(m: Market, ticker?: Ticker) {
      const i = state.list.findIndex((x) => x.symbol === m.symbol);
      if (i >= 0) setState('list', i, reconcile(m));
      else setState('list', state.list.length, m);
      if (ticker) setState('tickers', m.symbol, reconcile(ticker));
    },
    /** Follows a market's ticker until the returned function is called (shared per market). */
    watchTicker(symbol: string) {
      let w = watchers.get(symbol);
      if (!w) {
        // The ticker's first message is the ticker now: nothing to re-read after a restart.
        const live = follow(
          api.client,
          TickerSubscription,
          { market: symbol },
          {
            onData: (d) => setState('tickers', symbol, reconcile(d.ticker)),
          },
        );
        w = { count: 0, stop: () => live.stop() };
        watchers.set(symbol, w);
      }
      w.count++;
      let done = false;
      return () => {
        if (done || !w) return;
        done = true;
        if (--w.count === 0) {
          w.stop();
          watchers.delete(symbol);
        }
      };
    },
  };
}

export type MarketsStore = ReturnType<typeof createMarketsStore>;
