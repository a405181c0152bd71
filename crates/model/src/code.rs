//! Stock codes of the Shanghai, Shenzhen and Beijing exchanges.
//!
//! The legacy files write `600000.SH`; other programs and the user's plan write `SH600000` or
//! `sh600000`; `_code_list.csv` carries bare `600000`. A [`StockCode`] compares, hashes and
//! displays in the one canonical form (`600000.SH`), and remembers how it was spelt so a file
//! can be written back exactly as it was read.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::StoreError;

/// An exchange of the A-share market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Market {
    /// Shanghai Stock Exchange.
    Sh,
    /// Shenzhen Stock Exchange.
    Sz,
    /// Beijing Stock Exchange.
    Bj,
}

impl Market {
    /// Upper-case suffix as written in canonical codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Market::Sh => "SH",
            Market::Sz => "SZ",
            Market::Bj => "BJ",
        }
    }

    fn from_letters(letters: &[u8]) -> Option<(Market, bool)> {
        let (market, upper) = match letters {
            b"SH" => (Market::Sh, true),
            b"SZ" => (Market::Sz, true),
            b"BJ" => (Market::Bj, true),
            b"sh" => (Market::Sh, false),
            b"sz" => (Market::Sz, false),
            b"bj" => (Market::Bj, false),
            _ => return None,
        };
        Some((market, upper))
    }

    /// The market the Python program assigns to a bare 6-digit symbol by its first two digits.
    /// `None` for prefixes it cannot place.
    pub fn infer(symbol: &str) -> Option<Market> {
        match symbol.get(..2)? {
            "00" | "30" | "15" | "12" => Some(Market::Sz),
            "60" | "68" | "51" | "52" | "53" | "56" | "58" | "11" => Some(Market::Sh),
            "83" | "87" | "43" | "82" | "88" | "92" => Some(Market::Bj),
            _ => None,
        }
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a code was spelt when it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CodeStyle {
    /// `600000.SH` (canonical).
    #[default]
    Suffix,
    /// `600000.sh`.
    SuffixLower,
    /// `SH600000`.
    Prefix,
    /// `sh600000`.
    PrefixLower,
    /// `600000`, market inferred from the symbol.
    Bare,
}

/// A validated stock code. Equality, ordering and hashing ignore the spelling style.
#[derive(Clone, Copy)]
pub struct StockCode {
    /// Canonical ASCII bytes `NNNNNN.XX`.
    canonical: [u8; 9],
    style: CodeStyle,
}

const FIELD: &str = "code";

impl StockCode {
    /// Parses `600000.SH`, `600000.sh`, `SH600000` or `sh600000`. Bare symbols are refused here,
    /// because a market must not be guessed silently; use [`StockCode::from_symbol`] for those.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let b = s.as_bytes();
        let bad = |reason: &str| StoreError::invalid(FIELD, s, reason);
        match b.len() {
            9 if b[6] == b'.' => {
                let symbol = digits(&b[..6]).ok_or_else(|| bad("the symbol must be 6 digits"))?;
                let (market, upper) =
                    Market::from_letters(&b[7..]).ok_or_else(|| bad("the market must be SH, SZ or BJ"))?;
                let style = if upper { CodeStyle::Suffix } else { CodeStyle::SuffixLower };
                Ok(Self::build(symbol, market, style))
            }
            8 => {
                let (market, upper) = Market::from_letters(&b[..2]).ok_or_else(|| {
                    bad("expected NNNNNN.XX, XXNNNNNN or xxNNNNNN with market SH, SZ or BJ")
                })?;
                let symbol = digits(&b[2..]).ok_or_else(|| bad("the symbol must be 6 digits"))?;
                let style = if upper { CodeStyle::Prefix } else { CodeStyle::PrefixLower };
                Ok(Self::build(symbol, market, style))
            }
            6 if digits(b).is_some() => Err(bad("a bare symbol has no market; write it as NNNNNN.SH/SZ/BJ")),
            _ => Err(bad("expected NNNNNN.XX, XXNNNNNN or xxNNNNNN with market SH, SZ or BJ")),
        }
    }

    /// A bare 6-digit symbol (as in `_code_list.csv`) placed on its market by its first two
    /// digits, the way the Python program does. Prefixes it cannot place are an error.
    pub fn from_symbol(symbol: &str) -> Result<Self, StoreError> {
        let b = symbol.as_bytes();
        let digits = (b.len() == 6)
            .then(|| digits(b))
            .flatten()
            .ok_or_else(|| StoreError::invalid(FIELD, symbol, "a bare symbol must be exactly 6 digits"))?;
        let market = Market::infer(symbol).ok_or_else(|| {
            StoreError::invalid(FIELD, symbol, "no known market starts with these two digits")
        })?;
        Ok(Self::build(digits, market, CodeStyle::Bare))
    }

    /// Builds a code from its parts; `symbol` must be 6 ASCII digits.
    pub fn new(symbol: &str, market: Market) -> Result<Self, StoreError> {
        let d = (symbol.len() == 6)
            .then(|| digits(symbol.as_bytes()))
            .flatten()
            .ok_or_else(|| StoreError::invalid(FIELD, symbol, "the symbol must be 6 digits"))?;
        Ok(Self::build(d, market, CodeStyle::Suffix))
    }

    fn build(symbol: [u8; 6], market: Market, style: CodeStyle) -> Self {
        let mut canonical = [0u8; 9];
        canonical[..6].copy_from_slice(&symbol);
        canonical[6] = b'.';
        canonical[7..].copy_from_slice(market.as_str().as_bytes());
        Self { canonical, style }
    }

    /// `600000.SH`.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits, '.', and ASCII market letters by construction.
        std::str::from_utf8(&self.canonical).unwrap_or("?")
    }

    /// The 6-digit symbol.
    pub fn symbol(&self) -> &str {
        &self.as_str()[..6]
    }

    /// The exchange.
    pub fn market(&self) -> Market {
        match &self.canonical[7..] {
            b"SH" => Market::Sh,
            b"SZ" => Market::Sz,
            _ => Market::Bj,
        }
    }

    /// How the code was spelt when parsed.
    pub fn style(&self) -> CodeStyle {
        self.style
    }

    /// The same code, to be spelt in `style`.
    #[must_use]
    pub fn with_style(mut self, style: CodeStyle) -> Self {
        self.style = style;
        self
    }

    /// The code spelt as it was read (for writing legacy files back unchanged).
    pub fn original(&self) -> String {
        self.spelt(self.style)
    }

    /// The code spelt in a given style.
    pub fn spelt(&self, style: CodeStyle) -> String {
        let symbol = self.symbol();
        let market = self.market().as_str();
        match style {
            CodeStyle::Suffix => self.as_str().to_owned(),
            CodeStyle::SuffixLower => format!("{symbol}.{}", market.to_ascii_lowercase()),
            CodeStyle::Prefix => format!("{market}{symbol}"),
            CodeStyle::PrefixLower => format!("{}{symbol}", market.to_ascii_lowercase()),
            CodeStyle::Bare => symbol.to_owned(),
        }
    }
}

