//! The `[clickhouse]` section of `tierstore.toml`.

use std::time::Duration;

use tierstore_model::error::ensure_between;
use tierstore_model::{Endpoint, Secret, SecretUrl, StoreError, Tier};

/// How to reach ClickHouse and which database holds our tables.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoolConfig {
    /// The HTTP interface, `http://[user:password@]host:8123`.
    pub url: SecretUrl,
    /// The database of our tables.
    #[serde(default = "default_database")]
    pub database: String,
    /// User, if not in the URL (default `default`).
    #[serde(default)]
    pub user: Option<String>,
    /// Password, if not in the URL.
    #[serde(default)]
    pub password: Option<Secret<String>>,
    /// Upper bound of a request (probe, query, a write call's whole insert), in milliseconds.
    /// Streams and the bulk writer are bounded by progress instead: see `stream_timeout_ms`.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Longest wait for the next rows of a stream, or for the bulk writer's server to take a
    /// chunk or acknowledge the end of an insert, in milliseconds: a large job takes as long
    /// as it needs, a stalled server is an error. With `wait_end_of_query` the first rows
    /// come only once the server has run the whole query, so this also bounds that.
    #[serde(default = "default_stream_timeout_ms")]
    pub stream_timeout_ms: u64,
    /// Cluster mode: the name of a cluster in the servers' `<remote_servers>`. Every table is
    /// then a `<table>_local` on each shard plus a `Distributed` table over them, sharded so
    /// that one stock's bars and one account's trades and asset points stay on one shard
    /// (so `FINAL` on each shard sees every copy of a row). Needs `shards`.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Cluster mode: each shard's HTTP interface, where the local tables are created and
    /// sized; a shard logs in with the credentials in its URL, else with the `user` and
    /// `password` keys. `url` may be any of them, or a node of its own (which must list the
    /// cluster in its `<remote_servers>`).
    #[serde(default)]
    pub shards: Vec<SecretUrl>,
    /// Compression of what travels between client and server: `lz4` (the default, for a
    /// server across a network) or `none` (a server on the same machine, where compressing
    /// only costs both sides CPU).
    #[serde(default)]
    pub compression: WireCompression,
    /// Server settings sent with every request (`max_memory_usage = "4000000000"`), for what
    /// the server's profile does not set. Names are checked; values go to the server as given.
    #[serde(default)]
    pub settings: std::collections::BTreeMap<String, String>,
    /// The market timezone: a trade's market date is its instant's date here. Not read from
    /// the `[clickhouse]` section: the caller sets the configuration's one `timezone`.
    #[serde(skip, default = "default_timezone")]
    pub timezone: chrono_tz::Tz,
}

/// How requests and responses travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireCompression {
    /// LZ4 both ways.
    #[default]
    Lz4,
    /// Uncompressed.
    None,
}

fn default_timezone() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

fn default_database() -> String {
    "tierstore".into()
}

fn default_timeout_ms() -> u64 {
    5000
}

fn default_stream_timeout_ms() -> u64 {
    120_000
}

impl CoolConfig {
    /// A configuration with default database and timeout.
    pub fn new(url: SecretUrl) -> Self {
        Self {
            url,
            database: default_database(),
            user: None,
            password: None,
            timeout_ms: default_timeout_ms(),
            stream_timeout_ms: default_stream_timeout_ms(),
            cluster: None,
            shards: Vec::new(),
            compression: WireCompression::default(),
            settings: Default::default(),
            timezone: default_timezone(),
        }
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The stream and bulk-writer progress timeout.
    pub fn stream_timeout(&self) -> Duration {
        Duration::from_millis(self.stream_timeout_ms)
    }

    /// The user: from the URL (user-info or `?user=`), else the `user` key, else `default`.
    pub fn user(&self) -> String {
        self.user_of(&self.url)
    }

    /// The password: from the URL (user-info or `?password=`), else the `password` key.
    pub fn password(&self) -> Option<String> {
        self.password_of(&self.url)
    }

    /// The user for `url` (the main URL or a shard's): its own, else the `user` key, else
    /// `default`.
    pub fn user_of(&self, url: &SecretUrl) -> String {
        let from_url = url.username();
        if !from_url.is_empty() {
            return from_url;
        }
        url.query_param("user").or_else(|| self.user.clone()).unwrap_or_else(|| "default".into())
    }

    /// The password for `url` (the main URL or a shard's): its own, else the `password` key.
    pub fn password_of(&self, url: &SecretUrl) -> Option<String> {
        url.password()
            .or_else(|| url.query_param("password"))
            .or_else(|| self.password.as_ref().map(|p| p.expose().clone()))
    }

    /// `url` with every credential removed, user included: the driver sends the user and the
    /// password as headers, and a server refuses a request that carries them twice.
    pub fn bare_url(url: &SecretUrl) -> String {
        let mut u = url.without_credentials();
        let _ = u.set_username("");
        if let Some(q) = u.query().map(str::to_owned) {
            let kept: Vec<&str> =
                q.split('&').filter(|pair| pair.split('=').next() != Some("user")).collect();
            let kept = kept.join("&");
            u.set_query((!kept.is_empty()).then_some(kept.as_str()));
        }
        u.as_str().trim_end_matches('/').to_owned()
    }

    /// Where the service lives, printable.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint { tier: Tier::Cool, service: "clickhouse".into(), address: self.url.redacted() }
    }

