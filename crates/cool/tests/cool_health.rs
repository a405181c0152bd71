//! The cool tier connects to a real ClickHouse and answers its health probe; failures are
//! typed, one line, and never show the password.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{SecretUrl, StoreError, Tier};
use tierstore_testkit::ClickhouseDatabase;

fn config(url: &str) -> CoolConfig {
    CoolConfig::new(SecretUrl::parse("clickhouse.url", url).unwrap())
}

#[tokio::test]
async fn health_contract_on_real_clickhouse() {
    let db = ClickhouseDatabase::create().await;
    let mut c = config(db.url());
    c.database = db.name().to_owned();
    let store = CoolStore::connect(c).await.unwrap();
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &store,
        Tier::Cool,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test]
async fn wrong_password_is_one_line_without_the_password() {
    let url = tierstore_testkit::clickhouse_url().replacen("http://", "http://default:bad-pass-987@", 1);
    let err = CoolStore::connect(config(&url)).await.unwrap_err();
    let text = err.to_string();
    let StoreError::Unavailable { tier, service, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*tier, service.as_str()), (Tier::Cool, "clickhouse"));
    assert!(text.contains("clickhouse at http://default:***@"), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
    assert!(!text.contains("bad-pass-987"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[tokio::test]
async fn unreachable_clickhouse_is_unavailable_within_the_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut c = config(&format!("http://127.0.0.1:{port}"));
    c.timeout_ms = 500;
    let started = Instant::now();
    let err = CoolStore::connect(c).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
    assert_eq!(err.to_string().lines().count(), 1, "{err}");
}
