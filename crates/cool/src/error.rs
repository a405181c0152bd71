//! Turning `clickhouse` errors into the model's error, one line, password scrubbed.

use tierstore_model::{StoreError, Tier};

use crate::config::CoolConfig;

/// The server could not be reached, did not answer in time, or refused us.
pub(crate) fn unavailable(config: &CoolConfig, cause: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(Tier::Cool, "clickhouse", config.url.redacted(), config.scrub(&cause.to_string()))
}

/// Maps a driver error. Server messages differ between 18.16 (`Code: 193, e.displayText() =
/// DB::Exception: Wrong password ...`) and modern servers (`Code: 516. DB::Exception: ...
/// (AUTHENTICATION_FAILED)`); both carry `Code: N`. Transport failures, timeouts, refused
/// logins (an outage to the application, as on the other tiers) and the server exceptions
/// that pass (overload, memory, too many parts, a cancelled query) are `Unavailable`; every
/// other server exception — a query the server cannot run, a missing table, a result limit —
/// is `Refused`, so no caller retries or falls back on a defect.
pub(crate) fn from_clickhouse(config: &CoolConfig, e: clickhouse::error::Error) -> StoreError {
    let text = tierstore_model::error::chain(&e);
    match server_code(&text) {
        Some(192 | 193 | 194 | 516) => unavailable(config, format!("authentication failed ({text})")),
        Some(code) if !TRANSIENT.contains(&code) => {
            StoreError::refused(Tier::Cool, "clickhouse", config.url.redacted(), config.scrub(&text))
        }
        _ => unavailable(config, text),
    }
}

/// Server exception codes that say "not now" rather than "never": a connection cut short (3,
/// 32, 236, 1000 — what a shard dropping in the middle of a distributed query reports),
/// timeouts (159, 160, 209), overload (202, 203, 439), network (210, 279), memory (241),
/// read-only or too many parts (242, 252), replicas and inserts of unknown fate (285, 319),
/// cancelled (394), system (425).
const TRANSIENT: &[u32] =
    &[3, 32, 159, 160, 202, 203, 209, 210, 236, 241, 242, 252, 279, 285, 319, 394, 425, 439, 1000];

/// The `Code: N` of a server exception, on old and new servers alike.
pub(crate) fn server_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierstore_model::SecretUrl;

    #[test]
    fn finds_code_in_old_and_new_messages() {
        assert_eq!(
            server_code("bad response: Code: 193, e.displayText() = DB::Exception: Wrong password"),
            Some(193)
        );
        assert_eq!(server_code("Code: 516. DB::Exception: default: Authentication failed"), Some(516));
        assert_eq!(server_code("network error"), None);
    }

    #[test]
    fn defects_are_refused_and_outages_unavailable() {
        let config = CoolConfig::new(SecretUrl::parse("u", "http://ops:pw@h:8123").unwrap());
        let refused = StoreError::refused(Tier::Cool, "clickhouse", "x", "y");
        let kinds = [
            ("Code: 62, e.displayText() = DB::Exception: Syntax error", std::mem::discriminant(&refused)),
            (
                "Code: 60. DB::Exception: Table t.klines doesn't exist. (UNKNOWN_TABLE)",
                std::mem::discriminant(&refused),
            ),
            (
                "Code: 396, e.displayText() = DB::Exception: Limit for result exceeded",
                std::mem::discriminant(&refused),
            ),
            (
                "Code: 241, e.displayText() = DB::Exception: Memory limit exceeded",
                std::mem::discriminant(&unavailable(&config, "")),
            ),
            (
                "Code: 202. DB::Exception: Too many simultaneous queries",
                std::mem::discriminant(&unavailable(&config, "")),
            ),
        ];
        for (message, want) in kinds {
            // A server may echo the request: the password must not survive into the error.
            let message = format!("{message} in http://ops:pw@h:8123/?password=pw");
            let e = from_clickhouse(&config, clickhouse::error::Error::BadResponse(message.clone()));
            assert_eq!(std::mem::discriminant(&e), want, "{message}: {e:?}");
            let text = e.to_string();
            assert!(!text.contains("pw") && text.contains("***"), "{text}");
        }
        let login = from_clickhouse(
            &config,
            clickhouse::error::Error::BadResponse("Code: 516. Authentication failed".into()),
        );
        assert!(login.is_unavailable() && login.to_string().contains("authentication failed"), "{login}");
    }
}