fn digits(b: &[u8]) -> Option<[u8; 6]> {
    let arr: [u8; 6] = b.try_into().ok()?;
    arr.iter().all(u8::is_ascii_digit).then_some(arr)
}

impl PartialEq for StockCode {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}
impl Eq for StockCode {}
impl Hash for StockCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.canonical.hash(state);
    }
}
impl PartialOrd for StockCode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for StockCode {
    fn cmp(&self, other: &Self) -> Ordering {
        self.canonical.cmp(&other.canonical)
    }
}

impl fmt::Display for StockCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for StockCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StockCode({})", self.as_str())
    }
}

impl FromStr for StockCode {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for StockCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for StockCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        StockCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_all_spellings_as_one_code() {
        let canonical = StockCode::parse("600000.SH").unwrap();
        for s in ["600000.sh", "SH600000", "sh600000"] {
            let c = StockCode::parse(s).unwrap();
            assert_eq!(c, canonical, "{s}");
            assert_eq!(c.as_str(), "600000.SH");
            assert_eq!(c.original(), s, "original spelling kept");
        }
        assert_eq!(canonical.original(), "600000.SH");
    }

    #[test]
    fn beijing_and_repurchase_codes_keep_their_market() {
        for (s, m) in [("830799.BJ", Market::Bj), ("131810.SZ", Market::Sz), ("204001.SH", Market::Sh)] {
            let c = StockCode::parse(s).unwrap();
            assert_eq!(c.market(), m);
            assert_eq!(c.to_string(), s);
        }
    }

