//! Prices, volumes and money.
//!
//! Prices of market data and positions are `f64` (that is what the data sources and the
//! legacy files carry) but validated: finite, strictly positive, and small enough to be stored
//! as a scaled integer (ClickHouse `Decimal(18,3)`-style). Money in accounts is
//! [`rust_decimal::Decimal`], never a float.

use std::fmt;

use crate::error::StoreError;

/// Money: account capital, asset values, trade amounts.
pub type Money = rust_decimal::Decimal;

/// Largest price we accept. Far above any A-share price, and the scaled value `price * 1e4`
/// still fits an `i64` with room to spare.
pub const MAX_PRICE: f64 = 1e12;

/// A price: finite and strictly positive.
#[derive(Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Price(f64);

impl Price {
    /// Validates `value` for the field named `field` (e.g. `close`, `max_price`).
    pub fn new(field: &str, value: f64) -> Result<Self, StoreError> {
        if !value.is_finite() {
            return Err(StoreError::invalid(field, value.to_string(), "must be a finite number"));
        }
        if value <= 0.0 {
            return Err(StoreError::invalid(field, value.to_string(), "must be greater than 0"));
        }
        if value > MAX_PRICE {
            return Err(StoreError::invalid(
                field,
                value.to_string(),
                format!("must be at most {MAX_PRICE:e}"),
            ));
        }
        Ok(Price(value))
    }

    /// Parses decimal text such as `10.52` (as written by Python and pandas).
    pub fn parse(field: &str, s: &str) -> Result<Self, StoreError> {
        let v: f64 = parse_float(s).ok_or_else(|| StoreError::invalid(field, s, "not a number"))?;
        Self::new(field, v).map_err(|e| match e {
            StoreError::InvalidInput { reason, .. } => StoreError::invalid(field, s, reason),
            other => other,
        })
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }

    /// The price as money: the decimal the price prints as (10.52 is 10.52, not the nearest
    /// binary fraction).
    pub fn as_money(self) -> Money {
        self.0.to_string().parse().unwrap_or_else(|_| Money::from_f64_retain(self.0).unwrap_or_default())
    }

    /// Rounded to 3 decimals the way Python's `round(x, 3)` does (correctly rounded from the
    /// exact binary value, ties to even), so 9.9999 becomes 10.0 — never truncated to 9.999.
    ///
    /// Position prices are stored rounded, so a price that rounds to 0.000 (e.g. 0.0004) would
    /// become an unreadable zero in every tier: it is refused here, naming `field` and the value.
    pub fn round3(self, field: &str) -> Result<Price, StoreError> {
        let rounded = round_decimals(self.0, 3);
        if rounded <= 0.0 {
            return Err(StoreError::invalid(
                field,
                self.0.to_string(),
                "rounds to 0.000 at 3 decimals; a position price must be at least 0.0005",
            ));
        }
        Ok(Price(rounded))
    }

    /// Whether the value already has at most 3 decimals (what every tier stores for positions).
    pub fn is_rounded3(self) -> bool {
        round_decimals(self.0, 3) == self.0
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price({})", self.0)
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<'de> serde::Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Price::new("price", v).map_err(serde::de::Error::custom)
    }
}

/// Rounds to `places` decimals, correctly rounded (Rust's float formatting is exact), ties to
/// even — the same result as Python's `round`.
pub fn round_decimals(v: f64, places: usize) -> f64 {
    let text = format!("{v:.places$}");
    text.parse().unwrap_or(v)
}

/// Parses a float the way Python writes them; refuses `nan`/`inf` spellings and empty text.
fn parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let plausible = !b.is_empty()
        && b.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
        && b.iter().any(u8::is_ascii_digit);
    if !plausible {
        return None;
    }
    simple_decimal(b).or_else(|| s.parse().ok())
}

/// Powers of ten that are exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
    1e19, 1e20, 1e21, 1e22,
];

