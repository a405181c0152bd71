//! Where the legacy files live and how new ones are written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tierstore_model::{AccountId, Endpoint, Tier};

/// The encoding a *new* `deal_hist.csv` is written in. Existing journals keep their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
pub enum JournalEncoding {
    /// UTF-8, as the Python program writes on Linux and macOS.
    #[default]
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// GBK (cp936), as the Python program writes on Chinese Windows.
    #[serde(rename = "gbk", alias = "cp936")]
    Gbk,
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
    /// Encoding of journals this tier creates.
    pub new_journal_encoding: JournalEncoding,
}

impl LegacyConfig {
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
