//! Trading dates.
//!
//! Legacy files write dates as `YYYY-MM-DD` (journals, asset curves, `_inc_date`) and as the
//! integer `YYYYMMDD` (klines). A [`TradeDate`] accepts both and is bounded to the range every
//! tier can store (ClickHouse `Date`/`DateTime` cannot hold dates before 1970 or after early
//! 2106), which also catches garbage such as `00010101`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use crate::error::StoreError;

/// A calendar date on which the market may trade.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TradeDate(NaiveDate);

const FIELD: &str = "date";

impl TradeDate {
    /// Earliest storable date.
    pub const MIN: TradeDate = TradeDate(NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid"));
    /// Latest storable date.
    pub const MAX: TradeDate = TradeDate(NaiveDate::from_ymd_opt(2105, 12, 31).expect("valid"));

    /// Parses `YYYYMMDD` or `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let b = s.as_bytes();
        let all_digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        let (y, m, d) = match b.len() {
            8 if all_digits(b) => (&s[..4], &s[4..6], &s[6..]),
            10 if b[4] == b'-'
                && b[7] == b'-'
                && all_digits(&b[..4])
                && all_digits(&b[5..7])
                && all_digits(&b[8..]) =>
            {
                (&s[..4], &s[5..7], &s[8..])
            }
            _ => return Err(StoreError::invalid(FIELD, s, "expected YYYY-MM-DD or YYYYMMDD")),
        };
        // The slices are ASCII digits of fixed width, so these parses cannot overflow.
        let (y, m, d) = (y.parse().unwrap_or(0), m.parse().unwrap_or(0), d.parse().unwrap_or(0));
        Self::from_ymd(y, m, d).map_err(|e| quoting(e, s))
    }

    /// From the integer `YYYYMMDD` used in kline files.
    pub fn from_yyyymmdd(n: u32) -> Result<Self, StoreError> {
        Self::from_ymd((n / 10_000) as i32, n / 100 % 100, n % 100).map_err(|e| quoting(e, &n.to_string()))
    }

    /// From year, month and day.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Result<Self, StoreError> {
        // The message is built only on failure: this runs once per kline row.
        let shown = || format!("{y:04}-{m:02}-{d:02}");
        let date = NaiveDate::from_ymd_opt(y, m, d)
            .ok_or_else(|| StoreError::invalid(FIELD, shown(), "no such calendar date"))?;
        Self::from_naive(date).map_err(|_| StoreError::invalid(FIELD, shown(), Self::range_reason()))
    }

    /// Wraps a chrono date, checking the storable range.
    pub fn from_naive(date: NaiveDate) -> Result<Self, StoreError> {
        let d = TradeDate(date);
        if d < Self::MIN || d > Self::MAX {
            return Err(StoreError::invalid(FIELD, date.to_string(), Self::range_reason()));
        }
        Ok(d)
    }

    fn range_reason() -> String {
        format!("outside the storable range {} to {}", Self::MIN, Self::MAX)
    }

    /// The chrono date.
    pub fn naive(self) -> NaiveDate {
        self.0
    }

    /// As the integer `YYYYMMDD`.
    pub fn yyyymmdd(self) -> u32 {
        self.0.year() as u32 * 10_000 + self.0.month() * 100 + self.0.day()
    }

    /// Days since 1970-01-01 (ClickHouse's `Date` representation); never negative.
    pub fn days_since_epoch(self) -> u16 {
        let days = (self.0 - Self::MIN.0).num_days();
        u16::try_from(days).unwrap_or(u16::MAX)
    }

    /// Inverse of [`TradeDate::days_since_epoch`].
    pub fn from_days_since_epoch(days: u16) -> Result<Self, StoreError> {
        let date = Self::MIN.0 + chrono::Days::new(u64::from(days));
        Self::from_naive(date)
    }

    /// The market date of an instant in the market's timezone — what "today" means for the
    /// once-a-day increment, whatever the host's timezone.
    pub fn of_instant<Tz: chrono::TimeZone>(
        instant: chrono::DateTime<chrono::Utc>,
        market: &Tz,
    ) -> Result<Self, StoreError> {
        Self::from_naive(instant.with_timezone(market).date_naive())
    }

    /// The next calendar day.
    #[must_use]
    pub fn succ(self) -> Option<Self> {
        self.0.succ_opt().and_then(|d| Self::from_naive(d).ok())
    }
}