/// `[-]digits[.digits]` whose digits, read as one integer `m`, fit 2^53, with at most 22 after
/// the point: then `m` and 10^k are exact and IEEE division rounds `m / 10^k` correctly, which
/// is exactly what `str::parse` returns, in a fraction of its time (every price of every
/// kline row is parsed). Anything else (exponents, `+`, long digit strings) is left to it.
fn simple_decimal(b: &[u8]) -> Option<f64> {
    let (negative, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let mut m: u64 = 0;
    let mut count = 0usize;
    let mut after_point: Option<usize> = None;
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                m = m.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                count += 1;
                if let Some(k) = after_point.as_mut() {
                    *k += 1;
                }
            }
            b'.' if after_point.is_none() => after_point = Some(0),
            _ => return None,
        }
    }
    if count == 0 || m > 1 << 53 {
        return None;
    }
    let v = m as f64 / *EXACT_POWERS_OF_TEN.get(after_point.unwrap_or(0))?;
    Some(if negative { -v } else { v })
}

/// A traded or reported volume in shares: a non-negative integer.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Volume(u64);

/// 2^53: from here on, neighbouring integers share one `f64`, so a float spelling such as
/// `9007199254740993.0` cannot say which integer it meant.
const FLOAT_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

impl Volume {
    /// Wraps a count of shares.
    pub fn new(v: u64) -> Self {
        Volume(v)
    }

    /// Parses `12345` or `12345.0` (some data sources write volumes as floats). A fractional,
    /// negative or non-numeric value is an error naming `field`.
    pub fn parse(field: &str, s: &str) -> Result<Self, StoreError> {
        if let Ok(v) = s.parse::<u64>() {
            return Ok(Volume(v));
        }
        let f = parse_float(s).ok_or_else(|| StoreError::invalid(field, s, "not a number"))?;
        if f < 0.0 || s.starts_with('-') {
            return Err(StoreError::invalid(field, s, "must not be negative"));
        }
        if f.fract() != 0.0 {
            return Err(StoreError::invalid(field, s, "must be a whole number of shares"));
        }
        if f >= FLOAT_INT_LIMIT {
            return Err(StoreError::invalid(
                field,
                s,
                "a float spelling at or above 2^53 is not exact; write the volume as an integer",
            ));
        }
        Ok(Volume(f as u64))
    }

    /// The count.
    pub fn get(self) -> u64 {
        self.0
    }

    /// Whether a float spelling (`12345.0`) of this volume reads back as the same integer,
    /// i.e. the volume is below 2^53.
    pub fn survives_float_spelling(self) -> bool {
        (self.0 as f64) < FLOAT_INT_LIMIT && self.0 < (1 << 53)
    }
}

