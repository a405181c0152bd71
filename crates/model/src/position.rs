//! Position state: per account and stock, the held-days counter and the price extremes that
//! exit rules read many times a second during market hours.

use std::collections::BTreeMap;

use crate::code::StockCode;
use crate::date::TradeDate;
use crate::error::StoreError;
use crate::quantity::Price;

/// How long a position has been held, in trading days, or that it was closed.
///
/// The legacy nested format marks closed positions with `day_count: null` instead of deleting
/// them; "all held days +1" skips them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeldDays {
    /// Open, held for this many days (0 on the day it was bought).
    Open(u32),
    /// Closed (kept as a marker).
    Closed,
}

impl HeldDays {
    /// Validates a day count given as a signed number (files and callers may say `-1`).
    pub fn from_count(days: i64) -> Result<Self, StoreError> {
        u32::try_from(days).map(HeldDays::Open).map_err(|_| {
            StoreError::invalid("held_days", days.to_string(), "must be between 0 and 4294967295")
        })
    }

    /// The count, `None` when closed.
    pub fn days(self) -> Option<u32> {
        match self {
            HeldDays::Open(d) => Some(d),
            HeldDays::Closed => None,
        }
    }

    /// Whether the position is still open.
    pub fn is_open(self) -> bool {
        matches!(self, HeldDays::Open(_))
    }
}

