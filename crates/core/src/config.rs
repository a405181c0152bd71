//! `tierstore.toml` and its environment overrides.
//!
//! One file names the services, the storage mode, the accounts with their legacy strategy
//! directories, the legacy kline folder and the timezone of legacy timestamps. Environment
//! variables (see [`ENV_OVERRIDES`]) override single keys, so containers and CI need no file.
//! Overrides are applied to the parsed document before it is checked, so a value from the
//! environment is validated exactly like one from the file. Passwords never appear in
//! `Debug` output or in errors.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tierstore_cool::CoolConfig;
use tierstore_hot::HotConfig;
use tierstore_legacy::{HeldDaysFormat, LegacyConfig, Platform};
use tierstore_model::{AccountId, Broker, StorageMode, StoreError};
use tierstore_warm::WarmConfig;

use crate::alerts::AlertConfig;

/// The file read when no path is given and `TIERSTORE_CONFIG` is unset.
pub const DEFAULT_FILE: &str = "tierstore.toml";

/// Environment variables and the keys they override. `*_MS`, `*_MINUTES` and `*_LOGINS`
/// values are integers.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("TIERSTORE_MODE", "mode"),
    ("TIERSTORE_TIMEZONE", "timezone"),
    ("TIERSTORE_REDIS_URL", "redis.url"),
    ("TIERSTORE_REDIS_NAMESPACE", "redis.namespace"),
    ("TIERSTORE_REDIS_TIMEOUT_MS", "redis.timeout_ms"),
    ("TIERSTORE_WARM_URL", "warm.url"),
    ("TIERSTORE_WARM_TIMEOUT_MS", "warm.timeout_ms"),
    ("TIERSTORE_WARM_MAX_FAILED_LOGINS", "warm.max_failed_logins"),
    ("TIERSTORE_WARM_LOCKOUT_MINUTES", "warm.lockout_minutes"),
    ("TIERSTORE_WARM_SESSION_MINUTES", "warm.session_minutes"),
    ("TIERSTORE_CLICKHOUSE_URL", "clickhouse.url"),
    ("TIERSTORE_CLICKHOUSE_DATABASE", "clickhouse.database"),
    ("TIERSTORE_CLICKHOUSE_USER", "clickhouse.user"),
    ("TIERSTORE_CLICKHOUSE_PASSWORD", "clickhouse.password"),
    ("TIERSTORE_CLICKHOUSE_TIMEOUT_MS", "clickhouse.timeout_ms"),
    ("TIERSTORE_CLICKHOUSE_STREAM_TIMEOUT_MS", "clickhouse.stream_timeout_ms"),
    ("TIERSTORE_DAILY_DIR", "legacy.daily_dir"),
    ("TIERSTORE_OUTBOX_DIR", "store.outbox_dir"),
    ("TIERSTORE_READ_DEADLINE_MS", "store.read_deadline_ms"),
    ("TIERSTORE_WRITE_DEADLINE_MS", "store.write_deadline_ms"),
    ("TIERSTORE_MODE_POLL_MS", "store.mode_poll_ms"),
    ("TIERSTORE_PROBE_MAX_BACKOFF_MS", "store.probe_max_backoff_ms"),
    ("TIERSTORE_ALERT_URL", "alerts.url"),
    ("TIERSTORE_ALERT_FORMAT", "alerts.format"),
];

/// The outbox directory when the configuration names none, relative to the configuration
/// file's directory (the working directory for built-in defaults).
pub const DEFAULT_OUTBOX_DIR: &str = "tierstore-outbox";

/// Used when there is no configuration file at all: the local services `cargo xtask services
/// up` provides, and SQLite as the embedded warm store.
const DEFAULTS: &str = r#"
[redis]
url = "redis://127.0.0.1:6379"

[warm]
url = "sqlite://tierstore.db?mode=rwc"

[clickhouse]
url = "http://127.0.0.1:8123"
"#;

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema.
    #[error("{origin}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        /// The file (and "+ environment" when overrides were applied).
        origin: String,
        /// 1-based line, where known.
        line: Option<usize>,
        /// What is wrong (never the offending text, which may hold a password).
        message: String,
    },
    /// An environment override cannot be used.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: String,
        /// Why.
        reason: String,
    },
    /// A value parses but is not acceptable.
    #[error("{origin}: {source}")]
    Invalid {
        /// Where the configuration came from.
        origin: String,
        /// What is wrong, naming the key.
        source: StoreError,
    },
}

