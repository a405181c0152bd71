//! The migration as an operator runs it — `storectl migrate init`, `backfill`, `verify`,
//! `switch`, `rollback` — on a generated Chinese-Windows cache (GBK journals, CRLF), against
//! real Redis, ClickHouse and a SQLite warm tier, each in a namespace of the test's own.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tierstore_model::{
    AccountId, HeldDays, Kline, KlineStore, MigrationStateStore, PositionStore, StockCode, TradeDate,
    TradeQuery, TradeStore,
};
use tierstore_testkit::{ClickhouseDatabase, RedisNamespace};

mod support;

struct Env {
    root: tempfile::TempDir,
    cache: PathBuf,
    config_path: PathBuf,
    ns: RedisNamespace,
    _ch: ClickhouseDatabase,
}

impl Env {
    /// A Chinese-Windows cache (GBK journals, CRLF).
    async fn new(dataset: &[&str]) -> Env {
        Env::with(true, dataset).await
    }

    async fn with(windows: bool, dataset: &[&str]) -> Env {
        let root = tempfile::tempdir().unwrap();
        let cache = root.path().join("cache");
        let mut args = vec!["gen-legacy", "--out", cache.to_str().unwrap(), "--seed", "7"];
        if windows {
            args.push("--windows");
        }
        args.extend_from_slice(dataset);
        let o = support::storectl(&args, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let ns = RedisNamespace::new().await;
        let ch = ClickhouseDatabase::create().await;
        let config_path = write_config(root.path(), &ns, &ch);
        Env { root, cache, config_path, ns, _ch: ch }
    }

    /// Fresh engines (Redis namespace, ClickHouse database, SQLite warm tier) for the same
    /// cache, as after a wipe.
    async fn sibling(&self) -> Env {
        let root = tempfile::tempdir().unwrap();
        let ns = RedisNamespace::new().await;
        let ch = ClickhouseDatabase::create().await;
        let config_path = write_config(root.path(), &ns, &ch);
        Env { root, cache: self.cache.clone(), config_path, ns, _ch: ch }
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--config", self.config_path.to_str().unwrap()];
        all.extend_from_slice(args);
        all
    }

    /// Runs storectl with `--json`; returns the exit code and the JSON printed.
    fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = self.args(args);
        all.push("--json");
        let o = support::storectl(&all, &[]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("{args:?}: not JSON ({e}): {stdout}\nstderr: {}", String::from_utf8_lossy(&o.stderr))
        });
        (o.status.code().unwrap(), value)
    }

    fn ok(&self, args: &[&str]) -> Value {
        let (code, v) = self.json(args);
        assert_eq!(code, 0, "{args:?}: {v:#}");
        v
    }

    fn config(&self) -> tierstore::Config {
        tierstore::Config::load(Some(&self.config_path)).unwrap()
    }

    fn journal(&self, account: &str) -> PathBuf {
        self.cache.join(account).join("deal_hist.csv")
    }

    async fn cool(&self) -> tierstore_cool::CoolStore {
        tierstore::cool::connect(&self.config()).await.unwrap()
    }

    async fn hot(&self) -> tierstore_hot::HotStore {
        tierstore_hot::HotStore::connect(self.config().redis.unwrap()).await.unwrap()
    }

    async fn warm(&self) -> tierstore::warm::WarmStore {
        tierstore::warm::open(&self.config()).await.unwrap()
    }
}

