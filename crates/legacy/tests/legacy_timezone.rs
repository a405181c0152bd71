//! Market dates at the edge: 16:00:00Z is midnight in Shanghai. "Today" for the once-a-day
//! increment comes from the store's clock in the configured timezone, and journal times are
//! Shanghai wall-clock times — whatever the host's timezone.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use tierstore_legacy::{LegacyConfig, LegacyStore};
use tierstore_model::{
    AccountId, DateRange, FixedClock, IncrementOutcome, OrderKind, PositionStore, Price, StockCode, Trade,
    TradeDate, TradeQuery, TradeStore, Volume,
};

fn acct() -> AccountId {
    AccountId::new("prod_pwc").unwrap()
}

fn utc(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 10, 9, h, m, s).unwrap()
}

async fn store(root: &std::path::Path) -> LegacyStore {
    let dir = root.join("prod_pwc");
    std::fs::create_dir_all(&dir).unwrap();
    let mut accounts = BTreeMap::new();
    accounts.insert(acct(), dir);
    LegacyStore::open(LegacyConfig::new(accounts, None)).await.unwrap()
}

#[tokio::test]
async fn today_turns_at_shanghai_midnight_and_drives_the_increment() {
    let root = tempfile::tempdir().unwrap();
    let clock = FixedClock::new(utc(15, 59, 59));
    let store = store(root.path()).await.with_clock(Arc::new(clock.clone()));
    store.open_positions(&acct(), &[StockCode::parse("000001.SZ").unwrap()]).await.unwrap();

    assert_eq!(store.market_today().unwrap(), TradeDate::parse("2024-10-09").unwrap());
    let today = store.market_today().unwrap();
    assert_eq!(
        store.increment_held_days(&acct(), today).await.unwrap(),
        IncrementOutcome::Applied { date: TradeDate::parse("2024-10-09").unwrap(), incremented: 1 }
    );

    clock.set(utc(16, 0, 0));
    let today = store.market_today().unwrap();
    assert_eq!(today, TradeDate::parse("2024-10-10").unwrap(), "16:00:00Z is 00:00 on the 10th in Shanghai");
    assert_eq!(
        store.increment_held_days(&acct(), today).await.unwrap(),
        IncrementOutcome::Applied { date: today, incremented: 1 }
    );
    let held = std::fs::read_to_string(root.path().join("prod_pwc/held_days.json")).unwrap();
    assert!(held.contains("\"_inc_date\": \"2024-10-10\""), "{held}");
}

#[tokio::test]
async fn journal_times_are_shanghai_wall_clock_on_either_side_of_midnight() {
    let root = tempfile::tempdir().unwrap();
    let store = store(root.path()).await;
    let trade = |time, seq| Trade {
        account: acct(),
        seq: Some(seq),
        strategy: None,
        time,
        code: StockCode::parse("000001.SZ").unwrap(),
        name: "平安银行".into(),
        kind: OrderKind::BuyOrder,
        remark: String::new(),
        price: Price::new("price", 10.52).unwrap(),
        volume: Volume::new(100),
    };
    let (before, at) = (trade(utc(15, 59, 59), 1), trade(utc(16, 0, 0), 2));
    store.append_trades(&[before.clone(), at.clone()]).await.unwrap();
    let text = std::fs::read_to_string(root.path().join("prod_pwc/deal_hist.csv")).unwrap();
    assert!(text.contains("\n2024-10-09,23:59:59,000001.SZ,"), "{text}");
    assert!(text.contains("\n2024-10-10,00:00:00,000001.SZ,"), "{text}");

    assert_eq!(store.trades(&TradeQuery::default()).await.unwrap(), vec![before.clone(), at.clone()]);
    let on = |d: &str| TradeQuery {
        dates: Some(DateRange::day(TradeDate::parse(d).unwrap())),
        ..TradeQuery::default()
    };
    assert_eq!(store.trades(&on("2024-10-09")).await.unwrap(), vec![before]);
    assert_eq!(store.trades(&on("2024-10-10")).await.unwrap(), vec![at]);
}

/// The two tests above, run again in child processes whose host timezone is New York and
/// Kiritimati (UTC+14): nothing changes.
#[test]
fn the_host_timezone_changes_nothing() {
    for tz in ["America/New_York", "Pacific/Kiritimati"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--test-threads", "1", "today_turns", "journal_times"])
            .env("TZ", tz)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "under TZ={tz}:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("2 passed"), "both ran under TZ={tz}:\n{stdout}");
    }
}
