//! The hot tier connects to a real Redis and answers its health probe; failures are fast,
//! typed and name the service and address without the password.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{SecretUrl, StoreError, Tier};
use tierstore_testkit::RedisNamespace;

fn config(url: &str, namespace: &str) -> HotConfig {
    let mut c = HotConfig::new(SecretUrl::parse("redis.url", url).unwrap());
    c.namespace = namespace.to_owned();
    c
}

#[tokio::test]
async fn health_contract_on_real_redis() {
    let ns = RedisNamespace::new().await;
    let store = HotStore::connect(config(ns.url(), ns.prefix())).await.unwrap();
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &store,
        Tier::Hot,
        Duration::from_secs(1),
    )
    .await;
    assert!(ns.keys().await.is_empty(), "a probe writes no keys");
}

#[tokio::test]
async fn unreachable_redis_is_unavailable_within_the_timeout() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let err = HotStore::connect(config(&format!("redis://127.0.0.1:{port}"), "t")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
    let StoreError::Unavailable { tier, service, address, .. } = &err else { panic!("{err:?}") };
    assert_eq!((*tier, service.as_str()), (Tier::Hot, "redis"));
    assert_eq!(address, &format!("redis://127.0.0.1:{port}"));
    assert_eq!(err.to_string().lines().count(), 1, "{err}");
}

#[tokio::test]
async fn silent_redis_is_unavailable_within_the_timeout() {
    // A loopback listener whose connections the kernel accepts but nobody ever answers: the
    // client connects, sends its first command and waits until the timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = config(&format!("redis://127.0.0.1:{port}"), "t");
    c.timeout_ms = 300;
    let started = Instant::now();
    let err = HotStore::connect(c).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("no answer within 300 ms"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1000), "took {:?}", started.elapsed());
    drop(silent);
}

#[tokio::test]
async fn wrong_password_is_one_line_without_the_password() {
    let ns = RedisNamespace::new().await;
    let with_password = ns.url().replacen("redis://", "redis://:not-the-password-42@", 1);
    let err = HotStore::connect(config(&with_password, ns.prefix())).await.unwrap_err();
    let text = err.to_string();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(!text.contains("not-the-password-42"), "{text}");
    assert!(text.contains("redis at redis://:***@"), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
}