/// A configuration for the engines' namespaces, with a SQLite warm tier and the outbox in `dir`.
fn write_config(dir: &Path, ns: &RedisNamespace, ch: &ClickhouseDatabase) -> PathBuf {
    let text = format!(
        "[redis]\nurl = {:?}\nnamespace = {:?}\n[clickhouse]\nurl = {:?}\ndatabase = {:?}\n\
         [warm]\nurl = {:?}\n[store]\noutbox_dir = {:?}\n",
        ns.url(),
        ns.prefix(),
        ch.url(),
        ch.name(),
        format!("sqlite://{}?mode=rwc", dir.join("warm.db").display()),
        dir.join("outbox").display().to_string(),
    );
    let path = dir.join("tierstore.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The first open position Redis holds for `account`, and its held days.
async fn first_open(hot: &tierstore_hot::HotStore, a: &str) -> (StockCode, u32) {
    let held = hot.account_positions(&account(a)).await.unwrap();
    held.positions
        .iter()
        .find_map(|(c, p)| match p.held_days {
            Some(HeldDays::Open(n)) => Some((*c, n)),
            _ => None,
        })
        .unwrap()
}

fn account(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// Appends journal rows as the Python program on Windows writes them: GBK, CRLF, one write.
fn append_rows(journal: &Path, rows: &[String]) {
    let text: String = rows.iter().map(|r| format!("{r}\r\n")).collect();
    let (bytes, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad);
    let mut f = std::fs::OpenOptions::new().append(true).open(journal).unwrap();
    f.write_all(&bytes).unwrap();
}

fn row(i: u64) -> String {
    format!(
        "2024-06-03,10:{:02}:{:02},600000.SH,浦发银行,买入成交,迁移中,9.87,{}",
        (i / 60) % 60,
        i % 60,
        100 * (i % 9 + 1)
    )
}

fn differences(v: &Value) -> Vec<Value> {
    v["differences"].as_array().unwrap().clone()
}

fn has(diffs: &[Value], check: impl Fn(&Value) -> bool) -> bool {
    diffs.iter().any(check)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_migrated_cache_verifies_and_every_injected_difference_is_reported_with_its_location() {
    let env = Env::new(&[
        "--accounts",
        "2",
        "--positions",
        "8",
        "--trades",
        "400",
        "--stocks",
        "15",
        "--days",
        "40",
    ])
    .await;
    // Two identical journal lines are two trades.
    append_rows(&env.journal("prod_pwc"), &[row(1), row(1)]);

    let init = env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    assert_eq!(init["accounts_created"], serde_json::json!(["prod_pwc", "test_pwc"]));
    assert_eq!(init["phase"], "file");
    let backfill = env.ok(&["migrate", "backfill"]);
    assert_eq!(backfill["kinds"]["trades"]["rows"], 802);
    assert_eq!(backfill["kinds"]["klines"]["rows"], 15 * 40);
    assert_eq!(backfill["kinds"]["assets"]["rows"], 2 * 40);
    let v = env.ok(&["verify", "--full"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["kinds"]["trades"]["compared"], 802);
    assert_eq!(v["kinds"]["klines"]["compared"], 600);
    assert_eq!(v["kinds"]["assets"]["compared"], 80);
    assert!(v["kinds"]["positions"]["compared"].as_u64().unwrap() >= 8, "{v:#}");

    // A second backfill copies nothing again (unchanged units) and doubles nothing.
    let again = env.ok(&["migrate", "backfill"]);
    assert_eq!(again["kinds"]["klines"]["rows"], 0, "{again:#}");
    assert_eq!(again["kinds"]["klines"]["unchanged"], 15);
    assert_eq!(again["kinds"]["trades"]["rows"], 0);
    assert_eq!(env.ok(&["verify"])["kinds"]["trades"]["compared"], 802);

    // Inject: a changed price, a trade the database lacks, a bar only the database has, a
    // changed held-days count.
    let cool = env.cool().await;
    let q = TradeQuery { accounts: vec![account("prod_pwc")], ..Default::default() };
    let mut fifth = cool.trades(&q).await.unwrap().into_iter().find(|t| t.seq == Some(5)).unwrap();
    fifth.price = tierstore_model::Price::new("price", fifth.price.get() + 0.01).unwrap();
    cool.append_trades(&[fifth]).await.unwrap();
    append_rows(&env.journal("test_pwc"), &[row(2)]);
    let code: StockCode = {
        let first = tierstore::migration::kline_files(&env.cache.join("_daily")).unwrap()[0].clone();
        tierstore_legacy::format::klines::code_of(&first).unwrap().unwrap()
    };
    let p = |v: f64| tierstore_model::Price::new("price", v).unwrap();
    let bar = Kline {
        code,
        date: TradeDate::from_ymd(2030, 1, 2).unwrap(),
        open: p(10.0),
        high: p(11.0),
        low: p(9.5),
        close: p(10.5),
        volume: tierstore_model::Volume::new(1000),
        amount: 10_250.0,
    };
    cool.write_klines(&[bar]).await.unwrap();
    let hot = env.hot().await;
    let (open_code, days) = first_open(&hot, "prod_pwc").await;
    hot.set_held_days(&account("prod_pwc"), &open_code, HeldDays::Open(days + 50)).await.unwrap();

    let (code_exit, v) = env.json(&["verify"]);
    assert_eq!(code_exit, 1, "{v:#}");
    assert_eq!(v["passed"], false);
    assert_eq!(v["total_differences"], 4, "{v:#}");
    let d = differences(&v);
    let file = |d: &Value, end: &str| d["file"].as_str().unwrap().ends_with(end);
    assert!(
        has(&d, |d| d["kind"] == "trades"
            && d["what"] == "differs"
            && d["field"] == "price"
            && d["line"] == 6
            && file(d, "prod_pwc/deal_hist.csv")
            && d["row"] == "ClickHouse trades (prod_pwc, 5)"),
        "{v:#}"
    );
    assert!(
        has(&d, |d| d["kind"] == "trades"
            && d["what"] == "missing"
            && d["line"] == 402
            && file(d, "test_pwc/deal_hist.csv")
            && d["row"] == "ClickHouse trades (test_pwc, 401)"),
        "{v:#}"
    );
    assert!(
        has(&d, |d| d["kind"] == "klines"
            && d["what"] == "extra"
            && d["row"] == format!("ClickHouse klines ({code}, 2030-01-02)").as_str()
            && file(d, &format!("_daily/{code}.csv"))),
        "{v:#}"
    );
    assert!(
        has(&d, |d| d["kind"] == "positions"
            && d["what"] == "differs"
            && d["field"] == "held_days"
            && d["line"].as_u64().is_some()
            && file(d, "prod_pwc/held_days.json")
            && d["db_value"] == format!("Open({})", days + 50).as_str()),
        "{v:#}"
    );
    // db_first needs a passing full verify.
    env.ok(&["migrate", "switch", "dual_write", "--by", "ops"]);
    let (refused, r) = env.json(&["migrate", "switch", "db_first", "--by", "ops"]);
    assert_eq!(refused, 1, "{r:#}");
    assert!(
        r["error"].as_str().unwrap().contains("db_first needs a full verify made in dual_write"),
        "{r:#}"
    );
    // In dual_write, a full verify that finds the differences refuses it too, naming them.
    let (code_exit, _) = env.json(&["verify"]);
    assert_eq!(code_exit, 1);
    let (refused, r) = env.json(&["migrate", "switch", "db_first", "--by", "ops"]);
    assert_eq!(refused, 1, "{r:#}");
    assert!(r["error"].as_str().unwrap().contains("found 4 difference(s)"), "{r:#}");

    // Redis loses everything: each account is reported lost.
    env.ns.wipe().await;
    let (code_exit, v) = env.json(&["verify", "--tier", "hot"]);
    assert_eq!(code_exit, 1, "{v:#}");
    let d = differences(&v);
    assert_eq!(d.len(), 2, "{v:#}");
    for a in ["prod_pwc", "test_pwc"] {
        assert!(has(&d, |d| d["what"] == "lost" && file(d, &format!("{a}/held_days.json"))), "{v:#}");
    }
    assert_eq!(v["full"], false);

    // Rollback is always allowed and goes back to the files.
    let back = env.ok(&["rollback", "--by", "ops", "--note", "test over"]);
    assert_eq!((back["from"].as_str(), back["to"].as_str()), (Some("dual_write"), Some("file")));
    let status = env.ok(&["migrate", "status"]);
    assert_eq!(status["phase"], "file");
    assert_eq!(status["history"].as_array().unwrap().len(), 2);
    assert_eq!(status["last_verify"]["passed"], false);
}

fn backfill_process(env: &Env, batches: &[&str]) -> std::process::Child {
    let mut args = env.args(&["migrate", "backfill"]);
    args.extend_from_slice(batches);
    let mut cmd = Command::new(support::storectl_binary());
    cmd.args(&args).stdout(Stdio::null()).stderr(Stdio::piped());
    for (k, _) in std::env::vars() {
        if k.starts_with("TIERSTORE_") {
            cmd.env_remove(k);
        }
    }
    cmd.spawn().unwrap()
}

/// Polls the warm tier's checkpoints until `ready` holds for them (at most 60 s).
async fn wait_for_checkpoints(
    warm: &tierstore::warm::WarmStore,
    ready: impl Fn(&[tierstore_model::Checkpoint]) -> bool,
) {
    let started = Instant::now();
    loop {
        let cps = warm.checkpoints().await.unwrap();
        if ready(&cps) {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "checkpoints never got there: {cps:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_killed_at_three_points_and_rerun_loses_and_doubles_nothing() {
    let env = Env::new(&[
        "--accounts",
        "2",
        "--positions",
        "10",
        "--trades",
        "3000",
        "--stocks",
        "120",
        "--days",
        "250",
    ])
    .await;
    append_rows(&env.journal("prod_pwc"), &[row(3), row(3)]);
    env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    let warm = env.warm().await;
    let small = ["--trade-batch-rows", "100", "--kline-batch-rows", "1500"];
    let count = |cps: &[tierstore_model::Checkpoint], prefix: &str| {
        cps.iter().filter(|c| c.unit.starts_with(prefix)).count()
    };
    // 1. In the middle of a journal.
    let mut child = backfill_process(&env, &small);
    wait_for_checkpoints(&warm, |c| c.iter().any(|c| c.unit == "trades:prod_pwc" && c.line >= 300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    // 2. In the middle of the klines (after a resumed journal).
    let mut child = backfill_process(&env, &small);
    wait_for_checkpoints(&warm, |c| count(c, "klines:") >= 5).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let klines_before = count(&warm.checkpoints().await.unwrap(), "klines:");
    assert!(klines_before < 120, "the second run was killed before the end");
    // 3. Further into the klines.
    let mut child = backfill_process(&env, &small);
    wait_for_checkpoints(&warm, |c| count(c, "klines:") >= klines_before + 10).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let last = env.ok(&["migrate", "backfill"]);
    assert!(
        last["kinds"]["klines"]["unchanged"].as_u64().unwrap() >= (klines_before + 10) as u64,
        "{last:#}"
    );
    let v = env.ok(&["verify", "--full"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["kinds"]["trades"]["compared"], 6002);
    assert_eq!(v["kinds"]["klines"]["compared"], 120 * 250);
    // Nothing doubled: the stored rows (every version, before FINAL) are the row counts plus
    // at most the re-sent ones, and the deduplicated count is exact.
    let cool = env.cool().await;
    let q = TradeQuery { accounts: vec![account("prod_pwc")], ..Default::default() };
    let trades = cool.trades(&q).await.unwrap();
    assert_eq!(trades.len(), 3002);
    let dup: Vec<_> = trades.iter().filter(|t| t.seq == Some(3001) || t.seq == Some(3002)).collect();
    assert_eq!(dup.len(), 2, "identical lines are two trades");
    assert_eq!((dup[0].price, dup[0].volume, &dup[0].remark), (dup[1].price, dup[1].volume, &dup[1].remark));
    // db_first needs a full verify made in dual_write: the one above ran in file, when the
    // Python program could still write rows no backfill copied.
    env.ok(&["migrate", "switch", "dual_write"]);
    let (code, r) = env.json(&["migrate", "switch", "db_first"]);
    assert_eq!(code, 1, "{r:#}");
    assert!(r["error"].as_str().unwrap().contains("made in dual_write"), "{r:#}");
    // A partial verify is not enough either.
    env.ok(&["verify", "--sample", "3"]);
    let (code, r) = env.json(&["migrate", "switch", "db_first"]);
    assert_eq!(code, 1, "{r:#}");
    assert!(r["error"].as_str().unwrap().contains("partial"), "{r:#}");
    env.ok(&["verify", "--full"]);
    let moved = env.ok(&["migrate", "switch", "db_first"]);
    assert_eq!(moved["to"], "db_first");
}

/// One account whose journal holds 20,000 rows (and a few positions and bars), initialised.
async fn one_journal_of_20000_rows() -> Env {
    let env = Env::new(&[
        "--accounts",
        "1",
        "--positions",
        "5",
        "--trades",
        "20000",
        "--stocks",
        "5",
        "--days",
        "20",
    ])
    .await;
    env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    env
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_appended_while_backfill_copies_a_journal_are_caught_up() {
    let env = one_journal_of_20000_rows().await;
    let warm = env.warm().await;
    let journal = env.journal("prod_pwc");
    let mut child = backfill_process(&env, &["--trade-batch-rows", "200"]);
    // Append while the copy runs, until its first checkpoint is saved, then a few more.
    let mut appended = 0u64;
    loop {
        append_rows(&journal, &[row(appended)]);
        appended += 1;
        let cps = warm.checkpoints().await.unwrap();
        if cps.iter().any(|c| c.unit == "trades:prod_pwc") {
            break;
        }
        assert!(appended < 100_000);
    }
    for _ in 0..20 {
        append_rows(&journal, &[row(appended)]);
        appended += 1;
    }
    let status = child.wait().unwrap();
    assert!(status.success());
    let v = env.ok(&["verify", "--full"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["kinds"]["trades"]["compared"], 20_000 + appended);
}

/// `import` is `init` + `backfill`; `backfill --restart` copies everything again and doubles
/// nothing; `verify --sample` compares the bars of that many stocks and says it was partial;
/// `migrate status` reports checkpoints, the last backfill and verify, and the outbox depth.
#[tokio::test(flavor = "multi_thread")]
async fn import_restart_sample_and_status_do_what_they_say() {
    let env = Env::new(&[
        "--accounts",
        "2",
        "--positions",
        "5",
        "--trades",
        "500",
        "--stocks",
        "30",
        "--days",
        "40",
    ])
    .await;
    let imported = env.ok(&["import", "--from", env.cache.to_str().unwrap()]);
    assert_eq!(imported["init"]["accounts_created"].as_array().unwrap().len(), 2, "{imported:#}");
    assert_eq!(imported["backfill"]["kinds"]["trades"]["rows"], 1000, "{imported:#}");
    assert_eq!(imported["backfill"]["kinds"]["klines"]["rows"], 30 * 40, "{imported:#}");
    let v = env.ok(&["verify", "--full"]);
    assert_eq!((v["passed"].as_bool(), v["kinds"]["trades"]["compared"].as_u64()), (Some(true), Some(1000)));

    // A rerun copies nothing new; `--restart` copies everything again.
    let again = env.ok(&["migrate", "backfill"]);
    assert_eq!(again["kinds"]["trades"]["rows"], 0, "{again:#}");
    assert_eq!(again["kinds"]["klines"]["unchanged"], 30, "{again:#}");
    let restarted = env.ok(&["migrate", "backfill", "--restart"]);
    assert_eq!(restarted["kinds"]["trades"]["rows"], 1000, "{restarted:#}");
    assert_eq!(restarted["kinds"]["klines"]["copied"], 30, "{restarted:#}");
    assert_eq!(restarted["kinds"]["klines"]["unchanged"], 0, "{restarted:#}");
    let v = env.ok(&["verify", "--full"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(
        (v["kinds"]["trades"]["compared"].as_u64(), v["kinds"]["klines"]["compared"].as_u64()),
        (Some(1000), Some(1200))
    );
    let cool = env.cool().await;
    assert_eq!(cool.trades(&TradeQuery::default()).await.unwrap().len(), 1000, "nothing doubled");

    let sampled = env.ok(&["verify", "--sample", "3"]);
    assert_eq!(sampled["full"], false, "{sampled:#}");
    assert_eq!(sampled["kinds"]["klines"]["compared"], 3 * 40, "the bars of 3 stocks");
    assert_eq!(sampled["kinds"]["trades"]["compared"], 1000, "journals in full");

    // Three writes waiting for ClickHouse in this configuration's outbox.
    {
        let mut outbox =
            tierstore::outbox::Outbox::open(&env.root.path().join("outbox").join("cool")).unwrap();
        for i in 0..3u8 {
            outbox.push(&[i]).unwrap();
        }
    }
    let status = env.ok(&["migrate", "status"]);
    assert_eq!(status["phase"], "file", "{status:#}");
    assert_eq!(
        status["outbox"],
        serde_json::json!([{"tier": "cool", "dir": env.root.path().join("outbox").join("cool"), "pending": 3}])
    );
    assert_eq!(status["checkpoints"]["klines"]["units"], 30, "{status:#}");
    assert_eq!(status["checkpoints"]["trades"]["units"], 2, "{status:#}");
    assert_eq!(status["journals"].as_array().unwrap().len(), 2, "{status:#}");
    assert_eq!(status["last_backfill"]["rows"]["trades"], 1000, "{status:#}");
    assert_eq!(status["last_verify"]["full"], false, "the sample was the last verify: {status:#}");
}

/// Rollback needs only the warm tier: with Redis and ClickHouse silent (loopback listeners
/// that never answer), it still moves the phase back at once.
#[tokio::test(flavor = "multi_thread")]
async fn rollback_works_with_redis_and_clickhouse_silent() {
    let env =
        Env::new(&["--accounts", "1", "--positions", "3", "--trades", "50", "--stocks", "3", "--days", "5"])
            .await;
    env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    env.ok(&["migrate", "switch", "dual_write"]);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let root = env.root.path();
    let dead = root.join("silent.toml");
    std::fs::write(
        &dead,
        format!(
            "[redis]\nurl = \"redis://127.0.0.1:{port}\"\n[clickhouse]\nurl = \"http://127.0.0.1:{port}\"\n\
             [warm]\nurl = {:?}\n[store]\noutbox_dir = {:?}\n",
            format!("sqlite://{}?mode=rwc", root.join("warm.db").display()),
            root.join("outbox").display().to_string(),
        ),
    )
    .unwrap();
    let started = Instant::now();
    let o = support::storectl(
        &["--config", dead.to_str().unwrap(), "rollback", "--note", "engines down", "--json"],
        &[],
    );
    assert!(started.elapsed() < Duration::from_secs(10), "rollback waited on a silent engine");
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(0), "{out:#} {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!((out["from"].as_str(), out["to"].as_str()), (Some("dual_write"), Some("file")), "{out:#}");
    let status = env.ok(&["migrate", "status"]);
    assert_eq!(status["phase"], "file");
    let last = status["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["note"], "engines down", "{status:#}");
    drop(silent);
}

/// Appends journal rows the moment the copy has delivered `after` rows: with `after` not a
/// multiple of the batch size, that is when the first pass's last (partial) batch arrives,
/// which its reader sends only once it has read to the end of the file.
struct AppendWhenDelivered {
    journal: PathBuf,
    after: u64,
    rows: Vec<String>,
    state: std::sync::Mutex<(bool, u64, bool)>, // (in the trades stage, delivered, appended)
}

impl tierstore::migration::Progress for AppendWhenDelivered {
    fn stage(&self, what: &str, _: u64) {
        self.state.lock().unwrap().0 = what == "trades";
    }

    fn advance(&self, n: u64) {
        let mut state = self.state.lock().unwrap();
        if !state.0 {
            return;
        }
        state.1 += n;
        if state.1 == self.after && !state.2 {
            append_rows(&self.journal, &self.rows);
            state.2 = true;
        }
    }

    fn done(&self) {}
}

/// Rows appended after a pass has read the journal to its end are copied by the next pass:
/// the copy repeats until a pass finds nothing new.
#[tokio::test(flavor = "multi_thread")]
async fn rows_appended_after_a_pass_read_to_the_end_are_copied_by_the_next_pass() {
    let env = one_journal_of_20000_rows().await;
    let late: Vec<String> = (0..50).map(row).collect();
    let progress = std::sync::Arc::new(AppendWhenDelivered {
        journal: env.journal("prod_pwc"),
        after: 20_000,
        rows: late,
        state: std::sync::Mutex::new((false, 0, false)),
    });
    let handle: tierstore::migration::ProgressHandle = progress.clone();
    let m = tierstore::migration::Migration::open(&env.config()).await.unwrap();
    // 20,000 rows in batches of 300: the last batch of the first pass holds 200 rows.
    let opts = tierstore::migration::BackfillOptions { trade_batch_rows: 300, ..Default::default() };
    let report = tierstore::migration::backfill(&m, &opts, &handle).await.unwrap();
    assert!(progress.state.lock().unwrap().2, "the rows were appended during the copy");
    assert_eq!(report.kinds["trades"].rows, 20_050, "the second pass copied the 50 late rows");
    let v = env.ok(&["verify", "--full"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["kinds"]["trades"]["compared"], 20_050);
}

/// Every file under `dir` by relative path, except the lock files the legacy tier leaves.
fn files_under(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.file_name().unwrap() != tierstore_legacy::LOCK_FILE {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn assert_same_tree(source: &Path, exported: &Path) {
    let a = files_under(source);
    let b = files_under(exported);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(
            bytes == &b[path],
            "{} differs: source {} bytes, exported {} bytes; first difference at byte {:?}",
            path.display(),
            bytes.len(),
            b[path].len(),
            bytes.iter().zip(&b[path]).position(|(x, y)| x != y)
        );
    }
}

/// What CPython's `csv` and `json` modules read from a cache, as the Python program reads it.
fn python_reads(cache: &Path, journal_encoding: &str) -> Value {
    const SCRIPT: &str = r#"
import csv, json, os, sys
root, enc = sys.argv[1], sys.argv[2]
n = {}
for name in sorted(os.listdir(root)):
    d = os.path.join(root, name)
    if name == '_daily':
        k = 0
        for f in os.listdir(d):
            if f != '_code_list.csv':
                with open(os.path.join(d, f), newline='', encoding='utf-8') as fh:
                    rows = list(csv.reader(fh))
                    assert rows[0] == ['datetime', 'open', 'high', 'low', 'close', 'volume', 'amount'], rows[0]
                    k += len(rows) - 1
        n['klines'] = k
        continue
    with open(os.path.join(d, 'deal_hist.csv'), newline='', encoding=enc) as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ['日期', '时间', '代码', '名称', '类型', '注释', '成交价', '成交量'], rows[0]
    n[name + ':trades'] = len(rows) - 1
    with open(os.path.join(d, 'assets.csv'), newline='', encoding='utf-8') as fh:
        n[name + ':assets'] = len(list(csv.reader(fh))) - 1
    with open(os.path.join(d, 'held_days.json'), encoding='utf-8') as fh:
        n[name + ':held_days'] = len(json.load(fh))
print(json.dumps(n))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT, cache.to_str().unwrap(), journal_encoding])
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to read the export as the Python program does ({e}); install it with `apt-get install python3`"));
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn export_reproduces_the_source(windows: bool) {
    let env = Env::with(
        windows,
        &["--accounts", "2", "--positions", "8", "--trades", "300", "--stocks", "12", "--days", "30"],
    )
    .await;
    env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    env.ok(&["migrate", "backfill"]);
    let out = env.root.path().join("exported");
    let r = env.ok(&["export", "--to", out.to_str().unwrap()]);
    assert_eq!(r["rows"]["trades"], 600);
    assert_eq!(r["rows"]["klines"], 12 * 30);
    assert_same_tree(&env.cache, &out);
    let encoding = if windows { "gbk" } else { "utf-8-sig" };
    let read = python_reads(&out, encoding);
    assert_eq!(read["klines"], 360, "{read}");
    for a in ["prod_pwc", "test_pwc"] {
        assert_eq!(read[format!("{a}:trades")], 300, "{read}");
        assert_eq!(read[format!("{a}:assets")], 30, "{read}");
        assert!(read[format!("{a}:held_days")].as_u64().unwrap() >= 8, "{read}");
    }
    assert_eq!(read, python_reads(&env.cache, encoding));

    // The values are the databases': a held-days count changed in Redis is what comes out.
    let hot = env.hot().await;
    let (code, days) = first_open(&hot, "test_pwc").await;
    hot.set_held_days(&account("test_pwc"), &code, HeldDays::Open(days + 700)).await.unwrap();
    let again = env.root.path().join("exported-2");
    env.ok(&["export", "--to", again.to_str().unwrap()]);
    let (a, b) = (files_under(&env.cache), files_under(&again));
    let changed: Vec<&PathBuf> = a.keys().filter(|p| a[*p] != b[*p]).collect();
    assert_eq!(changed, [&PathBuf::from("test_pwc/held_days.json")]);
    let text = String::from_utf8(b[&PathBuf::from("test_pwc/held_days.json")].clone()).unwrap();
    assert!(text.contains(&(days + 700).to_string()), "{text}");
    // A second export into a cache that is there is refused, and changes nothing.
    let (code_exit, v) = env.json(&["export", "--to", out.to_str().unwrap()]);
    assert_eq!(code_exit, 1, "{v:#}");
    assert_same_tree(&env.cache, &out);
}

#[tokio::test(flavor = "multi_thread")]
async fn export_of_a_windows_cache_is_byte_identical_and_python_reads_it() {
    export_reproduces_the_source(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn export_of_a_linux_cache_is_byte_identical_and_python_reads_it() {
    export_reproduces_the_source(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_wipe_restore_verifies_and_an_altered_backup_is_refused_before_anything_is_written() {
    let env = Env::new(&[
        "--accounts",
        "2",
        "--positions",
        "8",
        "--trades",
        "500",
        "--stocks",
        "10",
        "--days",
        "40",
    ])
    .await;
    env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    env.ok(&["migrate", "backfill"]);
    env.ok(&["migrate", "switch", "dual_write", "--by", "ops", "--note", "before the backup"]);
    let dir = env.root.path().join("backup");
    let b = env.ok(&["backup", "--to", dir.to_str().unwrap(), "--klines"]);
    let rows: std::collections::BTreeMap<String, u64> = b["manifest"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["rows"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows["trades.jsonl"], 1000);
    assert_eq!(rows["assets.jsonl"], 80);
    assert_eq!(rows["klines.jsonl"], 400);
    assert_eq!(rows["positions.jsonl"], 2);

    // Wiped: fresh engines. Restore, then verify against the same files.
    let fresh = env.sibling().await;
    let r = fresh.ok(&["restore", "--from", dir.to_str().unwrap()]);
    assert_eq!(r["rows"]["trades.jsonl"], 1000);
    assert_eq!(r["rows"]["klines.jsonl"], 400);
    let v = fresh.ok(&["verify", "--full"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["kinds"]["trades"]["compared"], 1000);
    assert_eq!(v["kinds"]["klines"]["compared"], 400);
    let status = fresh.ok(&["migrate", "status"]);
    assert_eq!(status["phase"], "dual_write");
    assert_eq!(status["history"][0]["note"], "before the backup");
    // A second restore into the same engines is refused: they hold data now.
    let (code, v) = fresh.json(&["restore", "--from", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");

    // One flipped byte in the trades: refused naming the file; the engines stay empty.
    for (file, cut) in [("trades.jsonl", false), ("klines.jsonl", true)] {
        let bad = env.root.path().join(format!("bad-{file}"));
        std::fs::create_dir_all(&bad).unwrap();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, bad.join(p.file_name().unwrap())).unwrap();
        }
        let mut bytes = std::fs::read(bad.join(file)).unwrap();
        if cut {
            bytes.truncate(bytes.len() - 10);
        } else {
            let i = bytes.len() / 2;
            bytes[i] ^= 0x01;
        }
        std::fs::write(bad.join(file), bytes).unwrap();
        let empty = env.sibling().await;
        let (code, v) = empty.json(&["restore", "--from", bad.to_str().unwrap()]);
        assert_eq!(code, 2, "{v:#}");
        let msg = v["error"].as_str().unwrap();
        assert!(msg.contains(file), "{msg}");
        assert!(msg.contains(if cut { "truncated" } else { "SHA-256" }), "{msg}");
        assert!(empty.ns.keys().await.is_empty(), "nothing written to Redis");
        let (code, _) = empty.json(&["migrate", "status"]);
        assert_ne!(code, 0, "nothing written to the warm tier");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_rows_are_refused_by_file_and_line_and_skip_invalid_migrates_the_rest() {
    let env = Env::new(&[
        "--accounts",
        "2",
        "--positions",
        "5",
        "--trades",
        "500",
        "--stocks",
        "4",
        "--days",
        "30",
    ])
    .await;
    // A garbage journal line (ordinal 501, line 502) and a bar with a negative volume.
    append_rows(&env.journal("prod_pwc"), &["garbage,line".to_owned()]);
    let first_kline = tierstore::migration::kline_files(&env.cache.join("_daily")).unwrap()[0].clone();
    let mut f = std::fs::OpenOptions::new().append(true).open(&first_kline).unwrap();
    f.write_all(b"20300102,10.0,10.5,9.8,10.2,-5,1000.0\r\n").unwrap();
    drop(f);

    let (code, v) = env.json(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    assert_eq!(code, 2, "{v:#}");
    let errors = v["source_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{v:#}");
    assert!(
        errors
            .iter()
            .any(|e| e["path"].as_str().unwrap().ends_with("prod_pwc/deal_hist.csv") && e["line"] == 502),
        "{v:#}"
    );
    let kline_name = first_kline.file_name().unwrap().to_str().unwrap();
    assert!(
        errors.iter().any(|e| e["path"].as_str().unwrap().ends_with(kline_name) && e["line"] == 32),
        "{v:#}"
    );
    // Nothing was started: the next step says so.
    let (code, v) = env.json(&["migrate", "backfill"]);
    assert_eq!(code, 2, "{v:#}");
    assert!(v["error"].as_str().unwrap().contains("migrate init"), "{v:#}");

    let init = env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(init["rejected"].as_array().unwrap().len(), 2);
    let (code, _) = env.json(&["migrate", "backfill"]);
    assert_eq!(code, 2, "backfill refuses too without --skip-invalid");
    let b = env.ok(&["migrate", "backfill", "--skip-invalid"]);
    assert_eq!(b["kinds"]["trades"]["rows"], 1000);
    assert_eq!(b["kinds"]["klines"]["rows"], 4 * 30);
    let v = env.ok(&["verify"]);
    assert_eq!(v["passed"], true, "{v:#}");
    assert_eq!(v["kinds"]["trades"]["rejected"], 1);
    assert_eq!(v["kinds"]["klines"]["rejected"], 1);
    assert_eq!(v["kinds"]["trades"]["compared"], 1000);

    // A directory with nothing to migrate is an error, never a success that moved nothing.
    let empty = env.root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let other = env.sibling().await;
    let (code, v) = other.json(&["migrate", "init", "--legacy-dir", empty.to_str().unwrap()]);
    assert_eq!(code, 2, "{v:#}");
    assert!(v["error"].as_str().unwrap().contains("nothing to migrate"), "{v:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_half_written_row_is_a_difference_until_finished_and_an_edited_journal_stops_the_resume() {
    let env = Env::new(&[
        "--accounts",
        "1",
        "--positions",
        "3",
        "--trades",
        "300",
        "--stocks",
        "2",
        "--days",
        "10",
    ])
    .await;
    env.ok(&["migrate", "init", "--legacy-dir", env.cache.to_str().unwrap()]);
    env.ok(&["migrate", "backfill"]);
    let journal = env.journal("prod_pwc");
    // The Python program is writing row 301 (line 302): half of it is on disk.
    let (half, _, _) = encoding_rs::GBK.encode("2024-06-03,10:00:00,600000.SH,浦发银行,买入成交,,9.87,1");
    let mut f = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(&half).unwrap();
    drop(f);
    let b = env.ok(&["migrate", "backfill"]);
    assert_eq!(b["kinds"]["trades"]["rows"], 0, "a row without its terminator is not a row yet");
    let (code, v) = env.json(&["verify"]);
    assert_eq!(code, 1, "{v:#}");
    let d = differences(&v);
    assert_eq!(d.len(), 1, "{v:#}");
    assert_eq!((d[0]["what"].as_str(), d[0]["line"].as_u64()), (Some("unreadable"), Some(302)));
    assert!(d[0]["file_value"].as_str().unwrap().contains("no line terminator"), "{v:#}");
    // The row is finished: the next backfill copies it from where it stopped.
    let mut f = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(b"00\r\n").unwrap();
    drop(f);
    let b = env.ok(&["migrate", "backfill"]);
    assert_eq!(b["kinds"]["trades"]["rows"], 1, "{b:#}");
    let v = env.ok(&["verify"]);
    assert_eq!(v["kinds"]["trades"]["compared"], 301);
    let cool = env.cool().await;
    let q = TradeQuery { accounts: vec![account("prod_pwc")], ..Default::default() };
    let last = cool.trades(&q).await.unwrap().into_iter().find(|t| t.seq == Some(301)).unwrap();
    assert_eq!(last.volume.get(), 100);

    // Row 10's volume edited in place, before the checkpoint: the resume refuses, naming the
    // file, and copies nothing more.
    let mut bytes = std::fs::read(&journal).unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(bytes.windows(2).enumerate().filter(|(_, w)| w == b"\r\n").map(|(i, _)| i + 2))
        .collect();
    let end_of_row_10 = starts[11] - 2;
    let volume_start = bytes[..end_of_row_10].iter().rposition(|b| *b == b',').unwrap() + 1;
    bytes[volume_start] = if bytes[volume_start] == b'9' { b'8' } else { bytes[volume_start] + 1 };
    std::fs::write(&journal, &bytes).unwrap();
    append_rows(&journal, &[row(9)]);
    let (code, v) = env.json(&["migrate", "backfill"]);
    assert_eq!(code, 2, "{v:#}");
    let msg = v["error"].as_str().unwrap();
    assert!(msg.contains("prod_pwc/deal_hist.csv") && msg.contains("edited or truncated"), "{msg}");
    let cp = env.warm().await.checkpoint("trades:prod_pwc").await.unwrap().unwrap();
    assert_eq!((cp.line, cp.rows), (301, 301), "the checkpoint did not move");
}
