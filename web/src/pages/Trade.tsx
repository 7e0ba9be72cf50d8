/**
 * The trading screen for one market: book, chart, tape, order entry, balances, and the
 * user's open orders, history and fills. This page fetches and wires the live stores; the
 * components only render.
 */
import { useParams } from '@solidjs/router';
import {
  For,
  Match,
  Show,
  Suspense,
  Switch,
  createMemo,
  createResource,
  createSignal,
  lazy,
  onCleanup,
} from 'solid-js';
import { Balances } from '../components/Balances';
import { FillsTable } from '../components/FillsTable';
import { OrderBook } from '../components/OrderBook';
import { OrderForm } from '../components/OrderForm';
import { OrdersTable } from '../components/OrdersTable';
import { TradeTape } from '../components/TradeTape';
import type {
  CandleInterval,
  FillFieldsFragment,
  MarketQuery as MarketData,
} from '../graphql/gql/graphql';
import { query } from '../graphql/live';
import { CandlesQuery, MarketQuery, MyFillsQuery, MyOrdersQuery } from '../graphql/operations';
import { fromApi } from '../lib/candles';
import { formatDecimal, percentChange } from '../lib/decimal';
import { useStores } from '../stores';
import { createBookStore } from '../stores/book';
import type { Order } from '../stores/orders';
import { createTradesStore } from '../stores/trades';

const PriceChart = lazy(() => import('../components/PriceChart'));

type LoadedMarket = NonNullable<MarketData['market']>;

export default function Trade() {
  const params = useParams<{ symbol: string }>();
  const { auth } = useStores();
  const [data] = createResource(
    () => params.symbol,
    async (symbol) => query(auth.api.client, MarketQuery, { symbol }),
  );
  return (
    <Suspense fallback={<p class="muted">Loading {params.symbol}…</p>}>
      <Switch>
        <Match when={data()?.error}>
          <p class="form-error" role="alert">
            {data()?.error}
          </p>
        </Match>
        <Match when={data() && !data()?.data?.market}>
          <section class="panel">
            <h1>No market {params.symbol}</h1>
            <p>
              <a href="/markets">See the markets</a>
            </p>
          </section>
        </Match>
        <Match when={data()?.data?.market}>
          {(m) => (
            <Show when={m().symbol} keyed>
              <TradeScreen market={m()} />
            </Show>
          )}
        </Match>
      </Switch>
    </Suspense>
  );
}