    #[test]
    fn bare_symbols_get_their_market_from_the_prefix() {
        for (s, expect) in [
            ("000001", "000001.SZ"),
            ("300750", "300750.SZ"),
            ("159915", "159915.SZ"),
            ("123001", "123001.SZ"),
            ("600000", "600000.SH"),
            ("688981", "688981.SH"),
            ("510300", "510300.SH"),
            ("113001", "113001.SH"),
            ("830799", "830799.BJ"),
            ("430047", "430047.BJ"),
            ("920002", "920002.BJ"),
        ] {
            let c = StockCode::from_symbol(s).unwrap();
            assert_eq!(c.as_str(), expect, "{s}");
            assert_eq!(c.original(), s);
        }
    }

    #[test]
    fn rejects_bad_codes_naming_field_and_value() {
        for s in [
            "",
            "600000",
            "60000.SH",
            "600000.SS",
            "6000001.SH",
            "600000SH",
            "SS600000",
            "Sh600000",
            "600000.Sh",
            "sh60000a",
            " 600000.SH",
            "600000.SH ",
            "６００００0.SH",
            "600000-SH",
        ] {
            let e = StockCode::parse(s).unwrap_err();
            let StoreError::InvalidInput { field, value, .. } = &e else { panic!("{s}: {e:?}") };
            assert_eq!(field, "code");
            assert_eq!(value, s);
            assert!(e.to_string().contains(&format!("{s:?}")), "{e}");
        }
    }

    #[test]
    fn bare_symbols_that_cannot_be_placed_are_rejected() {
        for s in ["990001", "700000", "12345", "1234567", "abcdef"] {
            let e = StockCode::from_symbol(s).unwrap_err();
            assert!(matches!(e, StoreError::InvalidInput { ref field, .. } if field == "code"), "{s}");
        }
    }

    #[test]
    fn parse_refuses_bare_symbols_with_a_hint() {
        let e = StockCode::parse("600000").unwrap_err();
        assert!(e.to_string().contains("NNNNNN.SH/SZ/BJ"), "{e}");
    }

    #[test]
    fn ordering_and_hash_ignore_style() {
        use std::collections::HashSet;
        let a = StockCode::parse("sh600000").unwrap();
        let b = StockCode::parse("600000.SH").unwrap();
        let set: HashSet<_> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        let mut v = [StockCode::parse("600000.SH").unwrap(), StockCode::parse("000001.SZ").unwrap()];
        v.sort();
        assert_eq!(v[0].as_str(), "000001.SZ");
    }

    #[test]
    fn serde_uses_canonical_form() {
        let c = StockCode::parse("SZ000001").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""000001.SZ""#);
        let back: StockCode = serde_json::from_str(r#""sz000001""#).unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<StockCode>(r#""nope""#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = StockCode::parse(&s);
            let _ = StockCode::from_symbol(&s);
        }

        #[test]
        fn spelt_forms_round_trip(sym in "[0-9]{6}", m in 0..3u8) {
            let market = [Market::Sh, Market::Sz, Market::Bj][m as usize];
            let c = StockCode::new(&sym, market).unwrap();
            for style in [CodeStyle::Suffix, CodeStyle::SuffixLower, CodeStyle::Prefix, CodeStyle::PrefixLower] {
                let back = StockCode::parse(&c.spelt(style)).unwrap();
                proptest::prop_assert_eq!(back, c);
                proptest::prop_assert_eq!(back.style(), style);
            }
        }
    }
}