/// An account and where its legacy files live.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// The account id (conventionally the strategy directory's name).
    pub id: AccountId,
    /// Its strategy directory in the legacy layout, e.g. `_cache/prod_pwc`.
    #[serde(default)]
    pub legacy_dir: Option<PathBuf>,
    /// Human name.
    #[serde(default)]
    pub name: Option<String>,
    /// Broker gateway.
    #[serde(default)]
    pub broker: Option<Broker>,
}

/// The `[legacy]` section.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacySection {
    /// The kline folder, e.g. `_cache/_daily`.
    #[serde(default)]
    pub daily_dir: Option<PathBuf>,
    /// The platform the Python program runs on (`linux` or `windows`): decides encoding and
    /// line endings of files tierstore creates; existing files keep theirs.
    #[serde(default)]
    pub platform: Platform,
    /// Shape of a `held_days.json` tierstore creates (`nested` or `flat`); an existing file
    /// keeps its shape.
    #[serde(default)]
    pub held_days_format: HeldDaysFormat,
}

/// The `[store]` section: how the composed [`crate::Store`] routes, waits and queues.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The process's outbox: writes a database tier missed, kept until it is back. One
    /// directory per process (a second process opening it is refused); relative paths are
    /// relative to the configuration file. Default [`DEFAULT_OUTBOX_DIR`].
    #[serde(default)]
    pub outbox_dir: Option<std::path::PathBuf>,
    /// In `db_first`, how long a read waits for its database before the files answer
    /// (10..=900 ms, so a read with its file fallback stays within a second).
    #[serde(default = "default_read_deadline_ms")]
    pub read_deadline_ms: u64,
    /// How long a write waits for a database tier before it goes to the outbox (10..=60000 ms).
    #[serde(default = "default_write_deadline_ms")]
    pub write_deadline_ms: u64,
    /// How often the migration phase is read from the warm tier (100..=60000 ms).
    #[serde(default = "default_mode_poll_ms")]
    pub mode_poll_ms: u64,
    /// The longest wait between two probes of a tier that is down (100..=600000 ms).
    #[serde(default = "default_probe_max_backoff_ms")]
    pub probe_max_backoff_ms: u64,
}

fn default_read_deadline_ms() -> u64 {
    300
}
fn default_write_deadline_ms() -> u64 {
    2000
}
fn default_mode_poll_ms() -> u64 {
    2000
}
fn default_probe_max_backoff_ms() -> u64 {
    5000
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            outbox_dir: None,
            read_deadline_ms: default_read_deadline_ms(),
            write_deadline_ms: default_write_deadline_ms(),
            mode_poll_ms: default_mode_poll_ms(),
            probe_max_backoff_ms: default_probe_max_backoff_ms(),
        }
    }
}

impl StoreSection {
    fn validate(&self) -> Result<(), StoreError> {
        use tierstore_model::error::ensure_between;
        ensure_between("store.read_deadline_ms", self.read_deadline_ms, 10, 900)?;
        ensure_between("store.write_deadline_ms", self.write_deadline_ms, 10, 60_000)?;
        ensure_between("store.mode_poll_ms", self.mode_poll_ms, 100, 60_000)?;
        ensure_between("store.probe_max_backoff_ms", self.probe_max_backoff_ms, 100, 600_000)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    mode: StorageMode,
    #[serde(default = "default_timezone")]
    timezone: String,
    redis: Option<HotConfig>,
    warm: Option<WarmConfig>,
    clickhouse: Option<CoolConfig>,
    #[serde(default)]
    legacy: LegacySection,
    #[serde(default)]
    accounts: Vec<AccountEntry>,
    #[serde(default)]
    store: StoreSection,
    alerts: Option<AlertConfig>,
}

fn default_timezone() -> String {
    "Asia/Shanghai".into()
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it came from, for messages: a path, "built-in defaults", plus "+ environment".
    pub origin: String,
    /// The storage mode (migration phase).
    pub mode: StorageMode,
    /// Timezone of legacy wall-clock timestamps and of "today" for the held-days increment.
    pub timezone: chrono_tz::Tz,
    /// The hot tier, if configured.
    pub redis: Option<HotConfig>,
    /// The warm tier, if configured.
    pub warm: Option<WarmConfig>,
    /// The cool tier, if configured.
    pub clickhouse: Option<CoolConfig>,
    /// Legacy layout settings.
    pub legacy: LegacySection,
    /// The accounts.
    pub accounts: Vec<AccountEntry>,
    /// The composed store's settings; `outbox_dir` is always set after loading.
    pub store: StoreSection,
    /// Where alerts go, if anywhere.
    pub alerts: Option<AlertConfig>,
}

impl Config {
    /// Loads `path`, else the file named by `TIERSTORE_CONFIG`, else `./tierstore.toml` if it
    /// exists, else built-in defaults; then applies the process environment's overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(path, |k| std::env::var(k).ok(), Path::new("."))
    }

