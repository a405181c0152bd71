//! The position-store contract.

use futures::future::join_all;
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, IncrementOutcome, Position, PositionStore, StoreError,
};

use crate::sample::{code, date, price};

/// How a store refuses an account it holds no state for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownAccount {
    /// `NotFound`: the account is not part of the store at all (legacy: no directory).
    NotFound,
    /// `NotSeeded`: the store cannot vouch for the account's state (hot tier: never seeded,
    /// or Redis lost it), so the caller must rehydrate rather than trade on emptiness. Told
    /// apart from the server being down (`Unavailable`).
    NotSeeded,
}

/// What a position store declares about itself.
#[derive(Debug, Clone)]
pub struct PositionEnv {
    /// Two accounts the store holds, empty (legacy: configured strategy directories; hot:
    /// seeded with empty state).
    pub accounts: [AccountId; 2],
    /// An account the store holds nothing for, and how it refuses it.
    pub unknown_account: (AccountId, UnknownAccount),
    /// True when `replace_account` on an unknown account seeds it (hot tier: replacing is how
    /// an account is seeded); false when it is refused like every other call (legacy: an
    /// account is a configured directory).
    pub replace_seeds_unknown: bool,
    /// True when closing marks a position closed; false when the store's format deletes the
    /// held-days entry instead (the legacy flat file).
    pub close_marks_closed: bool,
    /// Concurrent callers in the concurrency checks.
    pub concurrency: usize,
    /// Updates per caller in the max/min concurrency check.
    pub updates_per_caller: usize,
}

fn held(p: Option<Position>) -> Option<HeldDays> {
    p.and_then(|p| p.held_days)
}

/// An account never written to is empty, not an error.
pub async fn empty_account(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let all = store.account_positions(a).await.expect("account_positions of an empty account");
    assert_eq!(all, AccountPositions::default(), "an untouched account has no state");
    assert_eq!(store.position(a, &code("000001.SZ")).await.expect("position"), None);
}

/// Every read and write of an account the store holds nothing for is refused as declared —
/// never read as empty — and a refused write leaves nothing behind. `replace_account` seeds
/// the account where the store declares so, and refuses it otherwise.
pub async fn unknown_account_is_refused(store: &dyn PositionStore, env: &PositionEnv) {
    let (u, kind) = &env.unknown_account;
    let x = code("000001.SZ");
    let check = |what: &str, r: Result<(), StoreError>| {
        let e = r.expect_err(what);
        let ok = match kind {
            UnknownAccount::NotFound => matches!(e, StoreError::NotFound { .. }),
            UnknownAccount::NotSeeded => e.needs_rehydrate() && !e.is_unavailable(),
        };
        assert!(ok, "{what} on an unknown account: expected {kind:?}, got {e:?}");
    };
    check("account_positions", store.account_positions(u).await.map(|_| ()));
    check("position", store.position(u, &x).await.map(|_| ()));
    check("open_positions", store.open_positions(u, &[x]).await.map(|_| ()));
    check("open_positions of no codes", store.open_positions(u, &[]).await.map(|_| ()));
    check("set_held_days", store.set_held_days(u, &x, HeldDays::Open(3)).await);
    check("close_position", store.close_position(u, &x).await);
    check("remove_position", store.remove_position(u, &x).await);
    check("raise_max_price", store.raise_max_price(u, &x, price(10.0)).await.map(|_| ()));
    check("lower_min_price", store.lower_min_price(u, &x, price(10.0)).await.map(|_| ()));
    check("increment_held_days", store.increment_held_days(u, date("2024-10-10")).await.map(|_| ()));
    check("account_positions after refused writes", store.account_positions(u).await.map(|_| ()));

    let mut seed = AccountPositions::default();
    seed.positions.insert(x, Position { held_days: Some(HeldDays::Open(2)), ..Default::default() });
    let replaced = store.replace_account(u, &seed).await;
    if env.replace_seeds_unknown {
        replaced.expect("replace_account seeds an unknown account");
        assert_eq!(store.account_positions(u).await.expect("read after seeding"), seed);
    } else {
        check("replace_account", replaced);
        check("account_positions after a refused replace", store.account_positions(u).await.map(|_| ()));
    }
}

