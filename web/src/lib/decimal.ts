/**
 * Decimal strings ↔ integer minor units, the client's twin of the server's `common::money`.
 *
 * Money never becomes a JavaScript `number`: the API sends decimals as strings ("101.25"),
 * and every sum, product or comparison here is done on `bigint` minor units (an asset with
 * 2 decimals: "101.25" → 10125n). The accepted grammar is the server's, so the form refuses
 * exactly what the server would: `digits [ "." digits ]`, ASCII only, no sign (unless asked),
 * no exponent, no separators, no leading or trailing dot, at most the asset's decimals.
 */

/** The most decimals an asset may have (ADR 0005): 10^18 still fits in an i64. */
export const MAX_DECIMALS = 18;

/** The largest amount the server stores: i64::MAX minor units. */
export const MAX_MINOR = 2n ** 63n - 1n;

/** Why a decimal string was refused; `message` is for the person who typed it. */
export type DecimalError =
  | { kind: 'empty'; message: string }
  | { kind: 'not-a-number'; message: string }
  | { kind: 'negative'; message: string }
  | { kind: 'zero'; message: string }
  | { kind: 'too-many-decimals'; max: number; message: string }
  | { kind: 'too-large'; message: string };

export type Parsed = { ok: true; value: bigint } | { ok: false; error: DecimalError };

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

function fail(error: DecimalError): Parsed {
  return { ok: false, error };
}

/** "at most 2 decimal places", or "a whole number" for 0 decimals (the server's words). */
export function decimalsMessage(max: number): string {
  if (max === 0) return 'must be a whole number';
  if (max === 1) return 'at most 1 decimal place';
  return `at most ${max} decimal places`;
}

function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new RangeError(`an asset has 0 to ${MAX_DECIMALS} decimals, not ${decimals}`);
  }
}

/**
 * Parses a decimal string into minor units of an asset with `decimals`.
 * `allowNegative` admits a leading "-" (ledger amounts); user input never needs it.
 */
export function parseUnits(
  input: string,
  decimals: number,
  opts: { allowNegative?: boolean } = {},
): Parsed {
  checkDecimals(decimals);
  if (input === '') return fail({ kind: 'empty', message: 'is required' });
  let s = input;
  let negative = false;
  if (s.startsWith('-')) {
    s = s.slice(1);
    negative = true;
  }
  const m = DECIMAL.exec(s);
  if (!m) return fail({ kind: 'not-a-number', message: 'is not a decimal number' });
  if (negative && !opts.allowNegative) {
    return fail({ kind: 'negative', message: 'must not be negative' });
  }
  const int = m[1] ?? '0';
  const frac = m[2] ?? '';
  if (frac.length > decimals) {
    return fail({ kind: 'too-many-decimals', max: decimals, message: decimalsMessage(decimals) });
  }
  const value = BigInt(int + frac.padEnd(decimals, '0'));
  if (value > MAX_MINOR) return fail({ kind: 'too-large', message: 'is too large' });
  return { ok: true, value: negative ? -value : value };
}

/** As {@link parseUnits}, but zero is refused: prices, quantities and transfers. */
export function parsePositive(input: string, decimals: number): Parsed {
  const r = parseUnits(input, decimals);
  if (r.ok && r.value === 0n) return fail({ kind: 'zero', message: 'must be positive' });
  return r;
}

/** Minor units of a string the server sent (trusted canonical form); throws if malformed. */
export function toUnits(s: string, decimals: number): bigint {
  const r = parseUnits(s, decimals, { allowNegative: true });
  if (!r.ok) throw new RangeError(`"${s}" is not a decimal with at most ${decimals} places`);
  return r.value;
}

/** Options of {@link formatUnits}. */
export interface FormatOptions {
  /** Group thousands with "," (default true). */
  group?: boolean;
  /**
   * Fractional digits always shown, padding with zeros (default: all `decimals`, so a
   * column of prices lines up). `'trim'` writes the canonical form (trailing zeros cut).
   */
  fraction?: number | 'trim';
}

