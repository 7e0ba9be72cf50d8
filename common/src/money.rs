//! Decimal strings ↔ integer minor units, and nowhere else (ADR 0005, "Units").
//!
//! Every amount, price and quantity inside Rialto is an `i64` of minor units; decimal text
//! exists only at the edge. Keeping the one parser and the one formatter here means every
//! service accepts exactly the same inputs and writes exactly the same canonical strings, so
//! equal numbers are equal strings (book snapshots and deltas compare byte for byte).
//!
//! The accepted grammar is deliberately narrow: `digits [ "." digits ]`, ASCII digits only,
//! no sign, no exponent, no spaces, no leading or trailing dot. Nothing here panics:
//! overflow is an error computed with checked arithmetic.

use std::fmt;

/// The most decimals an amount may be written with (ADR 0005): `10^18` still fits in an
/// `i64`. Parsing and formatting accept this many, so assets listed before
/// [`MAX_LISTED_DECIMALS`] keep working.
pub const MAX_DECIMALS: u8 = 18;

/// The most decimals a newly listed asset may have (ADR 0005, "Bounds"): an amount is an
/// `i64` of minor units, so with 8 decimals a balance, and the asset's whole supply, can
/// still reach 92,233,720,368.54775807 units, while 18 would stop them at 9.22.
pub const MAX_LISTED_DECIMALS: u8 = 8;

/// The most minor units of one asset that may ever be issued ([`i64::MAX`]): every balance,
/// every held amount and every sum of them then fits an amount, whatever trading does.
pub const MAX_SUPPLY: i64 = i64::MAX;

/// Why a decimal string or a unit conversion was refused. The messages are written for the
/// trader who typed the number; callers add which field it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not of the form `digits[.digits]`: empty, spaces, `+`, exponent, `.5`, `5.`, `1,5`,
    /// `0x10`, non-ASCII digits, `NaN`, `inf`, …
    #[error("not a decimal number")]
    NotANumber,
    /// A well-formed number with a leading `-` where only non-negative amounts are allowed.
    #[error("must not be negative")]
    Negative,
    /// Zero where the amount must be strictly positive.
    #[error("must be positive")]
    Zero,
    /// More fractional digits than the asset's decimals (trailing zeros count: the input
    /// is refused rather than silently reinterpreted).
    #[error("{}", TooManyDecimalsMsg(*max))]
    TooManyDecimals {
        /// The asset's decimals, the most fractional digits allowed.
        max: u8,
    },
    /// The value does not fit in an `i64` of minor units.
    #[error("too large")]
    TooLarge,
    /// Not a whole multiple of the tick or lot size. `unit` is in minor units; format it with
    /// [`format_amount`] to tell the trader the step in their own terms.
    #[error("not a multiple of the allowed increment")]
    NotMultiple {
        /// The step, in minor units.
        unit: i64,
    },
    /// The asset's decimals are above [`MAX_DECIMALS`]: a configuration fault, not bad input.
    #[error("an asset has at most 18 decimal places, not {decimals}")]
    InvalidDecimals {
        /// The refused decimals.
        decimals: u8,
    },
    /// A tick or lot size of zero or below: a configuration fault, not bad input.
    #[error("the increment must be positive, not {unit}")]
    InvalidUnit {
        /// The refused step, in minor units.
        unit: i64,
    },
}

/// Renders [`MoneyError::TooManyDecimals`] in plain words ("a whole number" for 0 decimals).
struct TooManyDecimalsMsg(u8);

impl fmt::Display for TooManyDecimalsMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("must be a whole number"),
            1 => f.write_str("at most 1 decimal place"),
            n => write!(f, "at most {n} decimal places"),
        }
    }
}

/// Parses a non-negative decimal string into minor units of an asset with `decimals`
/// (`"12.34"`, 2 → `1234`), so the edge never does its own string arithmetic.
///
/// Accepted: `digits` or `digits.digits`, ASCII only, leading zeros allowed (`"007"` is 7),
/// trailing fractional zeros allowed up to `decimals` digits (`"12.30"` with 2).
/// Refused: a leading or trailing dot (`".5"`, `"5."`), any sign (`-` gives
/// [`MoneyError::Negative`] when the rest is a number, `+` is [`MoneyError::NotANumber`]),
/// whitespace, exponents, separators, non-ASCII digits, more fractional digits than
/// `decimals`, a value above `i64::MAX` minor units, and `decimals > 18`.
/// Checks run in that order: decimals, syntax, sign, fractional digits, size.
pub fn parse_amount(s: &str, decimals: u8) -> Result<i64, MoneyError> {
    check_decimals(decimals)?;
    match s.strip_prefix('-') {
        // Validate the rest so "-abc" is "not a number" rather than "negative".
        Some(rest) => match parse_unsigned(rest, decimals) {
            Err(MoneyError::NotANumber) => Err(MoneyError::NotANumber),
            _ => Err(MoneyError::Negative),
        },
        None => parse_unsigned(s, decimals),
    }
}

