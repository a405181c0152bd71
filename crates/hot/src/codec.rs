//! The account string: one text value per account holding its whole position state.
//!
//! Rust writes it ([`encode`]) and reads it ([`decode`]); the Lua scripts in `scripts` parse
//! and rewrite it on the server. Both sides implement the one grammar below and refuse a
//! string that does not follow it *whole* — a line that does not parse is never skipped,
//! because dropping it would silently lose a position. `tests/hot_codec.rs` checks on a real
//! server that the two agree on arbitrary states and refuse the same malformed strings.
//!
//! ```text
//! blob   = header *( "\n" line )
//! header = "@" epoch "|" [ date ]            ; date of the last "+1", YYYY-MM-DD
//! epoch  = 1*32 ( %x30-39 / %x61-66 )        ; lower-case hex
//! line   = code "=" held "|" price "|" price ; held days, max price, min price
//! code   = 6DIGIT "." ( "SH" / "SZ" / "BJ" )
//! held   = "" / "c" / "0" / %x31-39 *9DIGIT  ; "c" = closed; at most 4294967295
//! price  = "" / 1*13DIGIT [ "." 1*3DIGIT ]   ; > 0, rounded to 3 decimals
//! ```
//!
//! Codes appear at most once, and a line holds at least one of the three values.

use std::collections::BTreeMap;

use tierstore_model::{AccountPositions, HeldDays, Position, Price, StockCode, TradeDate};

/// Held days of a closed position.
pub const CLOSED: &str = "c";

/// The longest epoch the grammar allows.
pub const MAX_EPOCH_LEN: usize = 32;

/// A generation of a namespace's data: changes whenever the namespace is rehydrated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Epoch(pub String);

impl Epoch {
    /// A fresh random epoch.
    pub fn random() -> Epoch {
        Epoch(format!("{:016x}", rand::random::<u64>()))
    }

    /// Whether `s` is a well-formed epoch.
    pub fn is_valid(s: &str) -> bool {
        !s.is_empty() && s.len() <= MAX_EPOCH_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The string of `state` in `epoch`. Prices must already be rounded to 3 decimals
/// ([`AccountPositions::rounded`]); stocks with nothing stored are left out.
pub fn encode(epoch: &Epoch, state: &AccountPositions) -> String {
    let mut blob = String::with_capacity(32 + state.positions.len() * 28);
    blob.push('@');
    blob.push_str(&epoch.0);
    blob.push('|');
    if let Some(d) = state.last_increment {
        blob.push_str(&d.to_string());
    }
    for (code, p) in &state.positions {
        if *p == Position::default() {
            continue;
        }
        blob.push('\n');
        blob.push_str(code.as_str());
        blob.push('=');
        blob.push_str(&encode_position(p));
    }
    blob
}

/// `held|max|min` of one position.
pub fn encode_position(p: &Position) -> String {
    format!(
        "{}|{}|{}",
        p.held_days.map(held_text).unwrap_or_default(),
        p.max_price.map(price_text).unwrap_or_default(),
        p.min_price.map(price_text).unwrap_or_default()
    )
}

/// The text of held days.
pub fn held_text(h: HeldDays) -> String {
    match h {
        HeldDays::Open(n) => n.to_string(),
        HeldDays::Closed => CLOSED.to_owned(),
    }
}

/// The text of a price already rounded to 3 decimals: the shortest decimal that reads back as
/// the same float, never in exponent form (`10.52`, `10`, `0.001`).
pub fn price_text(p: Price) -> String {
    // Rust's `Display` for f64 is the shortest round-trip text in plain decimal notation.
    p.get().to_string()
}

/// Why a string is not an account string: the 1-based line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line of the string.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Reads an account string; any line that does not follow the grammar refuses it whole.
pub fn decode(blob: &str) -> Result<(Epoch, AccountPositions), Malformed> {
    let bad = |line: usize, reason: String| Malformed { line, reason };
    let mut lines = blob.split('\n');
    let header = lines.next().unwrap_or_default();
    let (epoch, inc) = header
        .strip_prefix('@')
        .and_then(|h| h.split_once('|'))
        .filter(|(e, _)| Epoch::is_valid(e))
        .ok_or_else(|| bad(1, format!("header {header:?} is not @<epoch>|<date>")))?;
    let mut state = AccountPositions::default();
    if !inc.is_empty() {
        let valid_shape = inc.len() == 10 && inc.as_bytes()[4] == b'-' && inc.as_bytes()[7] == b'-';
        let date = TradeDate::parse(inc).ok().filter(|_| valid_shape);
        state.last_increment =
            Some(date.ok_or_else(|| bad(1, format!("last increment {inc:?} is not a YYYY-MM-DD date")))?);
    }
    let mut positions = BTreeMap::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let (code, value) = line
            .split_once('=')
            .ok_or_else(|| bad(n, format!("{line:?} is not <code>=<held>|<max>|<min>")))?;
        let code =
            decode_code(code).ok_or_else(|| bad(n, format!("code {code:?} is not NNNNNN.SH/SZ/BJ")))?;
        let p = decode_position(value).map_err(|reason| bad(n, format!("{}: {reason}", code.as_str())))?;
        if p == Position::default() {
            return Err(bad(n, format!("{} holds nothing", code.as_str())));
        }
        if positions.insert(code, p).is_some() {
            return Err(bad(n, format!("{} appears twice", code.as_str())));
        }
    }
    state.positions = positions;
    Ok((Epoch(epoch.to_owned()), state))
}

fn decode_code(s: &str) -> Option<StockCode> {
    let b = s.as_bytes();
    let shape = b.len() == 9
        && b[..6].iter().all(u8::is_ascii_digit)
        && b[6] == b'.'
        && matches!(&b[7..], b"SH" | b"SZ" | b"BJ");
    shape.then(|| StockCode::parse(s).ok()).flatten()
}

/// Reads `held|max|min`.
pub fn decode_position(value: &str) -> Result<Position, String> {
    let mut parts = value.split('|');
    let (Some(h), Some(x), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{value:?} is not <held>|<max>|<min>"));
    };
    Ok(Position {
        held_days: (!h.is_empty()).then(|| decode_held(h)).transpose()?,
        max_price: (!x.is_empty()).then(|| decode_price("max_price", x)).transpose()?,
        min_price: (!n.is_empty()).then(|| decode_price("min_price", n)).transpose()?,
    })
}

fn decode_held(s: &str) -> Result<HeldDays, String> {
    if s == CLOSED {
        return Ok(HeldDays::Closed);
    }
    let canonical =
        s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0')) && s.len() <= 10;
    canonical
        .then(|| s.parse::<u32>().ok())
        .flatten()
        .map(HeldDays::Open)
        .ok_or_else(|| format!("held days {s:?} is not c or a whole number 0..=4294967295"))
}

/// Reads a price text: plain decimal, at most 3 decimals, positive.
pub fn decode_price(field: &str, s: &str) -> Result<Price, String> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let shape = !int.is_empty()
        && int.len() <= 13
        && int.bytes().all(|b| b.is_ascii_digit())
        && (!s.contains('.') || (!frac.is_empty() && frac.len() <= 3))
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !shape {
        return Err(format!("{field} {s:?} is not a decimal with at most 3 decimals"));
    }
    let v: f64 = s.parse().map_err(|_| format!("{field} {s:?} is not a number"))?;
    Price::new(field, v).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> StockCode {
        StockCode::parse(s).unwrap()
    }