/// Reports a date error with the value as the caller spelt it, not as re-formatted.
fn quoting(e: StoreError, value: &str) -> StoreError {
    match e {
        StoreError::InvalidInput { reason, .. } => StoreError::invalid(FIELD, value, reason),
        other => other,
    }
}

impl fmt::Display for TradeDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl fmt::Debug for TradeDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TradeDate({self})")
    }
}

impl FromStr for TradeDate {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for TradeDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for TradeDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        TradeDate::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An inclusive range of dates, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DateRange {
    /// First day included.
    pub start: TradeDate,
    /// Last day included.
    pub end: TradeDate,
}

impl DateRange {
    /// A range from `start` to `end`, both included.
    pub fn new(start: TradeDate, end: TradeDate) -> Result<Self, StoreError> {
        if start > end {
            return Err(StoreError::invalid("date_range", format!("{start}..={end}"), "start is after end"));
        }
        Ok(Self { start, end })
    }

    /// One day.
    pub fn day(d: TradeDate) -> Self {
        Self { start: d, end: d }
    }

    /// Whether `d` lies in the range.
    pub fn contains(&self, d: TradeDate) -> bool {
        self.start <= d && d <= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        let a = TradeDate::parse("2024-10-10").unwrap();
        let b = TradeDate::parse("20241010").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2024-10-10");
        assert_eq!(a.yyyymmdd(), 20241010);
        assert_eq!(TradeDate::from_yyyymmdd(20241010).unwrap(), a);
    }

    #[test]
    fn rejects_bad_dates_naming_field_and_value() {
        for s in [
            "",
            "2024-1-10",
            "2024/10/10",
            "2024-02-30",
            "20241301",
            "00010101",
            "1969-12-31",
            "2106-01-01",
            "2024-10-10T00:00",
            " 2024-10-10",
            "２０２４1010",
            "2024-10-1a",
        ] {
            let e = TradeDate::parse(s).unwrap_err();
            let StoreError::InvalidInput { field, value, .. } = &e else { panic!("{s}: {e:?}") };
            assert_eq!(field, "date", "{s}");
            assert_eq!(value, s, "{s}");
        }
        let e = TradeDate::from_yyyymmdd(20240230).unwrap_err();
        assert_eq!(e.to_string(), r#"invalid date "20240230": no such calendar date"#);
    }

    #[test]
    fn epoch_days_round_trip() {
        for s in ["1970-01-01", "2024-02-29", "2105-12-31"] {
            let d = TradeDate::parse(s).unwrap();
            assert_eq!(TradeDate::from_days_since_epoch(d.days_since_epoch()).unwrap(), d);
        }
        assert_eq!(TradeDate::parse("1970-01-02").unwrap().days_since_epoch(), 1);
    }

    #[test]
    fn market_date_is_taken_in_the_market_timezone() {
        use chrono::TimeZone;
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let evening_utc = chrono::Utc.with_ymd_and_hms(2024, 10, 9, 17, 30, 0).unwrap();
        assert_eq!(TradeDate::of_instant(evening_utc, &shanghai).unwrap().to_string(), "2024-10-10");
        assert_eq!(TradeDate::of_instant(evening_utc, &chrono::Utc).unwrap().to_string(), "2024-10-09");
    }

    #[test]
    fn ranges_must_be_ordered() {
        let a = TradeDate::parse("2024-01-02").unwrap();
        let b = TradeDate::parse("2024-01-01").unwrap();
        let e = DateRange::new(a, b).unwrap_err();
        assert!(e.to_string().contains("start is after end"));
        let r = DateRange::new(b, a).unwrap();
        assert!(r.contains(a) && r.contains(b));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,12}") {
            let _ = TradeDate::parse(&s);
        }

        #[test]
        fn from_yyyymmdd_never_panics(n in proptest::num::u32::ANY) {
            if let Ok(d) = TradeDate::from_yyyymmdd(n) {
                proptest::prop_assert_eq!(d.yyyymmdd(), n);
            }
        }
    }
}
