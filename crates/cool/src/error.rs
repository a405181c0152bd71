//! Turning `clickhouse` errors into the model's error, one line, password scrubbed.

use tierstore_model::{StoreError, Tier};

use crate::config::CoolConfig;

/// The server could not be reached, did not answer in time, or refused us.
pub(crate) fn unavailable(config: &CoolConfig, cause: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(Tier::Cool, "clickhouse", config.url.redacted(), config.scrub(&cause.to_string()))
}

/// Maps a driver error met while connecting or probing. Server messages differ between 18.16
/// (`Code: 193, e.displayText() = DB::Exception: Wrong password ...`) and modern servers
/// (`Code: 516. DB::Exception: ... (AUTHENTICATION_FAILED)`); both carry `Code: N`.
pub(crate) fn from_clickhouse(config: &CoolConfig, e: clickhouse::error::Error) -> StoreError {
    let text = tierstore_model::error::chain(&e);
    let cause = match server_code(&text) {
        Some(192 | 193 | 194 | 516) => format!("authentication failed ({text})"),
        _ => text,
    };
    unavailable(config, cause)
}

/// The `Code: N` of a server exception, on old and new servers alike.
pub(crate) fn server_code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::server_code;

    #[test]
    fn finds_code_in_old_and_new_messages() {
        assert_eq!(
            server_code("bad response: Code: 193, e.displayText() = DB::Exception: Wrong password"),
            Some(193)
        );
        assert_eq!(server_code("Code: 516. DB::Exception: default: Authentication failed"), Some(516));
        assert_eq!(server_code("network error"), None);
    }
}
