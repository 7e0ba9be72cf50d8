import { describe, expect, it } from 'vitest';
import {
  MAX_MINOR,
  canonical,
  compareDecimal,
  divCeil,
  feeCeil,
  formatDecimal,
  formatUnits,
  fractionDigits,
  isMultiple,
  parsePositive,
  parseUnits,
  percentChange,
  toUnits,
} from './decimal';

const value = (s: string, d: number) => {
  const r = parseUnits(s, d);
  if (!r.ok) throw new Error(`${s}: ${r.error.message}`);
  return r.value;
};
const errorKind = (s: string, d: number) => {
  const r = parseUnits(s, d);
  return r.ok ? 'ok' : r.error.kind;
};

describe('parseUnits', () => {
  it('reads decimal strings into integer minor units', () => {
    expect(value('101.25', 2)).toBe(10125n);
    expect(value('12.3', 2)).toBe(1230n);
    expect(value('12.30', 2)).toBe(1230n);
    expect(value('7', 0)).toBe(7n);
    expect(value('007', 0)).toBe(7n);
    expect(value('0.005', 3)).toBe(5n);
    expect(value('0', 2)).toBe(0n);
  });

  it('is exact where floats are not', () => {
    // 0.1 + 0.2 !== 0.3 in floating point; in minor units it is.
    expect(value('0.1', 18) + value('0.2', 18)).toBe(value('0.3', 18));
    // 2^53 + 1 cannot be represented as a number
    expect(value('9007199254740993', 0)).toBe(9007199254740993n);
    expect(value('92233720368.54775807', 8)).toBe(MAX_MINOR);
  });

  it('refuses what the server refuses', () => {
    for (const s of [
      '.5',
      '5.',
      '1,5',
      '1 000',
      ' 1',
      '1e3',
      '+1',
      '0x10',
      'NaN',
      'Infinity',
      '١',
    ]) {
      expect(errorKind(s, 2), s).toBe('not-a-number');
    }
    expect(errorKind('', 2)).toBe('empty');
    expect(errorKind('-1', 2)).toBe('negative');
    expect(errorKind('-abc', 2)).toBe('not-a-number');
    expect(errorKind('1.234', 2)).toBe('too-many-decimals');
    expect(errorKind('1.0', 0)).toBe('too-many-decimals');
    expect(errorKind('92233720368.54775808', 8)).toBe('too-large');
  });

  it('words errors like the server', () => {
    const r = parseUnits('1.5', 0);
    expect(r.ok ? '' : r.error.message).toBe('must be a whole number');
    const r1 = parseUnits('1.55', 1);
    expect(r1.ok ? '' : r1.error.message).toBe('at most 1 decimal place');
    const r2 = parseUnits('1.555', 2);
    expect(r2.ok ? '' : r2.error.message).toBe('at most 2 decimal places');
  });

  it('admits a sign only when asked', () => {
    const r = parseUnits('-0.05', 2, { allowNegative: true });
    expect(r.ok && r.value).toBe(-5n);
  });

  it('refuses impossible decimals', () => {
    expect(() => parseUnits('1', 19)).toThrow(RangeError);
    expect(() => parseUnits('1', -1)).toThrow(RangeError);
  });
});

describe('parsePositive', () => {
  it('refuses zero', () => {
    const r = parsePositive('0.00', 2);
    expect(r.ok ? 'ok' : r.error.kind).toBe('zero');
    expect(parsePositive('0.01', 2)).toEqual({ ok: true, value: 1n });
  });
});

describe('toUnits', () => {
  it('throws on malformed server values instead of guessing', () => {
    expect(toUnits('-1.5', 2)).toBe(-150n);
    expect(() => toUnits('1.234', 2)).toThrow();
  });
});

