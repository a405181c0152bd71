//! What the warm-role suites share: a clock the test moves and the login rules in force.

use chrono::{DateTime, TimeZone, Utc};
use tierstore_model::{FixedClock, LoginPolicy, Money, StoreError};

/// What a warm store's tests provide: a fresh, empty, migrated database whose store reads
/// "now" from `clock` and applies `policy` to logins.
#[derive(Debug, Clone)]
pub struct WarmEnv {
    /// The store's clock.
    pub clock: FixedClock,
    /// The store's login rules; the suites assume 3 failures lock for 15 minutes and a
    /// session lasts 60 minutes.
    pub policy: LoginPolicy,
}

impl WarmEnv {
    /// A clock at 2026-11-30 09:30:00 UTC and the rules the suites assume.
    pub fn new() -> Self {
        WarmEnv {
            clock: FixedClock::new(start()),
            policy: LoginPolicy {
                max_failed_logins: 3,
                lockout: chrono::Duration::minutes(15),
                session_ttl: chrono::Duration::minutes(60),
            },
        }
    }
}

impl Default for WarmEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// The instant the suites start at.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 30, 0).single().expect("valid instant")
}

pub(crate) fn money(s: &str) -> Money {
    s.parse().unwrap_or_else(|e| panic!("sample money {s}: {e}"))
}

/// Asserts `err` is an input error naming `field` and `value`.
pub(crate) fn assert_invalid(err: &StoreError, field: &str, value: &str) {
    match err {
        StoreError::InvalidInput { field: f, value: v, .. } => {
            assert_eq!((f.as_str(), v.as_str()), (field, value), "{err}");
        }
        other => panic!("expected invalid {field} {value:?}, got {other:?}"),
    }
}

/// Asserts `err` is a conflict whose message contains every one of `words`.
pub(crate) fn assert_conflict(err: &StoreError, words: &[&str]) {
    assert!(matches!(err, StoreError::Conflict { .. }), "expected a conflict, got {err:?}");
    let text = err.to_string();
    for w in words {
        assert!(text.contains(w), "{text:?} should mention {w:?}");
    }
}
