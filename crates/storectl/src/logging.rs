//! Logging through `tracing` to stderr, every line scrubbed of credentials before it is
//! written. Our own messages never hold a password, but drivers log what they like at debug
//! and trace level (SeaORM records its connection options, URL included, in a span), so the
//! writer itself removes the credentials of any URL it sees and every secret of the loaded
//! configuration ([`hide`]).

use std::io::Write;
use std::sync::RwLock;

use tierstore::model::secret::{REDACTED, scrub_credentials};

/// Secrets to replace in every line, longest first.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Starts logging: `-v` info, `-vv` debug, `-vvv` trace; `TIERSTORE_LOG` takes a filter.
pub fn init(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("TIERSTORE_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ScrubbedStderr)
        .with_target(false)
        .init();
}

/// Adds secrets that no log line may show (call with the configuration's, once loaded).
pub fn hide(secrets: impl IntoIterator<Item = String>) {
    let mut all = SECRETS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.extend(secrets.into_iter().filter(|s| !s.is_empty()));
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
    all.dedup();
}

/// `text` as it may be shown.
pub fn scrub(text: &str) -> String {
    let mut out = scrub_credentials(text);
    for s in SECRETS.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
        out = out.replace(s.as_str(), REDACTED);
    }
    out
}

/// Stderr through [`scrub`]. The formatter writes each event with one `write_all`, so a
/// secret is never split across two writes.
struct ScrubbedStderr;

impl Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = scrub(&String::from_utf8_lossy(buf));
        std::io::stderr().write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_url_credentials_and_known_secrets() {
        hide(["k3y-only-in-config".to_owned()]);
        let line = r#"DEBUG connect{options=ConnectOptions { url: "mysql://root:pw%2F1@127.0.0.1:3306/db" }}: header X-ClickHouse-Key: k3y-only-in-config"#;
        assert_eq!(
            scrub(line),
            r#"DEBUG connect{options=ConnectOptions { url: "mysql://root:***@127.0.0.1:3306/db" }}: header X-ClickHouse-Key: ***"#
        );
    }
}
