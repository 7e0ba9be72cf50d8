/** Every market with its live ticker (last, 24 h change, volume), searchable. */
import { A } from '@solidjs/router';
import { For, Show, createMemo, createSignal, onCleanup, onMount } from 'solid-js';
import { formatDecimal, percentChange } from '../lib/decimal';
import { useStores } from '../stores';

export default function Markets() {
  const { markets } = useStores();
  const [search, setSearch] = createSignal('');
  const stops: (() => void)[] = [];

  onMount(async () => {
    await markets.load();
    for (const m of markets.state.list) stops.push(markets.watchTicker(m.symbol));
  });
  onCleanup(() => stops.forEach((s) => s()));

  const shown = createMemo(() => {
    const q = search().trim().toLowerCase();
    return markets.state.list.filter(
      (m) =>
        !q ||
        m.symbol.toLowerCase().includes(q) ||
        m.base.name.toLowerCase().includes(q) ||
        m.quote.name.toLowerCase().includes(q),
    );
  });

  return (
    <section class="panel">
      <div class="row" style={{ 'justify-content': 'space-between', 'margin-bottom': '8px' }}>
        <h1 style={{ margin: 0, 'font-size': '18px' }}>Markets</h1>
        <label>
          <span class="visually-hidden">Search markets</span>
          <input
            type="search"
            placeholder="Search markets"
            value={search()}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
      </div>
      <Show when={markets.state.error}>
        <p class="form-error" role="alert">
          {markets.state.error}
        </p>
      </Show>
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">Markets</caption>
          <thead>
            <tr>
              <th scope="col">Market</th>
              <th class="num" scope="col">
                Last
              </th>
              <th class="num" scope="col">
                24 h change
              </th>
              <th class="num" scope="col">
                24 h high
              </th>
              <th class="num" scope="col">
                24 h low
              </th>
              <th class="num" scope="col">
                24 h volume
              </th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            <For each={shown()}>
              {(m) => {
                const t = () => markets.ticker(m.symbol);
                const change = () => percentChange(t()?.open24h, t()?.last);
                return (
                  <tr data-market={m.symbol}>
                    <td>
                      <A href={`/trade/${m.symbol}`}>{m.symbol}</A>{' '}
                      <span class="muted">{m.base.name}</span>
                    </td>
                    <td class="num" data-field="last">
                      {formatDecimal(t()?.last, m.quote.decimals)}
                    </td>
                    <td
                      class={`num ${change()?.startsWith('+') ? 'buy' : change()?.startsWith('-') ? 'sell' : ''}`}
                    >
                      {change() === null ? '—' : `${change()} %`}
                    </td>
                    <td class="num">{formatDecimal(t()?.high24h, m.quote.decimals)}</td>
                    <td class="num">{formatDecimal(t()?.low24h, m.quote.decimals)}</td>
                    <td class="num">
                      {formatDecimal(t()?.volume24h, m.base.decimals)} {m.base.symbol}
                    </td>
                    <td>{m.status === 'OPEN' ? 'Open' : 'Halted'}</td>
                  </tr>
                );
              }}
            </For>
          </tbody>
        </table>
      </div>
      <Show when={markets.state.loaded && shown().length === 0}>
        <p class="muted">No market matches “{search()}”.</p>
      </Show>
    </section>
  );
}