/// Opening starts at day 0, leaves open positions alone, and reopens closed ones at 0.
pub async fn open_set_and_read_back(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let (x, y) = (code("000001.SZ"), code("600000.SH"));
    assert_eq!(store.open_positions(a, &[x, y]).await.expect("open"), 2);
    assert_eq!(held(store.position(a, &x).await.expect("read")), Some(HeldDays::Open(0)));
    store.set_held_days(a, &x, HeldDays::Open(5)).await.expect("set");
    assert_eq!(store.open_positions(a, &[x]).await.expect("reopen"), 0, "an open position is not reopened");
    assert_eq!(held(store.position(a, &x).await.expect("read")), Some(HeldDays::Open(5)));
    let all = store.account_positions(a).await.expect("account");
    assert_eq!(all.positions.len(), 2);
    assert_eq!(all.positions[&y].held_days, Some(HeldDays::Open(0)));
    // Codes compare in canonical form whatever the caller's spelling.
    let spelt = tierstore_model::StockCode::parse("sh600000").expect("code");
    assert_eq!(held(store.position(a, &spelt).await.expect("read")), Some(HeldDays::Open(0)));

    store.close_position(a, &y).await.expect("close");
    assert_eq!(store.open_positions(a, &[y]).await.expect("reopen closed"), 1);
    assert_eq!(held(store.position(a, &y).await.expect("read")), Some(HeldDays::Open(0)));
}

/// "+1" advances open positions once per date, skips closed ones, never runs twice for a
/// date or for an earlier date, and reports which happened.
pub async fn increment_once_per_day(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let (x, y, z) = (code("000001.SZ"), code("300750.SZ"), code("131810.SZ"));
    store.open_positions(a, &[x, y, z]).await.expect("open");
    store.set_held_days(a, &y, HeldDays::Open(3)).await.expect("set");
    store.close_position(a, &z).await.expect("close");
    let (d1, d2) = (date("2024-10-10"), date("2024-10-11"));

    let first = store.increment_held_days(a, d1).await.expect("+1");
    assert_eq!(first, IncrementOutcome::Applied { date: d1, incremented: 2 }, "closed positions are skipped");
    assert_eq!(held(store.position(a, &x).await.expect("read")), Some(HeldDays::Open(1)));
    assert_eq!(held(store.position(a, &y).await.expect("read")), Some(HeldDays::Open(4)));
    let closed = held(store.position(a, &z).await.expect("read"));
    assert_eq!(closed, env.close_marks_closed.then_some(HeldDays::Closed));

    for again in [d1, date("2024-10-09")] {
        let r = store.increment_held_days(a, again).await.expect("+1 again");
        assert_eq!(r, IncrementOutcome::AlreadyApplied { date: d1 }, "no second +1 on or before {d1}");
    }
    assert_eq!(held(store.position(a, &x).await.expect("read")), Some(HeldDays::Open(1)));

    let next = store.increment_held_days(a, d2).await.expect("+1 next day");
    assert_eq!(next, IncrementOutcome::Applied { date: d2, incremented: 2 });
    let all = store.account_positions(a).await.expect("account");
    assert_eq!(all.last_increment, Some(d2));
    assert_eq!(all.positions[&x].held_days, Some(HeldDays::Open(2)));
}

/// "+1" on an account without positions still marks the day, so a position opened later that
/// day is not advanced.
pub async fn increment_without_positions_marks_the_day(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let d = date("2024-10-10");
    assert_eq!(
        store.increment_held_days(a, d).await.expect("+1"),
        IncrementOutcome::Applied { date: d, incremented: 0 }
    );
    let x = code("000001.SZ");
    store.open_positions(a, &[x]).await.expect("open");
    assert_eq!(
        store.increment_held_days(a, d).await.expect("+1"),
        IncrementOutcome::AlreadyApplied { date: d }
    );
    assert_eq!(held(store.position(a, &x).await.expect("read")), Some(HeldDays::Open(0)));
}

