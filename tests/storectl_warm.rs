//! `storectl` over the warm tier, run as an operator would on each engine: the schema's
//! up/status/down/up, then accounts, strategies, bindings, parameter versions, users, logins
//! and the lockout, with `--json` output parsed and checked.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use tierstore_testkit::{WarmDatabase, WarmEngine};

const PASSWORD: &str = "correct horse battery";

struct Operator<'a> {
    env: Vec<(&'a str, String)>,
    cwd: &'a Path,
    outputs: Vec<String>,
}

impl Operator<'_> {
    fn run(&mut self, args: &[&str], input: &str) -> Output {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = support::storectl_with_input(args, &env, input, self.cwd);
        self.outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        self.outputs.push(String::from_utf8_lossy(&out.stderr).into_owned());
        out
    }

    /// Runs a command that must succeed with `--json`, returning its parsed output.
    fn json(&mut self, args: &[&str]) -> Value {
        self.json_with(args, "")
    }

    fn json_with(&mut self, args: &[&str], input: &str) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(&all, input);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "storectl {args:?} failed: {stderr}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("storectl {args:?} printed no JSON ({e}): {stderr}"))
    }

    fn code(&mut self, args: &[&str], input: &str) -> (i32, String) {
        let out = self.run(args, input);
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn operator<'a>(db: &WarmDatabase, cwd: &'a Path) -> Operator<'a> {
    Operator {
        // Everything at trace level, so the checks on the output cover the logs too.
        env: vec![
            ("TIERSTORE_WARM_URL", db.url()),
            ("TIERSTORE_WARM_MAX_FAILED_LOGINS", "3".into()),
            ("TIERSTORE_LOG", "trace".into()),
        ],
        cwd,
        outputs: Vec::new(),
    }
}

fn names(v: &Value) -> Vec<String> {
    v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["applied"] == json!(true))
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn schema_cycle(engine: WarmEngine, service: &str) {
    let db = WarmDatabase::create(engine).await;
    let dir = tempfile::tempdir().unwrap();
    let mut op = operator(&db, dir.path());
    // The built-in defaults name a ClickHouse too; these tests act on the warm tier only.
    let status = op.json(&["schema", "status", "--tier", "warm"]);
    assert!(status.get("cool").is_none(), "{status}");
    let status = &status["warm"];
    assert_eq!(status["engine"], json!(service));
    assert!(names(status).is_empty());
    let up = &op.json(&["schema", "up", "--tier", "warm"])["warm"];
    assert_eq!(up["applied"].as_array().unwrap().len(), 5);
    assert_eq!(names(up).len(), 5);
    let again = &op.json(&["schema", "up", "--tier", "warm"])["warm"];
    assert_eq!(again["applied"], json!([]), "up twice changes nothing");
    let (code, err) = op.code(&["schema", "down", "--all", "--tier", "warm"], "");
    assert_eq!(code, 2);
    assert!(err.contains("add --yes"), "{err}");
    let down = &op.json(&["schema", "down", "--all", "--yes", "--tier", "warm"])["warm"];
    assert_eq!(down["reverted"].as_array().unwrap().len(), 5);
    assert!(names(down).is_empty());
    assert_eq!(names(&op.json(&["schema", "up", "--tier", "warm"])["warm"]).len(), 5);
    // `health` names the engine in use.
    let out = op.run(&["health", "--json"], "");
    let health: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warm: Vec<&Value> =
        health["services"].as_array().unwrap().iter().filter(|s| s["tier"] == json!("warm")).collect();
    assert_eq!(warm.len(), 1, "{health}");
    assert_eq!(warm[0]["service"], json!(service));
    assert_eq!(warm[0]["status"], json!("up"), "{health}");
}

#[tokio::test]
async fn schema_up_status_down_up_on_mysql() {
    schema_cycle(WarmEngine::Mysql, "mysql").await;
}

#[tokio::test]
async fn schema_up_status_down_up_on_postgres() {
    schema_cycle(WarmEngine::Postgres, "postgres").await;
}

#[tokio::test]
async fn schema_up_status_down_up_on_sqlite() {
    schema_cycle(WarmEngine::Sqlite, "sqlite").await;
}

