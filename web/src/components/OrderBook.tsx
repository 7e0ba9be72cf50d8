/**
 * The L2 book: asks above (best at the bottom), the spread, bids below (best at the top),
 * each level with a bar showing cumulative depth. Clicking a level (or its price button,
 * for keyboards) hands its price to the order form. Rows are keyed by position (`Index`),
 * not by row object: every change makes new row objects, so keying by identity would
 * replace every row each frame (BENCHMARKS.md §6).
 */
import { Index, Show, createMemo } from 'solid-js';
import { type DepthRow, type Level, depthRows, spread } from '../stores/book';
import { formatDecimal, formatUnits } from '../lib/decimal';

export interface OrderBookProps {
  bids: Level[];
  asks: Level[];
  baseDecimals: number;
  quoteDecimals: number;
  /** False until the first snapshot arrived. */
  ready: boolean;
  onPick?: (price: string) => void;
}

export function OrderBook(props: OrderBookProps) {
  const rows = createMemo(() =>
    depthRows({ bids: props.bids, asks: props.asks }, props.baseDecimals),
  );
  const asksTopDown = createMemo(() => rows().asks.slice().reverse());
  const gap = createMemo(() => spread({ bids: props.bids, asks: props.asks }, props.quoteDecimals));

  const Row = (p: { row: DepthRow; side: 'bid' | 'ask' }) => {
    const price = () => formatDecimal(p.row.price, props.quoteDecimals);
    const qty = () => formatDecimal(p.row.quantity, props.baseDecimals);
    return (
      <tr class={p.side} data-price={p.row.price} onClick={() => props.onPick?.(p.row.price)}>
        <td class="num">
          <button
            type="button"
            class="price-btn"
            aria-label={`${p.side === 'bid' ? 'Bid' : 'Ask'} ${price()}, quantity ${qty()}: use this price`}
            onClick={(e) => {
              e.stopPropagation();
              props.onPick?.(p.row.price);
            }}
          >
            {price()}
          </button>
        </td>
        <td class="num">{qty()}</td>
        <td
          class="num level"
          style={{ 'background-size': `${(p.row.share * 100).toFixed(1)}% 100%` }}
        >
          {formatUnits(p.row.cumulative, props.baseDecimals)}
        </td>
      </tr>
    );
  };

  return (
    <div class="book">
      <table>
        <caption class="visually-hidden">Order book</caption>
        <thead>
          <tr>
            <th class="num" scope="col">
              Price
            </th>
            <th class="num" scope="col">
              Quantity
            </th>
            <th class="num" scope="col">
              Total
            </th>
          </tr>
        </thead>
        <tbody aria-label="Asks">
          <Index each={asksTopDown()}>{(row) => <Row row={row()} side="ask" />}</Index>
        </tbody>
        <tbody>
          <tr class="spread">
            <td colSpan={3}>
              <Show when={props.ready} fallback="Loading the book…">
                <Show when={gap() !== null} fallback="No spread: one side is empty">
                  Spread {formatUnits(gap() ?? 0n, props.quoteDecimals)}
                </Show>
              </Show>
            </td>
          </tr>
        </tbody>
        <tbody aria-label="Bids">
          <Index each={rows().bids}>{(row) => <Row row={row()} side="bid" />}</Index>
        </tbody>
      </table>
    </div>
  );
}
