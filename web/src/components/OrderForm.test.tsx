/** @vitest-environment jsdom */
import { render, screen } from '@solidjs/testing-library';
import userEvent from '@testing-library/user-event';
import { createSignal } from 'solid-js';
import { describe, expect, it, vi } from 'vitest';
import type { PlaceOrderInput } from '../graphql/gql/graphql';
import type { MarketRules } from '../lib/orderForm';
import { OrderForm } from './OrderForm';

const market: MarketRules = {
  symbol: 'ACME-USD',
  base: { symbol: 'ACME', decimals: 0 },
  quote: { symbol: 'USD', decimals: 2 },
  tickSize: '0.05',
  lotSize: '1',
  minQuantity: '2',
  makerFeeBps: 10,
  takerFeeBps: 20,
  status: 'OPEN',
};

function setup(over: Partial<Parameters<typeof OrderForm>[0]> = {}) {
  const onSubmit = vi.fn(async (_input: PlaceOrderInput) => null as string | null);
  const user = userEvent.setup();
  const result = render(() => (
    <OrderForm
      market={market}
      funds={{ base: '10', quote: '1000' }}
      quote={{ last: '100', bestAsk: '100.05' }}
      signedIn
      onSubmit={onSubmit}
      {...over}
    />
  ));
  return { onSubmit, user, ...result };
}

describe('OrderForm', () => {
  it('takes a side request (the desktop shortcuts): that side, focused, once', async () => {
    const [intent, setIntent] = createSignal<{ side: 'BUY' | 'SELL'; n: number } | null>({
      side: 'SELL',
      n: 1,
    });
    const taken = vi.fn(() => setIntent(null));
    setup({
      get intent() {
        return intent();
      },
      onIntentTaken: taken,
    });
    expect(screen.getByRole('button', { name: 'Sell' })).toHaveAttribute('aria-pressed', 'true');
    expect(document.activeElement).toBe(screen.getByLabelText('Price (USD)'));
    expect(screen.getByRole('button', { name: 'Sell ACME' })).toBeInTheDocument();
    setIntent({ side: 'BUY', n: 2 });
    expect(screen.getByRole('button', { name: 'Buy' })).toHaveAttribute('aria-pressed', 'true');
    expect(taken).toHaveBeenCalledTimes(2);
  });

  it('sends a valid limit buy', async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText('Price (USD)'), '100.05');
    await user.type(screen.getByLabelText('Quantity (ACME)'), '3');
    expect(screen.getByText('300.78 USD')).toBeInTheDocument(); // what it will hold
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
    expect(onSubmit).toHaveBeenCalledWith({
      market: 'ACME-USD',
      side: 'BUY',
      type: 'LIMIT',
      price: '100.05',
      quantity: '3',
      timeInForce: 'GTC',
      postOnly: false,
    });
    expect(await screen.findByRole('status')).toHaveTextContent('Buy order placed');
  });

  it('shows inline errors for bad input and sends nothing', async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText('Price (USD)'), '100.03');
    await user.type(screen.getByLabelText('Quantity (ACME)'), '1');
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(onSubmit).not.toHaveBeenCalled();
    const price = screen.getByLabelText('Price (USD)');
    expect(price).toHaveAttribute('aria-invalid', 'true');
    expect(price).toHaveAccessibleDescription('Price must be a multiple of the tick size 0.05');
    expect(screen.getByLabelText('Quantity (ACME)')).toHaveAccessibleDescription(
      'Quantity must be at least 2',
    );
    expect(price).toHaveFocus();
  });

  it('errors clear as the input is fixed', async () => {
    const { user } = setup();
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(screen.getByText('Price is required')).toBeInTheDocument();
    await user.type(screen.getByLabelText('Price (USD)'), '100');
    expect(screen.queryByText('Price is required')).not.toBeInTheDocument();
  });

  it('refuses an order the available balance does not cover', async () => {
    const { onSubmit, user } = setup({ funds: { base: '1', quote: '50' } });
    await user.type(screen.getByLabelText('Price (USD)'), '100');
    await user.type(screen.getByLabelText('Quantity (ACME)'), '2');
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByRole('alert')).toHaveTextContent(
      'Insufficient USD: this order needs 200.40 USD, 50.00 available',
    );
    await user.click(screen.getByRole('button', { name: 'Sell' }));
    await user.click(screen.getByRole('button', { name: 'Sell ACME' }));
    expect(screen.getByRole('alert')).toHaveTextContent('Insufficient ACME');
  });

  it('market orders: no price field, IOC by default, no post-only', async () => {
    const { onSubmit, user } = setup();
    await user.click(screen.getByRole('button', { name: 'Market' }));
    expect(screen.queryByLabelText('Price (USD)')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Time in force')).toHaveValue('IOC');
    expect(screen.getByLabelText(/Post-only/)).toBeDisabled();
    await user.type(screen.getByLabelText('Quantity (ACME)'), '2');
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(onSubmit).toHaveBeenCalledWith(
      expect.objectContaining({ type: 'MARKET', timeInForce: 'IOC', quantity: '2' }),
    );
    expect(onSubmit.mock.calls[0]?.[0]).not.toHaveProperty('price');
  });

  it('post-only with IOC is an inline error', async () => {
    const { onSubmit, user } = setup();
    await user.type(screen.getByLabelText('Price (USD)'), '100');
    await user.type(screen.getByLabelText('Quantity (ACME)'), '2');
    await user.selectOptions(screen.getByLabelText('Time in force'), 'IOC');
    await user.click(screen.getByLabelText(/Post-only/));
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByText('Post-only needs GTC')).toBeInTheDocument();
  });

  it('shows a server error in plain words', async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn(async () => 'This market is halted: it takes no new orders for now');
    render(() => (
      <OrderForm
        market={market}
        funds={{ base: '10', quote: '1000' }}
        quote={{}}
        signedIn
        onSubmit={onSubmit}
      />
    ));
    await user.type(screen.getByLabelText('Price (USD)'), '100');
    await user.type(screen.getByLabelText('Quantity (ACME)'), '2');
    await user.click(screen.getByRole('button', { name: 'Buy ACME' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This market is halted');
  });

  it('a price picked in the book fills the price field', () => {
    const [picked, setPicked] = createSignal<{ price: string; n: number } | null>(null);
    render(() => (
      <OrderForm
        market={market}
        funds={{ base: '10', quote: '1000' }}
        quote={{}}
        signedIn
        picked={picked()}
        onSubmit={() => Promise.resolve(null)}
      />
    ));
    setPicked({ price: '99.95', n: 1 });
    expect(screen.getByLabelText('Price (USD)')).toHaveValue('99.95');
    expect(screen.getByLabelText('Quantity (ACME)')).toHaveFocus();
  });

  it('signed out: a login link instead of the submit button', () => {
    setup({ signedIn: false });
    expect(screen.queryByRole('button', { name: 'Buy ACME' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Log in' })).toBeInTheDocument();
  });
});
