//! The trade-store contract.

use futures::TryStreamExt;
use tierstore_model::{AccountId, DateRange, OrderKind, Period, StoreError, Trade, TradeQuery, TradeStore};

use crate::sample::{code, date, trade};

/// What a trade store's tests provide.
#[derive(Debug, Clone)]
pub struct TradeEnv {
    /// Two accounts the store can hold.
    pub accounts: [AccountId; 2],
    /// The market timezone the store converts wall-clock times with.
    pub timezone: chrono_tz::Tz,
}

/// A journal with the text real journals carry: commas and quotes in remarks, SQL-looking
/// text, Chinese names, an unknown label, repurchase and Beijing codes, and a pre-market
/// order whose UTC date is the day before its market date.
pub fn journal(env: &TradeEnv) -> Vec<Trade> {
    let tz = &env.timezone;
    let [a, b] = &env.accounts;
    vec![
        trade(
            tz,
            a,
            "2024-10-09 07:30:00",
            "000001.SZ",
            "平安银行",
            OrderKind::BuyOrder,
            "盘前,挂单",
            10.5,
            1000,
        ),
        trade(tz, a, "2024-10-09 09:31:05", "000001.SZ", "平安银行", OrderKind::BuyFill, "开仓", 10.52, 1000),
        trade(
            tz,
            b,
            "2024-10-09 09:45:00",
            "600000.SH",
            "浦发银行",
            OrderKind::BuyFill,
            "他说\"买\"",
            8.0,
            500,
        ),
        trade(
            tz,
            a,
            "2024-10-10 10:00:00",
            "131810.SZ",
            "R-001",
            OrderKind::SellOrder,
            "x' OR '1'='1",
            1.885,
            100,
        ),
        trade(tz, a, "2024-10-10 10:00:01", "131810.SZ", "R-001", OrderKind::Cancel, "", 1.885, 100),
        trade(
            tz,
            a,
            "2024-10-11 14:55:00",
            "000001.SZ",
            "平安银行",
            OrderKind::SellFill,
            "止盈,回落3%",
            11.02,
            600,
        ),
        trade(
            tz,
            a,
            "2024-10-11 14:56:00",
            "830799.BJ",
            "艾融软件",
            OrderKind::Other("尾盘买入委托".into()),
            "",
            20.0,
            200,
        ),
        trade(tz, a, "2024-11-01 09:30:00", "000001.SZ", "平安银行", OrderKind::SellFill, "清仓", 10.02, 400),
    ]
}

fn of(trades: &[Trade], account: &AccountId) -> Vec<Trade> {
    trades.iter().filter(|t| &t.account == account).cloned().collect()
}

/// Appended rows read back exactly, in time order, per account.
pub async fn append_and_read_back(store: &dyn TradeStore, env: &TradeEnv) {
    let all = journal(env);
    assert_eq!(store.append_trades(&all).await.expect("append"), all.len() as u64);
    for acct in &env.accounts {
        let q = TradeQuery { accounts: vec![acct.clone()], ..Default::default() };
        assert_eq!(store.trades(&q).await.expect("read"), of(&all, acct), "trades of {acct}");
    }
    let mut both = all.clone();
    both.sort_by_key(|t| t.time);
    let q = TradeQuery { accounts: env.accounts.to_vec(), ..Default::default() };
    assert_eq!(store.trades(&q).await.expect("read both"), both);
}

/// Dates filter by market-local date; codes, kinds and accounts filter as given.
pub async fn filters(store: &dyn TradeStore, env: &TradeEnv) {
    let all = journal(env);
    store.append_trades(&all).await.expect("append");
    let a = env.accounts[0].clone();
    let base = TradeQuery { accounts: vec![a.clone()], ..Default::default() };

    let day = TradeQuery { dates: Some(DateRange::day(date("2024-10-09"))), ..base.clone() };
    let got = store.trades(&day).await.expect("by date");
    assert_eq!(got.len(), 2, "the 07:30 order is on the 9th in market time: {got:?}");

    let range = DateRange::new(date("2024-10-10"), date("2024-10-11")).expect("range");
    let got = store.trades(&TradeQuery { dates: Some(range), ..base.clone() }).await.expect("by range");
    assert_eq!(got.len(), 4);

    let by_code = TradeQuery { codes: vec![code("000001.SZ")], ..base.clone() };
    assert_eq!(store.trades(&by_code).await.expect("by code").len(), 4);

    let fills = TradeQuery { kinds: vec![OrderKind::BuyFill, OrderKind::SellFill], ..base.clone() };
    let got = store.trades(&fills).await.expect("by kind");
    assert!(got.iter().all(|t| t.kind.is_fill()) && got.len() == 3, "{got:?}");

    let other = TradeQuery { kinds: vec![OrderKind::Other("尾盘买入委托".into())], ..base.clone() };
    assert_eq!(
        store.trades(&other).await.expect("by label").len(),
        1,
        "unknown labels are kept and queryable"
    );

    let strategy =
        TradeQuery { strategy: Some(tierstore_model::StrategyId::new("none_such").expect("id")), ..base };
    assert!(store.trades(&strategy).await.expect("by strategy").is_empty());
}

