//! A server that stalls in the middle of a response (headers sent, then silence) is an error
//! within the configured bound, never a hang: `timeout_ms` for requests, `stream_timeout_ms`
//! for each wait of a stream and of the bulk writer. The server is a loopback stand-in that
//! answers the version probe and then goes silent.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use tierstore_cool::{CoolConfig, CoolStore, WireCompression};
use tierstore_model::{
    Kline, KlineRange, KlineStore, Price, SecretUrl, StockCode, TradeDate, TradeQuery, TradeStore, Volume,
};
use tierstore_testkit::{ClickhouseStandIn, StandInMode};

async fn stalled_store() -> (ClickhouseStandIn, CoolStore) {
    stalled_store_in(StandInMode::StallAfterHeaders).await
}

async fn stalled_store_in(mode: StandInMode) -> (ClickhouseStandIn, CoolStore) {
    let server = ClickhouseStandIn::start("18.16.1", mode).await;
    let mut config = CoolConfig::new(SecretUrl::parse("clickhouse.url", server.url()).unwrap());
    config.compression = WireCompression::None;
    config.timeout_ms = 300;
    config.stream_timeout_ms = 400;
    let store = CoolStore::connect(config).await.unwrap();
    (server, store)
}

fn assert_timed_out(err: &tierstore_model::StoreError, ms: u64, started: Instant) {
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains(&format!("no answer within {ms} ms")), "{err}");
    assert_within(ms, started);
}

/// Gave up after the bound `ms` (not a shorter one), and not much later.
fn assert_within(ms: u64, started: Instant) {
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(ms) && took < Duration::from_secs(3),
        "took {took:?}, bound {ms} ms"
    );
}

/// A regression to "waits forever" fails the test instead of hanging it.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("still waiting after 10 s: a hang")
}

#[tokio::test]
async fn a_stalled_stream_is_an_error_within_the_stream_timeout() {
    let (_server, store) = stalled_store().await;
    let started = Instant::now();
    let err = bounded(store.stream_klines(None, None).try_collect::<Vec<_>>()).await.unwrap_err();
    assert_timed_out(&err, 400, started);
    let started = Instant::now();
    let query = TradeQuery::default();
    let err = bounded(store.stream_trades(&query).try_collect::<Vec<_>>()).await.unwrap_err();
    assert_timed_out(&err, 400, started);
}

/// A kline stream lists its codes, then reads runs of them: a stall in a run's read (after
/// the listing answered) is an error within the stream timeout too.
#[tokio::test]
async fn a_stream_stalled_after_its_listing_is_an_error_within_the_stream_timeout() {
    let (server, store) = stalled_store_in(StandInMode::StallAfterListing).await;
    let started = Instant::now();
    let err = bounded(store.stream_klines(None, None).try_collect::<Vec<_>>()).await.unwrap_err();
    assert_timed_out(&err, 400, started);
    let sent: Vec<String> = server.requests().iter().map(|r| r.sql()).collect();
    assert!(sent.iter().any(|s| s.contains("WHERE code >= '600000.SH'")), "the run was asked for: {sent:?}");
}

#[tokio::test]
async fn a_stalled_query_is_an_error_within_the_request_timeout() {
    let (_server, store) = stalled_store().await;
    let started = Instant::now();
    let code = StockCode::parse("600000.SH").unwrap();
    let err = bounded(store.klines(&code, KlineRange::last(60).unwrap())).await.unwrap_err();
    assert_timed_out(&err, 300, started);
}

#[tokio::test]
async fn a_stalled_bulk_insert_is_an_error_within_the_stream_timeout() {
    let (server, store) = stalled_store().await;
    let p = |v: f64| Price::new("p", v).unwrap();
    let mut writer = store.kline_writer(10_000).unwrap();
    writer
        .write(Kline {
            code: StockCode::parse("600000.SH").unwrap(),
            date: TradeDate::from_days_since_epoch(19_000).unwrap(),
            open: p(10.0),
            high: p(11.0),
            low: p(9.0),
            close: p(10.5),
            volume: Volume::new(100),
            amount: 1050.0,
        })
        .await
        .unwrap();
    let started = Instant::now();
    let err = bounded(writer.finish()).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    // The stream timeout (400 ms), not the request timeout (300 ms), bounds the writer.
    assert_within(400, started);
    assert!(
        server.requests().iter().any(|r| r.sql().starts_with("INSERT INTO")),
        "the insert reached the stand-in: {:?}",
        server.requests()
    );
}
