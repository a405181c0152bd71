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

    /// The URL with every credential replaced by `***`: the user-info password and the values
    /// of credential query parameters (`?password=`, `token`, `secret`, `key`, ... — ClickHouse
    /// URLs carry them there). Safe for logs, errors and output.
    pub fn redacted(&self) -> String {
        let mut u = self.0.clone();
        if u.password().is_some() {
            // Setting a password fails only for URLs that cannot have one, which then have none.
            let _ = u.set_password(Some(REDACTED));
        }
        if let Some(q) = u.query() {
            let q = redact_query(q);
            u.set_query(Some(&q));
        }
        u.to_string()
    }

    /// The user-info password, if any, percent-decoded.
    pub fn password(&self) -> Option<String> {
        self.0.password().map(percent_decode)
    }

    /// The user-info user name, percent-decoded ("" when there is none).
    pub fn username(&self) -> String {
        percent_decode(self.0.username())
    }

    /// The value of query parameter `name` (e.g. ClickHouse's `password`), percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.0.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    /// The same URL without any credential: no user-info password and no credential query
    /// parameters (for clients that take the password separately).
    pub fn without_credentials(&self) -> Url {
        let mut u = self.0.clone();
        let _ = u.set_password(None);
        if let Some(q) = u.query() {
            let kept: Vec<&str> = q
                .split('&')
                .filter(|pair| !is_credential_param(pair.split('=').next().unwrap_or("")))
                .collect();
            if kept.is_empty() {
                u.set_query(None);
            } else {
                u.set_query(Some(&kept.join("&")));
            }
        }
        u
    }

    /// Every credential this URL carries, as written and percent-decoded (what a driver
    /// message may echo), longest first.
    pub fn credentials(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |raw: &str| {
            if raw.is_empty() {
                return;
            }
            let decoded = percent_decode(raw);
            // `+` means space in a query string.
            let plus = percent_decode(&raw.replace('+', " "));
            for v in [raw.to_owned(), decoded, plus] {
                if !v.is_empty() && !out.contains(&v) {
                    out.push(v);
                }
            }
        };
        if let Some(p) = self.0.password() {
            push(p);
        }
        if let Some(q) = self.0.query() {
            for pair in q.split('&') {
                if let Some((name, value)) = pair.split_once('=')
                    && is_credential_param(name)
                {
                    push(value);
                }
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        out.sort_by_key(|v| std::cmp::Reverse(v.len()));
        out
    }

    /// Replaces every occurrence of this URL's credentials in a driver message with `***`.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for secret in self.credentials() {
            out = out.replace(&secret, REDACTED);
        }
        out
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

/// `text` with the credentials of every URL in it (`scheme://user:password@host/?password=…`)
/// replaced by `***` — for text no one vetted, such as a driver's debug output. A URL ends at
/// whitespace or a quote.
pub fn scrub_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .unwrap_or(after.len());
        let (url, tail) = after.split_at(end);
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let (authority, path) = url.split_at(authority_end);
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => {
                    out.push_str(user);
                    out.push_str(":***@");
                    out.push_str(host);
                }
                None => out.push_str(authority),
            },
            None => out.push_str(authority),
        }
        match path.split_once('?') {
            Some((p, query)) => {
                let (query, fragment) = query.split_once('#').map_or((query, None), |(q, f)| (q, Some(f)));
                out.push_str(p);
                out.push('?');
                out.push_str(&redact_query(query));
                if let Some(f) = fragment {
                    out.push('#');
                    out.push_str(f);
                }
            }
            None => out.push_str(path),
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Query parameter names that carry credentials (compared case-insensitively, whole names:
/// a setting such as ClickHouse's `force_primary_key` is not one).
const CREDENTIAL_PARAMS: [&str; 18] = [
    "password",
    "passwd",
    "pwd",
    "pass",
    "token",
    "access_token",
    "auth_token",
    "refresh_token",
    "secret",
    "client_secret",
    "key",
    "api_key",
    "apikey",
    "access_key",
    "secret_key",
    "auth",
    "signature",
    "sig",
];

/// Whether a query parameter named `name` carries a credential.
pub fn is_credential_param(name: &str) -> bool {
    let n = percent_decode(name).to_ascii_lowercase();
    CREDENTIAL_PARAMS.contains(&n.as_str())
}

/// A raw query string with the values of credential parameters replaced by `***`, every
/// other byte as it was.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_credential_param(name) => format!("{name}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
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
    fn query_string_credentials_never_print() {
        let u = SecretUrl::parse(
            "clickhouse.url",
            "http://ops@127.0.0.1:8123/?database=ts&password=pa%2455&access_token=t0k3n&api_key=k3y+z&force_primary_key=1&compress=1",
        )
        .unwrap();
        let shown = [format!("{u}"), format!("{u:?}"), serde_json::to_string(&u).unwrap(), u.redacted()];
        for s in &shown {
            for secret in ["pa%2455", "pa$55", "t0k3n", "k3y"] {
                assert!(!s.contains(secret), "{secret} in {s}");
            }
        }
        assert_eq!(
            u.redacted(),
            "http://ops@127.0.0.1:8123/?database=ts&password=***&access_token=***&api_key=***&force_primary_key=1&compress=1"
        );
        assert_eq!(u.query_param("password").as_deref(), Some("pa$55"));
        assert_eq!(
            u.without_credentials().as_str(),
            "http://ops@127.0.0.1:8123/?database=ts&force_primary_key=1&compress=1"
        );
        assert_eq!(
            u.scrub("denied for pa$55 (pa%2455), token t0k3n, key k3y z"),
            "denied for *** (***), token ***, key ***"
        );
        for name in
            ["password", "PASSWORD", "passwd", "pwd", "token", "secret", "api_key", "sig", "x_api_key"]
        {
            assert_eq!(is_credential_param(name), name != "x_api_key", "{name}");
        }
        for name in ["database", "compress", "user", "timeout", "force_primary_key", "passive", "keyspace"] {
            assert!(!is_credential_param(name), "{name}");
        }
    }

    #[test]
    fn credentials_of_urls_in_free_text_are_scrubbed() {
        let text = r#"connect{options=ConnectOptions { url: "mysql://root:W4rm%2Fpw@127.0.0.1:3306/db", n: 1 }} and redis://:r3d@h:1/0 x http://u@h/?a=1&password=q+p&b=2#top; ok http://h/p"#;
        assert_eq!(
            scrub_credentials(text),
            r#"connect{options=ConnectOptions { url: "mysql://root:***@127.0.0.1:3306/db", n: 1 }} and redis://:***@h:1/0 x http://u@h/?a=1&password=***&b=2#top; ok http://h/p"#
        );
        assert_eq!(scrub_credentials("no urls: a:b@c"), "no urls: a:b@c");
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