/** Adds "," between groups of three integer digits. */
function groupThousands(int: string): string {
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Formats minor units as a decimal string: `formatUnits(123456n, 2)` → "1,234.56";
 * `{ fraction: 'trim', group: false }` gives the server's canonical form ("1234.5").
 */
export function formatUnits(minor: bigint, decimals: number, opts: FormatOptions = {}): string {
  checkDecimals(decimals);
  const group = opts.group ?? true;
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(decimals + 1, '0');
  const int = digits.slice(0, digits.length - decimals);
  let frac = digits.slice(digits.length - decimals);
  if (opts.fraction === 'trim') {
    frac = frac.replace(/0+$/, '');
  } else if (opts.fraction !== undefined) {
    const keep = Math.max(0, Math.min(decimals, opts.fraction));
    frac = frac.replace(/0+$/, '').padEnd(keep, '0');
  }
  const body = (group ? groupThousands(int) : int) + (frac ? `.${frac}` : '');
  return negative && minor !== 0n ? `-${body}` : body;
}

/** The canonical string the API expects ("1.50" → "1.5", "007" → "7"). */
export function canonical(minor: bigint, decimals: number): string {
  return formatUnits(minor, decimals, { group: false, fraction: 'trim' });
}

/**
 * Formats a decimal string from the server for display with the asset's `decimals`:
 * `formatDecimal("1234.5", 2)` → "1,234.50". A null/undefined value shows as "—".
 */
export function formatDecimal(
  s: string | null | undefined,
  decimals: number,
  opts: FormatOptions = {},
): string {
  if (s === null || s === undefined) return '—';
  return formatUnits(toUnits(s, decimals), decimals, opts);
}

/** How many fractional digits a decimal string has ("0.050" → 3, "5" → 0). */
export function fractionDigits(s: string): number {
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/**
 * Compares two decimal strings of any scale exactly (-1, 0, 1), without knowing their
 * asset: the book sorts price levels with it.
 */
export function compareDecimal(a: string, b: string): number {
  const scale = Math.max(fractionDigits(a), fractionDigits(b));
  const x = scaled(a, scale);
  const y = scaled(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `s` × 10^scale as a bigint, unbounded (for comparisons only); throws if malformed. */
function scaled(s: string, scale: number): bigint {
  const negative = s.startsWith('-');
  const m = DECIMAL.exec(negative ? s.slice(1) : s);
  const frac = m?.[2] ?? '';
  if (!m || frac.length > scale) throw new RangeError(`"${s}" is not a decimal number`);
  const v = BigInt((m[1] ?? '0') + frac.padEnd(scale, '0'));
  return negative ? -v : v;
}

/** Whether `minor` is a whole multiple of `unit` (a tick or lot size, in minor units). */
export function isMultiple(minor: bigint, unit: bigint): boolean {
  if (unit <= 0n) throw new RangeError('the increment must be positive');
  return minor % unit === 0n;
}

/** ⌈a / b⌉ for non-negative a and positive b. */
export function divCeil(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** The fee on `value` at `bps` basis points, rounded up as the matcher rounds it. */
export function feeCeil(value: bigint, bps: number): bigint {
  return divCeil(value * BigInt(bps), 10_000n);
}

/**
 * The change from `from` to `to` in percent, to two places, as a string ("+1.25", "-0.40",
 * "0.00"); null when there is no reference or it is zero. Exact: rounds half away from 0.
 */
export function percentChange(from: string | null | undefined, to: string | null | undefined) {
  if (!from || !to) return null;
  const scale = Math.max(fractionDigits(from), fractionDigits(to));
  const a = scaled(from, scale);
  const b = scaled(to, scale);
  if (a === 0n) return null;
  // basis points of a hundredth of a percent: (b - a) / a * 100 * 100, rounded
  const num = (b - a) * 10_000n;
  const neg = num < 0n !== a < 0n;
  const absNum = num < 0n ? -num : num;
  const absA = a < 0n ? -a : a;
  const q = (absNum * 2n + absA) / (2n * absA);
  const text = formatUnits(q, 2, { group: false });
  if (q === 0n) return '0.00';
  return (neg ? '-' : '+') + text;
}
