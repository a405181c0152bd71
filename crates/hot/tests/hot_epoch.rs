//! The lost-data marker is checked by every read and every script: an account string from
//! another epoch (an old snapshot, a replica that lagged a failover, an account an interrupted
//! rehydration never reached) is refused with "rehydrate", never served or written beside; a
//! malformed string is refused whole by every operation and left as it was; an interrupted
//! rehydration can simply be run again.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use redis::AsyncCommands;
use tierstore_hot::{HotStore, NamespaceStatus};
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, Position, PositionStore, Price, StockCode, StoreError, TradeDate,
};
use tierstore_testkit::RedisNamespace;

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

fn code() -> StockCode {
    StockCode::parse("000001.SZ").unwrap()
}

async fn raw(ns: &RedisNamespace) -> redis::aio::MultiplexedConnection {
    redis::Client::open(ns.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
}

fn pos_key(ns: &RedisNamespace, account: &str) -> String {
    format!("{}:{{{account}}}:pos", ns.prefix())
}

/// Calls every read and write on `a`, asserting each fails as `expect` says.
async fn every_operation_fails(store: &HotStore, a: &AccountId, expect: impl Fn(&str, &StoreError)) {
    let x = code();
    let p = Price::new("price", 10.0).unwrap();
    let results: Vec<(&str, Result<(), StoreError>)> = vec![
        ("account_positions", store.account_positions(a).await.map(|_| ())),
        ("position", store.position(a, &x).await.map(|_| ())),
        ("open_positions", store.open_positions(a, &[x]).await.map(|_| ())),
        ("set_held_days", store.set_held_days(a, &x, HeldDays::Open(9)).await),
        ("close_position", store.close_position(a, &x).await),
        ("remove_position", store.remove_position(a, &x).await),
        ("raise_max_price", store.raise_max_price(a, &x, p).await.map(|_| ())),
        ("lower_min_price", store.lower_min_price(a, &x, p).await.map(|_| ())),
        (
            "increment_held_days",
            store.increment_held_days(a, TradeDate::parse("2024-10-11").unwrap()).await.map(|_| ()),
        ),
    ];
    for (what, r) in results {
        let e = r.expect_err(what);
        expect(what, &e);
    }
}

fn is_stale(what: &str, e: &StoreError) {
    assert!(e.needs_rehydrate(), "{what}: {e:?}");
    assert!(e.to_string().contains("rehydrate"), "{what}: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_string_from_another_epoch_is_refused_by_every_read_and_write() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let NamespaceStatus::Ready(current) = store.namespace_status().await.unwrap() else {
        panic!("not ready")
    };
    // What an old snapshot or a lagging replica would hold: a well-formed string of another epoch.
    let stale = "@0123456789abcdef|2024-10-10\n000001.SZ=7|12.5|9.75";
    assert_ne!(current.0, "0123456789abcdef");
    let mut c = raw(&ns).await;
    let _: () = c.set(pos_key(&ns, "prod_pwc"), stale).await.unwrap();

    every_operation_fails(&store, &acct("prod_pwc"), |what, e| {
        is_stale(what, e);
        assert!(e.to_string().contains("epoch 0123456789abcdef"), "{what}: {e}");
    })
    .await;
    let after: String = c.get(pos_key(&ns, "prod_pwc")).await.unwrap();
    assert_eq!(after, stale, "refused writes leave the string as it was");

    // The other account, of the current epoch, is served as before.
    assert_eq!(store.account_positions(&acct("test_pwc")).await.unwrap(), AccountPositions::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_marker_refuses_accounts_whose_strings_survived() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let mut c = raw(&ns).await;
    let _: () = c.del(format!("{}:epoch", ns.prefix())).await.unwrap();
    every_operation_fails(&store, &acct("prod_pwc"), |what, e| {
        is_stale(what, e);
        assert!(e.to_string().contains("marker is missing"), "{what}: {e}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_string_is_refused_whole_and_left_alone() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let NamespaceStatus::Ready(epoch) = store.namespace_status().await.unwrap() else { panic!("not ready") };
    let mut c = raw(&ns).await;
    // The second line is garbage: "+1" must not advance the first and silently drop it.
    for bad_line in ["garbage", "600000.SH=1|2", "600000.SH=x||", "600000.SH=1|0|", "000001.SZ=4||"] {
        let blob = format!("@{}|2024-10-09\n000001.SZ=3||\n{bad_line}", epoch.0);
        let _: () = c.set(pos_key(&ns, "prod_pwc"), &blob).await.unwrap();
        every_operation_fails(&store, &acct("prod_pwc"), |what, e| {
            let StoreError::Corrupt { reason, .. } = e else { panic!("{what} on {bad_line:?}: {e:?}") };
            assert!(reason.contains("line 3"), "{what} on {bad_line:?}: {reason}");
        })
        .await;
        let after: String = c.get(pos_key(&ns, "prod_pwc")).await.unwrap();
        assert_eq!(after, blob, "{bad_line:?}: nothing rewritten");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_rehydration_refuses_unreached_accounts_and_can_be_retried() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let (a, b) = (acct("prod_pwc"), acct("test_pwc"));
    let mut truth_a = AccountPositions::default();
    truth_a.positions.insert(code(), Position { held_days: Some(HeldDays::Open(4)), ..Default::default() });
    let mut truth_b = AccountPositions::default();
    truth_b.positions.insert(code(), Position { held_days: Some(HeldDays::Open(9)), ..Default::default() });

    // Interrupted: `a` seeded, then the process died before `b` and before finishing.
    let r = store.begin_rehydration().await.unwrap();
    let epoch = r.epoch().clone();
    r.seed(&a, &truth_a).await.unwrap();
    drop(r);
    assert_eq!(store.namespace_status().await.unwrap(), NamespaceStatus::Rehydrating(epoch));
    assert_eq!(store.account_positions(&a).await.unwrap(), truth_a, "a reached: served");
    every_operation_fails(&store, &b, |what, e| {
        is_stale(what, e);
    })
    .await;

    // Retried from the start: a fresh epoch, both accounts served, the namespace ready.
    let again = store.rehydrate(&[(a.clone(), truth_a.clone()), (b.clone(), truth_b.clone())]).await.unwrap();
    assert_eq!(store.namespace_status().await.unwrap(), NamespaceStatus::Ready(again));
    assert_eq!(store.account_positions(&a).await.unwrap(), truth_a);
    assert_eq!(store.account_positions(&b).await.unwrap(), truth_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehydration_overtaken_by_another_does_not_finish_it() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let first = store.begin_rehydration().await.unwrap();
    let second = store.begin_rehydration().await.unwrap();
    let second_epoch = second.epoch().clone();
    let e = first.finish().await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict { .. }), "{e:?}");
    assert_eq!(store.namespace_status().await.unwrap(), NamespaceStatus::Rehydrating(second_epoch.clone()));
    assert_eq!(second.finish().await.unwrap(), second_epoch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_rehydration_input_writes_nothing() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let before = store.namespace_status().await.unwrap();
    let mut bad = AccountPositions::default();
    bad.positions.insert(
        code(),
        Position { max_price: Some(Price::new("max_price", 0.0004).unwrap()), ..Default::default() },
    );
    let e =
        store.rehydrate(&[(acct("prod_pwc"), AccountPositions::default()), (acct("test_pwc"), bad)]).await;
    assert!(matches!(e, Err(StoreError::InvalidInput { .. })), "{e:?}");
    assert_eq!(store.namespace_status().await.unwrap(), before, "no new epoch was begun");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_marker_is_corrupt_for_reads_and_scripts_alike() {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, _) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    let NamespaceStatus::Ready(epoch) = store.namespace_status().await.unwrap() else { panic!("not ready") };
    let mut c = raw(&ns).await;
    for marker in [format!("{} junk", epoch.0), format!("{} ready extra", epoch.0), "ready".to_owned()] {
        let _: () = c.set(format!("{}:epoch", ns.prefix()), &marker).await.unwrap();
        every_operation_fails(&store, &acct("prod_pwc"), |what, e| {
            let StoreError::Corrupt { reason, .. } = e else {
                panic!("{what} with marker {marker:?}: {e:?}")
            };
            assert!(reason.contains("marker"), "{what}: {reason}");
        })
        .await;
    }
}
