//! Values that must never be printed: passwords, and URLs that may carry one.
//!
//! `Debug` and `Display` redact; the real value is reachable only through an explicit
//! `expose()`, which makes every place that hands a credential to a driver easy to audit.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::error::StoreError;

/// Shown instead of a secret.
pub const REDACTED: &str = "***";

/// A secret value; prints as `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(v: T) -> Self {
        Secret(v)
    }

    /// The value. Call only to hand it to a driver or a hash check.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<T> From<T> for Secret<T> {
    fn from(v: T) -> Self {
        Secret(v)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Secret)
    }
}

/// A service URL whose password (if any) is redacted when printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(Url);

impl SecretUrl {
    /// Parses a URL; `field` names the configuration key for errors (which never echo a password).
    pub fn parse(field: &str, s: &str) -> Result<Self, StoreError> {
        let url = Url::parse(s).map_err(|e| {
            // The raw text may hold a password, so the error quotes only its scheme.
            let scheme = s.split_once(':').map(|(sch, _)| sch).unwrap_or("");
            StoreError::invalid(field, format!("{scheme}:{REDACTED}"), format!("not a URL: {e}"))
        })?;
        Ok(SecretUrl(url))
    }

    /// The full URL, password included. Call only to hand it to a driver.
    pub fn expose(&self) -> &Url {
        &self.0
    }

    /// The URL with the password replaced by `***`: safe for logs, errors and output.
    pub fn redacted(&self) -> String {
        let mut u = self.0.clone();
        if u.password().is_some() {
            // Setting a password fails only for URLs that cannot have one, which then have none.
            let _ = u.set_password(Some(REDACTED));
        }
        u.to_string()
    }

    /// The password, if any (for redacting it out of driver messages).
    pub fn password(&self) -> Option<String> {
        self.0.password().map(percent_decode)
    }

    /// The same URL with a different password (for clients that take it separately).
    pub fn without_password(&self) -> Url {
        let mut u = self.0.clone();
        let _ = u.set_password(None);
        u
    }

    /// Replaces every occurrence of this URL's password in a driver message with `***`.
    pub fn scrub(&self, message: &str) -> String {
        match self.0.password() {
            Some(raw) if !raw.is_empty() => {
                let decoded = percent_decode(raw);
                let mut out = message.replace(raw, REDACTED);
                if !decoded.is_empty() && decoded != raw {
                    out = out.replace(&decoded, REDACTED);
                }
                out
            }
            _ => message.to_owned(),
        }
    }

    /// The host and port, e.g. `127.0.0.1:6379`, for messages that need no URL.
    pub fn host_port(&self) -> String {
        match (self.0.host_str(), self.0.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => self.redacted(),
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for SecretUrl {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecretUrl::parse("url", s)
    }
}

impl serde::Serialize for SecretUrl {
    /// Serialises redacted: configuration dumps never carry the password.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.redacted())
    }
}

impl<'de> serde::Deserialize<'de> for SecretUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretUrl::parse("url", &s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_print() {
        let u = SecretUrl::parse("redis_url", "redis://user:s3cr%40t@127.0.0.1:6380/0").unwrap();
        for shown in [format!("{u}"), format!("{u:?}"), serde_json::to_string(&u).unwrap(), u.redacted()] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert_eq!(u.password().as_deref(), Some("s3cr@t"));
        assert_eq!(u.expose().password(), Some("s3cr%40t"));
        assert_eq!(u.host_port(), "127.0.0.1:6380");
        assert_eq!(u.scrub("auth failed for s3cr@t and s3cr%40t"), "auth failed for *** and ***");
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }

    #[test]
    fn url_without_password_prints_unchanged() {
        let u = SecretUrl::parse("url", "mysql://root@127.0.0.1:3306/test").unwrap();
        assert_eq!(u.to_string(), "mysql://root@127.0.0.1:3306/test");
        assert_eq!(u.scrub("x"), "x");
    }

    #[test]
    fn bad_urls_do_not_echo_the_text() {
        let e = SecretUrl::parse("clickhouse_url", "http//user:hunter2@host").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("clickhouse_url"), "{e}");
    }
}
