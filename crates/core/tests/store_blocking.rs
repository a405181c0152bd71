//! The blocking facade, from plain (non-async) code, on the real services in dual_write; and
//! its refusal inside an async runtime.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use common::workload::trade;
use common::{Spec, Stack, accounts};
use tierstore::blocking;
use tierstore_model::{HeldDays, Price, StockCode, StorageMode, Tier, TradeQuery};

#[test]
fn strategy_code_without_async_reads_and_writes_every_tier() {
    let setup = tokio::runtime::Runtime::new().unwrap();
    let stack = setup.block_on(Stack::new(Spec::new(StorageMode::DbFirst)));
    let store = blocking::Store::open(&stack.config).unwrap();
    assert_eq!(store.mode(), StorageMode::DbFirst);
    let a = &accounts()[0];
    let code = StockCode::parse("600000.SH").unwrap();
    store.open_positions(a, &[code]).unwrap();
    store.set_held_days(a, &code, HeldDays::Open(4)).unwrap();
    assert_eq!(store.raise_max_price(a, &code, Price::new("price", 8.126).unwrap()).unwrap().get(), 8.126);
    let ids = store.append_trades(&[trade(a, 1, code)]).unwrap();
    assert_eq!(ids[0].seq, 1);
    // Redis is rebuilt from the files at the start; once it serves, reads come from it.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(store.as_async().serving(Tier::Hot) && store.as_async().serving(Tier::Cool)) {
        assert!(std::time::Instant::now() < until, "the databases did not serve within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let got = store.account_positions(a).unwrap();
    assert_eq!(got.source, Tier::Hot);
    assert_eq!(got.value.positions[&code].held_days, Some(HeldDays::Open(4)));
    let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
    let trades = store.trades(&q).unwrap();
    assert_eq!(trades.source, Tier::Cool);
    assert_eq!(trades.value.len(), 1);
    assert_eq!(trades.value[0].seq, Some(1));
    store.close(std::time::Duration::from_secs(10)).unwrap();
    // Dropped inside an async runtime, a store closes without stalling or panicking.
    let store = blocking::Store::open(&stack.config).unwrap();
    setup.block_on(async move { drop(store) });

    let err = setup.block_on(async { blocking::Store::open(&stack.config) }).unwrap_err();
    assert!(err.to_string().contains("use tierstore::Store (async) from async code"), "{err}");
}
