import { describe, expect, it } from 'vitest';
import { type Candle, applyTrade, bucket, fromApi, toChartBar } from './candles';

const T = Date.UTC(2026, 11, 3, 12, 0, 0);
const at = (ms: number) => new Date(ms).toISOString();

describe('bucket', () => {
  it('floors to the interval, D1 at midnight UTC', () => {
    expect(bucket(T + 59_999, 'M1')).toBe(T);
    expect(bucket(T + 60_000, 'M1')).toBe(T + 60_000);
    expect(bucket(T + 7 * 60_000, 'M5')).toBe(T + 5 * 60_000);
    expect(bucket(T + 3_599_999, 'H1')).toBe(T);
    expect(bucket(T, 'D1')).toBe(Date.UTC(2026, 11, 3));
  });
});

describe('applyTrade', () => {
  const first = (): Candle[] => [
    fromApi({ openTime: at(T), open: '10', high: '11', low: '9.5', close: '10.5', volume: '3' }),
  ];

  it('updates the current candle exactly', () => {
    const cs = first();
    applyTrade(cs, { price: '11.25', quantity: '2', executedAt: at(T + 10_000) }, 'M1', 0);
    applyTrade(cs, { price: '9.05', quantity: '1', executedAt: at(T + 20_000) }, 'M1', 0);
    applyTrade(cs, { price: '10', quantity: '4', executedAt: at(T + 30_000) }, 'M1', 0);
    expect(cs).toEqual([
      { openTime: T, open: '10', high: '11.25', low: '9.05', close: '10', volume: '10' },
    ]);
  });

  it('compares prices numerically (9.5 < 10, not as text)', () => {
    const cs = first();
    applyTrade(cs, { price: '9.6', quantity: '1', executedAt: at(T + 1) }, 'M1', 0);
    expect(cs[0]?.low).toBe('9.5');
    applyTrade(cs, { price: '100', quantity: '1', executedAt: at(T + 2) }, 'M1', 0);
    expect(cs[0]?.high).toBe('100');
  });

  it('opens a new candle for a later interval', () => {
    const cs = first();
    const c = applyTrade(cs, { price: '12', quantity: '0.5', executedAt: at(T + 61_000) }, 'M1', 8);
    expect(cs).toHaveLength(2);
    expect(c).toEqual({
      openTime: T + 60_000,
      open: '12',
      high: '12',
      low: '12',
      close: '12',
      volume: '0.5',
    });
  });

  it('ignores trades older than the last candle', () => {
    const cs = first();
    expect(
      applyTrade(cs, { price: '1', quantity: '1', executedAt: at(T - 1) }, 'M1', 0),
    ).toBeNull();
    expect(cs).toHaveLength(1);
  });

  it('sums fractional volume without float error', () => {
    const cs: Candle[] = [];
    for (let i = 0; i < 10; i++) {
      applyTrade(cs, { price: '1', quantity: '0.1', executedAt: at(T + i) }, 'M1', 8);
    }
    expect(cs[0]?.volume).toBe('1');
  });

  it('starts from an empty list', () => {
    const cs: Candle[] = [];
    applyTrade(cs, { price: '5', quantity: '1', executedAt: at(T + 5) }, 'H1', 0);
    expect(cs[0]?.openTime).toBe(T);
  });
});

describe('toChartBar', () => {
  it('converts at the drawing boundary only', () => {
    expect(toChartBar(first())).toEqual({
      time: T / 1000,
      open: 10,
      high: 11,
      low: 9.5,
      close: 10.5,
    });
    function first(): Candle {
      return { openTime: T, open: '10', high: '11', low: '9.5', close: '10.5', volume: '1' };
    }
  });
});