impl fmt::Debug for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Volume({})", self.0)
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Validates a non-negative finite amount of market data (e.g. a kline's turnover).
pub fn non_negative(field: &str, value: f64) -> Result<f64, StoreError> {
    if !value.is_finite() {
        return Err(StoreError::invalid(field, value.to_string(), "must be a finite number"));
    }
    if value < 0.0 {
        return Err(StoreError::invalid(field, value.to_string(), "must not be negative"));
    }
    Ok(value)
}

/// Parses a non-negative finite amount from text, naming `field` on error.
pub fn parse_non_negative(field: &str, s: &str) -> Result<f64, StoreError> {
    let v = parse_float(s).ok_or_else(|| StoreError::invalid(field, s, "not a number"))?;
    non_negative(field, v).map_err(|e| match e {
        StoreError::InvalidInput { reason, .. } => StoreError::invalid(field, s, reason),
        other => other,
    })
}

/// Decimal places money keeps in storage (the warm tier's `DECIMAL(20,4)`).
pub const MONEY_SCALE: u32 = 4;

/// The largest amount of money stored: 16 integer digits.
pub fn max_money() -> Money {
    Money::from_i128_with_scale(10_i128.pow(20) - 1, MONEY_SCALE)
}

/// Checks that `value` fits storage exactly: at most [`MONEY_SCALE`] decimal places (a fifth
/// would be rounded away silently by some engines) and at most 16 integer digits.
pub fn storable_money(field: &str, value: Money) -> Result<Money, StoreError> {
    // Trailing zeros are no precision (`1.50000` fits); the error shows the value as given.
    let normal = value.normalize();
    if normal.scale() > MONEY_SCALE {
        return Err(StoreError::invalid(
            field,
            value.to_string(),
            format!("at most {MONEY_SCALE} decimal places are kept"),
        ));
    }
    if normal.abs() > max_money() {
        return Err(StoreError::invalid(field, value.to_string(), "more than 16 integer digits"));
    }
    Ok(normal)
}

/// Parses money written as plain decimal text: an optional `-`, digits, optionally `.` and
/// digits. Exponents (`1e5`), separators (`1,000`), signs other than `-` and blanks inside
/// are refused, so what an operator typed is exactly what is stored.
pub fn parse_money(field: &str, s: &str) -> Result<Money, StoreError> {
    let t = s.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    if !ok {
        return Err(StoreError::invalid(field, s, "not a plain decimal number such as 100000 or 12.5"));
    }
    t.parse::<Money>().map_err(|e| StoreError::invalid(field, s, e.to_string()))
}

/// Checks `value > 0` and [`storable_money`].
pub fn positive_money(field: &str, value: Money) -> Result<Money, StoreError> {
    if value <= Money::ZERO {
        return Err(StoreError::invalid(field, value.to_string(), "must be greater than 0"));
    }
    storable_money(field, value)
}

/// Validates money that must not be negative (capital, allocations).
pub fn non_negative_money(field: &str, value: Money) -> Result<Money, StoreError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(StoreError::invalid(field, value.to_string(), "must not be negative"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_decimals_read_as_std_reads_them_and_the_rest_is_left_to_it() {
        for text in [
            "10.52",
            "0.1",
            "0.3",
            "-0.0",
            "0",
            "1.",
            ".5",
            "007.50",
            "9007199254740992",
            "1234567.891",
            "0.0000000000000000000001",
            "3.141592653589793",
            "99999.99",
            "0.015",
        ] {
            let std: f64 = text.parse().unwrap();
            assert_eq!(simple_decimal(text.as_bytes()).map(f64::to_bits), Some(std.to_bits()), "{text}");
        }
        for text in [
            "9007199254740993",          // past 2^53
            "0.00000000000000000000001", // 23 decimals
            "1e5",
            "+1.5",
            "1.2.3",
            ".",
            "-",
            "",
            "1,5",
            "18446744073709551616", // past u64
        ] {
            assert_eq!(simple_decimal(text.as_bytes()), None, "{text}");
        }
        assert_eq!(
            parse_float("9007199254740993").map(f64::to_bits),
            Some(9_007_199_254_740_992f64.to_bits())
        );
        assert_eq!(parse_float("1e5"), Some(100_000.0));
    }

    proptest::proptest! {
        #[test]
        fn any_decimal_reads_bit_for_bit_as_std_reads_it(
            m in proptest::prop_oneof![0u64..(1u64 << 54), proptest::num::u64::ANY],
            point in 0usize..25,
            negative: bool,
        ) {
            let digits = m.to_string();
            let text = if point == 0 || point > digits.len() {
                digits
            } else {
                format!("{}.{}", &digits[..digits.len() - point], &digits[digits.len() - point..])
            };
            let text = if negative { format!("-{text}") } else { text };
            let std: f64 = text.parse().unwrap();
            proptest::prop_assert_eq!(parse_float(&text).map(f64::to_bits), Some(std.to_bits()), "{}", text);
        }
    }

    #[test]
    fn prices_must_be_finite_and_positive() {
        assert_eq!(Price::parse("close", "10.52").unwrap().get(), 10.52);
        for (s, reason) in [
            ("0", "greater than 0"),
            ("-1.5", "greater than 0"),
            ("nan", "not a number"),
            ("inf", "not a number"),
            ("", "not a number"),
            ("1e13", "at most"),
            ("10,5", "not a number"),
            ("abc", "not a number"),
        ] {
            let e = Price::parse("close", s).unwrap_err();
            let StoreError::InvalidInput { field, value, reason: r } = &e else { panic!("{s}") };
            assert_eq!((field.as_str(), value.as_str()), ("close", s));
            assert!(r.contains(reason), "{s}: {r}");
        }
        assert!(Price::new("max_price", f64::NAN).is_err());
        assert!(Price::new("max_price", f64::INFINITY).is_err());
    }

    /// Expected values are CPython 3.11's `round(v, 3)`.
    #[test]
    fn round3_rounds_like_python_never_truncates() {
        let r = |v: f64| Price::new("p", v).unwrap().round3("max_price").unwrap().get();
        assert_eq!(r(9.9999), 10.0);
        assert_eq!(r(10.0004), 10.0);
        assert_eq!(r(10.0005), 10.001); // 10.0005 is 10.000500000000000611 in binary
        assert_eq!(r(1.0005), 1.0); // 1.0005 is 1.000499999999999945 in binary
        assert_eq!(r(9.9995), 9.999);
        assert_eq!(r(1.0625), 1.062); // an exact tie: to even, as Python's round(1.0625, 3)
        assert_eq!(r(10.0625), 10.062);
        assert_eq!(r(2.675), 2.675);
        assert_eq!(r(0.0005), 0.001);
        assert!(Price::new("p", 2.675).unwrap().is_rounded3());
        assert!(!Price::new("p", 2.6755).unwrap().is_rounded3());
    }

    #[test]
    fn a_price_that_rounds_to_zero_is_refused_naming_field_and_value() {
        let e = Price::new("p", 0.0004).unwrap().round3("min_price").unwrap_err();
        let StoreError::InvalidInput { field, value, reason } = &e else { panic!("{e:?}") };
        assert_eq!((field.as_str(), value.as_str()), ("min_price", "0.0004"));
        assert!(reason.contains("rounds to 0.000"), "{reason}");
    }

    #[test]
    fn volumes_accept_integer_and_float_spellings() {
        assert_eq!(Volume::parse("volume", "12345").unwrap().get(), 12345);
        assert_eq!(Volume::parse("volume", "12345.0").unwrap().get(), 12345);
        assert_eq!(Volume::parse("volume", "0").unwrap().get(), 0);
        assert_eq!(Volume::parse("volume", "1.5e3").unwrap().get(), 1500);
        assert_eq!(Volume::parse("volume", "9007199254740991.0").unwrap().get(), 9_007_199_254_740_991);
        assert_eq!(Volume::parse("volume", "9007199254740993").unwrap().get(), 9_007_199_254_740_993);
        assert!(Volume::new(9_007_199_254_740_991).survives_float_spelling());
        assert!(!Volume::new(9_007_199_254_740_992).survives_float_spelling());
        for s in
            ["-1", "-1.0", "12.5", "", "x", "nan", "1e300", "+-1", "9007199254740992.0", "9007199254740993.0"]
        {
            let e = Volume::parse("volume", s).unwrap_err();
            let StoreError::InvalidInput { field, value, .. } = &e else { panic!("{s}") };
            assert_eq!((field.as_str(), value.as_str()), ("volume", s));
        }
    }

    #[test]
    fn storable_money_ignores_trailing_zeros_and_quotes_the_value_as_given() {
        assert_eq!(storable_money("capital", "1.50000".parse().unwrap()).unwrap(), Money::new(15, 1));
        let e = storable_money("capital", "1.000010".parse().unwrap()).unwrap_err();
        assert_eq!(e.to_string(), r#"invalid capital "1.000010": at most 4 decimal places are kept"#);
    }

    #[test]
    fn money_text_is_plain_decimal() {
        assert_eq!(parse_money("capital", "100000").unwrap(), Money::new(100_000, 0));
        assert_eq!(parse_money("capital", " 12.5 ").unwrap(), Money::new(125, 1));
        assert_eq!(parse_money("capital", "-0.01").unwrap(), Money::new(-1, 2));
        for bad in ["1e5", "1,000", "+5", "", ".5", "5.", "1 000", "abc", "0x10"] {
            let e = parse_money("capital", bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("invalid capital {bad:?}: not a plain decimal number such as 100000 or 12.5")
            );
        }
    }

    #[test]
    fn amounts_must_be_non_negative() {
        assert_eq!(parse_non_negative("amount", "123.5").unwrap(), 123.5);
        assert!(parse_non_negative("amount", "-0.1").is_err());
        assert!(non_negative_money("initial_capital", Money::new(-1, 0)).is_err());
        assert!(non_negative_money("initial_capital", Money::ZERO).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = Price::parse("p", &s);
            let _ = Volume::parse("v", &s);
            let _ = parse_non_negative("a", &s);
        }

        #[test]
        fn round3_is_idempotent_and_close(v in 0.001f64..100_000.0) {
            let once = Price::new("p", v).unwrap().round3("p").unwrap().get();
            proptest::prop_assert!((once - v).abs() <= 0.0005 + 1e-9);
            proptest::prop_assert_eq!(round_decimals(once, 3), once);
        }
    }
}