    fn price(v: f64) -> Price {
        Price::new("p", v).unwrap()
    }

    #[test]
    fn encodes_the_documented_example() {
        let mut state = AccountPositions {
            last_increment: Some(TradeDate::parse("2024-10-10").unwrap()),
            ..Default::default()
        };
        state.positions.insert(
            code("000001.SZ"),
            Position {
                held_days: Some(HeldDays::Open(3)),
                max_price: Some(price(12.5)),
                min_price: Some(price(9.75)),
            },
        );
        state.positions.insert(
            code("131810.SZ"),
            Position { held_days: Some(HeldDays::Closed), max_price: Some(price(1.9)), min_price: None },
        );
        let blob = encode(&Epoch("5f0c2a9e41d7b3c8".into()), &state);
        assert_eq!(blob, "@5f0c2a9e41d7b3c8|2024-10-10\n000001.SZ=3|12.5|9.75\n131810.SZ=c|1.9|");
        assert_eq!(decode(&blob).unwrap(), (Epoch("5f0c2a9e41d7b3c8".into()), state));
        assert_eq!(decode("@ab|").unwrap().1, AccountPositions::default());
    }

    #[test]
    fn any_bad_line_refuses_the_whole_string() {
        let cases = [
            ("", 1),
            ("5f|", 1),
            ("@|", 1),
            ("@XYZ|", 1),
            ("@ab|2024-13-01", 1),
            ("@ab|20241010", 1),
            ("@ab|\n000001.SZ=1|2|3\ngarbage", 3),
            ("@ab|\n000001.SZ=1|2", 2),
            ("@ab|\n000001.SZ=1|2|3|4", 2),
            ("@ab|\n000001.SZ=||", 2),
            ("@ab|\n000001.SZ=-1||", 2),
            ("@ab|\n000001.SZ=01||", 2),
            ("@ab|\n000001.SZ=4294967296||", 2),
            ("@ab|\n000001.SZ=|0|", 2),
            ("@ab|\n000001.SZ=|1e3|", 2),
            ("@ab|\n000001.SZ=|1.2345|", 2),
            ("@ab|\n000001.SZ=|.5|", 2),
            ("@ab|\n000001.SZ=|nan|", 2),
            ("@ab|\nsz000001=1||", 2),
            ("@ab|\n000001.SZ=1||\n000001.SZ=2||", 3),
            ("@ab|\n\n000001.SZ=1||", 2),
            ("@ab|\n000001.SZ=1||\n", 3),
        ];
        for (blob, line) in cases {
            let e = decode(blob).expect_err(blob);
            assert_eq!(e.line, line, "{blob:?}: {e}");
        }
    }
}
