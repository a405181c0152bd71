//! Validated identifiers: account ids and strategy codes.
//!
//! Both end up in Redis keys (inside hash tags), SQL rows, ClickHouse columns and directory
//! names, so they are restricted to characters that are safe in all of those: ASCII letters,
//! digits, `_`, `-` and `.` (strategy codes: lower-case letters, digits and `_`, as the plan requires).
//! Values are always bound as query parameters anyway; the restriction is a second wall.

use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

/// Longest identifier we accept; fits every column and key we build from it.
pub const MAX_ID_LEN: usize = 64;

fn check_ident(field: &str, s: &str, allow: fn(u8) -> bool, allowed: &str) -> Result<(), StoreError> {
    if s.is_empty() {
        return Err(StoreError::invalid(field, s, "must not be empty"));
    }
    if s.len() > MAX_ID_LEN {
        return Err(StoreError::invalid(field, s, format!("longer than {MAX_ID_LEN} bytes")));
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii() || !allow(*c as u8)) {
        return Err(StoreError::invalid(field, s, format!("character {c:?} not allowed; use {allowed}")));
    }
    if s.starts_with(['.', '-']) {
        return Err(StoreError::invalid(field, s, "must not start with '.' or '-'"));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $field:literal, $allow:expr, $allowed:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, StoreError> {
                let s = s.into();
                check_ident($field, &s, $allow, $allowed)?;
                Ok(Self(s))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// An account, e.g. `prod_pwc` (a legacy strategy directory name) or a broker account number.
    AccountId,
    "account_id",
    |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'),
    "ASCII letters, digits, '_', '-' or '.'"
);

string_id!(
    /// A strategy's code, unique and stable (the plan's `strategy_code`): `^[a-z0-9_]+$`.
    StrategyId,
    "strategy_code",
    |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_',
    "lower-case ASCII letters, digits or '_'"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_ids() {
        for s in ["prod_pwc", "test-pwc", "55001234", "acct.1", "A"] {
            assert_eq!(AccountId::new(s).unwrap().as_str(), s);
        }
        assert_eq!(StrategyId::new("wencai_v2").unwrap().to_string(), "wencai_v2");
    }

    #[test]
    fn rejects_bad_ids_naming_field_and_value() {
        let long = "a".repeat(65);
        for s in ["", "x' OR '1'='1", "a b", "{acct}", "a:b", "账户", ".hidden", "-x", "a/b", long.as_str()]
        {
            let e = AccountId::new(s).unwrap_err();
            let StoreError::InvalidInput { field, value, .. } = &e else { panic!("{s}: {e:?}") };
            assert_eq!(field, "account_id");
            assert_eq!(value, s);
        }
        for s in ["wencai-v2", "Wencai", "a b", ""] {
            let e = StrategyId::new(s).unwrap_err();
            assert!(e.to_string().starts_with(&format!("invalid strategy_code {s:?}")), "{e}");
        }
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<AccountId>(r#""a b""#).is_err());
        let a: AccountId = serde_json::from_str(r#""prod""#).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), r#""prod""#);
    }
}
