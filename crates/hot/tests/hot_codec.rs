//! Rust's account-string codec and the Lua scripts' parser agree, on a real Redis:
//! - any state Rust encodes is accepted by the scripts and re-rendered byte for byte;
//! - "+1" run by the script gives what an independent model of the rule gives;
//! - a mutated string is refused by the scripts exactly when Rust's decoder refuses it, and a
//!   refused string is left as it was, also by a script that writes ("+1").
//!
//! Each property runs both ways the scripts get the namespace marker: as `KEYS[2]` (a single
//! server) and as `ARGV[1]` (a cluster, where the client reads it first).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;

use proptest::prelude::*;
use redis::aio::MultiplexedConnection;
use tierstore_hot::codec::{self, Epoch};
use tierstore_hot::scripts;
use tierstore_model::{AccountPositions, HeldDays, Market, Position, Price, StockCode, TradeDate};
use tierstore_testkit::RedisNamespace;

fn market(i: u8) -> Market {
    match i % 3 {
        0 => Market::Sh,
        1 => Market::Sz,
        _ => Market::Bj,
    }
}

fn held() -> impl Strategy<Value = Option<HeldDays>> {
    prop_oneof![
        Just(None),
        Just(Some(HeldDays::Closed)),
        (0u32..400).prop_map(|n| Some(HeldDays::Open(n))),
        (u32::MAX - 2..=u32::MAX).prop_map(|n| Some(HeldDays::Open(n))),
    ]
}

/// Prices as stored: multiples of 0.001 from 0.001 to 1e12.
fn price() -> impl Strategy<Value = Option<Price>> {
    prop_oneof![
        Just(None),
        (1u64..=1_000_000_000).prop_map(|k| Some(Price::new("p", k as f64 / 1000.0).unwrap())),
        (1u64..=1_000_000_000_000_000).prop_map(|k| Some(Price::new("p", k as f64 / 1000.0).unwrap())),
    ]
}

fn date() -> impl Strategy<Value = TradeDate> {
    (0u32..(2105 - 1970) * 366).prop_map(|d| {
        TradeDate::from_naive(TradeDate::MIN.naive() + chrono::Days::new(u64::from(d)))
            .unwrap_or(TradeDate::MAX)
    })
}

fn state() -> impl Strategy<Value = AccountPositions> {
    let position = (held(), price(), price())
        .prop_map(|(held_days, max_price, min_price)| Position { held_days, max_price, min_price })
        .prop_filter("holds something", |p| *p != Position::default());
    let code = (0u32..1_000_000, any::<u8>())
        .prop_map(|(s, m)| StockCode::new(&format!("{s:06}"), market(m)).unwrap());
    (proptest::option::of(date()), proptest::collection::btree_map(code, position, 0..40)).prop_map(
        |(last_increment, positions): (Option<TradeDate>, BTreeMap<StockCode, Position>)| AccountPositions {
            last_increment,
            positions,
        },
    )
}

fn epoch() -> impl Strategy<Value = Epoch> {
    "[0-9a-f]{1,32}".prop_map(Epoch)
}

struct Server {
    rt: tokio::runtime::Runtime,
    conn: MultiplexedConnection,
    ns: RedisNamespace,
}

impl Server {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ns = rt.block_on(RedisNamespace::new());
        let conn =
            rt.block_on(redis::Client::open(ns.url()).unwrap().get_multiplexed_async_connection()).unwrap();
        Server { rt, conn, ns }
    }

    fn key(&self) -> String {
        format!("{}:{{acct}}:pos", self.ns.prefix())
    }

    fn marker_key(&self) -> String {
        format!("{}:epoch", self.ns.prefix())
    }

    /// Stores `blob` with the marker in `epoch`, runs `script` with `args` — handing it the
    /// marker as a key, or as the first argument when `marker_as_arg` (the cluster way) —
    /// and returns its reply (or the error code and message) and the string afterwards.
    fn run<T: redis::FromRedisValue>(
        &self,
        blob: &str,
        epoch: &str,
        marker_as_arg: bool,
        script: &redis::Script,
        args: &[&str],
    ) -> (Result<T, (String, String)>, String) {
        let mut c = self.conn.clone();
        self.rt.block_on(async {
            let _: () = redis::cmd("SET").arg(self.key()).arg(blob).query_async(&mut c).await.unwrap();
            let _: () = redis::cmd("SET")
                .arg(self.marker_key())
                .arg(format!("{epoch} ready"))
                .query_async(&mut c)
                .await
                .unwrap();
            let mut inv = script.prepare_invoke();
            inv.key(self.key());
            if marker_as_arg {
                inv.arg(format!("{epoch} ready"));
            } else {
                inv.key(self.marker_key()).arg("");
            }
            for a in args {
                inv.arg(*a);
            }
            let reply = inv
                .invoke_async::<T>(&mut c)
                .await
                .map_err(|e| (e.code().unwrap_or("?").to_owned(), e.detail().unwrap_or_default().to_owned()));
            let after: String = redis::cmd("GET").arg(self.key()).query_async(&mut c).await.unwrap();
            (reply, after)
        })
    }
}

