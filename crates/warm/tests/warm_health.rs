//! The warm tier connects to a real MySQL/MariaDB, a real PostgreSQL and to SQLite and answers its health probe;
//! failures are typed, one line, and never show the password.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use tierstore_model::{HealthProbe, SecretUrl, StoreError, Tier};
use tierstore_testkit::MysqlDatabase;
use tierstore_warm::{WarmConfig, WarmStore};

fn config(url: &str) -> WarmConfig {
    WarmConfig::new(SecretUrl::parse("warm.url", url).unwrap())
}

#[tokio::test]
async fn health_contract_on_real_mysql() {
    let db = MysqlDatabase::create().await;
    let store = WarmStore::connect(config(&db.url())).await.unwrap();
    assert_eq!(store.endpoint().service, "mysql");
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &store,
        Tier::Warm,
        Duration::from_secs(3),
    )
    .await;
}

#[tokio::test]
async fn health_contract_on_real_postgres() {
    let db = tierstore_testkit::PostgresDatabase::create().await;
    let store = WarmStore::connect(config(&db.url())).await.unwrap();
    assert_eq!(store.endpoint().service, "postgres");
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &store,
        Tier::Warm,
        Duration::from_secs(3),
    )
    .await;
    assert!(store.probe().await.unwrap().version.starts_with("PostgreSQL "), "names the engine");
}

#[tokio::test]
async fn health_contract_on_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("warm.db").display());
    let store = WarmStore::connect(config(&url)).await.unwrap();
    assert_eq!(store.endpoint().service, "sqlite");
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &store,
        Tier::Warm,
        Duration::from_secs(3),
    )
    .await;
    assert!(dir.path().join("warm.db").exists());
}

#[tokio::test]
async fn wrong_password_is_one_line_without_the_password() {
    let db = MysqlDatabase::create().await;
    let url = db.url().replacen("mysql://root@", "mysql://root:wrong-pw-1234@", 1);
    let err = WarmStore::connect(config(&url)).await.unwrap_err();
    let text = err.to_string();
    let StoreError::Unavailable { tier, service, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*tier, service.as_str()), (Tier::Warm, "mysql"));
    assert!(text.contains("mysql at mysql://root:***@"), "{text}");
    assert!(!text.contains("wrong-pw-1234"), "{text}");
    assert!(text.contains("Access denied"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn unreachable_mysql_is_unavailable_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c = config(&format!("mysql://root@127.0.0.1:{port}/x"));
    c.timeout_ms = 500;
    let started = Instant::now();
    let err = WarmStore::connect(c).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
    assert_eq!(err.to_string().lines().count(), 1, "{err}");
}

#[tokio::test]
async fn unsupported_scheme_is_invalid_input() {
    let err = WarmStore::connect(config("mssql://127.0.0.1/db")).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "warm.url"), "{err:?}");
    assert!(err.to_string().contains("mysql://, postgres:// or sqlite:"), "{err}");
}