    /// [`Config::load`] with an explicit environment and working directory (for tests).
    pub fn load_with(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> Result<Self, ConfigError> {
        let chosen = match path {
            Some(p) => Some(p.to_path_buf()),
            None => match env("TIERSTORE_CONFIG").filter(|s| !s.is_empty()) {
                Some(p) => Some(PathBuf::from(p)),
                None => Some(cwd.join(DEFAULT_FILE)).filter(|p| p.exists()),
            },
        };
        let (text, origin, base) = match &chosen {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|source| ConfigError::Read { path: p.clone(), source })?;
                let base = p.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.to_path_buf());
                (text, p.display().to_string(), base)
            }
            None => (DEFAULTS.to_owned(), "built-in defaults".to_owned(), cwd.to_path_buf()),
        };
        Self::parse(&text, &origin, &base, env, cwd)
    }

    /// Parses a document, applies overrides from `env`, validates. Relative paths in the
    /// document are relative to `base` (the file's directory); in overrides, to `cwd`.
    pub fn parse(
        text: &str,
        origin: &str,
        base: &Path,
        env: impl Fn(&str) -> Option<String>,
        cwd: &Path,
    ) -> Result<Self, ConfigError> {
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| parse_error(origin, text, &e))?;
        let mut file_origin = origin.to_owned();
        resolve_paths(&mut doc, base);
        let overridden = apply_env(&mut doc, &env, cwd)?;
        if !overridden.is_empty() {
            file_origin.push_str(" + environment (");
            file_origin.push_str(&overridden.join(", "));
            file_origin.push(')');
        }
        let doc: Document = serde_path_to_error::deserialize(toml::Value::Table(doc)).map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().message().to_owned();
            let message = if path == "." { message } else { format!("{path}: {message}") };
            ConfigError::Parse { origin: file_origin.clone(), line: None, message }
        })?;
        let config = Config {
            timezone: doc.timezone.parse().map_err(|_| ConfigError::Invalid {
                origin: file_origin.clone(),
                source: StoreError::invalid(
                    "timezone",
                    &doc.timezone,
                    "not an IANA timezone name such as Asia/Shanghai",
                ),
            })?,
            origin: file_origin,
            mode: doc.mode,
            redis: doc.redis,
            warm: doc.warm,
            clickhouse: doc.clickhouse,
            legacy: doc.legacy,
            accounts: doc.accounts,
            store: StoreSection {
                outbox_dir: Some(
                    doc.store.outbox_dir.clone().unwrap_or_else(|| base.join(DEFAULT_OUTBOX_DIR)),
                ),
                ..doc.store
            },
            alerts: doc.alerts,
        };
        config.validate().map_err(|source| ConfigError::Invalid { origin: config.origin.clone(), source })?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), StoreError> {
        if let Some(r) = &self.redis {
            r.validate()?;
        }
        if let Some(w) = &self.warm {
            w.validate()?;
        }
        if let Some(c) = &self.clickhouse {
            c.validate()?;
        }
        self.store.validate()?;
        if let Some(a) = &self.alerts {
            a.validate()?;
        }
        let mut ids = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        for a in &self.accounts {
            if !ids.insert(a.id.clone()) {
                return Err(StoreError::invalid("accounts.id", a.id.as_str(), "appears twice"));
            }
            if let Some(d) = &a.legacy_dir
                && !dirs.insert(d.clone())
            {
                return Err(StoreError::invalid(
                    "accounts.legacy_dir",
                    d.display().to_string(),
                    "used by two accounts; one strategy directory is one account",
                ));
            }
        }
        Ok(())
    }

    /// Every credential the configuration holds (URL passwords and credential parameters, the
    /// ClickHouse password key), for scrubbing text that was not built to hide them.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(r) = &self.redis {
            out.extend(r.url.credentials());
        }
        if let Some(w) = &self.warm {
            out.extend(w.url.credentials());
        }
        if let Some(c) = &self.clickhouse {
            out.extend(c.url.credentials());
            out.extend(c.password.as_ref().map(|p| p.expose().clone()).filter(|p| !p.is_empty()));
        }
        if let Some(a) = &self.alerts {
            out.extend(a.secrets());
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        out
    }

    /// The legacy tier's view, when any account has a legacy directory or a kline folder is set.
    pub fn legacy_config(&self) -> Option<LegacyConfig> {
        let accounts: std::collections::BTreeMap<_, _> =
            self.accounts.iter().filter_map(|a| a.legacy_dir.clone().map(|d| (a.id.clone(), d))).collect();
        if accounts.is_empty() && self.legacy.daily_dir.is_none() {
            return None;
        }
        Some(LegacyConfig {
            accounts,
            daily_dir: self.legacy.daily_dir.clone(),
            timezone: self.timezone,
            platform: self.legacy.platform,
            held_days_format: self.legacy.held_days_format,
        })
    }
}

