//! `storectl health` against the real test services: every configured service with status,
//! version and latency; exit 1 when one is down; one-line errors naming the service and the
//! address with the password redacted; `--json` with the same facts.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use tierstore_testkit::{MysqlDatabase, RedisNamespace, clickhouse_url};
mod support;

use support::storectl;

struct Layout {
    _dir: tempfile::TempDir,
    config: String,
}

/// A configuration naming the real test services, and a legacy layout in a temp dir.
fn layout(redis: &str, warm: &str, clickhouse: &str, namespace: &str) -> Layout {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("_cache/prod_pwc")).unwrap();
    std::fs::create_dir_all(dir.path().join("_cache/_daily")).unwrap();
    let config = dir.path().join("tierstore.toml");
    std::fs::write(
        &config,
        format!(
            r#"mode = "file"
[redis]
url = "{redis}"
namespace = "{namespace}"
[warm]
url = "{warm}"
[clickhouse]
url = "{clickhouse}"
[legacy]
daily_dir = "_cache/_daily"
[[accounts]]
id = "prod_pwc"
legacy_dir = "_cache/prod_pwc"
"#
        ),
    )
    .unwrap();
    Layout { config: config.display().to_string(), _dir: dir }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn all_services_up_prints_versions_and_latency() {
    let ns = RedisNamespace::new().await;
    let db = MysqlDatabase::create().await;
    let l = layout(ns.url(), &db.url(), &clickhouse_url(), ns.prefix());

    let out = storectl(&["health", "--config", &l.config], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    for service in ["redis", "mysql", "clickhouse", "files"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(service))
            .unwrap_or_else(|| panic!("{service} missing:\n{text}"));
        assert!(line.contains(" up "), "{line}");
        assert!(line.trim_end().ends_with(" ms"), "latency shown: {line}");
    }

    let out = storectl(&["health", "--config", &l.config, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["healthy"], true);
    let services = json["services"].as_array().unwrap();
    let names: Vec<&str> = services.iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(names, ["redis", "mysql", "clickhouse", "files"]);
    for s in services {
        assert_eq!(s["status"], "up", "{s}");
        assert!(s["version"].as_str().is_some_and(|v| !v.is_empty()), "{s}");
        assert!(s["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{s}");
        assert!(s["error"].is_null(), "{s}");
    }
    let versions: Vec<&str> = services.iter().map(|s| s["version"].as_str().unwrap()).collect();
    assert!(versions[1].contains("MariaDB") || versions[1].starts_with('8'), "mysql version {}", versions[1]);
}

#[tokio::test]
async fn wrong_passwords_give_one_redacted_line_per_service_and_exit_1() {
    let ns = RedisNamespace::new().await;
    let db = MysqlDatabase::create().await;
    let secret = "Pw-that-must-not-print-7";
    let l = layout(
        &ns.url().replacen("redis://", &format!("redis://:{secret}@"), 1),
        &db.url().replacen("mysql://root@", &format!("mysql://root:{secret}@"), 1),
        &clickhouse_url().replacen("http://", &format!("http://default:{secret}@"), 1),
        ns.prefix(),
    );
    for args in [vec!["health"], vec!["health", "--json"]] {
        let mut a = args.clone();
        a.extend(["--config", &l.config]);
        let out = storectl(&a, &[]);
        let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{all}");
        assert!(!all.contains(secret), "password printed:\n{all}");
        let errors: Vec<String> = if args.len() == 2 {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["healthy"], false);
            json["services"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["status"] == "down")
                .map(|s| s["error"].as_str().unwrap().to_owned())
                .collect()
        } else {
            stdout(&out).lines().filter(|l| l.starts_with("error: ")).map(str::to_owned).collect()
        };
        assert_eq!(errors.len(), 3, "{all}");
        for (e, prefix) in errors.iter().zip([
            "hot tier (redis at redis://:***@",
            "warm tier (mysql at mysql://root:***@",
            "cool tier (clickhouse at http://default:***@",
        ]) {
            assert!(e.contains(prefix), "{e}");
            assert!(!e.contains('\n'), "{e}");
            assert!(e.to_lowercase().contains("auth") || e.contains("Access denied"), "{e}");
        }
    }
}

#[test]
fn unreachable_hosts_are_reported_quickly_and_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let l = layout(
        &format!("redis://127.0.0.1:{port}"),
        &format!("mysql://root@127.0.0.1:{port}/x"),
        &format!("http://127.0.0.1:{port}"),
        "t",
    );
    let started = Instant::now();
    let out = storectl(&["health", "--config", &l.config], &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 3, "{text}");
    for (e, address) in errors.iter().zip([
        format!("redis at redis://127.0.0.1:{port}"),
        format!("mysql at mysql://root@127.0.0.1:{port}/x"),
        format!("clickhouse at http://127.0.0.1:{port}"),
    ]) {
        assert!(e.contains(&address), "{e}");
    }
    assert!(text.lines().any(|l| l.starts_with("files") && l.contains(" up ")), "{text}");
}

