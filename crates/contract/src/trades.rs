//! The trade-store contract.

use futures::TryStreamExt;
use tierstore_model::{
    AccountId, DateRange, OrderKind, Period, StoreError, Trade, TradeId, TradeQuery, TradeStore, TradeSummary,
};

use crate::sample::{code, date, trade};

/// What a trade store's tests provide.
#[derive(Debug, Clone)]
pub struct TradeEnv {
    /// Two accounts the store can hold, the first sorting before the second.
    pub accounts: [AccountId; 2],
    /// The market timezone the store converts wall-clock times with.
    pub timezone: chrono_tz::Tz,
}

/// Gives each trade the next ordinal of its account, as the journal append would.
fn numbered(mut trades: Vec<Trade>) -> Vec<Trade> {
    let mut next = std::collections::BTreeMap::new();
    for t in &mut trades {
        let seq = next.entry(t.account.clone()).or_insert(0u64);
        *seq += 1;
        t.seq = Some(*seq);
    }
    trades
}

fn ids(trades: &[Trade]) -> Vec<TradeId> {
    trades.iter().map(|t| t.id().expect("numbered")).collect()
}

/// A journal with the text real journals carry: commas and quotes in remarks, SQL-looking
/// text, Chinese names, an unknown label, repurchase and Beijing codes, and a pre-market
/// order whose UTC date is the day before its market date. Numbered per account.
pub fn journal(env: &TradeEnv) -> Vec<Trade> {
    let tz = &env.timezone;
    let [a, b] = &env.accounts;
    numbered(vec![
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
    ])
}

fn of(trades: &[Trade], account: &AccountId) -> Vec<Trade> {
    trades.iter().filter(|t| &t.account == account).cloned().collect()
}