/// Max only rises and min only falls, both rounded to 3 decimals as Python's `round(x, 3)`
/// does (rounded, not truncated; exact binary ties to even). Expected values are CPython's.
pub async fn max_rises_min_falls_rounded(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let x = code("000001.SZ");
    let max = |v| store.raise_max_price(a, &x, price(v));
    assert_eq!(max(10.0).await.expect("max").get(), 10.0);
    assert_eq!(max(9.5).await.expect("max").get(), 10.0, "a lower price leaves the max");
    assert_eq!(max(10.0004).await.expect("max").get(), 10.0, "rounds to 3 decimals");
    assert_eq!(max(10.0005).await.expect("max").get(), 10.001, "10.0005 is just above the tie in binary");
    let y = code("600000.SH");
    assert_eq!(
        store.raise_max_price(a, &y, price(9.9999)).await.expect("max").get(),
        10.0,
        "9.9999 rounds up"
    );

    let min = |v| store.lower_min_price(a, &x, price(v));
    assert_eq!(min(10.0).await.expect("min").get(), 10.0);
    assert_eq!(min(10.5).await.expect("min").get(), 10.0, "a higher price leaves the min");
    assert_eq!(min(9.1234).await.expect("min").get(), 9.123);
    assert_eq!(min(2.675).await.expect("min").get(), 2.675, "2.675 stays 2.675");
    assert_eq!(min(1.0625).await.expect("min").get(), 1.062, "an exact tie goes to even");
    assert_eq!(min(1.0005).await.expect("min").get(), 1.0, "1.0005 is just below the tie in binary");
    let p = store.position(a, &x).await.expect("read").expect("stored");
    assert_eq!((p.max_price.map(|p| p.get()), p.min_price.map(|p| p.get())), (Some(10.001), Some(1.0)));
    assert_eq!(p.held_days, None, "prices alone do not open a position");
}

/// A price that rounds to 0.000 is refused naming the field and the value, by every write
/// that takes a price, and nothing is stored: a zero would make the account unreadable.
pub async fn price_rounding_to_zero_is_refused(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let x = code("000001.SZ");
    store.raise_max_price(a, &x, price(12.0)).await.expect("max");
    let before = store.account_positions(a).await.expect("read");
    let refused = |what: &str, e: StoreError, field: &str| {
        let StoreError::InvalidInput { field: f, value, reason } = &e else { panic!("{what}: {e:?}") };
        assert!(f.contains(field), "{what}: field {f}");
        assert_eq!(value, "0.0004", "{what}");
        assert!(reason.contains("rounds to 0.000"), "{what}: {reason}");
    };
    refused(
        "raise_max_price",
        store.raise_max_price(a, &x, price(0.0004)).await.expect_err("max"),
        "max_price",
    );
    refused(
        "lower_min_price",
        store.lower_min_price(a, &x, price(0.0004)).await.expect_err("min"),
        "min_price",
    );
    let mut state = before.clone();
    state.positions.insert(
        code("600000.SH"),
        Position { held_days: Some(HeldDays::Open(1)), max_price: None, min_price: Some(price(0.0004)) },
    );
    refused("replace_account", store.replace_account(a, &state).await.expect_err("replace"), "min_price");
    assert_eq!(store.account_positions(a).await.expect("read"), before, "nothing changed");
}

/// `replace_account` stores prices rounded exactly as the single updates do.
pub async fn replace_rounds_like_updates(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let mut state = AccountPositions::default();
    for (c, max, min) in
        [("000001.SZ", 10.0005, 1.0005), ("600000.SH", 9.9999, 1.0625), ("000002.SZ", 2.675, 2.6755)]
    {
        state.positions.insert(
            code(c),
            Position {
                held_days: Some(HeldDays::Open(1)),
                max_price: Some(price(max)),
                min_price: Some(price(min)),
            },
        );
    }
    store.replace_account(a, &state).await.expect("replace");
    let got = store.account_positions(a).await.expect("read");
    let shown: Vec<(String, f64, f64)> = got
        .positions
        .iter()
        .map(|(c, p)| (c.to_string(), p.max_price.expect("max").get(), p.min_price.expect("min").get()))
        .collect();
    assert_eq!(
        shown,
        [
            ("000001.SZ".to_owned(), 10.001, 1.0),
            ("000002.SZ".to_owned(), 2.675, 2.675),
            ("600000.SH".to_owned(), 10.0, 1.062),
        ]
    );
}