thread_local! {
    static SERVER: Server = Server::new();
}

/// "+1" as the rule says, written independently of both codecs.
fn incremented(state: &AccountPositions, today: TradeDate) -> Option<(AccountPositions, u32)> {
    if state.last_increment.is_some_and(|d| d >= today) {
        return None;
    }
    let mut out = state.clone();
    out.last_increment = Some(today);
    let mut count = 0;
    for p in out.positions.values_mut() {
        if let Some(HeldDays::Open(n)) = p.held_days {
            p.held_days = Some(HeldDays::Open(n.saturating_add(1)));
            count += 1;
        }
    }
    Some((out, count))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn scripts_rerender_what_rust_encodes(state in state(), epoch in epoch(), as_arg in any::<bool>()) {
        let blob = codec::encode(&epoch, &state);
        let (reply, _) = SERVER.with(|s| s.run::<String>(&blob, &epoch.0, as_arg, &scripts::CANONICAL, &[]));
        prop_assert_eq!(reply.as_deref(), Ok(blob.as_str()));
        prop_assert_eq!(codec::decode(&blob).unwrap(), (epoch, state));
    }

    #[test]
    fn the_scripts_increment_agrees_with_the_rule(
        state in state(),
        epoch in epoch(),
        today in date(),
        as_arg in any::<bool>(),
    ) {
        let blob = codec::encode(&epoch, &state);
        let today_text = today.to_string();
        let (reply, after) =
            SERVER.with(|s| s.run::<(i64, String)>(&blob, &epoch.0, as_arg, &scripts::INCREMENT, &[&today_text]));
        let (applied, value) = reply.unwrap();
        let (_, stored) = codec::decode(&after).unwrap();
        match incremented(&state, today) {
            Some((want, count)) => {
                prop_assert_eq!((applied, value), (1, count.to_string()));
                prop_assert_eq!(stored, want);
            }
            None => {
                prop_assert_eq!(applied, 0);
                prop_assert_eq!(value, state.last_increment.unwrap().to_string());
                prop_assert_eq!(after, blob);
            }
        }
    }

    #[test]
    fn scripts_refuse_exactly_what_rust_refuses(
        state in state(),
        epoch in epoch(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(
            b"0123456789.|=\nc@-SHZBJaf x".to_vec())), 1..4),
        deletes in proptest::collection::vec(any::<prop::sample::Index>(), 0..2),
        as_arg in any::<bool>(),
    ) {
        let mut bytes = codec::encode(&epoch, &state).into_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len() + 1);
            if i == bytes.len() { bytes.push(b) } else { bytes[i] = b }
        }
        for at in deletes {
            if !bytes.is_empty() {
                bytes.remove(at.index(bytes.len()));
            }
        }
        let blob = String::from_utf8(bytes).unwrap();
        let rust = codec::decode(&blob);
        // The marker names the string's own epoch when it still parses, so only the grammar
        // decides.
        let marker_epoch = rust.as_ref().map(|(e, _)| e.0.clone()).unwrap_or_else(|_| epoch.0.clone());
        let (reply, after) =
            SERVER.with(|s| s.run::<String>(&blob, &marker_epoch, as_arg, &scripts::CANONICAL, &[]));
        match (&rust, &reply) {
            (Ok(_), Ok(rendered)) => prop_assert_eq!(rendered, &blob),
            (Err(_), Err((code, _))) => prop_assert_eq!(code.as_str(), "CORRUPT"),
            _ => prop_assert!(false, "disagree on {:?}: rust {:?}, lua {:?}", blob, rust, reply),
        }
        prop_assert_eq!(&after, &blob);
        // A script that writes: "+1" on the last storable date applies unless the string is
        // refused, and a refused string is left exactly as it was.
        let (reply, after) = SERVER.with(|s| {
            s.run::<(i64, String)>(&blob, &marker_epoch, as_arg, &scripts::INCREMENT, &["2105-12-31"])
        });
        match (&rust, &reply) {
            (Ok(_), Ok(_)) => prop_assert!(codec::decode(&after).is_ok(), "wrote a string Rust cannot read: {:?}", after),
            (Err(_), Err((code, _))) => {
                prop_assert_eq!(code.as_str(), "CORRUPT");
                prop_assert_eq!(after, blob);
            }
            _ => prop_assert!(false, "disagree on {:?}: rust {:?}, lua {:?}", blob, rust, reply),
        }
    }
}
