//! Where the legacy files live and how new ones are written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tierstore_model::{AccountId, Endpoint, Tier};

use crate::format::encoding::{Encoding, Eol};

/// The platform the Python program runs on, which decides how a file *we create* looks.
/// Files that exist keep their own encoding and line endings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Linux/macOS: UTF-8; JSON, pandas CSVs and the journal header end lines with `\n`;
    /// `csv.writer` rows with `\r\n`.
    #[default]
    Linux,
    /// Chinese Windows: the journal in GBK; every line ends with `\r\n`.
    Windows,
}

impl Platform {
    /// Encoding of a new journal.
    pub fn journal_encoding(self) -> Encoding {
        match self {
            Platform::Linux => Encoding::Utf8,
            Platform::Windows => Encoding::Gbk,
        }
    }

    /// Line ending of text written in text mode (`json.dump`, `f.write(... + '\n')`, pandas).
    pub fn text_eol(self) -> Eol {
        match self {
            Platform::Linux => Eol::Lf,
            Platform::Windows => Eol::Crlf,
        }
    }
}

/// The two shapes of `held_days.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeldDaysFormat {
    /// `{"000001.SZ": 3}` (older programs); closing deletes the entry.
    Flat,
    /// `{"000001.SZ": {"day_count": 3}}` (newer programs); closing sets `day_count: null`.
    #[default]
    Nested,
}

impl HeldDaysFormat {
    /// `flat` or `nested`.
    pub fn name(self) -> &'static str {
        match self {
            HeldDaysFormat::Flat => "flat",
            HeldDaysFormat::Nested => "nested",
        }
    }
}

/// The legacy layout of one deployment.
#[derive(Debug, Clone)]
pub struct LegacyConfig {
    /// Each account's strategy directory.
    pub accounts: BTreeMap<AccountId, PathBuf>,
    /// The kline folder (`_daily`), if klines are kept in files.
    pub daily_dir: Option<PathBuf>,
    /// Timezone of the wall-clock times in the journal.
    pub timezone: chrono_tz::Tz,
    /// How files we create look.
    pub platform: Platform,
    /// Shape of a `held_days.json` we create (an existing one keeps its shape).
    pub held_days_format: HeldDaysFormat,
}

impl LegacyConfig {
    /// A layout with the given accounts and kline folder, Asia/Shanghai time, Linux-style new
    /// files and the nested held-days shape.
    pub fn new(accounts: BTreeMap<AccountId, PathBuf>, daily_dir: Option<PathBuf>) -> Self {
        LegacyConfig {
            accounts,
            daily_dir,
            timezone: chrono_tz::Asia::Shanghai,
            platform: Platform::Linux,
            held_days_format: HeldDaysFormat::Nested,
        }
    }

    /// Every directory this tier reads or writes.
    pub fn directories(&self) -> Vec<PathBuf> {
        self.accounts.values().cloned().chain(self.daily_dir.clone()).collect()
    }

    /// Where the files live, printable.
    pub fn endpoint(&self) -> Endpoint {
        let dirs: Vec<String> = self.directories().iter().map(|d| d.display().to_string()).collect();
        Endpoint { tier: Tier::Legacy, service: "files".into(), address: dirs.join(", ") }
    }
}
