//! Every outbox write is idempotent on the real tiers (Redis for positions, ClickHouse for
//! trades, bars and asset points): the same writes applied twice each, in a row, leave the
//! tiers exactly as applied once — and as computed here by hand. A replay interrupted after a
//! write reached its tier but before it was acknowledged (a crash) still ends right.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use tierstore::outbox::Outbox;
use tierstore::tier_write::{TierWrite, WriteTargets, replay};
use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{
    AccountId, AccountPositions, AssetPoint, AssetStore, HeldDays, IncrementOutcome, Kline, KlineRange,
    KlineStore, OrderKind, Position, PositionStore, Price, Result, SecretUrl, StockCode, StoreError, Trade,
    TradeDate, TradeQuery, TradeStore, Volume,
};
use tierstore_testkit::{ClickhouseDatabase, RedisNamespace};

fn acct() -> AccountId {
    AccountId::new("prod_pwc").unwrap()
}
fn code(s: &str) -> StockCode {
    StockCode::parse(s).unwrap()
}
fn price(v: f64) -> Price {
    Price::new("price", v).unwrap()
}
fn day(s: &str) -> TradeDate {
    TradeDate::parse(s).unwrap()
}

/// A Redis namespace and a ClickHouse database of their own, the account seeded empty.
struct Tiers {
    _ns: RedisNamespace,
    _db: ClickhouseDatabase,
    hot: HotStore,
    cool: CoolStore,
}

impl Tiers {
    async fn new() -> Tiers {
        let ns = RedisNamespace::new().await;
        let mut hot = HotConfig::new(SecretUrl::parse("redis.url", ns.url()).unwrap());
        hot.namespace = ns.prefix().to_owned();
        let hot = HotStore::connect(hot).await.unwrap();
        hot.replace_account(&acct(), &AccountPositions::default()).await.unwrap();
        let db = ClickhouseDatabase::create().await;
        let mut cool = CoolConfig::new(SecretUrl::parse("clickhouse.url", db.url()).unwrap());
        cool.database = db.name().to_owned();
        let cool = CoolStore::connect(cool).await.unwrap();
        cool.schema_up().await.unwrap();
        Tiers { _ns: ns, _db: db, hot, cool }
    }

    fn targets(&self) -> WriteTargets<'_> {
        WriteTargets {
            positions: Some(&self.hot),
            trades: Some(&self.cool),
            klines: Some(&self.cool),
            assets: Some(&self.cool),
        }
    }

    /// Everything the writes below can touch.
    async fn state(&self) -> (AccountPositions, Vec<Trade>, Vec<Kline>, Vec<AssetPoint>) {
        (
            self.hot.account_positions(&acct()).await.unwrap(),
            self.cool.trades(&TradeQuery::default()).await.unwrap(),
            self.cool.klines(&code("600000.SH"), KlineRange::last(10).unwrap()).await.unwrap(),
            self.cool.assets(&acct(), None).await.unwrap(),
        )
    }
}

fn fill(seq: u64) -> Trade {
    Trade {
        account: acct(),
        seq: Some(seq),
        strategy: None,
        time: chrono::DateTime::from_timestamp(1_728_450_000, 0).unwrap(),
        code: code("000001.SZ"),
        name: "平安银行".into(),
        kind: OrderKind::BuyFill,
        remark: String::new(),
        price: price(10.5),
        volume: Volume::new(100),
    }
}

