//! Where "now" comes from. Code that needs "today" asks a [`Clock`] (the legacy store's
//! `market_today`, through `LegacyStore::with_clock`) instead of reading the system time, so
//! the market date — the day of the once-a-day held-days increment — can be tested at the
//! instants where it changes (16:00:00Z is midnight in Shanghai), whatever the host's timezone.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::date::TradeDate;
use crate::error::StoreError;

/// A source of the current instant.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told (tests, replays).
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock (every clone sees it).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Today's market date by `clock` in the market's timezone `tz`.
pub fn market_today<Tz: chrono::TimeZone>(clock: &dyn Clock, tz: &Tz) -> Result<TradeDate, StoreError> {
    TradeDate::of_instant(clock.now(), tz)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_market_date_turns_at_shanghai_midnight() {
        let tz = chrono_tz::Asia::Shanghai;
        let clock = FixedClock::new(Utc.with_ymd_and_hms(2024, 10, 9, 15, 59, 59).unwrap());
        assert_eq!(market_today(&clock, &tz).unwrap().to_string(), "2024-10-09");
        clock.set(Utc.with_ymd_and_hms(2024, 10, 9, 16, 0, 0).unwrap());
        assert_eq!(market_today(&clock, &tz).unwrap().to_string(), "2024-10-10");
        // The same instant is still the 9th in UTC: the host's zone never decides.
        assert_eq!(market_today(&clock, &Utc).unwrap().to_string(), "2024-10-09");
    }
}