/// Closing keeps the prices; removing forgets everything about the stock.
pub async fn close_and_remove(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let x = code("000001.SZ");
    store.open_positions(a, &[x]).await.expect("open");
    store.raise_max_price(a, &x, price(11.0)).await.expect("max");
    store.close_position(a, &x).await.expect("close");
    let p = store.position(a, &x).await.expect("read").expect("prices remain");
    assert_eq!(p.held_days, env.close_marks_closed.then_some(HeldDays::Closed));
    assert_eq!(p.max_price.map(|p| p.get()), Some(11.0));
    store.remove_position(a, &x).await.expect("remove");
    assert_eq!(store.position(a, &x).await.expect("read"), None);
    store.remove_position(a, &x).await.expect("removing nothing is fine");
}

/// Replacing an account's state stores exactly that state, increment date included.
pub async fn replace_round_trips(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    store.open_positions(a, &[code("000002.SZ")]).await.expect("open");
    let mut state = AccountPositions { last_increment: Some(date("2024-10-10")), ..Default::default() };
    let entries = [
        ("000001.SZ", Some(HeldDays::Open(3)), Some(10.5), Some(9.8)),
        ("830799.BJ", Some(HeldDays::Open(0)), None, None),
        ("204001.SH", env.close_marks_closed.then_some(HeldDays::Closed), Some(1.5), None),
        ("600000.SH", None, Some(8.0), Some(7.25)),
    ];
    for (c, days, max, min) in entries {
        state.positions.insert(
            code(c),
            Position { held_days: days, max_price: max.map(price), min_price: min.map(price) },
        );
    }
    store.replace_account(a, &state).await.expect("replace");
    assert_eq!(
        store.account_positions(a).await.expect("read"),
        state,
        "replace then read gives the same state"
    );
    assert_eq!(
        store.increment_held_days(a, date("2024-10-10")).await.expect("+1"),
        IncrementOutcome::AlreadyApplied { date: date("2024-10-10") },
        "the increment date travels with the state"
    );

    let mut fewer = state.clone();
    fewer.positions.retain(|c, _| *c == code("000001.SZ"));
    fewer.last_increment = None;
    store.replace_account(a, &fewer).await.expect("replace");
    assert_eq!(store.account_positions(a).await.expect("read"), fewer);

    store.replace_account(a, &AccountPositions::default()).await.expect("clear");
    assert_eq!(store.account_positions(a).await.expect("read"), AccountPositions::default());
}

/// Each account's data stays its own: writes, "+1", replace and remove on one account leave
/// the other exactly as it was.
pub async fn accounts_are_separate(store: &dyn PositionStore, env: &PositionEnv) {
    let [a, b] = &env.accounts;
    let (x, y) = (code("000001.SZ"), code("600000.SH"));
    store.open_positions(a, &[x, y]).await.expect("open a");
    store.raise_max_price(a, &x, price(11.0)).await.expect("max a");
    store.open_positions(b, &[x]).await.expect("open b");
    store.set_held_days(b, &x, HeldDays::Open(7)).await.expect("set b");
    store.lower_min_price(b, &x, price(8.5)).await.expect("min b");
    store.increment_held_days(a, date("2024-10-10")).await.expect("+1 a");

    let held_only = |d| Position { held_days: Some(HeldDays::Open(d)), ..Default::default() };
    let mut want_a = AccountPositions { last_increment: Some(date("2024-10-10")), ..Default::default() };
    want_a.positions.insert(x, Position { max_price: Some(price(11.0)), ..held_only(1) });
    want_a.positions.insert(y, held_only(1));
    let mut want_b = AccountPositions::default();
    want_b.positions.insert(x, Position { min_price: Some(price(8.5)), ..held_only(7) });
    assert_eq!(store.account_positions(a).await.expect("read a"), want_a);
    assert_eq!(store.account_positions(b).await.expect("read b"), want_b, "b is untouched by a's writes");

    let r = store.increment_held_days(b, date("2024-10-10")).await.expect("+1 b");
    assert_eq!(
        r,
        IncrementOutcome::Applied { date: date("2024-10-10"), incremented: 1 },
        "a's +1 is not b's"
    );
    want_b.last_increment = Some(date("2024-10-10"));
    want_b.positions.insert(x, Position { min_price: Some(price(8.5)), ..held_only(8) });

    store.remove_position(a, &x).await.expect("remove a");
    want_a.positions.remove(&x);
    store.replace_account(a, &want_a).await.expect("replace a");
    assert_eq!(store.account_positions(a).await.expect("read a"), want_a);
    assert_eq!(
        store.account_positions(b).await.expect("read b"),
        want_b,
        "b is untouched by a's remove and replace"
    );

    let listed = store.accounts().await.expect("accounts");
    assert!(listed.contains(a) && listed.contains(b), "{a} and {b} are listed in {listed:?}");
}

