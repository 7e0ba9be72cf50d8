/**
 * Order-entry validation, before anything is sent: the server's own rules
 * (brain/src/domain/order.rs `validate`, matcher/src/engine.rs `required_hold`) applied to
 * what the trader typed, so a bad order is an inline message, not a round trip.
 *
 * What is held (and must be available), as the server computes it:
 * - a SELL holds its quantity of the base asset;
 * - a limit BUY holds, per lot, the lot's value at the limit plus the fee on that value at
 *   the higher of the market's maker and taker rates, rounded up; times the lots;
 * - a market BUY holds its quantity priced at the top of the market's price band. The band
 *   is not in the API, so we check a lower bound (best ask, or last, plus the taker fee) and
 *   leave the exact check to the server (INSUFFICIENT_FUNDS).
 * The price band itself is also the server's to check (it is not in the API either).
 */
import type { OrderType, PlaceOrderInput, Side, TimeInForce } from '../graphql/gql/graphql';
import { canonical, feeCeil, formatUnits, parsePositive, toUnits } from './decimal';

/** The market fields validation needs (a subset of MarketFields). */
export interface MarketRules {
  symbol: string;
  base: { symbol: string; decimals: number };
  quote: { symbol: string; decimals: number };
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  makerFeeBps: number;
  takerFeeBps: number;
  status: 'OPEN' | 'HALTED';
}

/** What the trader typed. Price is ignored for market orders. */
export interface OrderDraft {
  side: Side;
  type: OrderType;
  price: string;
  quantity: string;
  timeInForce: TimeInForce;
  postOnly: boolean;
}

/** Available (not held) balances of the market's two assets; null if none. */
export interface Funds {
  base: string | null | undefined;
  quote: string | null | undefined;
}

/** Market data that prices a market order. */
export interface Quote {
  last?: string | null;
  bestAsk?: string | null;
}

export type Field = 'market' | 'price' | 'quantity' | 'timeInForce' | 'postOnly' | 'funds';
export type FieldErrors = Partial<Record<Field, string>>;

export type Validation =
  | {
      ok: true;
      input: PlaceOrderInput;
      /** What the order will hold (for a market buy: at least this). */
      hold: { asset: string; amount: bigint; text: string; estimate: boolean };
    }
  | { ok: false; errors: FieldErrors };

/** The value of `lots` at `priceMinor`, in quote minor units: price × lot size × lots. */
function value(m: MarketRules, priceMinor: bigint, lots: bigint): bigint {
  const lot = toUnits(m.lotSize, m.base.decimals);
  return (priceMinor * lot * lots) / 10n ** BigInt(m.base.decimals);
}

/** What a limit BUY of `lots` at `priceMinor` holds (matcher `per_lot_buy_hold` × lots). */
export function limitBuyHold(m: MarketRules, priceMinor: bigint, lots: bigint): bigint {
  const perLot = value(m, priceMinor, 1n);
  return (perLot + feeCeil(perLot, Math.max(m.makerFeeBps, m.takerFeeBps))) * lots;
}

/** Checks a draft against the market's rules and the trader's available funds. */
export function validateOrder(
  m: MarketRules,
  d: OrderDraft,
  funds: Funds,
  quote: Quote = {},
): Validation {
  const errors: FieldErrors = {};
  if (m.status === 'HALTED') errors.market = `Trading in ${m.symbol} is halted`;

  // Quantity: positive, a multiple of the lot, at least the minimum.
  const lot = toUnits(m.lotSize, m.base.decimals);
  const minQty = toUnits(m.minQuantity, m.base.decimals);
  let lots: bigint | null = null;
  let qtyMinor: bigint | null = null;
  const q = parsePositive(d.quantity.trim(), m.base.decimals);
  if (!q.ok) {
    errors.quantity = `Quantity ${q.error.message}`;
  } else if (q.value % lot !== 0n) {
    errors.quantity = `Quantity must be a multiple of the lot size ${m.lotSize}`;
  } else if (q.value < minQty) {
    errors.quantity = `Quantity must be at least ${m.minQuantity}`;
  } else {
    qtyMinor = q.value;
    lots = q.value / lot;
  }

  // Price: limit orders only; positive and a multiple of the tick.
  let priceMinor: bigint | null = null;
  if (d.type === 'LIMIT') {
    const tick = toUnits(m.tickSize, m.quote.decimals);
    const p = parsePositive(d.price.trim(), m.quote.decimals);
    if (!p.ok) errors.price = `Price ${p.error.message}`;
    else if (p.value % tick !== 0n) {
      errors.price = `Price must be a multiple of the tick size ${m.tickSize}`;
    } else priceMinor = p.value;
  }

  // Time in force and post-only (the server: "post-only orders must be GTC limit orders").
  if (d.type === 'MARKET' && d.timeInForce === 'GTC') {
    errors.timeInForce = 'A market order is IOC or FOK: it never rests on the book';
  }
  if (d.postOnly && d.type === 'MARKET') errors.postOnly = 'Post-only needs a limit order';
  else if (d.postOnly && d.timeInForce !== 'GTC') errors.postOnly = 'Post-only needs GTC';

  // Funds: what the order holds must be available.
  let hold: { asset: string; amount: bigint; text: string; estimate: boolean } | null = null;
  if (lots !== null && qtyMinor !== null) {
    if (d.side === 'SELL') {
      hold = { asset: m.base.symbol, amount: qtyMinor, text: '', estimate: false };
    } else if (d.type === 'LIMIT' && priceMinor !== null) {
      hold = {
        asset: m.quote.symbol,
        amount: limitBuyHold(m, priceMinor, lots),
        text: '',
        estimate: false,
      };
    } else if (d.type === 'MARKET') {
      const ref = quote.bestAsk ?? quote.last;
      if (!quote.last) {
        errors.funds = 'No trade yet to price a market buy: use a limit order';
      } else if (ref) {
        const v = value(m, toUnits(ref, m.quote.decimals), lots);
        const amount = v + feeCeil(v, m.takerFeeBps);
        hold = { asset: m.quote.symbol, amount, text: '', estimate: true };
      }
    }
  }
  if (hold) {
    const decimals = hold.asset === m.base.symbol ? m.base.decimals : m.quote.decimals;
    hold.text = `${formatUnits(hold.amount, decimals)} ${hold.asset}`;
    const available = hold.asset === m.base.symbol ? funds.base : funds.quote;
    const have = available ? toUnits(available, decimals) : 0n;
    if (hold.amount > have) {
      errors.funds =
        `Insufficient ${hold.asset}: this order needs ${hold.estimate ? 'at least ' : ''}` +
        `${hold.text}, ${formatUnits(have, decimals)} available`;
    }
  }

  if (Object.keys(errors).length > 0 || lots === null || qtyMinor === null) {
    return { ok: false, errors };
  }
  const input: PlaceOrderInput = {
    market: m.symbol,
    side: d.side,
    type: d.type,
    quantity: canonical(qtyMinor, m.base.decimals),
    timeInForce: d.timeInForce,
    postOnly: d.postOnly,
  };
  if (d.type === 'LIMIT' && priceMinor !== null)
    input.price = canonical(priceMinor, m.quote.decimals);
  return { ok: true, input, hold: hold! };
}
