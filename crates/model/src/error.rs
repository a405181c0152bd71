//! The one error type every store returns.
//!
//! Variants are chosen by what a caller can *do* about the failure: fix the input, create the
//! missing thing, resolve a conflict, retry or fall back to another tier, or repair a file.
//! Library errors from drivers are flattened into one-line causes by the tier that met them,
//! with passwords already removed, so nothing here can leak a credential.

use std::fmt;
use std::path::PathBuf;

/// Shorthand used by every store trait.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage tiers of tierstore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Redis: position state.
    Hot,
    /// MySQL/MariaDB or SQLite through SeaORM: accounts, strategies, params, users.
    Warm,
    /// ClickHouse: trades, klines, asset curves.
    Cool,
    /// The SilverQuant JSON/CSV file layout.
    Legacy,
}

impl Tier {
    /// Lower-case name, as used in logs, configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Warm => "warm",
            Tier::Cool => "cool",
            Tier::Legacy => "legacy",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The caller passed a value that fails validation. Nothing was written.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidInput {
        /// Name of the field or parameter, e.g. `code` or `close`.
        field: String,
        /// The offending value as given (truncated if very long).
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The thing asked for does not exist.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// Kind of thing, e.g. `account`.
        what: &'static str,
        /// Its identifier.
        id: String,
    },
    /// The operation contradicts stored state, e.g. a duplicate id.
    #[error("conflict on {what} {id:?}: {reason}")]
    Conflict {
        /// Kind of thing, e.g. `account`.
        what: &'static str,
        /// Its identifier.
        id: String,
        /// What contradicts what.
        reason: String,
    },
    /// A tier could not be reached or did not answer in time. Retrying or falling back to
    /// another tier is reasonable; the operation did not take effect unless the tier says so.
    #[error("{tier} tier ({service} at {address}) unavailable: {cause}")]
    Unavailable {
        /// Which tier.
        tier: Tier,
        /// The service behind it, e.g. `redis`, `mysql`, `clickhouse`, `files`.
        service: String,
        /// Where it was expected, passwords redacted.
        address: String,
        /// One-line cause, passwords redacted.
        cause: String,
    },
    /// The service answered and refused the operation for a reason retrying will not fix: a
    /// query it cannot run, a table that is missing, a limit it enforces. The call did not
    /// complete (a write may have stored part of its rows, as any failed write may; the same
    /// write retried once the cause is fixed makes it whole); falling back to another tier
    /// hides a defect rather than an outage, so callers surface it instead.
    #[error("{tier} tier ({service} at {address}) refused the operation: {cause}")]
    Refused {
        /// Which tier.
        tier: Tier,
        /// The service behind it.
        service: String,
        /// Where it is, passwords redacted.
        address: String,
        /// One-line cause, passwords redacted.
        cause: String,
    },
    /// The tier holds no current copy of this state: never seeded, lost by the server (a
    /// restart without persistence, a flush, a failover to an empty replica), or left over
    /// from an earlier generation (an old snapshot, a lagging replica, an interrupted
    /// rehydration). Nothing was read or written. The caller reads the legacy tier instead
    /// and rehydrates this one from it; retrying the same tier does not help until then.
    #[error("{tier} tier holds no current state for {what}: {reason}; rehydrate it from the legacy tier")]
    NotSeeded {
        /// Which tier.
        tier: Tier,
        /// What is missing, e.g. `account prod_pwc in namespace tierstore`.
        what: String,
        /// Why the tier cannot vouch for it.
        reason: String,
    },
    /// The caller is not allowed to do this: wrong credentials, a locked user, an expired
    /// session. The reason never contains a password or a token.
    #[error("access denied: {reason}")]
    Denied {
        /// Why, in words an operator can act on.
        reason: String,
    },
    /// Stored data cannot be read as what it claims to be.
    #[error("corrupt data in {}{}: {reason}", path.display(), fmt_line(*line))]
    Corrupt {
        /// The file, or a pseudo-path such as `redis:tierstore:{acct}:pos`.
        path: PathBuf,
        /// 1-based line number where known.
        line: Option<u64>,
        /// What is wrong, naming the column or field and the value.
        reason: String,
    },
}

fn fmt_line(line: Option<u64>) -> String {
    line.map(|l| format!(" line {l}")).unwrap_or_default()
}

/// Values quoted in errors are cut here so a megabyte of garbage does not become the message.
const MAX_QUOTED_VALUE: usize = 80;

impl StoreError {
    /// An [`StoreError::InvalidInput`] for `field` holding `value`.
    pub fn invalid(field: impl Into<String>, value: impl AsRef<str>, reason: impl Into<String>) -> Self {
        StoreError::InvalidInput {
            field: field.into(),
            value: truncate_for_message(value.as_ref()),
            reason: reason.into(),
        }
    }

    /// A [`StoreError::NotFound`].
    pub fn not_found(what: &'static str, id: impl fmt::Display) -> Self {
        StoreError::NotFound { what, id: id.to_string() }
    }

    /// A [`StoreError::Conflict`].
    pub fn conflict(what: &'static str, id: impl fmt::Display, reason: impl Into<String>) -> Self {
        StoreError::Conflict { what, id: id.to_string(), reason: reason.into() }
    }