function TradeScreen(props: { market: LoadedMarket }) {
  const { auth, markets, orders, balances, toasts, theme, orderIntent, desktop } = useStores();
  // One market per screen instance: the page re-creates this component for another symbol.
  // eslint-disable-next-line solid/reactivity
  const m = props.market;
  const { ticker: _ticker, trades: initialTrades, ...rules } = m;
  markets.upsert(rules, m.ticker);
  const stopTicker = markets.watchTicker(m.symbol);
  const book = createBookStore(auth.api, m.symbol, 20);
  const trades = createTradesStore(auth.api, m.symbol, initialTrades);
  onCleanup(() => {
    stopTicker();
    book.dispose();
    trades.dispose();
  });

  const market = () => markets.bySymbol(m.symbol) ?? rules;
  const ticker = () => markets.ticker(m.symbol) ?? m.ticker;
  const [picked, setPicked] = createSignal<{ price: string; n: number } | null>(null);
  let picks = 0;
  const change = () => percentChange(ticker().open24h, ticker().last);

  async function loadCandles(interval: CandleInterval) {
    const r = await query(auth.api.client, CandlesQuery, {
      symbol: m.symbol,
      interval,
      limit: 500,
    });
    if (r.error !== null) return r.error;
    return (r.data.market?.candles ?? []).map(fromApi);
  }

  async function cancel(id: string) {
    const error = await orders.cancel(id);
    if (error) toasts.push('error', `Cancel failed: ${error}`);
  }
  async function cancelAll() {
    const error = await orders.cancelAll(m.symbol);
    if (error) toasts.push('error', `Cancel all failed: ${error}`);
  }

  return (
    <>
      <div class="trade-head">
        <h1>{m.symbol}</h1>
        <div class="stat">
          <span>Last</span>
          <span class="num" data-testid="last-price">
            {formatDecimal(ticker().last, m.quote.decimals)}
          </span>
        </div>
        <div class="stat">
          <span>24 h change</span>
          <span class={`num ${change()?.startsWith('-') ? 'sell' : 'buy'}`}>
            {change() === null ? '—' : `${change()} %`}
          </span>
        </div>
        <div class="stat">
          <span>24 h high / low</span>
          <span class="num">
            {formatDecimal(ticker().high24h, m.quote.decimals)} /{' '}
            {formatDecimal(ticker().low24h, m.quote.decimals)}
          </span>
        </div>
        <div class="stat">
          <span>24 h volume</span>
          <span class="num">
            {formatDecimal(ticker().volume24h, m.base.decimals)} {m.base.symbol}
          </span>
        </div>
        <Show when={market().status === 'HALTED'}>
          <strong class="sell">Halted</strong>
        </Show>
        <Show when={desktop}>
          {(d) => (
            <button
              type="button"
              title="Show this market's last price in the system tray"
              onClick={async () => {
                const error = await d().setTrayMarket(m.symbol);
                toasts.push(error ? 'error' : 'info', error ?? `The tray shows ${m.symbol}.`);
              }}
            >
              Show in tray
            </button>
          )}
        </Show>
      </div>

      <div class="trade-grid">
        <section class="panel area-book" aria-labelledby="book-title" data-resyncs={book.resyncs()}>
          <h2 id="book-title">Order book</h2>
          <OrderBook
            bids={book.book.bids}
            asks={book.book.asks}
            baseDecimals={m.base.decimals}
            quoteDecimals={m.quote.decimals}
            ready={book.ready()}
            onPick={(price) => setPicked({ price, n: ++picks })}
          />
        </section>

        <section class="panel area-chart" aria-labelledby="chart-title">
          <h2 id="chart-title">Chart</h2>
          <Suspense fallback={<div class="chart-box muted">Loading the chart…</div>}>
            <PriceChart
              load={loadCandles}
              onTrade={(l) => trades.onTrade(l)}
              baseDecimals={m.base.decimals}
              theme={theme.theme()}
            />
          </Suspense>
        </section>

        <section class="panel area-tape" aria-labelledby="tape-title">
          <h2 id="tape-title">Trades</h2>
          <TradeTape
            trades={trades.state.list}
            baseDecimals={m.base.decimals}
            quoteDecimals={m.quote.decimals}
          />
        </section>

        <div class="area-form stack">
          <section class="panel" aria-labelledby="form-title">
            <h2 id="form-title">Place order</h2>
            <OrderForm
              market={market()}
              funds={{
                base: balances.available(m.base.symbol),
                quote: balances.available(m.quote.symbol),
              }}
              quote={{ last: ticker().last, bestAsk: book.book.asks[0]?.price ?? ticker().bestAsk }}
              signedIn={auth.user() !== null}
              picked={picked()}
              intent={orderIntent.pending()}
              onIntentTaken={() => orderIntent.taken()}
              onSubmit={(input) => orders.place(input)}
            />
          </section>
          <Show when={auth.user()}>
            <section class="panel" aria-labelledby="balances-title">
              <h2 id="balances-title">Balances</h2>
              <Balances
                balances={balances
                  .list()
                  .filter(
                    (b) => b.asset.symbol === m.base.symbol || b.asset.symbol === m.quote.symbol,
                  )}
              />
            </section>
          </Show>
        </div>

        <Show when={auth.user()}>
          <section class="panel area-bottom">
            <AccountTabs
              market={m.symbol}
              open={orders.open(m.symbol)}
              onCancel={cancel}
              onCancelAll={cancelAll}
            />
          </section>
        </Show>
      </div>
    </>
  );
}