/// A TOML error as origin, line and message — without the snippet the `toml` crate would
/// show, since the offending line may hold a password.
fn parse_error(origin: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    ConfigError::Parse { origin: origin.to_owned(), line, message: e.message().to_owned() }
}

/// Makes relative `legacy_dir` and `legacy.daily_dir` paths relative to the file's directory.
fn resolve_paths(doc: &mut toml::Table, base: &Path) {
    let resolve = |v: &mut toml::Value| {
        if let Some(s) = v.as_str() {
            let p = Path::new(s);
            if p.is_relative() {
                *v = toml::Value::String(base.join(p).display().to_string());
            }
        }
    };
    if let Some(toml::Value::Table(legacy)) = doc.get_mut("legacy")
        && let Some(v) = legacy.get_mut("daily_dir")
    {
        resolve(v);
    }
    if let Some(toml::Value::Table(store)) = doc.get_mut("store")
        && let Some(v) = store.get_mut("outbox_dir")
    {
        resolve(v);
    }
    if let Some(toml::Value::Array(accounts)) = doc.get_mut("accounts") {
        for a in accounts {
            if let Some(v) = a.as_table_mut().and_then(|t| t.get_mut("legacy_dir")) {
                resolve(v);
            }
        }
    }
}

/// Sets each overridden key; returns the variables used.
fn apply_env(
    doc: &mut toml::Table,
    env: &impl Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Vec<String>, ConfigError> {
    let mut used = Vec::new();
    for (var, key) in ENV_OVERRIDES {
        let Some(raw) = env(var) else { continue };
        let value = if key.ends_with("_ms") || key.ends_with("_minutes") || key.ends_with("_logins") {
            let n: i64 = raw.trim().parse().map_err(|_| ConfigError::Env {
                var: (*var).to_owned(),
                reason: format!("{raw:?} is not a whole number"),
            })?;
            toml::Value::Integer(n)
        } else if *key == "legacy.daily_dir" || *key == "store.outbox_dir" {
            toml::Value::String(cwd.join(&raw).display().to_string())
        } else {
            toml::Value::String(raw)
        };
        let (section, field) = match key.split_once('.') {
            Some((s, f)) => (Some(s), f),
            None => (None, *key),
        };
        let table = match section {
            None => &mut *doc,
            Some(s) => {
                let entry = doc.entry(s).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                entry.as_table_mut().ok_or_else(|| ConfigError::Env {
                    var: (*var).to_owned(),
                    reason: format!("`{s}` in the file is not a table"),
                })?
            }
        };
        table.insert(field.to_owned(), value);
        used.push((*var).to_owned());
    }
    Ok(used)
}

#[cfg(test)]
mod tests;
