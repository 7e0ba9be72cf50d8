/** @vitest-environment jsdom */
import { render, screen, within } from '@solidjs/testing-library';
import userEvent from '@testing-library/user-event';
import { createSignal } from 'solid-js';
import { describe, expect, it, vi } from 'vitest';
import type { Level } from '../stores/book';
import { OrderBook } from './OrderBook';

const L = (price: string, quantity: string): Level => ({ price, quantity, orders: 1 });

describe('OrderBook', () => {
  it('renders asks above bids, best prices next to the spread, with cumulative totals', () => {
    render(() => (
      <OrderBook
        bids={[L('24.92', '5'), L('24.9', '1000')]}
        asks={[L('25.04', '3'), L('25.1', '2')]}
        baseDecimals={0}
        quoteDecimals={2}
        ready
      />
    ));
    const asks = within(screen.getByRole('rowgroup', { name: 'Asks' })).getAllByRole('row');
    const bids = within(screen.getByRole('rowgroup', { name: 'Bids' })).getAllByRole('row');
    // Asks top-down: worst first, best (lowest) last, just above the spread.
    expect(asks.map((r) => r.dataset.price)).toEqual(['25.1', '25.04']);
    expect(bids.map((r) => r.dataset.price)).toEqual(['24.92', '24.9']);
    // Quantities and totals formatted with the base decimals and thousands separators.
    expect(bids[1]).toHaveTextContent('24.901,0001,005');
    expect(screen.getByText('Spread 0.12')).toBeInTheDocument();
    // Depth bars: the deepest cumulative (1005) is the full width.
    const bar = bids[1]?.querySelector('.level') as HTMLElement;
    expect(bar.style.backgroundSize).toBe('100.0% 100%');
    const bestAskBar = asks[1]?.querySelector('.level') as HTMLElement;
    expect(bestAskBar.style.backgroundSize).toBe('0.3% 100%');
  });

  it('a click on a level, or its price button, picks the price', async () => {
    const onPick = vi.fn();
    const user = userEvent.setup();
    render(() => (
      <OrderBook
        bids={[L('24.92', '5')]}
        asks={[L('25.04', '3')]}
        baseDecimals={0}
        quoteDecimals={2}
        ready
        onPick={onPick}
      />
    ));
    await user.click(screen.getByRole('button', { name: 'Ask 25.04, quantity 3: use this price' }));
    expect(onPick).toHaveBeenLastCalledWith('25.04');
    await user.click(
      within(screen.getByRole('rowgroup', { name: 'Bids' })).getAllByRole('cell')[1]!,
    );
    expect(onPick).toHaveBeenLastCalledWith('24.92');
    // keyboard: tab to a price and press Enter
    screen.getByRole('button', { name: /Bid 24.92/ }).focus();
    await user.keyboard('{Enter}');
    expect(onPick).toHaveBeenCalledTimes(3);
  });

  it('updates in place as the book changes', () => {
    const [bids, setBids] = createSignal([L('24.92', '5')]);
    render(() => <OrderBook bids={bids()} asks={[]} baseDecimals={0} quoteDecimals={2} ready />);
    expect(screen.getByText('No spread: one side is empty')).toBeInTheDocument();
    setBids([L('24.95', '1'), L('24.92', '5')]);
    const rows = within(screen.getByRole('rowgroup', { name: 'Bids' })).getAllByRole('row');
    expect(rows.map((r) => r.dataset.price)).toEqual(['24.95', '24.92']);
  });

  it('says when the book is still loading', () => {
    render(() => (
      <OrderBook bids={[]} asks={[]} baseDecimals={0} quoteDecimals={2} ready={false} />
    ));
    expect(screen.getByText('Loading the book…')).toBeInTheDocument();
  });
});