type Tab = 'open' | 'history' | 'fills';

/** Open orders, order history and fills for one market. */
function AccountTabs(props: {
  market: string;
  open: Order[];
  onCancel: (id: string) => void;
  onCancelAll: () => void;
}) {
  const { auth, orders } = useStores();
  const [tab, setTab] = createSignal<Tab>('open');
  const [history, setHistory] = createSignal<Order[]>([]);
  const [fills, setFills] = createSignal<FillFieldsFragment[]>([]);
  const [cursor, setCursor] = createSignal<{ orders: string | null; fills: string | null }>({
    orders: null,
    fills: null,
  });
  const [error, setError] = createSignal<string | null>(null);

  async function loadHistory(more = false) {
    const after = more ? cursor().orders : null;
    const r = await query(auth.api.client, MyOrdersQuery, {
      market: props.market,
      first: 50,
      after,
    });
    if (r.error !== null) return setError(r.error);
    const page = r.data.myOrders;
    setHistory((h) => [...(more ? h : []), ...page.edges.map((e) => e.node)]);
    setCursor((c) => ({
      ...c,
      orders: page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null,
    }));
  }
  async function loadFills(more = false) {
    const after = more ? cursor().fills : null;
    const r = await query(auth.api.client, MyFillsQuery, {
      market: props.market,
      first: 50,
      after,
    });
    if (r.error !== null) return setError(r.error);
    const page = r.data.myFills;
    setFills((f) => [...(more ? f : []), ...page.edges.map((e) => e.node)]);
    setCursor((c) => ({
      ...c,
      fills: page.pageInfo.hasNextPage ? (page.pageInfo.endCursor ?? null) : null,
    }));
  }
  function choose(t: Tab) {
    setTab(t);
    setError(null);
    if (t === 'history') void loadHistory();
    if (t === 'fills') void loadFills();
  }
  // History rows follow the live order updates too.
  const liveHistory = createMemo(() => history().map((o) => orders.state.byId[o.id] ?? o));

  const tabs: { id: Tab; label: string }[] = [
    { id: 'open', label: 'Open orders' },
    { id: 'history', label: 'Order history' },
    { id: 'fills', label: 'Fills' },
  ];

  return (
    <>
      <div class="tabs" role="tablist" aria-label="Your orders">
        <For each={tabs}>
          {(t) => (
            <button
              type="button"
              role="tab"
              id={`tab-${t.id}`}
              aria-selected={tab() === t.id}
              aria-controls={`panel-${t.id}`}
              onClick={() => choose(t.id)}
            >
              {t.label}
              {t.id === 'open' ? ` (${props.open.length})` : ''}
            </button>
          )}
        </For>
      </div>
      <Show when={error()}>
        <p class="form-error" role="alert">
          {error()}
        </p>
      </Show>
      <div role="tabpanel" id={`panel-${tab()}`} aria-labelledby={`tab-${tab()}`}>
        <Switch>
          <Match when={tab() === 'open'}>
            <div class="row" style={{ 'justify-content': 'flex-end', 'margin-bottom': '6px' }}>
              <button
                type="button"
                disabled={props.open.length === 0}
                onClick={() => props.onCancelAll()}
              >
                Cancel all
              </button>
            </div>
            <OrdersTable
              orders={props.open}
              caption="Open orders"
              empty="No open orders."
              onCancel={(id) => props.onCancel(id)}
            />
          </Match>
          <Match when={tab() === 'history'}>
            <OrdersTable orders={liveHistory()} caption="Order history" empty="No orders yet." />
            <Show when={cursor().orders}>
              <button type="button" onClick={() => void loadHistory(true)}>
                Load more
              </button>
            </Show>
          </Match>
          <Match when={tab() === 'fills'}>
            <FillsTable fills={fills()} />
            <Show when={cursor().fills}>
              <button type="button" onClick={() => void loadFills(true)}>
                Load more
              </button>
            </Show>
          </Match>
        </Switch>
      </div>
    </>
  );
}