/// Appended rows read back exactly, in time order, per account.
pub async fn append_and_read_back(store: &dyn TradeStore, env: &TradeEnv) {
    let all = journal(env);
    assert_eq!(store.append_trades(&all).await.expect("append"), ids(&all));
    let [a, b] = &env.accounts;
    let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
    let got = store.trades(&q).await.expect("read");
    assert_eq!(got, of(&all, a), "trades of {a}");
    assert_eq!(got.iter().map(|t| t.seq.expect("seq")).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
    let q = TradeQuery { accounts: vec![b.clone()], ..Default::default() };
    assert_eq!(store.trades(&q).await.expect("read"), of(&all, b), "trades of {b}");
    // Both accounts interleave by time: a's first two rows, then b's only one at 09:45.
    let q = TradeQuery { accounts: env.accounts.to_vec(), ..Default::default() };
    let got = store.trades(&q).await.expect("read both");
    let order: Vec<(&AccountId, u64)> = got.iter().map(|t| (&t.account, t.seq.expect("seq"))).collect();
    assert_eq!(order, [(a, 1), (a, 2), (b, 1), (a, 3), (a, 4), (a, 5), (a, 6), (a, 7)]);
}

/// Writing the same rows again (a rerun, a retried batch, a replayed outbox) returns the same
/// identities and changes no answer; two identical journal lines are two trades.
pub async fn rewrite_changes_nothing_and_twins_stay_two(store: &dyn TradeStore, env: &TradeEnv) {
    let all = journal(env);
    store.append_trades(&all).await.expect("append");
    let q = TradeQuery { accounts: env.accounts.to_vec(), ..Default::default() };
    let once = store.trades(&q).await.expect("read");
    let months = store.summarise_trades(&q, Period::Month).await.expect("summary");
    assert_eq!(store.append_trades(&all).await.expect("again"), ids(&all));
    assert_eq!(store.append_trades(&all[2..5]).await.expect("a retried part"), ids(&all[2..5]));
    assert_eq!(store.trades(&q).await.expect("read again"), once);
    assert_eq!(store.summarise_trades(&q, Period::Month).await.expect("summary"), months);

    // The same fill twice in the same second, as journals do hold: ordinals 8 and 9.
    let a = &env.accounts[0];
    let twin = trade(
        &env.timezone,
        a,
        "2024-11-01 09:30:00",
        "000001.SZ",
        "平安银行",
        OrderKind::BuyFill,
        "补仓",
        10.0,
        100,
    );
    let twins = [Trade { seq: Some(8), ..twin.clone() }, Trade { seq: Some(9), ..twin.clone() }];
    store.append_trades(&twins).await.expect("twins");
    store.append_trades(&twins).await.expect("twins again");
    let q = TradeQuery { accounts: vec![a.clone()], kinds: vec![OrderKind::BuyFill], ..Default::default() };
    let got = store.trades(&q).await.expect("read");
    assert_eq!(got.len(), 3, "the first buy and the two twins: {got:?}");
    assert_eq!(&got[1..], &twins[..]);
}

/// Newest first with a limit, and oldest first with a limit.
pub async fn newest_first_and_limits(store: &dyn TradeStore, env: &TradeEnv) {
    store.append_trades(&journal(env)).await.expect("append");
    let [a, b] = &env.accounts;
    let q = TradeQuery {
        accounts: env.accounts.to_vec(),
        newest_first: true,
        limit: Some(3),
        ..Default::default()
    };
    let got: Vec<(AccountId, u64)> = store
        .trades(&q)
        .await
        .expect("newest")
        .into_iter()
        .map(|t| (t.account, t.seq.expect("seq")))
        .collect();
    assert_eq!(got, [(a.clone(), 7), (a.clone(), 6), (a.clone(), 5)]);
    let q = TradeQuery { accounts: env.accounts.to_vec(), limit: Some(3), ..Default::default() };
    let got: Vec<(AccountId, u64)> = store
        .trades(&q)
        .await
        .expect("oldest")
        .into_iter()
        .map(|t| (t.account, t.seq.expect("seq")))
        .collect();
    assert_eq!(got, [(a.clone(), 1), (a.clone(), 2), (b.clone(), 1)]);
    let q =
        TradeQuery { accounts: vec![b.clone()], newest_first: true, limit: Some(0), ..Default::default() };
    assert!(store.trades(&q).await.expect("none").is_empty());
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

/// Fills of two accounts and three stocks, with every awkward case of the average-cost rule;
/// the expected figures are worked out by hand in the comments.
fn fills(env: &TradeEnv) -> Vec<Trade> {
    let tz = &env.timezone;
    let [a, b] = &env.accounts;
    let f = |acct, local, code, kind: &OrderKind, price, volume| {
        trade(tz, acct, local, code, "", kind.clone(), "", price, volume)
    };
    let (buy, sell) = (&OrderKind::BuyFill, &OrderKind::SellFill);
    numbered(vec![
        // X: a sell before any buy realises nothing and does not leave the holding at -100.
        f(a, "2024-10-08 09:30:00", "000001.SZ", sell, 10.0, 100),
        f(a, "2024-10-08 09:31:00", "000001.SZ", buy, 10.0, 300),
        f(a, "2024-10-08 09:32:00", "600000.SH", buy, 10.0, 3),
        // X: 400 held for 4400.00, average 11.00.
        f(a, "2024-10-09 10:00:00", "000001.SZ", buy, 14.0, 100),
        // Y: 6 held for 60.03, average 10.005.
        f(a, "2024-10-09 10:01:00", "600000.SH", buy, 10.01, 3),
        f(a, "2024-10-09 10:02:00", "000001.SZ", &OrderKind::SellOrder, 12.0, 250),
        // X, partial fills of that order: 150 × (12.00 − 11) = 150.00; 100 × (10.50 − 11) = −50.00.
        f(a, "2024-10-09 10:03:00", "000001.SZ", sell, 12.0, 150),
        f(a, "2024-10-09 10:04:00", "000001.SZ", sell, 10.5, 100),
        // b's holding of X is its own: 100 × (21 − 20) = 100.00.
        f(b, "2024-10-09 10:05:00", "000001.SZ", buy, 20.0, 100),
        f(b, "2024-10-10 10:05:00", "000001.SZ", sell, 21.0, 100),
        // Y: 3 × (10.01 − 10.005) = 0.015.
        f(a, "2024-11-04 10:00:00", "600000.SH", sell, 10.01, 3),
        // X: 200 sold, 150 held: 150 × (12 − 11) = 150.00, the other 50 realise nothing.
        f(a, "2024-11-04 10:01:00", "000001.SZ", sell, 12.0, 200),
        // Z: average 30.02 / 3 = 10.00666…, so 3 × (11 − average) is 2.97999… in 28 digits:
        // rounded to the fen, 2.98 (33 − 30.02 exactly).
        f(a, "2025-01-02 10:00:00", "300750.SZ", buy, 10.0, 1),
        f(a, "2025-01-02 10:01:00", "300750.SZ", buy, 10.01, 2),
        f(a, "2025-01-03 10:00:00", "300750.SZ", sell, 11.0, 3),
    ])
}

/// `(account, period start, orders, fills, cancels, other, buy, sell, profit)` of each summary.
type Row = (AccountId, String, u64, u64, u64, u64, String, String, String);

fn rows(s: Vec<TradeSummary>) -> Vec<Row> {
    s.into_iter()
        .map(|s| {
            (
                s.account,
                s.period_start.to_string(),
                s.orders,
                s.fills,
                s.cancels,
                s.other,
                s.buy_amount.to_string(),
                s.sell_amount.to_string(),
                s.realised_profit.to_string(),
            )
        })
        .collect()
}

fn row(a: &AccountId, start: &str, counts: [u64; 4], buy: &str, sell: &str, profit: &str) -> Row {
    let [o, f, c, x] = counts;
    (a.clone(), start.into(), o, f, c, x, buy.into(), sell.into(), profit.into())
}

/// Realised profit by the average-cost rule, per account and stock, in every period size and
/// with the cost basis taken from before the counted dates; literals worked out by hand.
pub async fn realised_profit_by_hand(store: &dyn TradeStore, env: &TradeEnv) {
    store.append_trades(&fills(env)).await.expect("append");
    let [a, b] = &env.accounts;
    let both = TradeQuery { accounts: env.accounts.to_vec(), ..Default::default() };
    let months = store.summarise_trades(&both, Period::Month).await.expect("months");
    assert_eq!(
        rows(months),
        [
            // buys 3000 + 30 + 1400 + 30.03; sells 1000 + 1800 + 1050; profit 0 + 150 − 50
            row(a, "2024-10-01", [1, 7, 0, 0], "4460.03", "3850.00", "100.00"),
            // sells 30.03 + 2400; profit 0.015 + 150 = 150.015, half away from zero
            row(a, "2024-11-01", [0, 2, 0, 0], "0.00", "2430.03", "150.02"),
            row(a, "2025-01-01", [0, 3, 0, 0], "30.02", "33.00", "2.98"),
            row(b, "2024-10-01", [0, 2, 0, 0], "2000.00", "2100.00", "100.00"),
        ]
    );
    let years = store.summarise_trades(&both, Period::Year).await.expect("years");
    assert_eq!(
        rows(years),
        [
            row(a, "2024-01-01", [1, 9, 0, 0], "4460.03", "6280.03", "250.02"),
            row(a, "2025-01-01", [0, 3, 0, 0], "30.02", "33.00", "2.98"),
            row(b, "2024-01-01", [0, 2, 0, 0], "2000.00", "2100.00", "100.00"),
        ]
    );
    // One day: the cost basis still comes from the day before.
    let day = TradeQuery { dates: Some(DateRange::day(date("2024-10-09"))), ..both.clone() };
    assert_eq!(
        rows(store.summarise_trades(&day, Period::Day).await.expect("day")),
        [
            row(a, "2024-10-09", [1, 4, 0, 0], "1430.03", "2850.00", "100.00"),
            row(b, "2024-10-09", [0, 1, 0, 0], "2000.00", "0.00", "0.00"),
        ]
    );
    // One stock of one account.
    let y = TradeQuery { accounts: vec![a.clone()], codes: vec![code("600000.SH")], ..Default::default() };
    assert_eq!(
        rows(store.summarise_trades(&y, Period::Year).await.expect("Y")),
        [row(a, "2024-01-01", [0, 3, 0, 0], "60.03", "30.03", "0.02")]
    );
    // Sell fills only: buys are not counted but still make the average.
    let sells =
        TradeQuery { kinds: vec![OrderKind::SellFill], accounts: vec![a.clone()], ..Default::default() };
    assert_eq!(
        rows(store.summarise_trades(&sells, Period::Month).await.expect("sells")),
        [
            row(a, "2024-10-01", [0, 3, 0, 0], "0.00", "3850.00", "100.00"),
            row(a, "2024-11-01", [0, 2, 0, 0], "0.00", "2430.03", "150.02"),
            row(a, "2025-01-01", [0, 1, 0, 0], "0.00", "33.00", "2.98"),
        ]
    );
}

/// Realised profit is summed per bucket and then rounded half away from zero to the fen:
/// each case here comes out differently under banker's rounding or rounding per fill.
pub async fn profit_rounds_half_away_from_zero_per_bucket(store: &dyn TradeStore, env: &TradeEnv) {
    let tz = &env.timezone;
    let a = &env.accounts[0];
    let f = |local, kind: &OrderKind, price, volume| {
        trade(tz, a, local, "000001.SZ", "平安银行", kind.clone(), "", price, volume)
    };
    let (buy, sell) = (&OrderKind::BuyFill, &OrderKind::SellFill);
    store
        .append_trades(&numbered(vec![
            // January: 1 × (10.025 − 10) = 0.025 → 0.03 (banker's rounding: 0.02).
            f("2024-01-02 10:00:00", buy, 10.0, 1),
            f("2024-01-03 10:00:00", sell, 10.025, 1),
            // February: 1 × (9.975 − 10) = −0.025 → −0.03 (banker's: −0.02).
            f("2024-02-01 10:00:00", buy, 10.0, 1),
            f("2024-02-02 10:00:00", sell, 9.975, 1),
            // March: two fills of 0.005 each: 0.010 → 0.01 (rounded per fill: 0.02).
            f("2024-03-01 10:00:00", buy, 10.0, 2),
            f("2024-03-04 10:00:00", sell, 10.005, 1),
            f("2024-03-05 10:00:00", sell, 10.005, 1),
        ]))
        .await
        .expect("append");
    let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
    assert_eq!(
        rows(store.summarise_trades(&q, Period::Month).await.expect("months")),
        [
            // amounts are rounded per fill: 10.025 → 10.03, 9.975 → 9.98, 10.005 → 10.01
            row(a, "2024-01-01", [0, 2, 0, 0], "10.00", "10.03", "0.03"),
            row(a, "2024-02-01", [0, 2, 0, 0], "10.00", "9.98", "-0.03"),
            row(a, "2024-03-01", [0, 3, 0, 0], "20.00", "20.02", "0.01"),
        ]
    );
}

/// The stream yields exactly the rows of the query, in identity order: compared with the
/// journal filtered by hand, not with the store's own query. A stream refuses an order or a
/// limit it could not honour in constant memory.
pub async fn stream_matches_query(store: &dyn TradeStore, env: &TradeEnv) {
    let all = journal(env);
    store.append_trades(&all).await.expect("append");
    let both = TradeQuery { accounts: env.accounts.to_vec(), ..Default::default() };
    let chunks: Vec<Vec<Trade>> = store.stream_trades(&both).try_collect().await.expect("stream");
    let mut want = all.clone();
    want.sort_by_key(|t| t.id());
    assert_eq!(chunks.into_iter().flatten().collect::<Vec<_>>(), want, "identity order");
    for refused in
        [TradeQuery { newest_first: true, ..both.clone() }, TradeQuery { limit: Some(10), ..both.clone() }]
    {
        let got: Result<Vec<Vec<Trade>>, _> = store.stream_trades(&refused).try_collect().await;
        assert!(matches!(got, Err(StoreError::InvalidInput { .. })), "{got:?}");
    }
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
            [
                append_and_read_back,
                rewrite_changes_nothing_and_twins_stay_two,
                newest_first_and_limits,
                filters,
                summaries,
                realised_profit_by_hand,
                profit_rounds_half_away_from_zero_per_bucket,
                stream_matches_query,
                invalid_batch_writes_nothing
            ]
        );
    };
}