fn writes() -> Vec<TierWrite> {
    let (a, c1, c2, c3) = (acct(), code("000001.SZ"), code("600000.SH"), code("300750.SZ"));
    let bar = |d: &str, close: f64| Kline {
        code: c2,
        date: day(d),
        open: price(close),
        high: price(close + 0.5),
        low: price(close - 0.5),
        close: price(close),
        volume: Volume::new(1000),
        amount: close * 1000.0,
    };
    let (c4, c5) = (code("601318.SH"), code("002594.SZ"));
    let replaced = AccountPositions {
        last_increment: None,
        positions: [(
            c4,
            Position { held_days: Some(HeldDays::Open(2)), max_price: Some(price(8.0)), min_price: None },
        )]
        .into(),
    };
    vec![
        TierWrite::ReplaceAccount { account: a.clone(), state: replaced },
        // 601318 is open already and keeps its count; 002594 opens at 0.
        TierWrite::OpenPositions { account: a.clone(), codes: vec![c4, c5] },
        TierWrite::SetHeldDays { account: a.clone(), code: c1, days: HeldDays::Open(3) },
        TierWrite::RaiseMaxPrice { account: a.clone(), code: c1, price: price(10.5) },
        TierWrite::LowerMinPrice { account: a.clone(), code: c1, price: price(9.8) },
        TierWrite::RaiseMaxPrice { account: a.clone(), code: c1, price: price(10.2) },
        TierWrite::IncrementHeldDays { account: a.clone(), today: day("2024-10-09") },
        TierWrite::SetHeldDays { account: a.clone(), code: c2, days: HeldDays::Open(1) },
        TierWrite::ClosePosition { account: a.clone(), code: c2 },
        TierWrite::SetHeldDays { account: a.clone(), code: c3, days: HeldDays::Open(7) },
        TierWrite::RemovePosition { account: a.clone(), code: c3 },
        TierWrite::IncrementHeldDays { account: a.clone(), today: day("2024-10-10") },
        // Two identical fills are two trades, by their journal ordinals.
        TierWrite::Trades { trades: vec![fill(1), fill(2)] },
        TierWrite::Klines { bars: vec![bar("2024-10-09", 10.0), bar("2024-10-10", 10.4)] },
        TierWrite::Assets {
            points: vec![AssetPoint {
                account: a.clone(),
                date: day("2024-10-10"),
                total: "100000.50".parse().unwrap(),
            }],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_write_applied_twice_in_a_row_leaves_the_tiers_as_once() {
    let (once, twice) = (Tiers::new().await, Tiers::new().await);
    for w in writes() {
        // Through the outbox's own encoding, as a replay reads it.
        let w = TierWrite::decode(&w.encode().unwrap(), 1).unwrap();
        w.apply(&once.targets()).await.unwrap();
        w.apply(&twice.targets()).await.unwrap();
        w.apply(&twice.targets()).await.unwrap();
    }
    let got = once.state().await;
    assert_eq!(twice.state().await, got);

    // And what that state is, by hand: 000001 set to 3, advanced on the 9th and the 10th; its
    // max 10.5 (10.2 is lower), min 9.8; 600000 closed; 300750 removed; 601318 from the
    // replaced state at 2, 002594 opened at 0, both advanced twice.
    let (positions, trades, bars, assets) = got;
    assert_eq!(positions.last_increment, Some(day("2024-10-10")));
    let want_c1 = Position {
        held_days: Some(HeldDays::Open(5)),
        max_price: Some(price(10.5)),
        min_price: Some(price(9.8)),
    };
    assert_eq!(positions.positions.get(&code("000001.SZ")), Some(&want_c1));
    assert_eq!(positions.positions.get(&code("600000.SH")).and_then(|p| p.held_days), Some(HeldDays::Closed));
    assert!(!positions.positions.contains_key(&code("300750.SZ")));
    let want_c4 =
        Position { held_days: Some(HeldDays::Open(4)), max_price: Some(price(8.0)), min_price: None };
    assert_eq!(positions.positions.get(&code("601318.SH")), Some(&want_c4));
    assert_eq!(
        positions.positions.get(&code("002594.SZ")).and_then(|p| p.held_days),
        Some(HeldDays::Open(2))
    );
    assert_eq!(positions.positions.len(), 4);
    assert_eq!(trades.iter().map(|t| t.seq.unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(bars.iter().map(|b| b.close.get()).collect::<Vec<_>>(), [10.0, 10.4]);
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].total, "100000.50".parse().unwrap());
}

/// A position store that, on its `fail_at`-th call, lets the call reach Redis and then
/// reports a failure: the write is applied, the caller never hears so (a crash after the
/// tier took it, before the outbox acknowledged it).
struct DiesAfterApplying<'a> {
    inner: &'a HotStore,
    calls: AtomicUsize,
    fail_at: usize,
}

impl DiesAfterApplying<'_> {
    fn after<T>(&self, r: Result<T>) -> Result<T> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            r?;
            return Err(StoreError::unavailable(
                tierstore_model::Tier::Hot,
                "redis",
                "test",
                "died after applying",
            ));
        }
        r
    }
}

