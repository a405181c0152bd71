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
    /// `clickhouse_url` is a server of the test's own: create the schema there.
    pub clickhouse_private: bool,
    /// The warm tier's URL (an SQLite file of the test's own when `None`).
    pub warm_url: Option<String>,
    /// An SQLite warm tier whose phase is `mode`; without it the mode is the configuration's.
    pub warm: bool,
    /// Extra top-level TOML keys (before any section).
    pub top: String,
    /// Extra keys of the `[store]` section.
    pub store: String,
    /// Extra TOML sections appended to the configuration.
    pub extra: String,
    /// The accounts, each with a legacy directory named after it.
    pub accounts: Vec<AccountId>,
}

impl Spec {
    pub fn new(mode: StorageMode) -> Spec {
        Spec {
            mode,
            redis: true,
            redis_url: None,
            clickhouse: true,
            clickhouse_url: None,
            clickhouse_private: false,
            warm_url: None,
            warm: false,
            top: String::new(),
            store: String::new(),
            extra: String::new(),
            accounts: accounts().to_vec(),
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
    /// The configuration's sections other than the accounts and `[store]`.
    sections: String,
}

impl Stack {
    pub async fn new(spec: Spec) -> Stack {
        let root = tempfile::tempdir().unwrap();
        let mut toml = format!("mode = \"{}\"\n{}", spec.mode, spec.top);
        for a in &spec.accounts {
            std::fs::create_dir_all(root.path().join(a.as_str())).unwrap();
        }
        let daily = root.path().join("_daily");
        std::fs::create_dir_all(&daily).unwrap();
        toml.push_str(&format!("[legacy]\ndaily_dir = {:?}\n", daily.display().to_string()));
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
        let ch = if let Some(url) = spec.clickhouse_url.as_ref().filter(|_| spec.clickhouse_private) {
            // A server of the test's own: the schema goes there, in a database `tierstore`.
            let c = CoolConfig::new(SecretUrl::parse("clickhouse.url", url).unwrap());
            CoolStore::connect(c).await.unwrap().schema_up().await.unwrap();
            toml.push_str(&format!("[clickhouse]\nurl = {url:?}\ntimeout_ms = 2000\n"));
            None
        } else if spec.clickhouse {
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
            let url = spec
                .warm_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", root.path().join("warm.db").display()));
            toml.push_str(&format!(
                "[warm]\nurl = {url:?}\ntimeout_ms = 1000\nmax_failed_logins = 3\nlockout_minutes = 15\nsession_minutes = 60\n"
            ));
        }
        toml.push_str(&spec.extra);
        let sections = toml;
        let toml = Self::toml(&sections, root.path(), &spec, &spec.accounts, &root.path().join("outbox"));
        let config = Config::parse(&toml, "test config", root.path(), |_| None, root.path()).unwrap();
        if spec.warm {
            let warm = WarmStore::connect(config.warm.clone().unwrap()).await.unwrap();
            warm.schema_up(None).await.unwrap();
            move_to(&warm, spec.mode).await;
        }
        Stack { root, ns, ch, config, spec, sections }
    }

    fn toml(sections: &str, root: &Path, spec: &Spec, accounts: &[AccountId], outbox: &Path) -> String {
        let mut toml = sections.to_owned();
        for a in accounts {
            let dir = root.join(a.as_str());
            toml.push_str(&format!(
                "[[accounts]]\nid = \"{a}\"\nlegacy_dir = {:?}\n",
                dir.display().to_string()
            ));
        }
        toml.push_str(&format!("[store]\noutbox_dir = {:?}\n{}", outbox.display().to_string(), spec.store));
        toml
    }

    /// Writes a configuration file for a process of its own writing `accounts`, with its own
    /// outbox `outbox` (under the stack's folder); returns its path.
    pub fn config_file(&self, name: &str, accounts: &[AccountId], outbox: &str) -> PathBuf {
        let text = Self::toml(
            &self.sections,
            self.root.path(),
            &self.spec,
            accounts,
            &self.root.path().join(outbox),
        );
        let path = self.root.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
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

pub mod workload {
    //! A deterministic stream of mixed writes, and the check that every tier holds exactly
    //! what the files hold.

    use chrono::{Duration, NaiveDate, TimeZone, Utc};
    use futures::TryStreamExt;
    use tierstore::Store;
    use tierstore_model::{
        AccountId, AssetPoint, AssetStore, DateRange, HeldDays, Kline, KlineRange, KlineStore, Money,
        OrderKind, PositionStore, Price, Result, StockCode, Trade, TradeDate, TradeQuery, TradeStore, Volume,
    };

    pub const CODES: [&str; 4] = ["000001.SZ", "600000.SH", "300750.SZ", "688981.SH"];

    fn day(n: u64) -> TradeDate {
        let base = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        TradeDate::from_naive(base + Duration::days(n as i64)).unwrap()
    }

    fn price(v: f64) -> Price {
        Price::new("price", v).unwrap()
    }

    /// Write number `i` of the stream for `account`: every kind of write in turn.
    pub async fn write(store: &Store, account: &AccountId, i: u64) -> Result<()> {
        let code = StockCode::parse(CODES[(i / 9 % 4) as usize]).unwrap();
        match i % 9 {
            0 => store.open_positions(account, &[code]).await.map(drop),
            1 => store.set_held_days(account, &code, HeldDays::Open((i % 20) as u32)).await,
            2 => store.raise_max_price(account, &code, price(10.0 + (i % 7) as f64 * 0.137)).await.map(drop),
            3 => store.lower_min_price(account, &code, price(9.0 - (i % 5) as f64 * 0.211)).await.map(drop),
            4 => store.append_trades(&[trade(account, i, code)]).await.map(drop),
            5 => {
                let total: Money = format!("{}.{:02}", 100_000 + i * 37, i % 100).parse().unwrap();
                store
                    .record_assets(&[AssetPoint { account: account.clone(), date: day(i / 9), total }])
                    .await
                    .map(drop)
            }
            6 => store.increment_held_days(account, day(i / 9)).await.map(drop),
            7 => {
                // Prices in fen and amounts in fen, as real bars have them.
                let fen = 1000 + i % 13;
                let yuan = |f: u64| price(f as f64 / 100.0);
                let bar = Kline {
                    code,
                    date: day(i / 9),
                    open: yuan(fen - 5),
                    high: yuan(fen + 10),
                    low: yuan(fen - 10),
                    close: yuan(fen),
                    volume: Volume::new(1000 + i),
                    amount: (fen * (1000 + i)) as f64 / 100.0,
                };
                store.write_klines(&[bar]).await.map(drop)
            }
            _ if i.is_multiple_of(4) => store.close_position(account, &code).await,
            // The point write 5 recorded for this date, again with another total: the later wins.
            _ => {
                let total: Money = format!("{}.{:02}", 200_000 + i * 41, i % 100).parse().unwrap();
                store
                    .record_assets(&[AssetPoint { account: account.clone(), date: day(i / 9), total }])
                    .await
                    .map(drop)
            }
        }
    }

    pub fn trade(account: &AccountId, i: u64, code: StockCode) -> Trade {
        Trade {
            account: account.clone(),
            seq: None,
            strategy: None,
            time: Utc.with_ymd_and_hms(2026, 1, 5, 2, 0, 0).unwrap() + Duration::seconds(i as i64),
            code,
            name: "平安银行".into(),
            kind: if i.is_multiple_of(2) { OrderKind::BuyFill } else { OrderKind::SellFill },
            remark: format!("write {i}, \"quoted\""),
            price: price(10.0 + (i % 11) as f64 * 0.01),
            volume: Volume::new(100 * (1 + i % 5)),
        }
    }

    /// Every tier holds exactly what the files hold, field by field: each account's
    /// positions in Redis, its trades and asset points in ClickHouse, and every bar.
    pub async fn assert_tiers_equal(stack: &super::Stack) {
        let legacy = stack.legacy().await;
        let hot = stack.hot().await;
        let cool = stack.cool().await;
        for a in &stack.spec.accounts {
            let files = legacy.account_positions(a).await.unwrap();
            assert_eq!(hot.account_positions(a).await.unwrap(), files, "positions of {a}: Redis vs files");
            let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
            let in_files: Vec<Trade> = legacy.stream_trades(&q).try_concat().await.unwrap();
            let in_cool: Vec<Trade> = cool.stream_trades(&q).try_concat().await.unwrap();
            assert_eq!(in_cool, in_files, "trades of {a}: ClickHouse vs journal");
            assert_eq!(
                cool.assets(a, None).await.unwrap(),
                legacy.assets(a, None).await.unwrap(),
                "assets of {a}: ClickHouse vs files"
            );
        }
        let codes = legacy.kline_codes().await.unwrap();
        assert_eq!(cool.kline_codes().await.unwrap(), codes, "kline codes");
        for c in &codes {
            let all = KlineRange::Dates(DateRange::new(TradeDate::MIN, TradeDate::MAX).unwrap());
            assert_eq!(
                cool.klines(c, all).await.unwrap(),
                legacy.klines(c, all).await.unwrap(),
                "bars of {c}"
            );
        }
    }
}

/// A local webhook: an HTTP listener on loopback keeping every JSON body posted to it.
pub struct AlertSink {
    pub url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl AlertSink {
    pub async fn start() -> AlertSink {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook/s3cr3t-t0ken-abcdef", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else { return };
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut conn = BufReader::new(conn);
                    loop {
                        let mut len = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some((k, v)) = line.split_once(':')
                                && k.eq_ignore_ascii_case("content-length")
                            {
                                len = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0; len];
                        conn.read_exact(&mut body).await.unwrap();
                        kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if conn.get_mut().write_all(ok).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        AlertSink { url, bodies, task }
    }

    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits (up to `secs`) for a body whose `kind` is `kind`.
    pub async fn wait_for(&self, kind: &str, secs: u64) -> serde_json::Value {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(b) = self.bodies().into_iter().find(|b| b["kind"] == kind) {
                return b;
            }
            assert!(
                std::time::Instant::now() < until,
                "no {kind} alert within {secs} s; got {:?}",
                self.bodies()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for AlertSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits (up to `secs`) until every configured database tier serves with an empty outbox.
pub async fn settle(store: &Store, secs: u64) {
    use tierstore_model::Tier;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let done = [Tier::Hot, Tier::Cool].iter().all(|t| store.serving(*t) && store.outbox_depth(*t) == 0);
        if done {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "the tiers did not settle within {secs} s: hot serving {} depth {}, cool serving {} depth {}",
            store.serving(Tier::Hot),
            store.outbox_depth(Tier::Hot),
            store.serving(Tier::Cool),
            store.outbox_depth(Tier::Cool)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl AlertSink {
    /// Waits (up to `secs`) for a body of `kind` about `tier`.
    pub async fn wait_for_tier(&self, kind: &str, tier: &str, secs: u64) -> serde_json::Value {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(b) = self.bodies().into_iter().find(|b| b["kind"] == kind && b["tier"] == tier) {
                return b;
            }
            assert!(
                std::time::Instant::now() < until,
                "no {kind} alert for {tier} within {secs} s; got {:?}",
                self.bodies()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Forgets the bodies received so far.
    pub fn clear(&self) {
        self.bodies.lock().unwrap().clear();
    }
}

/// A loopback TCP proxy to a real server that can be made silent: while silent, what either
/// side sends is dropped, so the server never answers — a server that hangs rather than one
/// that is gone. A connection that lost bytes that way is closed when the switch turns back
/// (its requests and answers no longer pair up), and the client reconnects.
pub struct SilentSwitch {
    pub addr: String,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl SilentSwitch {
    pub async fn start(upstream: &str) -> SilentSwitch {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let silent = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let upstream = upstream.to_owned();
        let flag = silent.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { continue };
                let flag = flag.clone();
                tokio::spawn(async move {
                    let (mut a, mut b) = (vec![0u8; 65536], vec![0u8; 65536]);
                    let mut tainted = false;
                    loop {
                        let silent = flag.load(Ordering::SeqCst);
                        if tainted && !silent {
                            return; // closes both sides
                        }
                        tokio::select! {
                            r = client.read(&mut a) => {
                                let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                                if flag.load(Ordering::SeqCst) {
                                    tainted = true;
                                } else if server.write_all(&a[..n]).await.is_err() {
                                    return;
                                }
                            }
                            r = server.read(&mut b) => {
                                let n = match r { Ok(0) | Err(_) => return, Ok(n) => n };
                                if flag.load(Ordering::SeqCst) {
                                    tainted = true;
                                } else if client.write_all(&b[..n]).await.is_err() {
                                    return;
                                }
                            }
                            () = tokio::time::sleep(std::time::Duration::from_millis(5)) => {}
                        }
                    }
                });
            }
        });
        SilentSwitch { addr, silent, task }
    }

    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for SilentSwitch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
