//! Latency of the warm tier on each engine (MariaDB, PostgreSQL, SQLite file), sequential
//! calls from one task: account read (goal p99 <= 1 ms on MariaDB and SQLite), parameter save
//! (a new version in one transaction; goal p99 <= 10 ms) and login (argon2id verification
//! dominates; reported, not gated).
//!
//! `cargo xtask bench warm` (it brings the servers up and sets TIERSTORE_TEST_*_URL). Prints a
//! table and one JSON object per line:
//! `{"bench": NAME, "engine": ENGINE, "p50_us": X, "p99_us": Y, "n": CALLS}`.

use serde_json::json;
use tierstore_model::{
    AccountId, AccountStore, Broker, Email, NewAccount, NewStrategy, NewUser, Role, Secret, SecretUrl,
    StrategyId, StrategyKind, StrategyStore, UserStore, Username,
};
use tierstore_testkit::bench::{measure, percentile};
use tierstore_testkit::{WarmDatabase, WarmEngine};
use tierstore_warm::{WarmConfig, WarmStore};

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let mut rows = Vec::new();
    for (engine, name) in
        [(WarmEngine::Mysql, "mariadb"), (WarmEngine::Postgres, "postgres"), (WarmEngine::Sqlite, "sqlite")]
    {
        let db = WarmDatabase::create(engine).await;
        let config = WarmConfig::new(SecretUrl::parse("warm.url", &db.url()).expect("url"));
        let store = WarmStore::connect(config.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}\nrun `cargo xtask bench warm`"));
        store.schema_up(None).await.expect("schema");
        let store = WarmStore::open(config).await.expect("open");
        let ids: Vec<AccountId> = (0..10).map(|i| AccountId::new(format!("acct_{i}")).expect("id")).collect();
        for id in &ids {
            let new = NewAccount {
                id: id.clone(),
                name: id.to_string(),
                broker: Broker::Qmt,
                initial_capital: "1000000.5".parse().expect("money"),
            };
            store.create_account(&new).await.expect("account");
        }
        let code = StrategyId::new("bench_strategy").expect("code");
        let new = NewStrategy {
            id: code.clone(),
            name: "bench".into(),
            kind: StrategyKind::Technical,
            version: "1".into(),
            description: String::new(),
        };
        store.create_strategy(&new).await.expect("strategy");
        let user = NewUser {
            username: Username::new("bench_user").expect("name"),
            email: Email::new("bench@example.cn").expect("email"),
            password: Secret::new("bench password 1".into()),
            roles: vec![Role::Trader],
        };
        store.register(&user).await.expect("user");

        let account_read = measure(200, 5_000, |i| {
            let s = &store;
            let id = &ids[i % ids.len()];
            async move {
                let _ = s.account(id).await.expect("read");
            }
        })
        .await;
        let params_save = measure(20, 500, |i| {
            let s = &store;
            let code = &code;
            async move {
                let mut p = serde_json::Map::new();
                for k in 0..20 {
                    p.insert(format!("key_{k}"), json!(i * 20 + k));
                }
                p.insert("risk".into(), json!({"stop_loss": 0.05, "take_profit": 0.2}));
                let _ = s.save_params(code, &p, "bench").await.expect("save");
            }
        })
        .await;
        let login = measure(3, 50, |_| {
            let s = &store;
            let u = &user;
            async move {
                let _ = s.login(&u.username, &u.password, None).await.expect("login");
            }
        })
        .await;
        rows.push((name, "account_read", account_read));
        rows.push((name, "params_save", params_save));
        rows.push((name, "login", login));
    }
    println!("warm tier, sequential calls on loopback servers and a SQLite file");
    println!(
        "{:<10} {:<14} {:>10} {:>10} {:>10} {:>7}",
        "engine", "bench", "p50 us", "p99 us", "max us", "n"
    );
    for (engine, bench, lat) in &rows {
        println!(
            "{engine:<10} {bench:<14} {:>10.1} {:>10.1} {:>10.1} {:>7}",
            percentile(lat, 0.5).as_secs_f64() * 1e6,
            percentile(lat, 0.99).as_secs_f64() * 1e6,
            lat[lat.len() - 1].as_secs_f64() * 1e6,
            lat.len()
        );
    }
    for (engine, bench, lat) in &rows {
        println!(
            "{}",
            json!({
                "bench": bench,
                "engine": engine,
                "p50_us": (percentile(lat, 0.5).as_secs_f64() * 1e7).round() / 10.0,
                "p99_us": (percentile(lat, 0.99).as_secs_f64() * 1e7).round() / 10.0,
                "n": lat.len(),
            })
        );
    }
    println!(
        "goals: account_read p99 <= 1000 us on mariadb and sqlite; params_save p99 <= 10000 us; login reported only"
    );
}
