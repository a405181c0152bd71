//! Writing the same 1 M bars and 100 k trades three times, without OPTIMIZE, answers every
//! query as if they had been written once; identical journal lines stay two trades. Expected
//! figures are the generated data's own (built here, not read back from the store).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::hash::{Hash, Hasher};

use futures::TryStreamExt;
use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{
    AccountId, Kline, KlineRange, KlineStore, OrderKind, Period, Price, StockCode, Trade, TradeDate,
    TradeQuery, TradeStore, Volume,
};
use tierstore_testkit::ClickhouseDatabase;

const CODES: u32 = 1_000;
const DAYS: u16 = 1_000;
const ACCOUNTS: u64 = 4;
const TRADES_PER_ACCOUNT: u64 = 25_000;

fn code(i: u32) -> StockCode {
    StockCode::parse(&format!("{:06}.SZ", i + 1)).unwrap()
}

/// Bar `d` of code `c`, in (code, date) order.
fn bar(c: u32, d: u16) -> Kline {
    let close = 5.0 + f64::from((c * 7 + u32::from(d) * 3) % 2_000) / 100.0;
    let p = |v: f64| Price::new("price", v).unwrap();
    Kline {
        code: code(c),
        date: TradeDate::from_days_since_epoch(18_000 + d).unwrap(),
        open: p(close - 0.02),
        high: p(close + 0.03),
        low: p(close - 0.04),
        close: p(close),
        volume: Volume::new(u64::from(d) * 100 + u64::from(c)),
        amount: close * 1_000.5,
    }
}

/// Trade `n` (1-based) of account `a`; every 1000th is the identical twin of the one before
/// (k = 999, 1999, …: k % 5 == 4, a cancel).
fn trade(a: u64, n: u64) -> Trade {
    let k = if n.is_multiple_of(1_000) { n - 1 } else { n };
    let kind = match k % 5 {
        0 => OrderKind::BuyOrder,
        1 => OrderKind::BuyFill,
        2 => OrderKind::SellOrder,
        3 => OrderKind::SellFill,
        _ => OrderKind::Cancel,
    };
    Trade {
        account: AccountId::new(format!("acct_{a}")).unwrap(),
        seq: Some(n),
        strategy: None,
        time: chrono::DateTime::from_timestamp(1_700_000_000 + i64::try_from(k).unwrap() * 60, 0).unwrap(),
        code: code(u32::try_from(k % 50).unwrap()),
        name: "名称".into(),
        kind,
        remark: format!("r{k}"),
        price: Price::new("price", 10.0 + (k % 100) as f64 / 100.0).unwrap(),
        volume: Volume::new(100 * (1 + k % 9)),
    }
}

fn fingerprint<T: std::fmt::Debug>(items: impl IntoIterator<Item = T>) -> (u64, u64) {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut n = 0;
    for i in items {
        format!("{i:?}").hash(&mut h);
        n += 1;
    }
    (n, h.finish())
}

async fn write_everything(store: &CoolStore) {
    let mut writer = store.kline_writer(50_000).unwrap();
    for c in 0..CODES {
        for d in 0..DAYS {
            writer.write(bar(c, d)).await.unwrap();
        }
    }
    assert_eq!(writer.finish().await.unwrap(), u64::from(CODES) * u64::from(DAYS));
    for a in 0..ACCOUNTS {
        let all: Vec<Trade> = (1..=TRADES_PER_ACCOUNT).map(|n| trade(a, n)).collect();
        for chunk in all.chunks(20_000) {
            store.append_trades(chunk).await.unwrap();
        }
    }
}

/// Every answer the test compares between writes.
#[derive(Debug, PartialEq)]
struct Answers {
    bars: (u64, u64),
    trades: (u64, u64),
    spans: Vec<(StockCode, u64)>,
    last_60: (u64, u64),
    newest: Vec<(String, u64)>,
    months: String,
    twins: usize,
}

async fn answers(store: &CoolStore) -> Answers {
    let bars: Vec<Vec<Kline>> = store.stream_klines(None, None).try_collect().await.unwrap();
    let trades: Vec<Vec<Trade>> = store.stream_trades(&TradeQuery::default()).try_collect().await.unwrap();
    let codes: Vec<StockCode> = (0..100).map(code).collect();
    let last = store.klines_of(&codes, KlineRange::last(60).unwrap()).await.unwrap();
    let q = TradeQuery { newest_first: true, limit: Some(5), ..Default::default() };
    let cancels = TradeQuery {
        accounts: vec![AccountId::new("acct_2").unwrap()],
        kinds: vec![OrderKind::Cancel],
        ..Default::default()
    };
    let mut seen = std::collections::BTreeMap::new();
    for t in store.trades(&cancels).await.unwrap() {
        *seen.entry((t.time, t.remark)).or_insert(0) += 1;
    }
    Answers {
        bars: fingerprint(bars.iter().flatten()),
        trades: fingerprint(trades.iter().flatten()),
        spans: store.kline_spans().await.unwrap().into_iter().map(|s| (s.code, s.bars)).collect(),
        last_60: fingerprint(last.values().flatten()),
        newest: store
            .trades(&q)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.account.to_string(), t.seq.unwrap()))
            .collect(),
        months: format!("{:?}", store.summarise_trades(&TradeQuery::default(), Period::Month).await.unwrap()),
        twins: seen.values().filter(|n| **n == 2).count(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_bars_and_100k_trades_written_three_times_answer_as_once() {
    let db = ClickhouseDatabase::create().await;
    let mut config = CoolConfig::new(tierstore_model::SecretUrl::parse("clickhouse.url", db.url()).unwrap());
    config.database = db.name().to_owned();
    config.timeout_ms = 60_000;
    let store = CoolStore::connect(config).await.unwrap();
    store.schema_up().await.unwrap();

    write_everything(&store).await;
    let once = answers(&store).await;
    // Against the generated data itself.
    assert_eq!(once.bars, fingerprint((0..CODES).flat_map(|c| (0..DAYS).map(move |d| bar(c, d)))));
    assert_eq!(once.bars.0, 1_000_000);
    let by_identity = (0..ACCOUNTS).flat_map(|a| (1..=TRADES_PER_ACCOUNT).map(move |n| trade(a, n)));
    assert_eq!(once.trades, fingerprint(by_identity));
    assert_eq!(once.trades.0, 100_000);
    assert_eq!(once.spans, (0..CODES).map(|c| (code(c), u64::from(DAYS))).collect::<Vec<_>>());
    let last_60 = (0..100).flat_map(|c| (DAYS - 60..DAYS).map(move |d| bar(c, d)));
    assert_eq!(once.last_60, fingerprint(last_60));
    // Rows 24999 and 25000 of every account are twins at the newest instant: account, then
    // ordinal, newest first, break the tie.
    let newest =
        [("acct_3", 25_000), ("acct_3", 24_999), ("acct_2", 25_000), ("acct_2", 24_999), ("acct_1", 25_000)];
    assert_eq!(once.newest, newest.map(|(a, n)| (a.to_owned(), n)));
    assert_eq!(once.twins, 25, "acct_2's 25 pairs of identical cancels stay pairs");

    for _ in 0..2 {
        write_everything(&store).await;
        assert_eq!(answers(&store).await, once, "a rewrite changed an answer");
    }
}
