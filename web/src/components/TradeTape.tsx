/** The latest trades, newest first; colour shows the taker's side. */
import { For, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal';
import type { Trade } from '../stores/trades';

export interface TradeTapeProps {
  trades: Trade[];
  baseDecimals: number;
  quoteDecimals: number;
}

const time = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour12: false });

export function TradeTape(props: TradeTapeProps) {
  return (
    <div class="tape">
      <table>
        <caption class="visually-hidden">Recent trades</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th class="num" scope="col">
              Price
            </th>
            <th class="num" scope="col">
              Quantity
            </th>
          </tr>
        </thead>
        <tbody>
          <For each={props.trades}>
            {(t) => (
              <tr data-trade-id={t.id}>
                <td class="muted">{time(t.executedAt)}</td>
                <td class={`num ${t.takerSide === 'BUY' ? 'buy' : 'sell'}`}>
                  {formatDecimal(t.price, props.quoteDecimals)}
                </td>
                <td class="num">{formatDecimal(t.quantity, props.baseDecimals)}</td>
              </tr>
            )}
          </For>
        </tbody>
      </table>
      <Show when={props.trades.length === 0}>
        <p class="muted">No trades yet.</p>
      </Show>
    </div>
  );
}