describe('formatUnits', () => {
  it('pads to the asset decimals and groups thousands', () => {
    expect(formatUnits(123456n, 2)).toBe('1,234.56');
    expect(formatUnits(123450n, 2)).toBe('1,234.50');
    expect(formatUnits(100n, 2)).toBe('1.00');
    expect(formatUnits(5n, 3)).toBe('0.005');
    expect(formatUnits(1234567n, 0)).toBe('1,234,567');
    expect(formatUnits(0n, 2)).toBe('0.00');
    expect(formatUnits(999n, 0)).toBe('999');
    expect(formatUnits(1000n, 0)).toBe('1,000');
  });

  it('writes negatives, never "-0"', () => {
    expect(formatUnits(-5n, 2)).toBe('-0.05');
    expect(formatUnits(-123456n, 2)).toBe('-1,234.56');
    expect(formatUnits(-0n, 2)).toBe('0.00');
  });

  it('trims or fixes the fraction on request', () => {
    expect(formatUnits(12340n, 2, { fraction: 'trim' })).toBe('123.4');
    expect(formatUnits(100n, 2, { fraction: 'trim' })).toBe('1');
    expect(formatUnits(12345678n, 6, { fraction: 2 })).toBe('12.345678');
    expect(formatUnits(12000000n, 6, { fraction: 2 })).toBe('12.00');
    expect(formatUnits(123456n, 2, { group: false })).toBe('1234.56');
  });

  it('formats values beyond 2^53 exactly', () => {
    expect(formatUnits(MAX_MINOR, 8, { group: false })).toBe('92233720368.54775807');
  });
});

describe('canonical', () => {
  it('is the server form, so equal numbers are equal strings', () => {
    expect(canonical(value('1.50', 2), 2)).toBe('1.5');
    expect(canonical(value('007', 0), 0)).toBe('7');
    expect(canonical(value('0.10', 2), 2)).toBe('0.1');
  });

  it('round-trips every canonical string', () => {
    for (const s of ['0', '1', '0.01', '12.5', '1234567.89', '0.00000001']) {
      expect(canonical(toUnits(s, 8), 8)).toBe(s);
    }
    expect(canonical(toUnits('0.000000000000000001', 18), 18)).toBe('0.000000000000000001');
  });
});

describe('formatDecimal', () => {
  it('formats server strings with the asset decimals', () => {
    expect(formatDecimal('1234.5', 2)).toBe('1,234.50');
    expect(formatDecimal('24.92', 2)).toBe('24.92');
    expect(formatDecimal('456', 0)).toBe('456');
    expect(formatDecimal(null, 2)).toBe('—');
    expect(formatDecimal(undefined, 2)).toBe('—');
  });
});

describe('compareDecimal', () => {
  it('orders strings of different scales numerically, not lexically', () => {
    expect(compareDecimal('9.5', '10')).toBe(-1);
    expect(compareDecimal('10', '9.99')).toBe(1);
    expect(compareDecimal('1.50', '1.5')).toBe(0);
    expect(compareDecimal('0.001', '0.0009')).toBe(1);
    expect(compareDecimal('123456789012.5', '0.000000000000000001')).toBe(1);
    expect(compareDecimal('-1', '0.5')).toBe(-1);
    const sorted = ['100', '25.5', '3', '25.05', '0.9'].sort(compareDecimal);
    expect(sorted).toEqual(['0.9', '3', '25.05', '25.5', '100']);
  });
});

describe('helpers', () => {
  it('checks multiples of a tick or lot', () => {
    expect(isMultiple(value('25.05', 2), value('0.05', 2))).toBe(true);
    expect(isMultiple(value('25.03', 2), value('0.05', 2))).toBe(false);
    expect(() => isMultiple(1n, 0n)).toThrow();
  });

  it('rounds fees up like the matcher', () => {
    expect(divCeil(10n, 3n)).toBe(4n);
    expect(divCeil(9n, 3n)).toBe(3n);
    expect(feeCeil(2492n, 10)).toBe(3n); // 2.492 → 3
    expect(feeCeil(10_000n, 10)).toBe(10n);
    expect(feeCeil(0n, 10)).toBe(0n);
    expect(feeCeil(1n, 0)).toBe(0n);
  });

  it('counts fraction digits', () => {
    expect(fractionDigits('0.050')).toBe(3);
    expect(fractionDigits('5')).toBe(0);
  });

  it('computes the 24 h change exactly', () => {
    expect(percentChange('25.05', '24.92')).toBe('-0.52');
    expect(percentChange('75.66', '78.07')).toBe('+3.19');
    expect(percentChange('4', '4')).toBe('0.00');
    expect(percentChange('3', '4')).toBe('+33.33');
    expect(percentChange('3', '5')).toBe('+66.67');
    expect(percentChange(null, '4')).toBeNull();
    expect(percentChange('0', '4')).toBeNull();
  });
});
