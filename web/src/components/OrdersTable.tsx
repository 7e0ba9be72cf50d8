/** Orders in a table: open orders (with cancel) or history. */
import { For, Show } from 'solid-js';
import { reasonText } from '../stores/orders';
import type { Order } from '../stores/orders';

export interface OrdersTableProps {
  orders: Order[];
  caption: string;
  empty: string;
  /** When given, each row gets a Cancel button. */
  onCancel?: (id: string) => void;
}

const STATUS: Record<Order['status'], string> = {
  ACCEPTED: 'Accepted',
  OPEN: 'Open',
  PARTIALLY_FILLED: 'Partly filled',
  FILLED: 'Filled',
  CANCELLED: 'Cancelled',
  REJECTED: 'Rejected',
};

const when = (iso: string) =>
  new Date(iso).toLocaleString(undefined, {
    hour12: false,
    dateStyle: 'short',
    timeStyle: 'medium',
  });

export function OrdersTable(props: OrdersTableProps) {
  return (
    <Show when={props.orders.length > 0} fallback={<p class="muted">{props.empty}</p>}>
      <div class="table-scroll">
        <table>
          <caption class="visually-hidden">{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Market</th>
              <th scope="col">Side</th>
              <th scope="col">Type</th>
              <th class="num" scope="col">
                Price
              </th>
              <th class="num" scope="col">
                Filled / Quantity
              </th>
              <th class="num" scope="col">
                Avg price
              </th>
              <th scope="col">Status</th>
              <Show when={props.onCancel}>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </Show>
            </tr>
          </thead>
          <tbody>
            <For each={props.orders}>
              {(o) => (
                <tr data-order-id={o.id} data-status={o.status}>
                  <td class="muted">{when(o.createdAt)}</td>
                  <td>{o.market.symbol}</td>
                  <td class={o.side === 'BUY' ? 'buy' : 'sell'}>
                    {o.side === 'BUY' ? 'Buy' : 'Sell'}
                  </td>
                  <td>
                    {o.type === 'LIMIT' ? 'Limit' : 'Market'} {o.timeInForce}
                    {o.postOnly ? ' post-only' : ''}
                  </td>
                  <td class="num">{o.price ?? '—'}</td>
                  <td class="num">
                    {o.filledQuantity} / {o.quantity}
                  </td>
                  <td class="num">{o.averagePrice ?? '—'}</td>
                  <td title={o.reason ? reasonText(o.reason) : undefined}>
                    {STATUS[o.status]}
                    <Show when={o.reason && o.status !== 'FILLED'}>
                      <span class="muted"> ({reasonText(o.reason)})</span>
                    </Show>
                  </td>
                  <Show when={props.onCancel}>
                    {(cancel) => (
                      <td>
                        <button
                          type="button"
                          aria-label={`Cancel ${o.side === 'BUY' ? 'buy' : 'sell'} ${o.quantity} at ${o.price ?? 'market'}`}
                          onClick={() => cancel()(o.id)}
                        >
                          Cancel
                        </button>
                      </td>
                    )}
                  </Show>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </div>
    </Show>
  );
}