#[async_trait]
impl PositionStore for DiesAfterApplying<'_> {
    async fn position(&self, a: &AccountId, c: &StockCode) -> Result<Option<Position>> {
        self.inner.position(a, c).await
    }
    async fn account_positions(&self, a: &AccountId) -> Result<AccountPositions> {
        self.inner.account_positions(a).await
    }
    async fn accounts(&self) -> Result<Vec<AccountId>> {
        self.inner.accounts().await
    }
    async fn open_positions(&self, a: &AccountId, codes: &[StockCode]) -> Result<u32> {
        self.after(self.inner.open_positions(a, codes).await)
    }
    async fn set_held_days(&self, a: &AccountId, c: &StockCode, days: HeldDays) -> Result<()> {
        self.after(self.inner.set_held_days(a, c, days).await)
    }
    async fn close_position(&self, a: &AccountId, c: &StockCode) -> Result<()> {
        self.after(self.inner.close_position(a, c).await)
    }
    async fn remove_position(&self, a: &AccountId, c: &StockCode) -> Result<()> {
        self.after(self.inner.remove_position(a, c).await)
    }
    async fn raise_max_price(&self, a: &AccountId, c: &StockCode, p: Price) -> Result<Price> {
        self.after(self.inner.raise_max_price(a, c, p).await)
    }
    async fn lower_min_price(&self, a: &AccountId, c: &StockCode, p: Price) -> Result<Price> {
        self.after(self.inner.lower_min_price(a, c, p).await)
    }
    async fn increment_held_days(&self, a: &AccountId, today: TradeDate) -> Result<IncrementOutcome> {
        self.after(self.inner.increment_held_days(a, today).await)
    }
    async fn replace_account(&self, a: &AccountId, state: &AccountPositions) -> Result<()> {
        self.after(self.inner.replace_account(a, state).await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_cut_off_after_a_write_reached_its_tier_ends_as_if_uninterrupted() {
    let tiers = Tiers::new().await;
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    let c1 = code("000001.SZ");
    for w in [
        TierWrite::SetHeldDays { account: acct(), code: c1, days: HeldDays::Open(3) },
        TierWrite::IncrementHeldDays { account: acct(), today: day("2024-10-09") },
        TierWrite::RaiseMaxPrice { account: acct(), code: c1, price: price(11.0) },
    ] {
        outbox.push(&w.encode().unwrap()).unwrap();
    }
    // The increment reaches Redis, then the replay "dies".
    let dying = DiesAfterApplying { inner: &tiers.hot, calls: AtomicUsize::new(0), fail_at: 2 };
    let err = replay(&mut outbox, &WriteTargets { positions: Some(&dying), ..WriteTargets::default() })
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert_eq!(outbox.depth(), 2, "the set was acknowledged, the increment was not");
    drop(outbox);

    // After the restart the increment is applied again (a no-op for the same date) — never
    // the set before it, which would undo the increment.
    let mut outbox = Outbox::open(dir.path()).unwrap();
    let report = replay(&mut outbox, &tiers.targets()).await.unwrap();
    assert_eq!((report.applied, outbox.depth()), (2, 0));
    let p = tiers.hot.position(&acct(), &c1).await.unwrap().unwrap();
    assert_eq!((p.held_days, p.max_price), (Some(HeldDays::Open(4)), Some(price(11.0))));
}

#[tokio::test]
async fn a_write_for_a_role_the_tier_does_not_hold_is_refused() {
    let w = TierWrite::Klines { bars: Vec::new() };
    let err = w.apply(&WriteTargets::default()).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { value, .. } if value == "klines"), "{err:?}");
    // Writes that could never be applied never reach the outbox.
    let unnumbered = Trade { seq: None, ..fill(1) };
    let err = TierWrite::Trades { trades: vec![fill(1), unnumbered] }.encode().unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "seq"), "{err:?}");
    let err = TierWrite::Assets { points: Vec::new() }.encode().unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "points"), "{err:?}");
    let err = TierWrite::decode(b"{\"op\":\"drop_table\"}", 7).unwrap_err();
    assert!(
        matches!(err, StoreError::Corrupt { .. }) && err.to_string().contains("outbox record 7"),
        "{err}"
    );
}
