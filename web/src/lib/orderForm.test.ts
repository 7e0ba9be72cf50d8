import { describe, expect, it } from 'vitest';
import {
  type Funds,
  type MarketRules,
  type OrderDraft,
  limitBuyHold,
  validateOrder,
} from './orderForm';

/** The server's test market (brain/src/domain/order.rs `acme()`): tick 0.05, min 2. */
const acme: MarketRules = {
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

/** Fractional lots: 0.01 BTC lots (8 decimals), 1 USD ticks: one tick of one lot is 1 cent. */
const btc: MarketRules = {
  symbol: 'BTC-USD',
  base: { symbol: 'BTC', decimals: 8 },
  quote: { symbol: 'USD', decimals: 2 },
  tickSize: '1',
  lotSize: '0.01',
  minQuantity: '0.02',
  makerFeeBps: 0,
  takerFeeBps: 25,
  status: 'OPEN',
};

const rich = { base: '1000000', quote: '100000000' };
const limit = (side: OrderDraft['side'], price: string, quantity: string): OrderDraft => ({
  side,
  type: 'LIMIT',
  price,
  quantity,
  timeInForce: 'GTC',
  postOnly: false,
});
const market = (side: OrderDraft['side'], quantity: string): OrderDraft => ({
  side,
  type: 'MARKET',
  price: '',
  quantity,
  timeInForce: 'IOC',
  postOnly: false,
});
const errorsOf = (m: MarketRules, d: OrderDraft, funds: Funds = rich, quote = {}) => {
  const v = validateOrder(m, d, funds, quote);
  return v.ok ? {} : v.errors;
};

describe('limit buy hold (matcher required_hold)', () => {
  it('is the lot value plus the higher fee, rounded up, per lot', () => {
    // The server's own case: one lot at 100.05 is 10_005 cents + 20 bps rounded up (21).
    expect(limitBuyHold(acme, 10_005n, 3n)).toBe(3n * 10_026n);
  });

  it('rounds the fee per lot, not on the total', () => {
    // One 0.01 BTC lot at 30001 USD is 30001 cents; 25 bps of it is 75.0025 → 76 cents.
    expect(limitBuyHold(btc, 3_000_100n, 1n)).toBe(30_001n + 76n);
    // 7 lots hold 7 × 30077 = 210539 cents, more than fee-on-total (210007 + 526 = 210533).
    expect(limitBuyHold(btc, 3_000_100n, 7n)).toBe(210_539n);
  });
});

describe('validateOrder', () => {
  it('accepts a valid limit buy and says what it holds', () => {
    const v = validateOrder(acme, limit('BUY', '100.05', '3'), rich);
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.input).toEqual({
      market: 'ACME-USD',
      side: 'BUY',
      type: 'LIMIT',
      price: '100.05',
      quantity: '3',
      timeInForce: 'GTC',
      postOnly: false,
    });
    expect(v.hold).toMatchObject({ asset: 'USD', amount: 30_078n, text: '300.78 USD' });
  });

  it('sends canonical numbers', () => {
    const v = validateOrder(acme, limit('SELL', '0100.50', '003'), rich);
    expect(v.ok && v.input).toMatchObject({ price: '100.5', quantity: '3' });
  });

  it('a sell holds its base quantity', () => {
    const v = validateOrder(acme, limit('SELL', '100', '3'), rich);
    expect(v.ok && v.hold).toMatchObject({ asset: 'ACME', amount: 3n });
  });

  it.each([
    ['100.03', '3', 'price', 'Price must be a multiple of the tick size 0.05'],
    ['100', '2.5', 'quantity', 'Quantity must be a whole number'],
    ['100', '1', 'quantity', 'Quantity must be at least 2'],
    ['0', '3', 'price', 'Price must be positive'],
    ['-5', '3', 'price', 'Price must not be negative'],
    ['100.001', '3', 'price', 'Price at most 2 decimal places'],
    ['1234567890123456789012345678901234567890', '3', 'price', 'Price is too large'],
    ['abc', '3', 'price', 'Price is not a decimal number'],
    ['', '3', 'price', 'Price is required'],
    ['100', 'abc', 'quantity', 'Quantity is not a decimal number'],
    ['100', '0', 'quantity', 'Quantity must be positive'],
    ['100', '', 'quantity', 'Quantity is required'],
    ['1e2', '3', 'price', 'Price is not a decimal number'],
  ])('price %s, quantity %s: %s error', (price, qty, field, message) => {
    expect(errorsOf(acme, limit('BUY', price, qty))).toEqual({ [field]: message });
  });

  it('checks lot multiples and minimums in the base asset', () => {
    expect(errorsOf(btc, limit('BUY', '30000', '0.025')).quantity).toBe(
      'Quantity must be a multiple of the lot size 0.01',
    );
    expect(errorsOf(btc, limit('BUY', '30000', '0.01')).quantity).toBe(
      'Quantity must be at least 0.02',
    );
    expect(errorsOf(btc, limit('BUY', '30000', '0.000000001')).quantity).toBe(
      'Quantity at most 8 decimal places',
    );
    expect(errorsOf(btc, limit('BUY', '30001', '0.02'))).toEqual({});
    expect(errorsOf(btc, limit('BUY', '30000.5', '0.02')).price).toMatch(/tick size 1$/);
  });

  it('reports every field error at once', () => {
    const e = errorsOf(acme, { ...limit('BUY', '1.01', '1'), postOnly: true, timeInForce: 'IOC' });
    expect(Object.keys(e).sort()).toEqual(['postOnly', 'price', 'quantity']);
  });

  describe('funds', () => {
    it('a buy needs its hold in available quote', () => {
      // 3 × 10_026 cents = 300.78 USD needed
      expect(errorsOf(acme, limit('BUY', '100.05', '3'), { base: '0', quote: '300.78' })).toEqual(
        {},
      );
      expect(errorsOf(acme, limit('BUY', '100.05', '3'), { base: '0', quote: '300.77' })).toEqual({
        funds: 'Insufficient USD: this order needs 300.78 USD, 300.77 available',
      });
    });

    it('a sell needs its quantity in available base', () => {
      expect(errorsOf(acme, limit('SELL', '100', '5'), { base: '4', quote: '1000' }).funds).toBe(
        'Insufficient ACME: this order needs 5 ACME, 4 available',
      );
    });

    it('a missing balance is zero', () => {
      expect(errorsOf(acme, limit('SELL', '100', '2'), { base: null, quote: null }).funds).toMatch(
        /0 available/,
      );
    });

    it('no funds check until the quantity is valid', () => {
      expect(errorsOf(acme, limit('SELL', '100', 'x'), { base: '0', quote: '0' }).funds).toBe(
        undefined,
      );
    });
  });

  describe('market orders', () => {
    it('take no price and send none', () => {
      const v = validateOrder(acme, { ...market('SELL', '2'), price: '99' }, rich);
      expect(v.ok && v.input.price).toBe(undefined);
    });

    it('a market buy needs a last trade', () => {
      expect(errorsOf(acme, market('BUY', '2'), rich, { last: null }).funds).toMatch(
        /No trade yet/,
      );
    });

    it('a market buy is checked against at least its cost at the best ask plus taker fee', () => {
      // 2 × 100.00 = 200.00 + 20 bps (0.40) = 200.40 USD at least
      const quote = { last: '99', bestAsk: '100' };
      expect(errorsOf(acme, market('BUY', '2'), { base: '0', quote: '200.40' }, quote)).toEqual({});
      expect(errorsOf(acme, market('BUY', '2'), { base: '0', quote: '200.39' }, quote).funds).toBe(
        'Insufficient USD: this order needs at least 200.40 USD, 200.39 available',
      );
      const v = validateOrder(acme, market('BUY', '2'), rich, quote);
      expect(v.ok && v.hold.estimate).toBe(true);
    });

    it('are IOC or FOK, and never post-only', () => {
      expect(errorsOf(acme, { ...market('SELL', '2'), timeInForce: 'GTC' }).timeInForce).toMatch(
        /IOC or FOK/,
      );
      expect(errorsOf(acme, { ...market('SELL', '2'), timeInForce: 'FOK' })).toEqual({});
      expect(errorsOf(acme, { ...market('SELL', '2'), postOnly: true }).postOnly).toBe(
        'Post-only needs a limit order',
      );
    });
  });

  it('post-only needs a GTC limit', () => {
    expect(errorsOf(acme, { ...limit('BUY', '100', '2'), postOnly: true })).toEqual({});
    expect(
      errorsOf(acme, { ...limit('BUY', '100', '2'), postOnly: true, timeInForce: 'FOK' }).postOnly,
    ).toBe('Post-only needs GTC');
  });

  it('IOC and FOK limits are fine', () => {
    expect(errorsOf(acme, { ...limit('BUY', '100', '2'), timeInForce: 'IOC' })).toEqual({});
    expect(errorsOf(acme, { ...limit('BUY', '100', '2'), timeInForce: 'FOK' })).toEqual({});
  });

  it('a halted market refuses orders', () => {
    expect(errorsOf({ ...acme, status: 'HALTED' }, limit('BUY', '100', '2')).market).toBe(
      'Trading in ACME-USD is halted',
    );
  });
});