/// As [`parse_amount`], but zero is refused with [`MoneyError::Zero`]: for prices,
/// quantities and transfers, where a zero amount is always a mistake.
pub fn parse_positive(s: &str, decimals: u8) -> Result<i64, MoneyError> {
    match parse_amount(s, decimals)? {
        0 => Err(MoneyError::Zero),
        v => Ok(v),
    }
}

/// Formats minor units as the canonical decimal string, the only form Rialto writes:
/// trailing fractional zeros and a trailing dot trimmed, so equal values are equal strings
/// (`12340`, 2 → `"123.4"`; `100`, 2 → `"1"`; `5`, 3 → `"0.005"`; `0` → `"0"`).
///
/// Negative values (ledger entries) get a leading `-` (`-5`, 2 → `"-0.05"`); zero is never
/// `"-0"`. Total for every `i64`, including `i64::MIN`, and for every `decimals` (a value
/// written with `decimals > 18` is correct but [`parse_amount`] will not read it back).
pub fn format_amount(minor: i64, decimals: u8) -> String {
    let digits = minor.unsigned_abs().to_string();
    let decimals = usize::from(decimals);
    // Left-pad so there is at least one integer digit before the dot.
    let padded = if digits.len() <= decimals {
        format!("{}{digits}", "0".repeat(decimals + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - decimals);
    let frac = frac.trim_end_matches('0');
    let sign = if minor < 0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Divides minor units exactly by a step (`tick_size` or `lot_size`), giving integer ticks
/// or lots; a remainder is [`MoneyError::NotMultiple`] ("price must be a multiple of the tick
/// size"). A step of zero or below is [`MoneyError::InvalidUnit`].
pub fn to_units(minor: i64, unit: i64) -> Result<i64, MoneyError> {
    check_unit(unit)?;
    // `unit > 0`, so neither `%` nor `/` can overflow or divide by zero.
    if minor % unit != 0 {
        return Err(MoneyError::NotMultiple { unit });
    }
    Ok(minor / unit)
}

/// Multiplies integer ticks or lots back into minor units, the inverse of [`to_units`];
/// overflow is [`MoneyError::TooLarge`], a step of zero or below [`MoneyError::InvalidUnit`].
pub fn from_units(units: i64, unit: i64) -> Result<i64, MoneyError> {
    check_unit(unit)?;
    units.checked_mul(unit).ok_or(MoneyError::TooLarge)
}

fn check_decimals(decimals: u8) -> Result<(), MoneyError> {
    if decimals > MAX_DECIMALS {
        return Err(MoneyError::InvalidDecimals { decimals });
    }
    Ok(())
}

fn check_unit(unit: i64) -> Result<(), MoneyError> {
    if unit <= 0 {
        return Err(MoneyError::InvalidUnit { unit });
    }
    Ok(())
}

/// `digits[.digits]` with no sign; `decimals` is already checked.
fn parse_unsigned(s: &str, decimals: u8) -> Result<i64, MoneyError> {
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    // A second dot lands in `frac` and fails the digit check.
    if !is_digits(int) || !frac.is_none_or(is_digits) {
        return Err(MoneyError::NotANumber);
    }
    let frac = frac.unwrap_or("");
    if frac.len() > usize::from(decimals) {
        return Err(MoneyError::TooManyDecimals { max: decimals });
    }
    let mut value: i64 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyError::TooLarge)?;
    }
    // Scale the missing fractional digits: "12.3" with 2 decimals is 123 * 10.
    // `decimals - frac.len()` is at most 18, so the u32 cast is lossless.
    let missing = u32::from(decimals) - frac.len() as u32;
    10_i64
        .checked_pow(missing)
        .and_then(|scale| value.checked_mul(scale))
        .ok_or(MoneyError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_accepted_forms() {
        assert_eq!(parse_amount("0", 2), Ok(0));
        assert_eq!(parse_amount("12", 2), Ok(1200));
        assert_eq!(parse_amount("12.3", 2), Ok(1230));
        assert_eq!(parse_amount("12.30", 2), Ok(1230));
        assert_eq!(parse_amount("12.34", 2), Ok(1234));
        assert_eq!(parse_amount("0.005", 3), Ok(5));
        assert_eq!(parse_amount("0.00", 2), Ok(0));
        assert_eq!(parse_amount("007", 0), Ok(7));
        assert_eq!(parse_amount("007.50", 2), Ok(750));
        assert_eq!(parse_amount("12", 0), Ok(12));
        assert_eq!(parse_amount("1", 18), Ok(1_000_000_000_000_000_000));
        assert_eq!(parse_amount("0.000000000000000001", 18), Ok(1));
        // Many leading zeros never overflow.
        assert_eq!(parse_amount(&format!("{}1", "0".repeat(100)), 2), Ok(100));
    }

    #[test]
    fn parses_the_i64_bounds() {
        assert_eq!(parse_amount("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(parse_amount("92233720368547758.07", 2), Ok(i64::MAX));
        assert_eq!(parse_amount("9.223372036854775807", 18), Ok(i64::MAX));
        assert_eq!(
            parse_amount("9223372036854775808", 0),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            parse_amount("92233720368547758.08", 2),
            Err(MoneyError::TooLarge)
        );
        // Fits as digits but overflows when scaled to the asset's decimals.
        assert_eq!(
            parse_amount("92233720368547759", 2),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(parse_amount("10", 18), Err(MoneyError::TooLarge));
        assert_eq!(parse_amount(&"9".repeat(40), 0), Err(MoneyError::TooLarge));
        assert_eq!(
            parse_amount(&format!("{}.5", "1".repeat(40)), 2),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn refuses_malformed_strings() {
        let bad = [
            "",
            " ",
            "1 ",
            " 1",
            "1 000",
            "1\t",
            "\n1",
            "1.\u{a0}5",
            "+1",
            "+0",
            ".5",
            "5.",
            ".",
            "-",
            "-.5",
            "1..2",
            "1.2.3",
            "1e5",
            "1E5",
            "1.5e2",
            "abc",
            "1,5",
            "1_000",
            "0x10",
            "0b1",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "--1",
            "-+1",
            "+-1",
            "١٢",
            "１２",
            "½",
            "1\u{0}",
            "\u{feff}1",
        ];
        for s in bad {
            assert_eq!(parse_amount(s, 2), Err(MoneyError::NotANumber), "{s:?}");
        }
    }

    #[test]
    fn a_minus_sign_on_a_number_is_negative() {
        assert_eq!(parse_amount("-1", 2), Err(MoneyError::Negative));
        assert_eq!(parse_amount("-0.5", 2), Err(MoneyError::Negative));
        assert_eq!(parse_amount("-0", 2), Err(MoneyError::Negative));
        // The sign is reported before the other problems of the digits.
        assert_eq!(parse_amount("-1.234", 2), Err(MoneyError::Negative));
        assert_eq!(
            parse_amount(&format!("-{}", "9".repeat(40)), 2),
            Err(MoneyError::Negative)
        );
        // A minus on something that is not a number is just not a number.
        assert_eq!(parse_amount("-abc", 2), Err(MoneyError::NotANumber));
        assert_eq!(parse_amount("- 1", 2), Err(MoneyError::NotANumber));
    }

    #[test]
    fn refuses_too_many_decimals() {
        assert_eq!(
            parse_amount("1.234", 2),
            Err(MoneyError::TooManyDecimals { max: 2 })
        );
        // Trailing zeros count: the input is refused, not reinterpreted.
        assert_eq!(
            parse_amount("1.230", 2),
            Err(MoneyError::TooManyDecimals { max: 2 })
        );
        assert_eq!(
            parse_amount("1.0", 0),
            Err(MoneyError::TooManyDecimals { max: 0 })
        );
        // Reported before overflow.
        assert_eq!(
            parse_amount(&format!("{}.123", "9".repeat(40)), 2),
            Err(MoneyError::TooManyDecimals { max: 2 })
        );
    }

    #[test]
    fn refuses_decimals_above_18() {
        assert_eq!(
            parse_amount("1", 19),
            Err(MoneyError::InvalidDecimals { decimals: 19 })
        );
        assert_eq!(
            parse_amount("abc", 255),
            Err(MoneyError::InvalidDecimals { decimals: 255 })
        );
        assert_eq!(
            parse_positive("1", 19),
            Err(MoneyError::InvalidDecimals { decimals: 19 })
        );
    }

    #[test]
    fn parse_positive_refuses_zero() {
        assert_eq!(parse_positive("0", 2), Err(MoneyError::Zero));
        assert_eq!(parse_positive("0.00", 2), Err(MoneyError::Zero));
        assert_eq!(parse_positive("000", 0), Err(MoneyError::Zero));
        assert_eq!(parse_positive("0.01", 2), Ok(1));
        assert_eq!(parse_positive("101.25", 2), Ok(10125));
        assert_eq!(parse_positive("-1", 2), Err(MoneyError::Negative));
        assert_eq!(parse_positive("-0", 2), Err(MoneyError::Negative));
        assert_eq!(parse_positive("x", 2), Err(MoneyError::NotANumber));
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(format_amount(12340, 2), "123.4");
        assert_eq!(format_amount(12345, 2), "123.45");
        assert_eq!(format_amount(100, 2), "1");
        assert_eq!(format_amount(5, 3), "0.005");
        assert_eq!(format_amount(50, 2), "0.5");
        assert_eq!(format_amount(0, 2), "0");
        assert_eq!(format_amount(0, 0), "0");
        assert_eq!(format_amount(0, 18), "0");
        assert_eq!(format_amount(10125, 2), "101.25");
        assert_eq!(format_amount(100, 0), "100");
        assert_eq!(format_amount(1, 18), "0.000000000000000001");
        assert_eq!(format_amount(i64::MAX, 0), "9223372036854775807");
        assert_eq!(format_amount(i64::MAX, 18), "9.223372036854775807");
    }

    #[test]
    fn formats_negative_values() {
        assert_eq!(format_amount(-5, 2), "-0.05");
        assert_eq!(format_amount(-100, 2), "-1");
        assert_eq!(format_amount(-12340, 2), "-123.4");
        assert_eq!(format_amount(i64::MIN, 0), "-9223372036854775808");
        assert_eq!(format_amount(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(format_amount(i64::MIN, 18), "-9.223372036854775808");
    }

    #[test]
    fn formats_any_decimals_without_panicking() {
        assert_eq!(format_amount(5, 20), "0.00000000000000000005");
        assert_eq!(format_amount(i64::MIN, 255).len(), 1 + 1 + 1 + 255);
        assert_eq!(format_amount(0, 255), "0");
    }

    #[test]
    fn converts_to_and_from_units() {
        // Tick 0.01 USD = 1 minor unit; lot 0.001 BTC of an 8-decimal asset = 100_000.
        assert_eq!(to_units(10125, 1), Ok(10125));
        assert_eq!(to_units(50_000_000, 100_000), Ok(500));
        assert_eq!(to_units(0, 5), Ok(0));
        assert_eq!(to_units(-10, 5), Ok(-2));
        assert_eq!(
            to_units(50_000_001, 100_000),
            Err(MoneyError::NotMultiple { unit: 100_000 })
        );
        assert_eq!(to_units(i64::MIN, 1), Ok(i64::MIN));
        assert_eq!(to_units(i64::MAX, i64::MAX), Ok(1));
        assert_eq!(from_units(500, 100_000), Ok(50_000_000));
        assert_eq!(from_units(i64::MAX, 1), Ok(i64::MAX));
        assert_eq!(from_units(i64::MAX, 2), Err(MoneyError::TooLarge));
        assert_eq!(from_units(i64::MIN, 2), Err(MoneyError::TooLarge));
    }

    #[test]
    fn refuses_non_positive_units() {
        for unit in [0, -1, i64::MIN] {
            assert_eq!(to_units(10, unit), Err(MoneyError::InvalidUnit { unit }));
            assert_eq!(from_units(10, unit), Err(MoneyError::InvalidUnit { unit }));
        }
    }

    #[test]
    fn messages_are_readable() {
        assert_eq!(MoneyError::NotANumber.to_string(), "not a decimal number");
        assert_eq!(MoneyError::Negative.to_string(), "must not be negative");
        assert_eq!(MoneyError::Zero.to_string(), "must be positive");
        assert_eq!(MoneyError::TooLarge.to_string(), "too large");
        assert_eq!(
            MoneyError::TooManyDecimals { max: 2 }.to_string(),
            "at most 2 decimal places"
        );
        assert_eq!(
            MoneyError::TooManyDecimals { max: 1 }.to_string(),
            "at most 1 decimal place"
        );
        assert_eq!(
            MoneyError::TooManyDecimals { max: 0 }.to_string(),
            "must be a whole number"
        );
        assert_eq!(
            MoneyError::NotMultiple { unit: 5 }.to_string(),
            "not a multiple of the allowed increment"
        );
    }

    /// A reference parser in `u128`: 20 integer + 18 fractional digits stay below 10^38.
    fn reference(int: &str, frac: &str, decimals: u8) -> Result<i64, MoneyError> {
        let mut v: u128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            v = v * 10 + u128::from(b - b'0');
        }
        let v = v * 10_u128.pow(u32::from(decimals) - frac.len() as u32);
        i64::try_from(v).map_err(|_| MoneyError::TooLarge)
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(v in 0..=i64::MAX, d in 0..=MAX_DECIMALS) {
            prop_assert_eq!(parse_amount(&format_amount(v, d), d), Ok(v));
        }

        #[test]
        fn negative_values_round_trip_through_the_sign(v in (i64::MIN + 1)..0, d in 0..=MAX_DECIMALS) {
            let s = format_amount(v, d);
            let rest = s.strip_prefix('-').unwrap();
            prop_assert_eq!(parse_amount(rest, d), Ok(-v));
            prop_assert_eq!(parse_amount(&s, d), Err(MoneyError::Negative));
        }

        #[test]
        fn formatting_is_canonical(v in any::<i64>(), d in 0..=MAX_DECIMALS) {
            let s = format_amount(v, d);
            prop_assert!(!s.ends_with('.'), "{s:?}");
            prop_assert!(!s.starts_with('.') && !s.starts_with("-."), "{s:?}");
            if s.contains('.') {
                prop_assert!(!s.ends_with('0'), "{s:?}");
            }
            prop_assert!(s != "-0", "{s:?}");
            let unsigned = s.strip_prefix('-').unwrap_or(&s);
            // No leading zeros beyond the one before the dot.
            prop_assert!(unsigned == "0" || unsigned.starts_with("0.") || !unsigned.starts_with('0'), "{s:?}");
            prop_assert_eq!(s.starts_with('-'), v < 0);
        }

        #[test]
        fn non_canonical_spellings_parse_to_the_same_value(
            v in 0..=i64::MAX,
            d in 1..=MAX_DECIMALS,
            zeros in 0..5usize,
        ) {
            // Leading zeros and trailing fractional zeros up to `d` digits are accepted.
            let s = format_amount(v, d);
            let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
            let padded = format!("{}{int}.{frac:0<width$}", "0".repeat(zeros), width = usize::from(d));
            prop_assert_eq!(parse_amount(&padded, d), Ok(v));
        }

        #[test]
        fn parse_agrees_with_a_wide_reference(
            int in "[0-9]{1,20}",
            frac in proptest::option::of("[0-9]{0,18}"),
            d in 0..=MAX_DECIMALS,
        ) {
            let s = match &frac {
                Some(f) => format!("{int}.{f}"),
                None => int.clone(),
            };
            let f = frac.unwrap_or_default();
            let expected = if s.ends_with('.') {
                Err(MoneyError::NotANumber)
            } else if f.len() > usize::from(d) {
                Err(MoneyError::TooManyDecimals { max: d })
            } else {
                reference(&int, &f, d)
            };
            prop_assert_eq!(parse_amount(&s, d), expected);
        }

        #[test]
        fn parse_never_panics(s in any::<String>(), d in any::<u8>()) {
            let _ = parse_amount(&s, d);
            let _ = parse_positive(&s, d);
        }

        #[test]
        fn parse_never_panics_on_number_like_text(s in "[-+0-9.eE ,_x]{0,45}", d in 0..=MAX_DECIMALS) {
            if let Ok(v) = parse_amount(&s, d) {
                prop_assert!(v >= 0);
                // Whatever parses formats back to a string that parses to the same value.
                prop_assert_eq!(parse_amount(&format_amount(v, d), d), Ok(v));
            }
        }

        #[test]
        fn units_round_trip(u in any::<i64>(), unit in 1..=i64::MAX) {
            if let Ok(minor) = from_units(u, unit) {
                prop_assert_eq!(to_units(minor, unit), Ok(u));
            } else {
                prop_assert!(u.checked_mul(unit).is_none());
            }
        }

        #[test]
        fn small_units_round_trip(u in -1_000_000_000_i64..1_000_000_000, unit in 1..1_000_000_000_i64) {
            let minor = from_units(u, unit).unwrap();
            prop_assert_eq!(to_units(minor, unit), Ok(u));
        }

        #[test]
        fn to_units_refuses_exactly_the_remainders(minor in any::<i64>(), unit in 1..1_000_000_i64) {
            match to_units(minor, unit) {
                Ok(u) => prop_assert_eq!(from_units(u, unit), Ok(minor)),
                Err(e) => {
                    prop_assert_eq!(e, MoneyError::NotMultiple { unit });
                    prop_assert!(minor % unit != 0);
                }
            }
        }
    }
}