#[test]
fn configuration_errors_exit_2_with_the_reason() {
    let out = storectl(&["health", "--config", "/nonexistent/tierstore.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read /nonexistent/tierstore.toml"), "{err}");

    let out =
        storectl(&["health"], &[("TIERSTORE_REDIS_TIMEOUT_MS", "soon"), ("TIERSTORE_CONFIG", "/dev/null")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TIERSTORE_REDIS_TIMEOUT_MS"));
}

#[test]
fn every_command_has_help() {
    for args in [vec!["--help"], vec!["health", "--help"]] {
        let out = storectl(&args, &[]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("Usage: storectl"), "{}", stdout(&out));
    }
}

/// `storectl health --json` reports the kline table's bytes per row and its ratio to the CSV
/// folder: 20 generated kline files loaded into a database of the test's own.
#[tokio::test]
async fn health_reports_kline_bytes_per_row_and_the_csv_ratio() {
    use futures::TryStreamExt;
    use tierstore::model::{KlineStore, SecretUrl};

    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let generate = [
        "gen-legacy",
        "--out",
        cache.to_str().unwrap(),
        "--accounts",
        "1",
        "--stocks",
        "20",
        "--days",
        "250",
    ];
    assert!(storectl(&generate, &[]).status.success());
    let daily = cache.join("_daily");
    let mut csv_files = 0;
    let mut csv_bytes = 0;
    for e in std::fs::read_dir(&daily).unwrap() {
        let e = e.unwrap();
        // The kline files, not the code list beside them.
        if e.file_name() != "_code_list.csv" {
            csv_files += 1;
            csv_bytes += e.metadata().unwrap().len();
        }
    }
    assert_eq!(csv_files, 20);

    let db = tierstore_testkit::ClickhouseDatabase::create().await;
    let mut cool = tierstore::cool::CoolConfig::new(SecretUrl::parse("url", db.url()).unwrap());
    cool.database = db.name().to_owned();
    let store = tierstore::cool::CoolStore::connect(cool).await.unwrap();
    store.schema_up().await.unwrap();
    let legacy = tierstore_legacy::LegacyStore::open(tierstore_legacy::LegacyConfig::new(
        std::collections::BTreeMap::new(),
        Some(daily.clone()),
    ))
    .await
    .unwrap();
    let mut writer = store.kline_writer(10_000).unwrap();
    let mut batches = legacy.stream_klines(None, None);
    while let Some(batch) = batches.try_next().await.unwrap() {
        for bar in batch {
            writer.write(bar).await.unwrap();
        }
    }
    assert_eq!(writer.finish().await.unwrap(), 5_000);
    db.execute(&format!("OPTIMIZE TABLE {}.klines FINAL", db.name())).await;

    let config = dir.path().join("tierstore.toml");
    std::fs::write(
        &config,
        format!(
            "[clickhouse]\nurl = \"{}\"\ndatabase = \"{}\"\n[legacy]\ndaily_dir = \"{}\"\n",
            db.url(),
            db.name(),
            daily.display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = storectl(&["health", "--config", config, "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let k = &json["storage"]["klines"];
    assert_eq!(k["table"]["table"], format!("{}.klines", db.name()));
    assert_eq!(k["table"]["rows"], 5_000, "{k}");
    assert_eq!(k["table"]["parts"], 1, "one part after OPTIMIZE FINAL: {k}");
    assert_eq!(k["csv"]["files"], 20);
    assert_eq!(k["csv"]["bytes"], csv_bytes);
    let on_disk = k["table"]["bytes_on_disk"].as_u64().unwrap();
    // Counted here, independently, from the server's part list.
    let counted = db
        .number(&format!(
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '{}' AND table = 'klines'",
            db.name()
        ))
        .await;
    assert_eq!(on_disk, counted, "{k}");
    assert!(on_disk > 0 && on_disk < csv_bytes, "{k}");
    let per_row = k["bytes_per_row"].as_f64().unwrap();
    assert!((per_row - on_disk as f64 / 5_000.0).abs() < 1e-9, "{k}");
    let ratio = k["ratio"].as_f64().unwrap();
    assert!((ratio - csv_bytes as f64 / on_disk as f64).abs() < 1e-9, "{k}");
    let columns: Vec<&str> =
        k["table"]["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        columns,
        [
            "code",
            "date",
            "close",
            "open_zz",
            "open_hi",
            "high_off",
            "low_off",
            "pscale",
            "volume",
            "volume_hi",
            "vscale",
            "amount_off",
            "ascale",
            "ver"
        ]
    );

    let out = storectl(&["health", "--config", config], &[]);
    let text = stdout(&out);
    assert!(text.contains("klines: 5000 rows in 1 parts"), "{text}");
    assert!(text.contains(&format!("CSV folder 20 files, {csv_bytes} bytes: {ratio:.2}:1")), "{text}");
}