async fn operator_session(engine: WarmEngine) {
    let db = WarmDatabase::create(engine).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p1.toml"),
        "stop_loss = 0.05\nuniverse = \"hs300\"\n[ma]\nfast = 5\nslow = 20\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p2.json"),
        r#"{"stop_loss": 0.03, "ma": {"fast": 5, "slow": 30}, "take_profit": 0.2}"#,
    )
    .unwrap();
    let mut op = operator(&db, dir.path());
    op.json(&["schema", "up", "--tier", "warm"]);

    let a = op.json(&[
        "account",
        "create",
        "prod_a",
        "--broker",
        "QMT",
        "--capital",
        "100000",
        "--name",
        "主账户",
    ]);
    assert_eq!((&a["id"], &a["broker"], &a["status"]), (&json!("prod_a"), &json!("qmt"), &json!("active")));
    assert_eq!(
        (&a["initial_capital"], &a["current_capital"], &a["name"]),
        (&json!("100000"), &json!("100000"), &json!("主账户"))
    );
    let (code, err) = op.code(&["account", "create", "prod_b", "--broker", "QMT", "--capital", "1e5"], "");
    assert_eq!(code, 2);
    assert!(err.contains(r#"invalid capital "1e5""#), "{err}");
    let (code, err) = op.code(&["account", "create", "prod_a", "--broker", "GM", "--capital", "5"], "");
    assert_eq!(code, 2);
    assert!(err.contains(r#"conflict on account "prod_a""#), "{err}");

    let s = op.json(&["strategy", "create", "trend_a", "--name", "Trend A", "--kind", "technical"]);
    assert_eq!((&s["strategy"]["id"], &s["strategy"]["status"]), (&json!("trend_a"), &json!("testing")));
    let b = op.json(&["strategy", "bind", "trend_a", "prod_a", "--capital", "50000", "--risk-limit", "20"]);
    assert_eq!(
        b,
        json!([{"account": "prod_a", "strategy": "trend_a", "allocated_capital": "50000", "risk_limit": "20"}])
    );
    let (code, err) = op
        .code(&["strategy", "bind", "trend_a", "prod_a", "--capital", "100000.01", "--risk-limit", "20"], "");
    assert_eq!(code, 2);
    assert!(err.contains(r#"invalid allocated_capital "100000.01""#), "{err}");

    std::fs::write(dir.path().join("list.json"), "[1, 2]").unwrap();
    let (code, err) = op.code(&["params", "save", "trend_a", "list.json"], "");
    assert_eq!(code, 2);
    assert!(err.contains("parameters must be a table/object at the top, not an array"), "{err}");
    std::fs::write(dir.path().join("p.yaml"), "a: 1").unwrap();
    let (code, err) = op.code(&["params", "save", "trend_a", "p.yaml"], "");
    assert_eq!(code, 2);
    assert!(err.contains("p.yaml: parameter files are .toml or .json"), "{err}");
    let v1 = op.json(&["params", "save", "trend_a", "p1.toml", "--remark", "first"]);
    assert_eq!((&v1["version"], &v1["active"], &v1["remark"]), (&json!(1), &json!(true), &json!("first")));
    let v2 = op.json(&["params", "save", "trend_a", "p2.json"]);
    assert_eq!((&v2["version"], &v2["active"]), (&json!(2), &json!(true)));
    let diff = op.json(&["params", "diff", "trend_a", "1", "2"]);
    assert_eq!(
        diff,
        json!({
            "added": [{"key": "take_profit", "value": 0.2}],
            "removed": [{"key": "universe", "value": "hs300"}],
            "changed": [{"key": "ma.slow", "old": 20, "new": 30}, {"key": "stop_loss", "old": 0.05, "new": 0.03}]
        })
    );
    let back = op.json(&["params", "activate", "trend_a", "1", "--remark", "v2 lost money"]);
    assert_eq!((&back["version"], &back["active"]), (&json!(1), &json!(true)));
    assert_eq!(op.json(&["params", "show", "trend_a"])["version"], json!(1));
    let history = op.json(&["params", "history", "trend_a"]);
    let kinds: Vec<&str> =
        history["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["saved", "saved", "activated"]);

    let u = op.json_with(
        &["user", "add", "alice", "--email", "alice@example.cn", "--role", "trader", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!((&u["username"], &u["roles"]), (&json!("alice"), &json!(["trader"])));
    let login = op.json_with(
        &["user", "login", "alice", "--password-stdin", "--ip", "127.0.0.1"],
        &format!("{PASSWORD}\n"),
    );
    assert!(login["token"].as_str().unwrap().starts_with("tss_"), "{login}");
    for _ in 0..3 {
        let (code, err) = op.code(&["user", "login", "alice", "--password-stdin"], "not the password\n");
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("invalid username or password"), "{err}");
    }
    let (code, err) = op.code(&["user", "login", "alice", "--password-stdin"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 1, "the right password after three wrong ones is still refused");
    assert!(err.contains("alice is locked until"), "{err}");
    assert_eq!(op.code(&["user", "check", "alice", "trade:write"], "").0, 1, "a locked user holds nothing");
    op.json(&["user", "unlock", "alice"]);
    assert_eq!(op.code(&["user", "check", "alice", "trade:write"], "").0, 0);
    assert_eq!(op.code(&["user", "check", "alice", "account:create"], "").0, 1);
    let shown = op.json(&["user", "show", "alice"]);
    assert_eq!(shown["last_login_ip"], json!("127.0.0.1"));

    let accounts = op.json(&["account", "list"]);
    assert_eq!(accounts.as_array().unwrap().len(), 1);
    assert_eq!(op.json(&["account", "list", "--status", "suspended"]), json!([]));
    let strategies = op.json(&["strategy", "list"]);
    assert_eq!(strategies[0]["id"], json!("trend_a"));
    let users = op.json(&["user", "list"]);
    assert_eq!(users.as_array().unwrap().len(), 1);

    let token = login["token"].as_str().unwrap().to_owned();
    let mut token_seen = 0;
    for text in &op.outputs {
        assert!(!text.contains(PASSWORD), "the password appeared in storectl's output: {text}");
        assert!(!text.contains("not the password"), "a wrong password appeared in storectl's output: {text}");
        assert!(!text.contains("argon2"), "a password hash appeared in storectl's output: {text}");
        token_seen += usize::from(text.contains(&token));
    }
    assert_eq!(
        token_seen, 1,
        "the session token is printed once, by the login that made it, and logged nowhere"
    );
}

#[tokio::test]
async fn an_operator_session_on_mysql() {
    operator_session(WarmEngine::Mysql).await;
}

#[tokio::test]
async fn an_operator_session_on_postgres() {
    operator_session(WarmEngine::Postgres).await;
}

#[tokio::test]
async fn an_operator_session_on_sqlite() {
    operator_session(WarmEngine::Sqlite).await;
}

#[test]
fn a_configuration_file_without_a_warm_section_has_no_warm_tier() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tierstore.toml"), "[redis]\nurl = \"redis://127.0.0.1:6379\"\n").unwrap();
    let out = support::storectl_with_input(&["account", "list"], &[], "", dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no [warm] section in this configuration"), "{err}");
    assert!(!dir.path().join("tierstore.db").exists(), "no SQLite file appears behind the operator's back");
}

#[tokio::test]
async fn the_clickhouse_schema_beside_the_warm_one() {
    let ch = tierstore_testkit::ClickhouseDatabase::create().await;
    let db = WarmDatabase::create(WarmEngine::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let mut op = operator(&db, dir.path());
    op.env.push(("TIERSTORE_CLICKHOUSE_URL", ch.url().to_owned()));
    op.env.push(("TIERSTORE_CLICKHOUSE_DATABASE", ch.name().to_owned()));
    let up = op.json(&["schema", "up"]);
    assert_eq!(up["warm"]["applied"].as_array().unwrap().len(), 5);
    assert_eq!(up["cool"]["applied"], json!(["0001_assets", "0002_klines", "0003_trades"]));
    assert_eq!(up["cool"]["database"], json!(ch.name()));
    let again = op.json(&["schema", "up", "--tier", "cool"]);
    assert!(again.get("warm").is_none(), "{again}");
    assert_eq!(again["cool"]["applied"], json!([]), "up twice applies nothing");
    let status = op.json(&["schema", "status"]);
    assert_eq!(
        status["cool"]["migrations"],
        json!([
            {"version": 1, "name": "0001_assets", "applied": true},
            {"version": 2, "name": "0002_klines", "applied": true},
            {"version": 3, "name": "0003_trades", "applied": true}
        ])
    );
    let (code, err) = op.code(&["schema", "down", "--all", "--yes", "--tier", "cool"], "");
    assert_eq!(code, 2);
    assert!(err.contains("ClickHouse DDL has no down"), "{err}");
}
