//! A composed store on real services, each test in namespaces of its own: legacy directories
//! in a temporary folder, a Redis key prefix, a ClickHouse database and an SQLite warm file,
//! as the test asks for them.

#![allow(clippy::unwrap_used, dead_code)] // a test that cannot set up should panic; not every test uses every helper

use std::path::{Path, PathBuf};

use tempfile::TempDir;
use tierstore::{Config, Store};
use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{AccountId, MigrationStateStore, SecretUrl, StorageMode};
use tierstore_testkit::{ClickhouseDatabase, RedisNamespace};
use tierstore_warm::WarmStore;

pub fn accounts() -> [AccountId; 2] {
    [AccountId::new("prod_pwc").unwrap(), AccountId::new("test_pwc").unwrap()]
}

/// What a stack has.
#[derive(Debug, Clone)]
pub struct Spec {
    pub mode: StorageMode,
    /// Redis at this URL (the shared test server when `None` and `redis` is set).
    pub redis: bool,
    pub redis_url: Option<String>,
    pub clickhouse: bool,
    pub clickhouse_url: Option<String>,
    /// An SQLite warm tier whose phase is `mode`; without it the mode is the configuration's.
    pub warm: bool,
    /// Extra TOML appended to the configuration.
    pub extra: String,
}

impl Spec {
    pub fn new(mode: StorageMode) -> Spec {
        Spec {
            mode,
            redis: true,
            redis_url: None,
            clickhouse: true,
            clickhouse_url: None,
            warm: false,
            extra: String::new(),
        }
    }
}

/// The namespaces behind a store; dropping it cleans them up.
pub struct Stack {
    pub root: TempDir,
    pub ns: Option<RedisNamespace>,
    pub ch: Option<ClickhouseDatabase>,
    pub config: Config,
    pub spec: Spec,
}

impl Stack {
    pub async fn new(spec: Spec) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let mut toml = format!("mode = \"{}\"\n", spec.mode);
        for a in accounts() {
            let dir = root.path().join(a.as_str());
            std::fs::create_dir_all(&dir).unwrap();
            toml.push_str(&format!(
                "[[accounts]]\nid = \"{a}\"\nlegacy_dir = {:?}\n",
                dir.display().to_string()
            ));
        }
        let daily = root.path().join("_daily");
        std::fs::create_dir_all(&daily).unwrap();
        toml.push_str(&format!("[legacy]\ndaily_dir = {:?}\n", daily.display().to_string()));
        toml.push_str(&format!(
            "[store]\noutbox_dir = {:?}\n",
            root.path().join("outbox").display().to_string()
        ));
        let ns = if spec.redis {
            let ns = RedisNamespace::new().await;
            let url = spec.redis_url.clone().unwrap_or_else(|| ns.url().to_owned());
            toml.push_str(&format!(
                "[redis]\nurl = {url:?}\nnamespace = {:?}\ntimeout_ms = 500\n",
                ns.prefix()
            ));
            Some(ns)
        } else {
            None
        };
        let ch = if spec.clickhouse {
            let db = ClickhouseDatabase::create().await;
            let url = spec.clickhouse_url.clone().unwrap_or_else(|| db.url().to_owned());
            let mut c = CoolConfig::new(SecretUrl::parse("clickhouse.url", db.url()).unwrap());
            c.database = db.name().to_owned();
            CoolStore::connect(c).await.unwrap().schema_up().await.unwrap();
            toml.push_str(&format!(
                "[clickhouse]\nurl = {url:?}\ndatabase = {:?}\ntimeout_ms = 2000\n",
                db.name()
            ));
            Some(db)
        } else {
            None
        };
        if spec.warm {
            let url = format!("sqlite://{}?mode=rwc", root.path().join("warm.db").display());
            toml.push_str(&format!(
                "[warm]\nurl = {url:?}\nmax_failed_logins = 3\nlockout_minutes = 15\nsession_minutes = 60\n"
            ));
        }
        toml.push_str(&spec.extra);
        let config = Config::parse(&toml, "test config", root.path(), |_| None, root.path()).unwrap();
        if spec.warm {
            let warm = WarmStore::connect(config.warm.clone().unwrap()).await.unwrap();
            warm.schema_up(None).await.unwrap();
            move_to(&warm, spec.mode).await;
        }
        Stack { root, ns, ch, config, spec }
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.config).await.unwrap()
    }

    pub fn legacy_dir(&self, account: &AccountId) -> PathBuf {
        self.root.path().join(account.as_str())
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.root.path().join("outbox")
    }

    /// The warm tier, opened on its own (as `storectl` would).
    pub async fn warm(&self) -> WarmStore {
        WarmStore::open(self.config.warm.clone().unwrap()).await.unwrap()
    }

    /// The hot tier, on its own.
    pub async fn hot(&self) -> tierstore_hot::HotStore {
        tierstore_hot::HotStore::connect(self.config.redis.clone().unwrap()).await.unwrap()
    }

    /// The cool tier, on its own.
    pub async fn cool(&self) -> CoolStore {
        tierstore::cool::connect(&self.config).await.unwrap()
    }

    /// The legacy tier, on its own.
    pub async fn legacy(&self) -> tierstore_legacy::LegacyStore {
        tierstore_legacy::LegacyStore::open(self.config.legacy_config().unwrap()).await.unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }
}

/// Moves the warm tier's phase to `mode` through the phase table.
pub async fn move_to(warm: &WarmStore, mode: StorageMode) {
    let path: &[StorageMode] = match mode {
        StorageMode::File => &[],
        StorageMode::DualWrite => &[StorageMode::DualWrite],
        StorageMode::DbFirst => &[StorageMode::DualWrite, StorageMode::DbFirst],
    };
    for to in path {
        if warm.phase().await.unwrap() != *to {
            warm.move_phase(*to, "test", "set up").await.unwrap();
        }
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
