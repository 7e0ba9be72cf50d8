/** The user's fills: each trade an order took part in, with its fee. */
import { For, Show } from 'solid-js';
import type { FillFieldsFragment } from '../graphql/gql/graphql';

export function FillsTable(props: { fills: FillFieldsFragment[] }) {
  return (
    <Show when={props.fills.length > 0} fallback={<p class="muted">No fills yet.</p>}>
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">Fills</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Market</th>
              <th scope="col">Side</th>
              <th class="num" scope="col">
                Price
              </th>
              <th class="num" scope="col">
                Quantity
              </th>
              <th class="num" scope="col">
                Fee
              </th>
              <th scope="col">Role</th>
            </tr>
          </thead>
          <tbody>
            <For each={props.fills}>
              {(f) => (
                <tr data-trade-id={f.tradeId}>
                  <td class="muted">
                    {new Date(f.executedAt).toLocaleString(undefined, { hour12: false })}
                  </td>
                  <td>{f.market}</td>
                  <td class={f.side === 'BUY' ? 'buy' : 'sell'}>
                    {f.side === 'BUY' ? 'Buy' : 'Sell'}
                  </td>
                  <td class="num">{f.price}</td>
                  <td class="num">{f.quantity}</td>
                  <td class="num">
                    {f.fee} {f.feeAsset}
                  </td>
                  <td>{f.liquidity === 'MAKER' ? 'Maker' : 'Taker'}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}