/// A count, or `"closed"`. Not `null` for closed: inside an `Option<HeldDays>` (a position
/// without a held-days entry) a `null` reads back as `None`, and a closed position would
/// silently become one without an entry.
impl serde::Serialize for HeldDays {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            HeldDays::Open(d) => s.serialize_u32(*d),
            HeldDays::Closed => s.serialize_str("closed"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for HeldDays {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HeldDays;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a day count or \"closed\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HeldDays, E> {
                u32::try_from(v)
                    .map(HeldDays::Open)
                    .map_err(|_| E::custom(format!("held days {v} out of range")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HeldDays, E> {
                u32::try_from(v)
                    .map(HeldDays::Open)
                    .map_err(|_| E::custom(format!("held days {v} out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HeldDays, E> {
                match v {
                    "closed" => Ok(HeldDays::Closed),
                    other => Err(E::custom(format!("held days {other:?}: expected a count or \"closed\""))),
                }
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<HeldDays, E> {
                Ok(HeldDays::Closed)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<HeldDays, E> {
                Ok(HeldDays::Closed)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Everything stored about one stock of one account. Any part may be missing: files written
/// by hand or by older programs have a max price for a stock with no held-days entry.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Held days, if the stock has an entry in the held-days map.
    pub held_days: Option<HeldDays>,
    /// Highest price since opened, rounded to 3 decimals.
    pub max_price: Option<Price>,
    /// Lowest price since opened, rounded to 3 decimals.
    pub min_price: Option<Price>,
}

impl Position {
    /// The same position with its prices rounded to 3 decimals, as every tier stores them; a
    /// price that rounds to zero is refused naming its field (`max_price`/`min_price`).
    pub fn rounded(&self) -> Result<Position, StoreError> {
        Ok(Position {
            held_days: self.held_days,
            max_price: self.max_price.map(|p| p.round3("max_price")).transpose()?,
            min_price: self.min_price.map(|p| p.round3("min_price")).transpose()?,
        })
    }
}

/// The whole position state of one account: what the strategy reads at every tick, and what
/// migration and verification move between tiers as one unit.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct AccountPositions {
    /// The day on which "all held days +1" last ran (`_inc_date`); carried across tiers so the
    /// increment never runs twice on migration day.
    pub last_increment: Option<TradeDate>,
    /// Stocks and their state.
    pub positions: BTreeMap<StockCode, Position>,
}

impl AccountPositions {
    /// The same state with every price rounded as the tiers store it ([`Position::rounded`]);
    /// an error names the stock as well as the field.
    pub fn rounded(&self) -> Result<AccountPositions, StoreError> {
        let mut positions = BTreeMap::new();
        for (code, p) in &self.positions {
            let p = p.rounded().map_err(|e| match e {
                StoreError::InvalidInput { field, value, reason } => {
                    StoreError::invalid(format!("{field} of {code}"), value, reason)
                }
                other => other,
            })?;
            positions.insert(*code, p);
        }
        Ok(AccountPositions { last_increment: self.last_increment, positions })
    }

    /// Open positions (held-days present and not closed).
    pub fn open_count(&self) -> usize {
        self.positions.values().filter(|p| p.held_days.is_some_and(HeldDays::is_open)).count()
    }
}

/// What "all held days +1" did. Failures are errors, never a third kind of outcome, so
/// "already done today", "nothing to increment" and "the store is down" cannot be confused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IncrementOutcome {
    /// The increment ran now for `date`; `incremented` open positions were advanced (possibly 0).
    Applied {
        /// The market date the increment counts for.
        date: TradeDate,
        /// How many open positions were advanced.
        incremented: u32,
    },
    /// The increment had already run on `date`; nothing changed.
    AlreadyApplied {
        /// The market date of the earlier run.
        date: TradeDate,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_position_survives_json_and_differs_from_no_entry() {
        let closed = Position { held_days: Some(HeldDays::Closed), max_price: None, min_price: None };
        let none = Position { held_days: None, max_price: None, min_price: None };
        let text = serde_json::to_string(&closed).unwrap();
        assert_eq!(text, r#"{"held_days":"closed","max_price":null,"min_price":null}"#);
        assert_eq!(serde_json::from_str::<Position>(&text).unwrap(), closed);
        assert_eq!(serde_json::from_str::<Position>(&serde_json::to_string(&none).unwrap()).unwrap(), none);
        assert_eq!(serde_json::from_str::<HeldDays>("7").unwrap(), HeldDays::Open(7));
        assert!(serde_json::from_str::<HeldDays>("-1").is_err());
        assert!(serde_json::from_str::<HeldDays>(r#""open""#).is_err());
    }

    #[test]
    fn held_days_rejects_negative_counts() {
        let e = HeldDays::from_count(-1).unwrap_err();
        assert_eq!(e.to_string(), r#"invalid held_days "-1": must be between 0 and 4294967295"#);
        assert_eq!(HeldDays::from_count(3).unwrap(), HeldDays::Open(3));
    }

    #[test]
    fn held_days_serialises_closed_as_a_word() {
        assert_eq!(serde_json::to_string(&HeldDays::Closed).unwrap(), r#""closed""#);
        // Older records wrote `null`; a bare HeldDays still reads it as closed.
        assert_eq!(serde_json::from_str::<HeldDays>("null").unwrap(), HeldDays::Closed);
        assert_eq!(serde_json::from_str::<HeldDays>("7").unwrap(), HeldDays::Open(7));
        assert!(serde_json::from_str::<HeldDays>("-7").is_err());
    }

    #[test]
    fn rounded_state_rounds_every_price_and_refuses_zero() {
        let code = StockCode::parse("000001.SZ").unwrap();
        let mut ap = AccountPositions::default();
        ap.positions.insert(
            code,
            Position {
                held_days: Some(HeldDays::Open(2)),
                max_price: Some(Price::new("max_price", 10.0005).unwrap()),
                min_price: Some(Price::new("min_price", 9.9999).unwrap()),
            },
        );
        let r = ap.rounded().unwrap();
        assert_eq!(r.positions[&code].max_price.map(Price::get), Some(10.001));
        assert_eq!(r.positions[&code].min_price.map(Price::get), Some(10.0));
        ap.positions.get_mut(&code).unwrap().min_price = Some(Price::new("min_price", 0.0004).unwrap());
        let e = ap.rounded().unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid min_price of 000001.SZ "0.0004": rounds to 0.000 at 3 decimals; a position price must be at least 0.0005"#
        );
    }

    #[test]
    fn open_count_skips_closed_and_price_only_entries() {
        let code = |s| StockCode::parse(s).unwrap();
        let mut ap = AccountPositions::default();
        ap.positions
            .insert(code("000001.SZ"), Position { held_days: Some(HeldDays::Open(0)), ..Default::default() });
        ap.positions
            .insert(code("131810.SZ"), Position { held_days: Some(HeldDays::Closed), ..Default::default() });
        ap.positions.insert(
            code("600000.SH"),
            Position { max_price: Some(Price::new("max_price", 10.0).unwrap()), ..Default::default() },
        );
        assert_eq!(ap.open_count(), 1);
    }
}