    /// Replaces every occurrence of the password (from the URL or the key) in a message.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = self.url.scrub(message);
        for shard in &self.shards {
            out = shard.scrub(&out);
        }
        if let Some(p) = self.password.as_ref().filter(|p| !p.expose().is_empty()) {
            out = out.replace(p.expose().as_str(), tierstore_model::secret::REDACTED);
        }
        out
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), StoreError> {
        if !matches!(self.url.expose().scheme(), "http" | "https") {
            return Err(StoreError::invalid(
                "clickhouse.url",
                self.url.redacted(),
                "must be the HTTP interface, http://host:8123",
            ));
        }
        let db = &self.database;
        if db.is_empty() || db.len() > 64 || !db.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StoreError::invalid(
                "clickhouse.database",
                db,
                "must be 1 to 64 ASCII letters, digits or '_'",
            ));
        }
        ensure_between("clickhouse.timeout_ms", self.timeout_ms, 10, 600_000)?;
        ensure_between("clickhouse.stream_timeout_ms", self.stream_timeout_ms, 10, 3_600_000)?;
        match (&self.cluster, self.shards.is_empty()) {
            (Some(name), false) => {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(StoreError::invalid(
                        "clickhouse.cluster",
                        name,
                        "a cluster name is ASCII letters, digits and '_'",
                    ));
                }
                for shard in &self.shards {
                    if !matches!(shard.expose().scheme(), "http" | "https") {
                        return Err(StoreError::invalid(
                            "clickhouse.shards",
                            shard.redacted(),
                            "must be a shard's HTTP interface, http://host:8123",
                        ));
                    }
                }
            }
            (Some(name), true) => {
                return Err(StoreError::invalid(
                    "clickhouse.shards",
                    name,
                    "cluster mode needs each shard's HTTP URL in `shards` (the local tables are created on each; \
                     ON CLUSTER DDL is not used)",
                ));
            }
            (None, false) => {
                return Err(StoreError::invalid(
                    "clickhouse.cluster",
                    format!("{} shards", self.shards.len()),
                    "`shards` needs `cluster`, the cluster's name in the servers' <remote_servers>",
                ));
            }
            (None, true) => {}
        }
        for name in self.settings.keys() {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(StoreError::invalid(
                    "clickhouse.settings",
                    name,
                    "a setting name is ASCII letters, digits and '_'",
                ));
            }
            if name == "wait_end_of_query" {
                return Err(StoreError::invalid(
                    "clickhouse.settings",
                    name,
                    "is always 1: without it an error in the middle of a result would look like a short result",
                ));
            }
            // Parameters of the HTTP interface rather than settings (a `password` here would
            // log in, and print with the configuration), and settings that cut a result
            // short without an error.
            const REFUSED: &[&str] = &[
                "password",
                "user",
                "database",
                "query",
                "query_id",
                "session_id",
                "session_timeout",
                "default_format",
                "compress",
                "decompress",
                "limit",
                "offset",
            ];
            let lower = name.to_ascii_lowercase();
            let cuts_short = lower.ends_with("_overflow_mode") && self.settings[name] != "throw";
            if REFUSED.contains(&lower.as_str()) || cuts_short {
                return Err(StoreError::invalid(
                    "clickhouse.settings",
                    name,
                    "is not a setting tierstore sends: credentials and the database have keys of their own, \
                     and a setting that cuts results short must not",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_url_or_keys_and_never_print() {
        let mut c = CoolConfig::new(SecretUrl::parse("u", "http://ops:s3cret@h:8123").unwrap());
        assert_eq!((c.user(), c.password().as_deref()), ("ops".to_owned(), Some("s3cret")));
        assert!(!format!("{c:?}").contains("s3cret"));
        c = CoolConfig::new(SecretUrl::parse("u", "http://h:8123").unwrap());
        c.password = Some(Secret::new("k3y".into()));
        assert_eq!((c.user(), c.password().as_deref()), ("default".to_owned(), Some("k3y")));
        assert!(!format!("{c:?}").contains("k3y"));
        assert_eq!(c.scrub("bad k3y"), "bad ***");
        c = CoolConfig::new(SecretUrl::parse("u", "http://h:8123/?password=qu3ry&user=ops").unwrap());
        assert_eq!(c.password().as_deref(), Some("qu3ry"));
        assert_eq!(c.endpoint().address, "http://h:8123/?password=***&user=ops");
        assert_eq!(c.scrub("bad qu3ry"), "bad ***");
        // The driver sends user and password as headers: none may stay in the URL it is given.
        assert_eq!(c.user(), "ops");
        assert_eq!(CoolConfig::bare_url(&c.url), "http://h:8123");
        let u = SecretUrl::parse("u", "http://ops:s3cret@h:8123/?user=x&max_threads=2").unwrap();
        assert_eq!(CoolConfig::bare_url(&u), "http://h:8123/?max_threads=2");
    }

    #[test]
    fn each_shard_logs_in_with_its_own_credentials_else_the_main_ones() {
        let mut c = CoolConfig::new(SecretUrl::parse("u", "http://ops:m41n@h:8123").unwrap());
        c.cluster = Some("two".into());
        let own = SecretUrl::parse("s", "http://shard%20a:sh4rd@s1:8123").unwrap();
        let none = SecretUrl::parse("s", "http://s2:8123").unwrap();
        c.shards = vec![own.clone(), none.clone()];
        assert_eq!((c.user_of(&own), c.password_of(&own).as_deref()), ("shard a".to_owned(), Some("sh4rd")));
        // A shard URL without credentials falls back to the keys, not to the main URL's.
        c.password = Some(Secret::new("k3y".into()));
        assert_eq!((c.user_of(&none), c.password_of(&none).as_deref()), ("default".to_owned(), Some("k3y")));
        assert_eq!(c.scrub("refused sh4rd, m41n and k3y"), "refused ***, *** and ***");
        assert!(!format!("{c:?}").contains("sh4rd"));
    }

    #[test]
    fn validates_database_and_scheme() {
        let mut c = CoolConfig::new(SecretUrl::parse("u", "http://h:8123").unwrap());
        c.validate().unwrap();
        c.database = "x; DROP".into();
        assert!(c.validate().unwrap_err().to_string().contains("clickhouse.database"));
        c.database = "ok".into();
        c.settings.insert("max_threads".into(), "2".into());
        c.validate().unwrap();
        c.settings.insert("max threads&x=1".into(), "2".into());
        assert!(c.validate().unwrap_err().to_string().contains("max threads&x=1"));
        c.settings.clear();
        c.settings.insert("wait_end_of_query".into(), "0".into());
        assert!(c.validate().unwrap_err().to_string().contains("always 1"));
        for refused in ["password", "Password", "result_overflow_mode", "limit", "database"] {
            c.settings.clear();
            c.settings.insert(refused.into(), "break".into());
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(refused) && e.contains("not a setting tierstore sends"), "{e}");
        }
        c.settings.clear();
        c.settings.insert("result_overflow_mode".into(), "throw".into());
        c.validate().unwrap();
        c.settings.clear();
        c.cluster = Some("two".into());
        assert!(
            c.validate().unwrap_err().to_string().contains("clickhouse.shards"),
            "a cluster needs shards"
        );
        c.shards = vec![
            SecretUrl::parse("s", "http://h1:8123").unwrap(),
            SecretUrl::parse("s", "http://h2:8123").unwrap(),
        ];
        c.validate().unwrap();
        c.cluster = Some("two; DROP".into());
        assert!(c.validate().unwrap_err().to_string().contains("clickhouse.cluster"));
        c.cluster = None;
        assert!(c.validate().unwrap_err().to_string().contains("needs `cluster`"), "shards need a cluster");
        let c = CoolConfig::new(SecretUrl::parse("u", "tcp://h:9000").unwrap());
        assert!(c.validate().is_err());
    }
}
