/** Available and held per asset. */
import { For, Show } from 'solid-js';
import { formatDecimal } from '../lib/decimal';
import type { Balance } from '../stores/balances';

export function Balances(props: { balances: Balance[] }) {
  return (
    <Show when={props.balances.length > 0} fallback={<p class="muted">No balances yet.</p>}>
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">Balances</caption>
          <thead>
            <tr>
              <th scope="col">Asset</th>
              <th class="num" scope="col">
                Available
              </th>
              <th class="num" scope="col">
                Held
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={props.balances}>
              {(b) => (
                <tr data-asset={b.asset.symbol}>
                  <td>{b.asset.symbol}</td>
                  <td class="num" data-field="available">
                    {formatDecimal(b.available, b.asset.decimals)}
                  </td>
                  <td class="num" data-field="held">
                    {formatDecimal(b.held, b.asset.decimals)}
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}