/// Monthly and daily summaries count orders, fills and cancels apart and realise profit
/// against the average cost, with the cost basis taken from before the counted range.
pub async fn summaries(store: &dyn TradeStore, env: &TradeEnv) {
    store.append_trades(&journal(env)).await.expect("append");
    let a = env.accounts[0].clone();
    let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
    let months = store.summarise_trades(&q, Period::Month).await.expect("summary");
    assert_eq!(months.len(), 2, "{months:?}");
    let oct = &months[0];
    assert_eq!(oct.period_start, date("2024-10-01"));
    assert_eq!((oct.orders, oct.fills, oct.cancels, oct.other), (2, 2, 1, 1));
    assert_eq!(oct.buy_amount.to_string(), "10520.00");
    assert_eq!(oct.sell_amount.to_string(), "6612.00");
    assert_eq!(oct.realised_profit.to_string(), "300.00", "600 × (11.02 − 10.52)");
    let nov = &months[1];
    assert_eq!(
        (nov.fills, nov.realised_profit.to_string()),
        (1, "-200.00".to_owned()),
        "400 × (10.02 − 10.52)"
    );

    let only_nov = TradeQuery { dates: Some(DateRange::day(date("2024-11-01"))), ..q };
    let days = store.summarise_trades(&only_nov, Period::Day).await.expect("daily");
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].realised_profit.to_string(), "-200.00", "cost basis from October");
}

/// The stream yields exactly the rows of the query, in time order: compared with the journal
/// filtered by hand, not with the store's own query.
pub async fn stream_matches_query(store: &dyn TradeStore, env: &TradeEnv) {
    let all = journal(env);
    store.append_trades(&all).await.expect("append");
    let a = env.accounts[0].clone();
    let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
    let chunks: Vec<Vec<Trade>> = store.stream_trades(&q).try_collect().await.expect("stream");
    let streamed: Vec<Trade> = chunks.into_iter().flatten().collect();
    let mut want = of(&all, &a);
    want.sort_by_key(|t| t.time);
    assert_eq!(streamed.len(), 7, "the seven rows of {a}");
    assert_eq!(streamed, want);

    let fills = TradeQuery { kinds: vec![OrderKind::SellFill], ..q };
    let chunks: Vec<Vec<Trade>> = store.stream_trades(&fills).try_collect().await.expect("stream");
    let streamed: Vec<Trade> = chunks.into_iter().flatten().collect();
    let want: Vec<Trade> = want.into_iter().filter(|t| t.kind == OrderKind::SellFill).collect();
    assert_eq!(streamed.len(), 2, "the two sell fills");
    assert_eq!(streamed, want);
}

/// A batch with one invalid trade is refused whole, naming the field; nothing is written.
pub async fn invalid_batch_writes_nothing(store: &dyn TradeStore, env: &TradeEnv) {
    let mut all = journal(env);
    all[3].time += chrono::Duration::milliseconds(250);
    let err = store.append_trades(&all).await.expect_err("sub-second time");
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "time"), "{err:?}");
    let q = TradeQuery { accounts: env.accounts.to_vec(), ..Default::default() };
    assert!(store.trades(&q).await.expect("read").is_empty(), "nothing was written");
}

/// `trade_contract!(module, setup)`: one `#[tokio::test]` per trade check; `setup` returns
/// `(guard, store, TradeEnv)`.
#[macro_export]
macro_rules! trade_contract {
    ($module:ident, $setup:path) => {
        $crate::__contract_tests!(
            $module,
            $setup,
            trades,
            [append_and_read_back, filters, summaries, stream_matches_query, invalid_batch_writes_nothing]
        );
    };
}