/// Many concurrent callers of "+1" for one date: exactly one applies it.
pub async fn concurrent_increment_applies_once(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let x = code("000001.SZ");
    store.open_positions(a, &[x]).await.expect("open");
    let d = date("2024-10-10");
    let results: Vec<Result<IncrementOutcome, StoreError>> =
        join_all((0..env.concurrency).map(|_| store.increment_held_days(a, d))).await;
    let applied = results
        .iter()
        .map(|r| r.as_ref().expect("concurrent +1"))
        .filter(|r| matches!(r, IncrementOutcome::Applied { .. }))
        .count();
    assert_eq!(applied, 1, "exactly one of {} concurrent callers applies +1", env.concurrency);
    assert_eq!(held(store.position(a, &x).await.expect("read")), Some(HeldDays::Open(1)));
}

/// Concurrent max/min updates never lose the extreme. One caller's sequence holds the highest
/// price (15.9996, stored as 16.0) and another's the lowest (4.0004, stored as 4.0); every
/// other price lies between 5.0 and 14.999.
pub async fn concurrent_extremes_are_kept(store: &dyn PositionStore, env: &PositionEnv) {
    let a = &env.accounts[0];
    let x = code("000001.SZ");
    let callers = env.concurrency.max(2);
    let per = env.updates_per_caller.max(2);
    let value = |caller: usize, i: usize| match (caller, i) {
        (0, i) if i == per / 2 => 15.9996,
        (1, i) if i == per / 3 => 4.0004,
        _ => 5.0 + ((caller * 7919 + i * 104_729) % 10_000) as f64 / 1000.0,
    };
    let work = (0..callers).map(|c| async move {
        for i in 0..per {
            store.raise_max_price(a, &x, price(value(c, i))).await.expect("max");
            store.lower_min_price(a, &x, price(value(c, i))).await.expect("min");
        }
    });
    join_all(work).await;
    let p = store.position(a, &x).await.expect("read").expect("stored");
    assert_eq!(p.max_price.map(|p| p.get()), Some(16.0), "highest of {} updates kept", callers * per);
    assert_eq!(p.min_price.map(|p| p.get()), Some(4.0), "lowest of {} updates kept", callers * per);
}

/// The position checks, listed once: hands `callback!(args.. [checks])` the list, so the test
/// macro and [`run_all`] cannot drift apart. Not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __position_checks {
    ($callback:ident!($($args:tt)*)) => {
        $crate::$callback! {
            $($args)*
            [
                empty_account,
                unknown_account_is_refused,
                open_set_and_read_back,
                increment_once_per_day,
                increment_without_positions_marks_the_day,
                max_rises_min_falls_rounded,
                price_rounding_to_zero_is_refused,
                replace_rounds_like_updates,
                close_and_remove,
                replace_round_trips,
                accounts_are_separate,
                concurrent_increment_applies_once,
                concurrent_extremes_are_kept
            ]
        }
    };
}

/// Runs each listed position check on a fresh store from `$setup`. Behind [`run_all`].
#[doc(hidden)]
#[macro_export]
macro_rules! __run_position_checks {
    ($setup:ident [$($check:ident),+ $(,)?]) => {$(
        let (_guard, store, env) = $setup().await;
        $crate::positions::$check(&store, &env).await;
    )+};
}

/// Every position check, in order, each on a fresh store from `setup` (for servers too costly
/// to start per test, such as a local Redis Cluster).
pub async fn run_all<G, S: PositionStore>(setup: impl AsyncFn() -> (G, S, PositionEnv)) {
    crate::__position_checks!(__run_position_checks!(setup));
}

/// `position_contract!(module, setup)`: one `#[tokio::test]` per position check, each on a
/// fresh store from `setup`, an async fn returning `(guard, store, PositionEnv)`; the guard
/// keeps the store's namespace alive.
#[macro_export]
macro_rules! position_contract {
    ($module:ident, $setup:path) => {
        $crate::__position_checks!(__contract_tests!($module, $setup, positions,));
    };
}
