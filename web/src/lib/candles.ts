/**
 * Candles from `market.candles`, kept up to date from the live trade stream: each trade
 * lands in the candle of its interval (opening a new one when it is past the last), so the
 * chart moves without polling. OHLC stay decimal strings compared exactly; volume is summed
 * in base minor units. Only the chart boundary (`toChartBar`) turns them into numbers, for
 * drawing.
 */
import type { CandleInterval } from '../graphql/gql/graphql';
import { canonical, compareDecimal, toUnits } from './decimal';

export interface Candle {
  /** Start of the interval, ms since the epoch (UTC). */
  openTime: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export const INTERVAL_MS: Record<CandleInterval, number> = {
  M1: 60_000,
  M5: 300_000,
  M15: 900_000,
  H1: 3_600_000,
  D1: 86_400_000,
};

/** The start of the interval containing `t` (ms); D1 candles start at 00:00 UTC. */
export function bucket(t: number, interval: CandleInterval): number {
  const size = INTERVAL_MS[interval];
  return Math.floor(t / size) * size;
}

/** A candle from the API shape (openTime as RFC 3339). */
export function fromApi(c: {
  openTime: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}): Candle {
  return { ...c, openTime: Date.parse(c.openTime) };
}

/**
 * Adds a trade to a candle list (oldest first), returning the candle that changed, or null
 * when the trade is older than the last candle (already counted by the server).
 */
export function applyTrade(
  candles: Candle[],
  trade: { price: string; quantity: string; executedAt: string },
  interval: CandleInterval,
  baseDecimals: number,
): Candle | null {
  const t = bucket(Date.parse(trade.executedAt), interval);
  const last = candles.at(-1);
  if (last && t < last.openTime) return null;
  if (!last || t > last.openTime) {
    const c: Candle = {
      openTime: t,
      open: trade.price,
      high: trade.price,
      low: trade.price,
      close: trade.price,
      volume: trade.quantity,
    };
    candles.push(c);
    return c;
  }
  last.close = trade.price;
  if (compareDecimal(trade.price, last.high) > 0) last.high = trade.price;
  if (compareDecimal(trade.price, last.low) < 0) last.low = trade.price;
  last.volume = canonical(
    toUnits(last.volume, baseDecimals) + toUnits(trade.quantity, baseDecimals),
    baseDecimals,
  );
  return last;
}

/** The chart library's bar: seconds and numbers (drawing only, never arithmetic). */
export function toChartBar(c: Candle) {
  return {
    time: Math.floor(c.openTime / 1000),
    open: Number(c.open),
    high: Number(c.high),
    low: Number(c.low),
    close: Number(c.close),
  };
}