    /// A [`StoreError::Unavailable`]; `cause` is folded onto one line.
    pub fn unavailable(
        tier: Tier,
        service: impl Into<String>,
        address: impl Into<String>,
        cause: impl fmt::Display,
    ) -> Self {
        StoreError::Unavailable {
            tier,
            service: service.into(),
            address: address.into(),
            cause: one_line(&cause.to_string()),
        }
    }

    /// A [`StoreError::Refused`]; `cause` is folded onto one line.
    pub fn refused(
        tier: Tier,
        service: impl Into<String>,
        address: impl Into<String>,
        cause: impl fmt::Display,
    ) -> Self {
        StoreError::Refused {
            tier,
            service: service.into(),
            address: address.into(),
            cause: one_line(&cause.to_string()),
        }
    }

    /// A [`StoreError::Corrupt`].
    pub fn corrupt(path: impl Into<PathBuf>, line: Option<u64>, reason: impl Into<String>) -> Self {
        StoreError::Corrupt { path: path.into(), line, reason: reason.into() }
    }

    /// Re-labels an [`StoreError::InvalidInput`] with the name the caller knows the field by
    /// (e.g. a parser for prices reports `price`; the kline reader knows it was `close`).
    #[must_use]
    pub fn in_field(self, name: impl Into<String>) -> Self {
        match self {
            StoreError::InvalidInput { value, reason, .. } => {
                StoreError::InvalidInput { field: name.into(), value, reason }
            }
            other => other,
        }
    }

    /// Turns an input error found while reading a file into [`StoreError::Corrupt`] at that line.
    #[must_use]
    pub fn at(self, path: impl Into<PathBuf>, line: u64) -> Self {
        let reason = match &self {
            StoreError::InvalidInput { field, value, reason } => {
                format!("field {field} = {value:?}: {reason}")
            }
            StoreError::Corrupt { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        StoreError::corrupt(path, Some(line), reason)
    }

    /// A [`StoreError::Denied`].
    pub fn denied(reason: impl Into<String>) -> Self {
        StoreError::Denied { reason: reason.into() }
    }

    /// A [`StoreError::NotSeeded`].
    pub fn not_seeded(tier: Tier, what: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::NotSeeded { tier, what: what.into(), reason: reason.into() }
    }

    /// True when the tier could not be asked (down, unreachable, timed out, refusing for now):
    /// retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    /// True when the tier answered that it holds no current copy: rehydrate it.
    pub fn needs_rehydrate(&self) -> bool {
        matches!(self, StoreError::NotSeeded { .. })
    }

    /// True when another tier should serve the call: this one is unavailable or holds no
    /// current copy.
    pub fn falls_back(&self) -> bool {
        self.is_unavailable() || self.needs_rehydrate()
    }
}

/// Checks `min <= value <= max` for a numeric setting or argument named `field`.
pub fn ensure_between(field: &str, value: u64, min: u64, max: u64) -> Result<()> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(StoreError::invalid(field, value.to_string(), format!("must be between {min} and {max}")))
}

/// Folds a multi-line driver message onto one line.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split(['\n', '\r']).map(str::trim).filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        out.push_str(part);
    }
    out
}

/// An error and its sources on one line, `outer: inner: innermost`, skipping sources whose
/// text the outer message already contains (drivers often repeat themselves).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    one_line(&out)
}

fn truncate_for_message(s: &str) -> String {
    if s.chars().count() <= MAX_QUOTED_VALUE {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_QUOTED_VALUE).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_names_field_and_value() {
        let e = StoreError::invalid("code", "60000X.SH", "symbol must be 6 digits");
        assert_eq!(e.to_string(), r#"invalid code "60000X.SH": symbol must be 6 digits"#);
    }

    #[test]
    fn long_values_are_truncated_in_messages() {
        let e = StoreError::invalid("remark", "x".repeat(1000), "too long");
        let StoreError::InvalidInput { value, .. } = &e else { panic!("wrong variant") };
        assert_eq!(value.chars().count(), MAX_QUOTED_VALUE + 1);
    }

    #[test]
    fn chain_joins_sources_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused"));
        assert_eq!(chain(&e), "client error (Connect): Connection refused");
    }

    #[test]
    fn unavailable_is_one_line() {
        let e = StoreError::unavailable(Tier::Hot, "redis", "redis://127.0.0.1:1/", "a\nb\r\nc");
        assert_eq!(e.to_string(), "hot tier (redis at redis://127.0.0.1:1/) unavailable: a | b | c");
        assert!(e.is_unavailable());
    }

    #[test]
    fn not_seeded_is_told_apart_from_unavailable() {
        let e = StoreError::not_seeded(Tier::Hot, "account prod_pwc in namespace ts", "never seeded");
        assert_eq!(
            e.to_string(),
            "hot tier holds no current state for account prod_pwc in namespace ts: never seeded; \
             rehydrate it from the legacy tier"
        );
        assert!(e.needs_rehydrate() && e.falls_back() && !e.is_unavailable());
        let down = StoreError::unavailable(Tier::Hot, "redis", "redis://127.0.0.1:1/", "refused");
        assert!(down.is_unavailable() && down.falls_back() && !down.needs_rehydrate());
    }

    #[test]
    fn input_error_becomes_corrupt_at_a_line() {
        let e = StoreError::invalid("price", "-1", "must be > 0").in_field("close").at("a/000001.SZ.csv", 7);
        assert_eq!(
            e.to_string(),
            r#"corrupt data in a/000001.SZ.csv line 7: field close = "-1": must be > 0"#
        );
    }
}
